"""The one source of truth for a portal case record (docs/portal_export.md §1).

Every other description of the record derives from ``CaseRecord`` below:

* the contract field name is the pydantic ``alias``,
* the Vietnamese export-screen header and the warehouse column come from ``FieldSpec``,
* the vectorised validation SQL (``pipeline.validation``), the CSV header mapping
  (``pipeline.ingest.read_tabular``) and the column comments of ``raw.case_versions`` are generated
  from ``FIELD_SPECS``.

The pydantic model itself validates single records (API pages, tests, debugging); bulk
files are validated by SQL derived from the same specs, because per-row pydantic runs at
~100 k rows/s where DuckDB runs at millions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class Kind(StrEnum):
    """How a field is typed, validated and stored."""

    TEXT = "text"  # free text, NFC-normalised
    CODE = "code"  # short code; optionally restricted to ALLOWED_CODES
    DATE = "date"  # portal date-time, parsed to a naive local TIMESTAMP
    LIST = "list"  # JSON array, stored as JSON
    PII = "pii"  # personal data: stored only as a keyed hash
    FLAT = "flat"  # flattened CSV/XLSX column standing in for a list field


@dataclass(frozen=True)
class FieldSpec:
    column: str  # warehouse column (snake_case); for PII the hash column is f"{column}_hash"
    kind: Kind
    description: str
    vi_header: str | None = None  # header on the portal's export screen (CSV/XLSX)
    required: bool = False


# Status codes (docs/portal_export.md §2) and their groups (docs/definitions.md §2).
STATUS_CODES: dict[str, str] = {
    "1": "Mới đăng ký",
    "2": "Được tiếp nhận",
    "3": "Không được tiếp nhận",
    "4": "Đang xử lý",
    "5": "Yêu cầu bổ sung giấy tờ",
    "6": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "7": "Công dân yêu cầu rút hồ sơ",
    "8": "Dừng xử lý",
    "9": "Đã xử lý xong",
    "10": "Đã trả kết quả",
}
NOT_RECEIVED_STATUSES = ("1", "3")
WAITING_STATUSES = ("5", "6")
WITHDRAWN_STATUSES = ("7", "8")
RESOLVED_STATUSES = ("9", "10")
ENDED_STATUSES = WITHDRAWN_STATUSES + RESOLVED_STATUSES
# KenhThucHien: empty means in person.
CHANNEL_CODES = ("", "1", "2", "3")
# MucDo: numbers and the words seen in real feeds.
SERVICE_LEVEL_WORDS = {"toan_trinh": "4", "mot_phan": "3"}


def _spec(column: str, kind: Kind, description: str, vi: str | None = None, required: bool = False):
    return FieldSpec(column=column, kind=kind, description=description, vi_header=vi, required=required)


# ---------------------------------------------------------------------------------------
# Dates (docs/portal_export.md §3). The Python parser mirrors the SQL macro in sql/macros.sql;
# tests/schemas/test_case_record.py checks the two agree on every accepted and rejected form.
# ---------------------------------------------------------------------------------------
_LOCAL_OFFSET = timedelta(hours=7)
_RE_COMPACT = re.compile(r"\d{14}")
_RE_VN_DATETIME = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}")
_RE_VN_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
_RE_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?"
)


def parse_portal_datetime(value: Any) -> datetime | None:
    """Parse any accepted portal date form to a naive local (UTC+7) datetime.

    Runs as a ``mode="before"`` validator: without it pydantic reads a 14-digit string
    such as ``20240115083000`` as a Unix timestamp in the year 2611.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return (value.astimezone(UTC) + _LOCAL_OFFSET).replace(tzinfo=None)
        return value
    if not isinstance(value, str):
        raise ValueError(f"date must be a string, got {type(value).__name__}")
    text = value.strip()
    if text == "":
        return None
    try:
        if _RE_COMPACT.fullmatch(text):
            return datetime.strptime(text, "%Y%m%d%H%M%S")
        if _RE_VN_DATETIME.fullmatch(text):
            return datetime.strptime(text, "%d/%m/%Y %H:%M:%S")
        if _RE_VN_DATE.fullmatch(text):
            return datetime.strptime(text, "%d/%m/%Y")
        match = _RE_ISO.fullmatch(text)
        if match:
            day, clock, fraction, offset = match.groups()
            parsed = datetime.strptime(f"{day} {clock or '00:00:00'}", "%Y-%m-%d %H:%M:%S")
            if fraction:
                parsed += timedelta(microseconds=int(fraction[1:].ljust(6, "0")))
            if offset:
                if offset == "Z":
                    delta = timedelta(0)
                else:
                    sign = -1 if offset[0] == "-" else 1
                    digits = offset[1:].replace(":", "")
                    delta = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                parsed = parsed - delta + _LOCAL_OFFSET
            return parsed
    except ValueError:
        pass
    raise ValueError(f"unparseable date '{reason_value(text)}'")  # never echo personal data


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # The contract sends strings, but some feeds send bare numbers for codes.
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


PortalDateTime = Annotated[datetime | None, BeforeValidator(parse_portal_datetime)]
RequiredPortalDateTime = Annotated[datetime, BeforeValidator(parse_portal_datetime)]
Text = Annotated[str | None, BeforeValidator(_blank_to_none)]
RequiredText = Annotated[str, BeforeValidator(_blank_to_none)]


class CaseRecord(BaseModel):
    """One case record as the portal exports it. Field alias = contract name."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    case_id: RequiredText = Field(alias="MaHoSo", json_schema_extra={"spec": _spec(
        "case_id", Kind.TEXT, "Case id (MaHoSo), unique per case.", "Mã hồ sơ", True)})
    source_case_id: Text = Field(None, alias="MaHoSoKhac", json_schema_extra={"spec": _spec(
        "source_case_id", Kind.TEXT, "The source system's own id when MaHoSo was regenerated (MaHoSoKhac).")})
    unit_code: RequiredText = Field(alias="MaDonVi", json_schema_extra={"spec": _spec(
        "unit_code", Kind.CODE, "Code of the unit handling the case (MaDonVi), as sent.", "Mã đơn vị", True)})
    unit_name_source: Text = Field(None, alias="DonViXuLy", json_schema_extra={"spec": _spec(
        "unit_name_source", Kind.TEXT, "Unit name as the source system spells it (DonViXuLy).", "Đơn vị xử lý")})
    procedure_code: RequiredText = Field(alias="MaTTHC", json_schema_extra={"spec": _spec(
        "procedure_code", Kind.CODE, "Procedure code in the national procedure database (MaTTHC).", "Mã TTHC", True)})
    procedure_name: Text = Field(None, alias="TenTTHC", json_schema_extra={"spec": _spec(
        "procedure_name", Kind.TEXT, "Procedure name (TenTTHC).", "Tên TTHC")})
    field_code: Text = Field(None, alias="MaLinhVuc", json_schema_extra={"spec": _spec(
        "field_code", Kind.CODE, "Field of activity code (MaLinhVuc).")})
    field_name: Text = Field(None, alias="TenLinhVuc", json_schema_extra={"spec": _spec(
        "field_name", Kind.TEXT, "Field of activity name (TenLinhVuc).", "Lĩnh vực")})
    service_level_raw: Text = Field(None, alias="MucDo", json_schema_extra={"spec": _spec(
        "service_level_raw", Kind.CODE, "Service level as sent (MucDo): 4/toan_trinh full-process online, 3/mot_phan partly online, 2 information only.", "Mức độ")})
    channel_code: Text = Field(None, alias="KenhThucHien", json_schema_extra={"spec": _spec(
        "channel_code", Kind.CODE, "Channel as sent (KenhThucHien): 1 in person, 2 online, 3 postal; empty = in person.", "Kênh thực hiện")})
    status_code: RequiredText = Field(alias="TrangThaiHoSo", json_schema_extra={"spec": _spec(
        "status_code", Kind.CODE, "Status code 1..10 (TrangThaiHoSo), see docs/portal_export.md §2.", "Trạng thái", True)})
    submitted_at: PortalDateTime = Field(None, alias="NgayNopHoSo", json_schema_extra={"spec": _spec(
        "submitted_at", Kind.DATE, "Submitted (NgayNopHoSo), local time.", "Ngày nộp")})
    received_at: PortalDateTime = Field(None, alias="NgayTiepNhan", json_schema_extra={"spec": _spec(
        "received_at", Kind.DATE, "Received (NgayTiepNhan), local time; required except for status 1 and 3.", "Ngày tiếp nhận")})
    due_at: PortalDateTime = Field(None, alias="NgayHenTra", json_schema_extra={"spec": _spec(
        "due_at", Kind.DATE, "Due date (NgayHenTra), local time; may be empty.", "Ngày hẹn trả")})
    processing_finished_at: PortalDateTime = Field(None, alias="NgayKetThucXuLy", json_schema_extra={"spec": _spec(
        "processing_finished_at", Kind.DATE, "Processing finished (NgayKetThucXuLy), local time.", "Ngày kết thúc xử lý")})
    returned_at: PortalDateTime = Field(None, alias="NgayTra", json_schema_extra={"spec": _spec(
        "returned_at", Kind.DATE, "Result returned (NgayTra), local time.", "Ngày trả kết quả")})
    refused_at: PortalDateTime = Field(None, alias="NgayTuChoi", json_schema_extra={"spec": _spec(
        "refused_at", Kind.DATE, "Refused / stopped (NgayTuChoi), local time.")})
    updated_at: RequiredPortalDateTime = Field(alias="NgayCapNhat", json_schema_extra={"spec": _spec(
        "updated_at", Kind.DATE, "Last change at the source (NgayCapNhat), local time; the newest wins.", "Ngày cập nhật", True)})
    applicant_name: Text = Field(None, alias="ChuHoSo", json_schema_extra={"spec": _spec(
        "applicant_name", Kind.PII, "Applicant name (ChuHoSo): personal data, keyed hash only.", "Chủ hồ sơ")})
    applicant_id_number: Text = Field(None, alias="SoGiayToChuHoSo", json_schema_extra={"spec": _spec(
        "applicant_id_number", Kind.PII, "Applicant ID number (SoGiayToChuHoSo): personal data, keyed hash only.", "Số giấy tờ")})
    applicant_phone: Text = Field(None, alias="SoDienThoai", json_schema_extra={"spec": _spec(
        "applicant_phone", Kind.PII, "Applicant phone (SoDienThoai): personal data, keyed hash only.", "Số điện thoại")})
    applicant_email: Text = Field(None, alias="Email", json_schema_extra={"spec": _spec(
        "applicant_email", Kind.PII, "Applicant e-mail (Email): personal data, keyed hash only.")})
    applicant_address: Text = Field(None, alias="DiaChi", json_schema_extra={"spec": _spec(
        "applicant_address", Kind.PII, "Applicant address (DiaChi): personal data, keyed hash only.")})
    applicant_type: Text = Field(None, alias="LoaiDoiTuong", json_schema_extra={"spec": _spec(
        "applicant_type", Kind.CODE, "Applicant type (LoaiDoiTuong): 1 citizen, 2 business, 3 state agency, 4 other organisation.")})
    summary: Text = Field(None, alias="TrichYeuHoSo", json_schema_extra={"spec": _spec(
        "summary", Kind.TEXT, "Case summary (TrichYeuHoSo), free text.")})
    digitised_components_code: Text = Field(None, alias="HoSoCoThanhPhanSoHoa", json_schema_extra={"spec": _spec(
        "digitised_components_code", Kind.CODE, "Case has digitised components (HoSoCoThanhPhanSoHoa): 1 yes, 0 no.", "Số hóa thành phần")})
    vneid_verified_code: Text = Field(None, alias="TaiKhoanDuocXacThucVoiVNeID", json_schema_extra={"spec": _spec(
        "vneid_verified_code", Kind.CODE, "Applicant account verified with VNeID (TaiKhoanDuocXacThucVoiVNeID): 1 yes, 0 no.")})
    online_payment_code: Text = Field(None, alias="DuocThanhToanTrucTuyen", json_schema_extra={"spec": _spec(
        "online_payment_code", Kind.CODE, "Paid online (DuocThanhToanTrucTuyen): 1 national portal, 2 ministry/provincial gateway, other = not paid online.", "Thanh toán trực tuyến")})
    fees: list[dict[str, Any]] | None = Field(None, alias="DanhSachLePhi", json_schema_extra={"spec": _spec(
        "fees", Kind.LIST, "Fees (DanhSachLePhi) as JSON: [{TenPhiLePhi, MaPhiLePhi, Gia, LoaiPhiLePhi}].")})
    result_documents: list[dict[str, Any]] | None = Field(None, alias="DanhSachGiayToKetQua", json_schema_extra={"spec": _spec(
        "result_documents", Kind.LIST, "Result documents (DanhSachGiayToKetQua) as JSON; a non-empty DuongDanTepTinKetQua is an electronic result.")})
    supplement_requests: list[dict[str, Any]] | None = Field(None, alias="DanhSachHoSoBoSung", json_schema_extra={"spec": _spec(
        "supplement_requests", Kind.LIST, "Supplement requests (DanhSachHoSoBoSung) as JSON.")})
    satisfaction_code: Text = Field(None, alias="MucDoHaiLong", json_schema_extra={"spec": _spec(
        "satisfaction_code", Kind.CODE, "Applicant rating (MucDoHaiLong): 1 satisfied, 2 neutral, 3 dissatisfied, empty = no rating.", "Mức độ hài lòng")})
    # Flattened list columns of the CSV/XLSX export screen (docs/portal_export.md §5).
    fee_total_flat: Text = Field(None, alias="TongLePhi", json_schema_extra={"spec": _spec(
        "fee_total_flat", Kind.FLAT, "Total fee in VND from the export screen's flattened column (Lệ phí (VND)).", "Lệ phí (VND)")})
    electronic_result_flat: Text = Field(None, alias="CoKetQuaDienTu", json_schema_extra={"spec": _spec(
        "electronic_result_flat", Kind.FLAT, "Has an electronic result, from the export screen's flattened column (Có kết quả điện tử).", "Có kết quả điện tử")})

    @model_validator(mode="after")
    def _business_rules(self) -> CaseRecord:
        reasons = record_rule_violations(self)
        if reasons:
            raise ValueError("; ".join(reasons))
        return self


def record_rule_violations(record: CaseRecord) -> list[str]:
    """The cross-field rules of docs/portal_export.md §6 (mirrored in pipeline/validation.py)."""
    reasons: list[str] = []
    status = record.status_code
    if status not in STATUS_CODES:
        reasons.append(reason_text("bad_status", value=reason_value(status)))
    if (record.channel_code or "") not in CHANNEL_CODES:
        reasons.append(reason_text("bad_channel", value=reason_value(record.channel_code or "")))
    if status in STATUS_CODES and status not in NOT_RECEIVED_STATUSES and record.received_at is None:
        reasons.append(reason_text("received_required"))
    ended = case_ended_at(record)
    if status in ENDED_STATUSES and ended is None:
        reasons.append(reason_text("no_end", value=status))
    if ended is not None and record.received_at is not None and ended < record.received_at:
        reasons.append(reason_text("end_before_received"))
    return reasons


def case_ended_at(record: CaseRecord) -> datetime | None:
    """`ended_at` of docs/definitions.md §2."""
    if record.status_code in RESOLVED_STATUSES:
        return record.processing_finished_at or record.returned_at
    if record.status_code in WITHDRAWN_STATUSES:
        return record.refused_at or record.processing_finished_at
    return None


@dataclass(frozen=True)
class ContractField:
    name: str  # contract name (alias)
    spec: FieldSpec


def _collect_specs() -> tuple[ContractField, ...]:
    fields = []
    for info in CaseRecord.model_fields.values():
        spec = (info.json_schema_extra or {})["spec"]
        fields.append(ContractField(name=info.alias, spec=spec))
    return tuple(fields)


FIELD_SPECS: tuple[ContractField, ...] = _collect_specs()
FIELDS_BY_NAME: dict[str, ContractField] = {f.name: f for f in FIELD_SPECS}
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELD_SPECS if f.spec.required)
DATE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELD_SPECS if f.spec.kind is Kind.DATE)
PII_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELD_SPECS if f.spec.kind is Kind.PII)
LIST_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELD_SPECS if f.spec.kind is Kind.LIST)


def _header_key(header: str) -> str:
    """Headers compare in NFC, case-insensitively, whitespace-folded."""
    return " ".join(unicodedata.normalize("NFC", header).replace("\ufeff", "").split()).casefold()


# CSV/XLSX header (contract name or Vietnamese display header) -> contract name.
HEADER_TO_FIELD: dict[str, str] = {}
for _field in FIELD_SPECS:
    HEADER_TO_FIELD[_header_key(_field.name)] = _field.name
    if _field.spec.vi_header:
        HEADER_TO_FIELD[_header_key(_field.spec.vi_header)] = _field.name


# Unknown fields named like personal data (compared without case, diacritics or separators);
# mirrors pii_like_key in sql/macros.sql and PII_NAME_WORDS in pipeline/validation.py.
PII_NAME_PATTERN = re.compile(
    "hoten|hovaten|cccd|cmnd|dienthoai|sdt|email|diachi|sogiayto|ngaysinh|hochieu|chuhoso|nguoinop|phone|address|passport"
)


def pii_like_name(name: str) -> bool:
    """True for a field name such as HoTenNguoiNop, CCCD_2, 'Số điện thoại' or email_lh."""
    folded = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in folded if not unicodedata.category(ch).startswith("M")).lower()
    return bool(PII_NAME_PATTERN.search(re.sub(r"[^a-z0-9]", "", bare)))


def field_for_header(header: str) -> str | None:
    """Contract field for a CSV/XLSX header, or None for an unknown (kept as extra) column."""
    return HEADER_TO_FIELD.get(_header_key(header))


# Quarantine reasons: one wording shared by the SQL rules (pipeline/validation.py) and
# record_rule_violations above, so a person reads the same sentence whichever path ran.
REASONS: dict[str, str] = {
    "malformed_json": "malformed JSON: the line does not parse",
    "line_too_long": "line too long: {size} bytes, more than the limit of {limit} MB (DVC_MAX_LINE_MB)",
    "not_object": "not a JSON object",
    "missing": "{field}: required field is missing or empty",
    "bad_date": "{field}: unparseable date '{value}'",
    "bad_list": "{field}: not a JSON array",
    "bad_status": "TrangThaiHoSo: not a status code 1-10 ('{value}')",
    "bad_channel": "KenhThucHien: not empty/1/2/3 ('{value}')",
    "received_required": "NgayTiepNhan: required unless status is 1 or 3",
    "no_end": "status {value} has no end date",
    "end_before_received": "end date is before NgayTiepNhan",
    "implausible_date": "{field}: date outside the plausible range {start}..{end} ('{value}')",
    "bad_fee": "{field}: fee is not a non-negative amount of VND below 10^15 ('{value}')",
}

_RE_QUOTABLE = re.compile(
    r"[0-9]{1,3}|[0-9]{14}|[0-9]{2}/[0-9]{2}/[0-9]{4}( [0-9]{2}:[0-9]{2}:[0-9]{2})?"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_SHAPE_CHARS = 24


def reason_value(value: Any) -> str:
    """A bad value as a reason quotes it: reasons are published to analysts, so only values
    shaped like a date or a short code are quoted as sent; anything else by its shape
    ('Nguyễn Văn An 0912345678' -> 'Xxxxxx Xxx Xx 0000000000'). Mirrors the SQL macro
    reason_value (sql/macros.sql)."""
    if value is None:
        return ""
    text = str(value)
    if _RE_QUOTABLE.fullmatch(text):
        return text
    bare = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    out = []
    for ch in bare[:_SHAPE_CHARS]:
        cat = unicodedata.category(ch)
        if cat == "Lu":
            out.append("X")
        elif cat.startswith("L"):
            out.append("x")
        elif ch in "0123456789":
            out.append("0")
        elif ch in " ./:+-":
            out.append(ch)
        else:
            out.append("?")
    return "".join(out) + ("…" if len(bare) > _SHAPE_CHARS else "")


def reason_text(key: str, **values: str) -> str:
    """A reason's template, or its text when every placeholder is given."""
    template = REASONS[key]
    return template.format(**values) if values else template
