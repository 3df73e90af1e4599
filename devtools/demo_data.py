"""Deterministic generator of realistic portal export records (demo inbox, tests, benchmarks).

The records follow ``docs/portal_export.md``: every scalar value is a string,
list fields are lists of structs with string values. One output row is one case *version*:
a case (``MaHoSo``) appears 1–3 times with increasing ``NgayCapNhat`` and an advancing status,
and a few older versions arrive after newer ones, as in real feeds.

The demo province is Quảng Trị (``seeds/``): cases are assigned to the units that exist on
the day they are received (the 1/3/2025 department mergers and the 1/7/2025 end of districts
are respected), and each unit's full-process-online and online-payment shares move from its
2024 baseline towards its 2025 target (``seeds/targets.csv``).

Everything is vectorised (numpy + polars): no Python code runs per record, except in
``write_xlsx`` (Excel files are small by nature). Big volumes are produced chunk by chunk with
:func:`iter_case_chunks`; every writer accepts a DataFrame or an iterable of chunks, so ten
million versions can be written with bounded memory.
"""

from __future__ import annotations

import codecs
import gzip
import io
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from schemas.case_record import DATE_FIELDS, FIELD_SPECS, LIST_FIELDS, Kind

__all__ = [
    "CONTRACT_FIELDS",
    "DATE_FIELDS",
    "EXTRA_FIELD",
    "LIST_FIELDS",
    "VIETNAMESE_HEADERS",
    "generate_cases",
    "iter_case_chunks",
    "load_seed_units",
    "load_seed_procedures",
    "synthetic_unit_codes",
    "write_csv",
    "write_demo_inbox",
    "write_json",
    "write_jsonl",
    "write_xlsx",
]

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

# The contract's fields (docs/portal_export.md §1, in its order), from the one record schema.
CONTRACT_FIELDS: list[str] = [f.name for f in FIELD_SPECS if f.spec.kind is not Kind.FLAT]
# A field the contract does not know (yet): present on a few records, null elsewhere.
EXTRA_FIELD = "TruongMoi"

# Export-screen header (docs/portal_export.md §5) -> contract field, from the schema's headers; the
# two flattened list columns map to the pseudo-fields TongLePhi and CoKetQuaDienTu.
VIETNAMESE_HEADERS: dict[str, str] = {f.spec.vi_header: f.name for f in FIELD_SPECS if f.spec.vi_header}

FEE_STRUCT = pl.Struct({"TenPhiLePhi": pl.String, "MaPhiLePhi": pl.String, "Gia": pl.String, "LoaiPhiLePhi": pl.String})
RESULT_STRUCT = pl.Struct({"TenGiayTo": pl.String, "MaGiayToKetQua": pl.String, "DuongDanTepTinKetQua": pl.String})
SUPPLEMENT_STRUCT = pl.Struct({"NgayYeuCau": pl.String, "NgayHenTraTruoc": pl.String, "NgayHenTraMoi": pl.String})

DEFAULT_CHUNK_SIZE = 100_000
_DAY = 86_400
_EPOCH = date(1970, 1, 1)
_NO_TIME = -1  # "no value" in the int64 second arrays
_FAR_PAST = -(10**9)
_FAR_FUTURE = 10**9

# Public holidays (no reception; due dates skip them): New Year, Tết, Hùng Kings, 30/4-1/5, 2/9.
_HOLIDAYS = [
    "2024-01-01", "2024-02-08", "2024-02-09", "2024-02-12", "2024-02-13", "2024-02-14",
    "2024-04-18", "2024-04-29", "2024-04-30", "2024-05-01", "2024-09-02", "2024-09-03",
    "2025-01-01", "2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31",
    "2025-04-07", "2025-04-30", "2025-05-01", "2025-05-02", "2025-09-01", "2025-09-02",
    "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
]  # fmt: skip
_CAL = np.busdaycalendar(holidays=_HOLIDAYS)

# Which fields of activity a unit handles (by unit name for departments, by level otherwise).
_DEPARTMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "Sở Giáo dục và Đào tạo": ("GIAODUC",),
    "Sở Thông tin Truyền thông": ("BAOCHI", "XUATBAN"),
    "Sở Tài chính": ("GIA", "QLCS"),
    "Sở Nội vụ": ("CONGCHUC", "TONGIAO", "TDKT"),
    "Sở Công Thương": ("LTHH", "ATTP"),
    "Sở Khoa học và Công nghệ": ("KHCN", "TDC"),
    "Sở Xây dựng": ("XAYDUNG", "NHAO"),
    "Sở Văn hóa, Thể thao và Du lịch": ("DULICH", "VANHOA"),
    "Sở Y tế": ("KCB", "DUOC", "ATTP"),
    "Sở Ngoại vụ": ("HNQT",),
    "Sở Lao động Thương binh và Xã hội": ("VIECLAM", "BTXH", "NCC"),
    "Ban Quản lý khu Kinh tế": ("DAUTU", "VIECLAM"),
    "Sở Nông nghiệp và Phát triển nông thôn": ("THUY", "TRONGTROT"),
    "Sở Giao thông vận tải": ("DUONGBO",),
    "Sở Kế hoạch và Đầu tư": ("DKKD", "DAUTU"),
    "Sở Tư pháp": ("LLTP", "CONGCHUNG"),
    "Sở Tài nguyên và Môi trường": ("DATDAI", "MOITRUONG"),
}
# Relative case volume of departments (driving licences and criminal records are many,
# foreign affairs few); a merged department takes over its predecessors' volume.
_DEPARTMENT_VOLUME = {
    "Sở Thông tin Truyền thông": 0.3, "Sở Tài chính": 0.4, "Sở Nội vụ": 0.6, "Sở Công Thương": 1.2,
    "Sở Khoa học và Công nghệ": 0.3, "Sở Xây dựng": 0.8, "Sở Văn hóa, Thể thao và Du lịch": 0.6,
    "Sở Y tế": 1.2, "Sở Ngoại vụ": 0.1, "Sở Lao động Thương binh và Xã hội": 0.8,
    "Ban Quản lý khu Kinh tế": 0.4, "Sở Nông nghiệp và Phát triển nông thôn": 0.8,
    "Sở Giao thông vận tải": 2.5, "Sở Kế hoạch và Đầu tư": 1.2, "Sở Tư pháp": 1.5,
    "Sở Tài nguyên và Môi trường": 0.8, "Sở Nông nghiệp và Môi trường": 0.2,
}  # fmt: skip
_DISTRICT_FIELDS = ("HKD", "DATDAI", "XAYDUNG", "HOTICH", "BTXH")
_COMMUNE_FIELDS = ("HOTICH", "CHUNGTHUC", "BTXH", "NCC")
# Share of cases with fees, by field (default 0.5), and fields mostly used by businesses.
_FIELD_FEE_SHARE = {
    "HOTICH": 0.12, "CHUNGTHUC": 0.6, "BTXH": 0.0, "NCC": 0.0, "CONGCHUC": 0.3, "TDKT": 0.0,
    "GIAODUC": 0.15, "TONGIAO": 0.0, "QLCS": 0.0, "HNQT": 0.0, "DATDAI": 0.9, "XAYDUNG": 0.9,
    "HKD": 0.9, "DKKD": 0.95, "LLTP": 0.95, "DUONGBO": 0.95, "DUOC": 0.9, "KCB": 0.9,
    "THUY": 0.6,
}  # fmt: skip
_BUSINESS_FIELDS = frozenset({"DKKD", "GIA", "LTHH", "DAUTU", "ATTP", "HKD", "DUONGBO"})
_FEE_AMOUNTS = np.array([2_000, 8_000, 10_000, 20_000, 50_000, 100_000, 135_000, 150_000, 200_000, 500_000])
_PROCESSING_DAYS = np.array([1, 2, 3, 3, 5, 5, 7, 10, 15, 20])

# Codes that are not in seeds/units.csv (kept by the pipeline and reported as unknown).
_UNKNOWN_UNITS = [
    ("000.00.99.H48", "Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng tỉnh"),
    ("000.40.01.H48", "UBND xã Hướng Lập"),
    ("000.00.19.H48", "Văn phòng UBND tỉnh Quảng Trị"),
]

# Fake personal data pools (Vietnamese names, Quảng Trị places).
_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
           "Dương", "Lý", "Trương", "Đoàn", "Mai", "Lương"]  # fmt: skip
_FAMILY_P = np.array([30, 12, 10, 7, 6, 5, 5, 3, 3, 3, 4, 2, 2, 1, 2, 2, 2, 1], dtype=float)
_MIDDLE = [["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Đình", "Ngọc"],
           ["Thị", "Ngọc", "Thu", "Thanh", "Phương", "Minh", "Hồng", "Kim", "Thùy", "Bảo"]]  # fmt: skip
_GIVEN = [["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Minh", "Nam", "Phong",
           "Quang", "Sơn", "Thắng", "Tuấn", "Việt", "Hoàng", "Trung", "Đạt", "Hiếu", "Lộc", "Phúc"],
          ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hương", "Lan", "Linh", "Mai", "Ngọc",
           "Nhung", "Oanh", "Phương", "Thảo", "Trang", "Vân", "Yến", "Hằng", "Thủy", "Loan", "Quyên"]]  # fmt: skip
_BUSINESS_FORM = ["Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV", "Doanh nghiệp tư nhân"]
_BUSINESS_TRADE = ["Thương mại Dịch vụ", "Xây dựng", "Vận tải", "Đầu tư Phát triển", "Nông sản",
                   "Du lịch", "Dược phẩm", "Cà phê", "Gỗ", "Thủy sản"]  # fmt: skip
_BUSINESS_BRAND = ["Trường Sơn", "Hiếu Giang", "Thạch Hãn", "Cửa Việt", "Bến Hải", "Hoàng Phát",
                   "Miền Trung", "Khe Sanh", "Lao Bảo", "Đông Hà", "Minh Quang", "An Phú"]  # fmt: skip
_AGENCY = ["Trường Tiểu học", "Trường THCS", "Trạm Y tế", "Ủy ban nhân dân", "Trường Mầm non"]
_ORGANISATION = ["Hợp tác xã", "Hội Nông dân", "Quỹ tín dụng nhân dân", "Chi hội Chữ thập đỏ"]
_LOCALITY = ["Phường 1, thành phố Đông Hà", "Phường 5, thành phố Đông Hà",
             "Phường Đông Lễ, thành phố Đông Hà", "Phường Đông Thanh, thành phố Đông Hà",
             "Phường 2, thị xã Quảng Trị", "Phường An Đôn, thị xã Quảng Trị",
             "xã Cam Thành, huyện Cam Lộ", "thị trấn Cam Lộ, huyện Cam Lộ",
             "thị trấn Ái Tử, huyện Triệu Phong", "xã Triệu Long, huyện Triệu Phong",
             "thị trấn Krông Klang, huyện Đakrông", "thị trấn Khe Sanh, huyện Hướng Hóa",
             "thị trấn Lao Bảo, huyện Hướng Hóa", "thị trấn Diên Sanh, huyện Hải Lăng",
             "xã Hải Phú, huyện Hải Lăng", "thị trấn Gio Linh, huyện Gio Linh",
             "thị trấn Cửa Việt, huyện Gio Linh", "thị trấn Hồ Xá, huyện Vĩnh Linh",
             "thị trấn Cửa Tùng, huyện Vĩnh Linh", "xã Vĩnh Thủy, huyện Vĩnh Linh"]  # fmt: skip
_PLACE = ["Cam Thành", "Đông Lễ", "Triệu Long", "Hải Phú", "Gio Mỹ", "Vĩnh Long", "Tân Hợp", "Mò Ó"]
_STREET = ["Lê Lợi", "Hùng Vương", "Trần Hưng Đạo", "Nguyễn Huệ", "Lê Duẩn", "Quốc lộ 9", "Hàm Nghi",
           "Lý Thường Kiệt", "Phan Bội Châu", "Nguyễn Trãi", "Trần Phú", "Điện Biên Phủ"]  # fmt: skip
_VILLAGE = ["Thôn An Hưng", "Thôn Mai Xá", "Thôn Tân Xuân", "Khu phố 3", "Khu phố 6", "Thôn Phú Hội",
            "Thôn Hà Xá", "Thôn Đại Hào", "Bản Làng Vây", "Thôn Cổ Thành", "Thôn Bích La"]  # fmt: skip
_EMAIL_DOMAIN = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "quangtri.gov.vn"]
_RESULT_NAMES = ["Giấy phép", "Giấy chứng nhận", "Quyết định", "Trích lục", "Bản sao điện tử", "Phiếu kết quả"]
_NEW_FIELD_VALUES = ["giá trị mới", "1", "DVCQG-2025"]

# Final status of a case (before the export instant turns late ends into work in progress).
_FINAL_STATUS = np.array([10, 9, 4, 2, 5, 6, 7, 8, 1, 3])
_FINAL_STATUS_P = np.array([0.645, 0.17, 0.05, 0.025, 0.025, 0.01, 0.02, 0.01, 0.02, 0.025])
# Status of the version before the last one, and the one before that (index = final status).
_PREV1 = np.array([0, 1, 2, 1, 2, 4, 4, 4, 4, 4, 4])
_PREV2 = np.array([0, 1, 2, 1, 2, 2, 2, 2, 2, 2, 2])

# Date formats: per case, the source system's style (docs/portal_export.md §3).
_FMT_COMPACT = "%Y%m%d%H%M%S"
_FMT_VN_DATETIME = "%d/%m/%Y %H:%M:%S"
_FMT_VN_DATE = "%d/%m/%Y"
_FMT_ISO = "%Y-%m-%dT%H:%M:%S+07:00"
_INVALID_DATES = ["20250231120000", "31/02/2025", "2025-02-30T08:00:00+07:00", "20251301080000"]


def _ascii(text: str) -> str:
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


# ---------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------
def _read_seed_csv(path: Path) -> pl.DataFrame:
    df = pl.read_csv(path, infer_schema=False, encoding="utf8")
    return df.with_columns(pl.col(c).str.normalize("NFC").str.strip_chars() for c in df.columns)


def load_seed_units(seeds_dir: Path | None = None) -> pl.DataFrame:
    """``seeds/units.csv`` as strings (empty cells are null); default ``<repo>/seeds``."""
    return _read_seed_csv((seeds_dir or SEEDS_DIR) / "units.csv")


def load_seed_procedures(seeds_dir: Path | None = None) -> pl.DataFrame:
    """``seeds/procedures.csv`` as strings."""
    return _read_seed_csv((seeds_dir or SEEDS_DIR) / "procedures.csv")


def synthetic_unit_codes(n: int) -> list[str]:
    """``n`` distinct unit codes for benchmarks: the seed units first, then made-up codes."""
    seeds = load_seed_units().filter(pl.col("unit_level") != "province")["unit_code"].to_list()
    codes = list(dict.fromkeys(seeds))[:n]  # a code may have several validity rows
    taken = set(codes)
    i = 0
    while len(codes) < n:
        province, rest = divmod(i, 59 * 99)
        district, commune = divmod(rest, 99)
        code = f"000.{41 + district:02d}.{commune + 1:02d}.H{48 + province:02d}"
        if code not in taken:
            codes.append(code)
            taken.add(code)
        i += 1
    return codes


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _day_number(value: str | None, default: int) -> int:
    return (date.fromisoformat(value) - _EPOCH).days if value else default


@dataclass(frozen=True)
class _Procedures:
    code: list[str]
    name: list[str]
    field: list[str]
    field_name: list[str]
    level: np.ndarray
    days: np.ndarray
    fee: np.ndarray
    fee_share: np.ndarray
    business: np.ndarray


def _procedures(df: pl.DataFrame | None) -> _Procedures:
    df = load_seed_procedures() if df is None else df
    df = df.select(
        pl.col(c).cast(pl.String).fill_null("")
        for c in ("procedure_code", "procedure_name", "field_code", "field_name", "service_level")
    )
    if df.height == 0:
        raise ValueError("no procedures to generate cases with")
    codes = df["procedure_code"].to_list()
    fields = df["field_code"].to_list()
    level = np.array([int(v) if v in ("2", "3", "4") else 3 for v in df["service_level"].to_list()])
    return _Procedures(
        code=codes,
        name=df["procedure_name"].to_list(),
        field=fields,
        field_name=df["field_name"].to_list(),
        level=level,
        days=np.array([_PROCESSING_DAYS[_crc(c) % len(_PROCESSING_DAYS)] for c in codes]),
        fee=np.array([_FEE_AMOUNTS[(_crc(c) >> 8) % len(_FEE_AMOUNTS)] for c in codes]),
        fee_share=np.array([_FIELD_FEE_SHARE.get(f, 0.35) for f in fields]),
        business=np.array([f in _BUSINESS_FIELDS for f in fields]),
    )


@dataclass(frozen=True)
class _Universe:
    """Units and procedures as arrays, with per-unit behaviour."""

    codes: list[str]
    names: list[str]
    local: np.ndarray  # district/commune: the source system often writes "UBND <name>"
    weight: np.ndarray
    successor: np.ndarray  # department that takes over an ended department's cases, or -1
    valid_from: np.ndarray  # day numbers, inclusive
    valid_to: np.ndarray
    bounds: np.ndarray  # days on which the set of valid units changes
    procset: np.ndarray  # index into sets_all / sets_l4
    fp_base: np.ndarray  # full-process online share, 2024 -> 2025 target
    fp_target: np.ndarray
    pay_base: np.ndarray  # online payment share (code 1) of cases with fees
    pay_target: np.ndarray
    attain: np.ndarray  # how far towards its target a unit gets by the end of the year
    late: np.ndarray  # share of late results
    sets_all: list[np.ndarray]
    sets_l4: list[np.ndarray]
    procs: _Procedures


def _targets(seeds_dir: Path) -> dict[str, dict[str, tuple[float, float]]]:
    path = seeds_dir / "targets.csv"
    out: dict[str, dict[str, tuple[float, float]]] = {}
    if not path.exists():
        return out
    for row in _read_seed_csv(path).iter_rows(named=True):
        base = row.get("baseline_rate_prev_year") or row["target_rate"]
        out.setdefault(row["unit_code"], {})[row["metric"]] = (float(base), float(row["target_rate"]))
    return out


def _universe(unit_codes: list[str] | None, procedures: pl.DataFrame | None, seed: int) -> _Universe:
    rng = np.random.default_rng([seed, 7_777_777])
    procs = _procedures(procedures)
    units = load_seed_units().filter(pl.col("unit_level") != "province")
    crosswalk_path = SEEDS_DIR / "unit_crosswalk.csv"
    crosswalk = _read_seed_csv(crosswalk_path) if crosswalk_path.exists() else None
    # A code may have several rows with non-overlapping validity (e.g. a commune that moves to
    # another province in a merger): the latest row describes it, the rows together its lifetime.
    seed_rows = {r["unit_code"]: r for r in units.sort("valid_from", nulls_last=False).iter_rows(named=True)}
    lifetime: dict[str, tuple[int, int]] = {}
    for r in units.iter_rows(named=True):
        lo, hi = _day_number(r["valid_from"], _FAR_PAST), _day_number(r["valid_to"], _FAR_FUTURE)
        old = lifetime.get(r["unit_code"], (lo, hi))
        lifetime[r["unit_code"]] = (min(old[0], lo), max(old[1], hi))
    predecessors: dict[str, list[str]] = {}
    primary_successor: dict[str, str] = {}
    if crosswalk is not None:
        for r in crosswalk.iter_rows(named=True):
            predecessors.setdefault(r["new_unit_code"], []).append(r["old_unit_code"])
            if (r["is_primary"] or "").lower() in ("true", "1", "yes"):
                primary_successor[r["old_unit_code"]] = r["new_unit_code"]
    targets = _targets(SEEDS_DIR)

    if unit_codes is None:
        codes = list(seed_rows)
        valid_from = np.array([lifetime[c][0] for c in codes])
        valid_to = np.array([lifetime[c][1] for c in codes])
    else:
        codes = list(dict.fromkeys(unit_codes))
        if not codes:
            raise ValueError("unit_codes is empty")
        valid_from = np.full(len(codes), _FAR_PAST)
        valid_to = np.full(len(codes), _FAR_FUTURE)
    n = len(codes)
    rows = [seed_rows.get(c) for c in codes]
    names = [r["unit_name"] if r else f"Đơn vị {c}" for c, r in zip(codes, rows, strict=True)]
    levels = [r["unit_level"] if r else "unknown" for r in rows]

    def fields_of(code: str, depth: int = 0) -> set[str]:
        row = seed_rows.get(code)
        if row is None or depth > 3:
            return set()
        level = row["unit_level"]
        if level == "district":
            own = set(_DISTRICT_FIELDS)
        elif level == "commune":
            own = set(_COMMUNE_FIELDS) | (set(_DISTRICT_FIELDS) if row["valid_from"] else set())
        else:
            own = set(_DEPARTMENT_FIELDS.get(row["unit_name"], ()))
        if level == "province_department":
            for old in predecessors.get(code, ()):
                own |= fields_of(old, depth + 1)
        return own

    set_ids: dict[tuple[int, ...], int] = {}
    sets_all: list[np.ndarray] = []
    sets_l4: list[np.ndarray] = []
    procset = np.empty(n, dtype=np.int64)
    for i, code in enumerate(codes):
        fields = fields_of(code)
        members = tuple(j for j, f in enumerate(procs.field) if f in fields) or tuple(range(len(procs.code)))
        if members not in set_ids:
            set_ids[members] = len(sets_all)
            arr = np.array(members, dtype=np.int64)
            sets_all.append(arr)
            sets_l4.append(arr[procs.level[arr] == 4])
        procset[i] = set_ids[members]

    def rate(code: str, metric: str, depth: int = 0) -> tuple[float, float] | None:
        if metric in targets.get(code, {}):
            return targets[code][metric]
        if depth > 3:
            return None
        found = [v for old in predecessors.get(code, ()) if (v := rate(old, metric, depth + 1))]
        if found:
            return (float(np.mean([b for b, _ in found])), float(np.mean([t for _, t in found])))
        row = seed_rows.get(code)
        if row and row["parent_code"]:
            return rate(row["parent_code"], metric, depth + 1)
        return None

    fp = np.empty((n, 2))
    pay = np.empty((n, 2))
    defaults_fp = rng.uniform(0.05, 0.5, n)
    defaults_pay = rng.uniform(0.2, 0.8, n)
    for i, code in enumerate(codes):
        base, target = rate(code, "full_process_online_rate") or (defaults_fp[i], max(0.6, defaults_fp[i]))
        fp[i] = (base, target)
        base, target = rate(code, "online_payment_rate") or (defaults_pay[i], max(0.6, defaults_pay[i]))
        pay[i] = (base, target)

    level_weight = {"province_department": 2.0, "district": 3.0, "commune": 1.2}
    weight = np.array([
        3.5 if lv == "commune" and vf > _FAR_PAST
        else level_weight.get(lv, 1.0) * (_DEPARTMENT_VOLUME.get(name, 1.0) if lv == "province_department" else 1.0)
        for lv, vf, name in zip(levels, valid_from, names, strict=True)
    ]) * rng.lognormal(0.0, 0.3, n)
    index = {code: i for i, code in enumerate(codes)}
    successor = np.array([
        index.get(primary_successor.get(code, ""), -1) if lv == "province_department" else -1
        for code, lv in zip(codes, levels, strict=True)
    ])
    bounds = np.unique(np.concatenate([valid_from[valid_from > _FAR_PAST], valid_to[valid_to < _FAR_FUTURE] + 1]))
    return _Universe(
        codes=codes,
        names=names,
        local=np.array([lv in ("district", "commune") for lv in levels]),
        weight=weight,
        successor=successor,
        valid_from=valid_from,
        valid_to=valid_to,
        bounds=bounds,
        procset=procset,
        fp_base=fp[:, 0],
        fp_target=fp[:, 1],
        pay_base=pay[:, 0],
        pay_target=pay[:, 1],
        attain=rng.uniform(0.55, 1.1, n),
        late=np.clip(rng.beta(1.2, 18.0, n), 0.005, 0.25),
        sets_all=sets_all,
        sets_l4=sets_l4,
        procs=procs,
    )


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    seed: int
    start_day: int
    end_day: int
    now: int  # export instant: the last second of `end`
    invalid_share: float
    universe: _Universe


def _pick(pool: Sequence[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(values=list(pool), dtype=pl.String).gather(idx)


def _digits(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)


def _busday(days: np.ndarray, offset: np.ndarray | int) -> np.ndarray:
    out = np.busday_offset(days.astype("datetime64[D]"), offset, roll="forward", busdaycal=_CAL)
    return out.astype(np.int64)


def _working_time(rng: np.random.Generator, n: int) -> np.ndarray:
    morning = rng.random(n) < 0.58
    return np.where(morning, 27_000 + rng.integers(0, 14_400, n), 48_600 + rng.integers(0, 12_600, n))


def _versions_per_case(rng: np.random.Generator, n_rows: int) -> np.ndarray:
    parts: list[np.ndarray] = []
    total = 0
    while total < n_rows:
        draw = rng.choice(np.array([1, 2, 3]), size=int((n_rows - total) / 1.27) + 16, p=[0.8, 0.13, 0.07])
        parts.append(draw)
        total += int(draw.sum())
    nv = np.concatenate(parts)
    cum = np.cumsum(nv)
    last = int(np.searchsorted(cum, n_rows))
    nv = nv[: last + 1].copy()
    nv[-1] -= int(cum[last]) - n_rows
    return nv


def _choose_units(rng: np.random.Generator, u: _Universe, day: np.ndarray) -> np.ndarray:
    era = np.searchsorted(u.bounds, day, side="right")
    out = np.empty(len(day), dtype=np.int64)
    for e in np.unique(era):
        mask = era == e
        probe = u.bounds[e - 1] if e > 0 else (u.bounds[0] - 1 if len(u.bounds) else 0)
        valid = (u.valid_from <= probe) & (u.valid_to >= probe)
        weight = u.weight.copy()
        moved = (~valid) & (u.valid_to < probe) & (u.successor >= 0)
        np.add.at(weight, u.successor[moved], u.weight[moved])
        active = np.nonzero(valid)[0]
        if len(active) == 0:
            active = np.arange(len(u.codes))
        w = weight[active] / weight[active].sum()
        out[mask] = active[rng.choice(len(active), size=int(mask.sum()), p=w)]
    return out


def _chunk(n_rows: int, chunk_no: int, case_offset: int, ctx: _Context) -> tuple[pl.DataFrame, int]:
    rng = np.random.default_rng([ctx.seed, chunk_no])
    u = ctx.universe
    p = u.procs
    now = ctx.now

    # --- cases ---------------------------------------------------------------------
    nv = _versions_per_case(rng, n_rows)
    nc = len(nv)
    span = ctx.end_day - ctx.start_day + 1
    raw_day = ctx.start_day + rng.integers(0, span, nc)
    rolled = _busday(raw_day, 0)
    back = np.busday_offset(raw_day.astype("datetime64[D]"), 0, roll="backward", busdaycal=_CAL).astype(np.int64)
    rolled = np.where(rolled > ctx.end_day, back, rolled)
    rolled = np.where(rolled < ctx.start_day, raw_day, rolled)
    day = np.where(rng.random(nc) < 0.04, raw_day, rolled)  # a few Saturday/holiday receptions
    t_frac = (day - ctx.start_day) / max(span - 1, 1)
    tod = _working_time(rng, nc)
    received = day * _DAY + tod
    ui = _choose_units(rng, u, day)
    status = rng.choice(_FINAL_STATUS, size=nc, p=_FINAL_STATUS_P)

    # full-process online (online + MucDo 4): each unit moves from its baseline to its target
    fp_rate = u.fp_base[ui] + (u.fp_target[ui] - u.fp_base[ui]) * u.attain[ui] * t_frac
    has_l4 = np.array([len(s) > 0 for s in u.sets_l4])
    fp = (rng.random(nc) < np.clip(fp_rate, 0.0, 0.99)) & has_l4[u.procset[ui]]
    proc = np.empty(nc, dtype=np.int64)
    ps = u.procset[ui]
    for s in np.unique(ps):
        for flag, pool in ((True, u.sets_l4[s]), (False, u.sets_all[s])):
            mask = (ps == s) & (fp == flag)
            k = int(mask.sum())
            if k:
                proc[mask] = pool[rng.integers(0, len(pool), k)]
    level = p.level[proc]

    # channel: 0 "" (in person), 1 in person, 2 online, 3 postal
    partly_online = (~fp) & (level == 3) & (rng.random(nc) < 0.12 + 0.3 * t_frac)
    online = fp | partly_online
    channel = np.where(online, 2, 1)
    channel[(~online) & (rng.random(nc) < 0.04)] = 3
    channel[status == 1] = 2
    channel[(channel == 1) & (rng.random(nc) < 0.15)] = 0
    online = channel == 2

    # MucDo: 0 "2", 1 "3", 2 "4", 3 "toan_trinh", 4 "mot_phan", 5 ""
    filed_level = level.copy()
    changed = (~fp) & (channel != 2) & (rng.random(nc) < 0.015)
    filed_level[changed] = rng.integers(2, 5, int(changed.sum()))
    mucdo = filed_level - 2
    words = rng.random(nc) < 0.03
    mucdo = np.where(words & (filed_level == 4), 3, np.where(words & (filed_level == 3), 4, mucdo))
    mucdo[(~fp) & (rng.random(nc) < 0.01)] = 5

    # due date: working days after reception
    due_day = _busday(day, p.days[proc])
    due_tod = np.where(rng.random(nc) < 0.5, tod, 61_200)
    due = due_day * _DAY + due_tod
    due_missing = rng.random(nc) < 0.04

    # processing end: early, on the due date but later in the day, or late
    r = rng.random(nc)
    late = r < u.late[ui]
    on_due_date = (~late) & (r < u.late[ui] + 0.10)
    latest_early = due_day * _DAY - 1
    early_end = received + 600 + (rng.beta(1.3, 2.2, nc) * np.maximum(latest_early - received - 600, 0)).astype(np.int64)
    snapped = (early_end // _DAY) * _DAY + _working_time(rng, nc)
    early_end = np.where((snapped > received + 600) & (snapped <= latest_early), snapped, early_end)
    room = np.maximum(_DAY - 1 - due_tod - 60, 1)
    due_date_end = due + 60 + (rng.random(nc) * np.minimum(room, 4 * 3600)).astype(np.int64)
    late_end = _busday(due_day, rng.integers(1, 16, nc)) * _DAY + _working_time(rng, nc)
    end = np.select([late, on_due_date], [late_end, due_date_end], early_end)

    resolved = (status == 9) | (status == 10)
    unfinished = resolved & (end > now)
    status[unfinished] = rng.choice(np.array([4, 5, 2]), size=int(unfinished.sum()), p=[0.75, 0.15, 0.1])
    same_time = rng.random(nc) < 0.4
    ret_day = _busday(end // _DAY, rng.integers(0, 4, nc))
    returned = np.where(same_time, end + rng.integers(0, 7_200, nc),
                        np.maximum(ret_day * _DAY + _working_time(rng, nc), end + 60))
    status[(status == 10) & (returned > now)] = 9
    refused = received + 300 + (rng.uniform(0.05, 1.0, nc) * np.maximum(due - received - 300, 0)).astype(np.int64)
    withdrawn = (status == 7) | (status == 8)
    status[withdrawn & (refused > now)] = 4
    withdrawn = (status == 7) | (status == 8)
    resolved = (status == 9) | (status == 10)
    # end-date style of 7/8: 0 NgayTuChoi only, 1 both, 2 NgayKetThucXuLy only
    refusal_style = rng.choice(np.array([0, 1, 2]), size=nc, p=[0.7, 0.15, 0.15])
    no_finish_date = rng.random(nc) < 0.04  # status 10 with NgayTra but no NgayKetThucXuLy

    # submission
    submitted = np.where(
        online, received - rng.integers(300, 3 * _DAY, nc),
        np.where(channel == 3, received - rng.integers(_DAY, 4 * _DAY, nc), received - rng.integers(0, 1_200, nc)),
    )
    has_submitted = online | (channel == 3) | (rng.random(nc) < 0.6) | (status == 1) | (status == 3)
    submitted = np.where(has_submitted, submitted, _NO_TIME)
    refused_at_reception = np.minimum(np.maximum(submitted, received - _DAY) + rng.integers(3_600, 2 * _DAY, nc), now)

    # supplements (status 5, and a few resolved cases that were paused once)
    has_supplement = (status == 5) | (resolved & (rng.random(nc) < 0.04))
    supp_upper = np.where(resolved, end, np.minimum(now, np.maximum(due, received + 3_600)))
    supp_requested = received + (rng.uniform(0.2, 0.8, nc) * (supp_upper - received)).astype(np.int64)
    supp_new_due = _busday(due_day, 5) * _DAY + due_tod

    # last update of the case
    small = rng.integers(0, 600, nc)
    working_update = received + (rng.uniform(0.05, 0.9, nc) * (np.minimum(now, np.maximum(due, received + 3_600)) - received)).astype(np.int64)
    final_update = np.select(
        [status == 10, status == 9, withdrawn, status == 5, (status == 4) | (status == 6), status == 2,
         status == 1, status == 3],
        [returned + small, end + small, refused + small, supp_requested + small, working_update,
         received + small, submitted + small, refused_at_reception + small],
    )  # fmt: skip
    final_update = np.minimum(final_update, now)

    prev1 = _PREV1[status]
    prev1 = np.where((status == 10) & (rng.random(nc) < 0.3), 9, prev1)
    prev1 = np.where((status == 2) & online, 1, prev1)
    prev2 = _PREV2[status]
    prev2 = np.where(online & ((status == 2) | (status == 4)), 1, prev2)

    # per-case attributes
    applicant_type = np.where(p.business[proc], rng.choice(np.array([1, 2, 4]), size=nc, p=[0.2, 0.75, 0.05]),
                              rng.choice(np.array([1, 2, 3, 4]), size=nc, p=[0.88, 0.05, 0.03, 0.04]))
    has_fee = rng.random(nc) < p.fee_share[proc]
    pay_rate = np.clip(u.pay_base[ui] + (u.pay_target[ui] - u.pay_base[ui]) * u.attain[ui] * t_frac, 0, 0.99)
    r = rng.random(nc)
    # payment: 0 "", 1 "0", 2 "1", 3 "2", 4 "9"
    payment = np.where(r < pay_rate, 2, np.where(r < pay_rate + 0.08 * (1 - pay_rate), 3,
                                                 np.where(rng.random(nc) < 0.55, 1, 0)))
    payment[has_fee & (rng.random(nc) < 0.003)] = 4
    payment = np.where(has_fee, payment, np.where(rng.random(nc) < 0.2, 1, 0))
    digitised = np.where(rng.random(nc) < 0.25 + 0.5 * t_frac + 0.15 * online, 2, 1)  # 0 "", 1 "0", 2 "1"
    digitised[rng.random(nc) < 0.05] = 0
    vneid = np.where(online, np.where(rng.random(nc) < 0.55 + 0.35 * t_frac, 2, 1),
                     np.where(rng.random(nc) < 0.7, 1, 0))
    electronic = rng.random(nc) < 0.45 + 0.35 * t_frac
    paper_doc = (~electronic) & (rng.random(nc) < 0.5)
    rating = rng.choice(np.arange(4), size=nc, p=[0.45, 0.46, 0.06, 0.03])  # "", 1, 2, 3
    unknown_unit = rng.random(nc) < 0.003

    # --- versions (rows) -----------------------------------------------------------
    case = np.repeat(np.arange(nc), nv)
    first = np.cumsum(nv) - nv
    pos = np.arange(n_rows) - first[case]
    nv_row = nv[case]
    is_final = pos == nv_row - 1
    back1 = pos == nv_row - 2
    row_status = np.where(is_final, status[case], np.where(back1, prev1[case], prev2[case]))
    rc_received, rc_submitted, rc_end = received[case], submitted[case], end[case]
    natural = np.select(
        [row_status == 1, row_status == 2, row_status == 4, row_status == 9],
        [rc_submitted, rc_received, rc_received + (rng.uniform(0.1, 0.7, n_rows)
                                                   * (final_update[case] - rc_received)).astype(np.int64),
         rc_end],
        rc_received,
    ) + rng.integers(0, 600, n_rows)
    update = np.where(is_final, final_update[case], natural)
    for j in (1, 2):
        at = np.nonzero(pos == j)[0]
        update[at] = np.maximum(update[at], update[at - 1] + 1)

    # arrival order: by NgayCapNhat with an hour of jitter; some older versions arrive late
    key = update + rng.integers(0, 3_600, n_rows)
    late_arrival = (~is_final) & (rng.random(n_rows) < 0.12)
    nxt = np.nonzero(late_arrival)[0] + 1
    key[late_arrival] = update[nxt] + rng.integers(1, 2 * _DAY, len(nxt))
    order = np.argsort(key, kind="stable")
    case, row_status, update, is_final = case[order], row_status[order], update[order], is_final[order]

    def c(values: np.ndarray) -> np.ndarray:
        return values[case]

    st = row_status
    received_row = c(received)
    taken_in = (st != 1) & (st != 3)
    rs_resolved = (st == 9) | (st == 10)
    rs_withdrawn = (st == 7) | (st == 8)
    style = c(refusal_style)
    dates = {
        "NgayNopHoSo": c(submitted),
        "NgayTiepNhan": np.where(taken_in, received_row, _NO_TIME),
        "NgayHenTra": np.where(taken_in & ~c(due_missing), c(due), _NO_TIME),
        "NgayKetThucXuLy": np.where(rs_resolved & ~((st == 10) & c(no_finish_date)), c(end),
                                    np.where(rs_withdrawn & (style > 0), c(refused), _NO_TIME)),
        "NgayTra": np.where(st == 10, c(returned), _NO_TIME),
        "NgayTuChoi": np.where(rs_withdrawn & (style < 2), c(refused),
                               np.where(st == 3, c(refused_at_reception), _NO_TIME)),
        "NgayCapNhat": update,
    }
    frame = pl.DataFrame({k: v.astype(np.int64) for k, v in dates.items()})
    # date style per case: 0 compact, 1 dd/MM/yyyy HH:mm:ss, 2 ISO, 3 compact with dd/MM/yyyy due/submitted
    date_style = c(rng.choice(np.arange(4), size=nc, p=[0.93, 0.025, 0.025, 0.02]))
    date_cols = _format_dates(frame, date_style)

    # --- strings -------------------------------------------------------------------
    unit_idx = c(ui)
    unit_code = _pick(u.codes, unit_idx)
    unit_name = _pick(u.names, unit_idx)
    unknown = c(unknown_unit)
    if unknown.any():
        at = np.nonzero(unknown)[0]
        which = c(rng.integers(0, len(_UNKNOWN_UNITS), nc))[at]
        unit_code = unit_code.scatter(at, _pick([x[0] for x in _UNKNOWN_UNITS], which))
        unit_name = unit_name.scatter(at, _pick([x[1] for x in _UNKNOWN_UNITS], which))
    name_style = c(rng.random(nc))
    ubnd = (u.local[unit_idx] & (name_style < 0.12)) & ~unknown
    case_no = case + case_offset + 1
    id_day = np.where(c(submitted) >= 0, c(submitted), received_row) // _DAY
    id_date = pl.Series(id_day.astype(np.int32)).cast(pl.Date).dt.strftime("%y%m%d")
    proc_row = c(proc)
    sex = c(rng.integers(0, 2, nc))
    birth_year = c(rng.integers(1950, 2007, nc))
    family = c(rng.choice(len(_FAMILY), size=nc, p=_FAMILY_P / _FAMILY_P.sum()))
    middle = c(rng.integers(0, len(_MIDDLE[0]), nc))
    given = c(rng.integers(0, len(_GIVEN[0]), nc))
    a_type = c(applicant_type)
    fee_row = c(has_fee)
    second_fee = c(rng.random(nc) < 0.2)

    w = pl.DataFrame({
        "unit_code": unit_code,
        "unit_name": unit_name,
        "ubnd": ubnd,
        "nfd_name": name_style > 0.98,
        "id_date": id_date,
        "case_no": _digits(case_no, 4),
        "other_id": c(rng.random(nc) < 0.04),
        "other_no": _digits(c(rng.integers(0, 1_000_000, nc)), 6),
        "proc_code": _pick(p.code, proc_row),
        "proc_name": _pick(p.name, proc_row),
        "field_code": _pick(p.field, proc_row),
        "field_name": _pick(p.field_name, proc_row),
        "mucdo": _pick(["2", "3", "4", "toan_trinh", "mot_phan", ""], c(mucdo)),
        "channel": _pick(["", "1", "2", "3"], c(channel)),
        "status": pl.Series(st).cast(pl.String),
        "person": _pick(_FAMILY, family) + " " + _pick(_MIDDLE[0] + _MIDDLE[1], middle + sex * len(_MIDDLE[0]))
        + " " + _pick(_GIVEN[0] + _GIVEN[1], given + sex * len(_GIVEN[0])),
        "business": _pick(_BUSINESS_FORM, c(rng.integers(0, len(_BUSINESS_FORM), nc))) + " "
        + _pick(_BUSINESS_TRADE, c(rng.integers(0, len(_BUSINESS_TRADE), nc))) + " "
        + _pick(_BUSINESS_BRAND, c(rng.integers(0, len(_BUSINESS_BRAND), nc))),
        "agency": _pick(_AGENCY, c(rng.integers(0, len(_AGENCY), nc))) + " "
        + _pick(_PLACE, c(rng.integers(0, len(_PLACE), nc))),
        "organisation": _pick(_ORGANISATION, c(rng.integers(0, len(_ORGANISATION), nc))) + " "
        + _pick(_PLACE, c(rng.integers(0, len(_PLACE), nc))),
        "a_type": a_type,
        "cccd": "045" + _digits((sex + 2 * (birth_year >= 2000)) * 100_000_000 + (birth_year % 100) * 1_000_000
                                + c(rng.integers(0, 1_000_000, nc)), 9),
        "cmnd": "19" + _digits(c(rng.integers(0, 10_000_000, nc)), 7),
        "tax_code": "3200" + _digits(c(rng.integers(0, 1_000_000, nc)), 6),
        "id_kind": c(rng.random(nc)),
        "phone": _pick(["09", "03", "08", "07", "05"], c(rng.choice(5, size=nc, p=[0.45, 0.3, 0.12, 0.1, 0.03])))
        + _digits(c(rng.integers(0, 100_000_000, nc)), 8),
        "phone_empty": c(rng.random(nc) < 0.05),
        "email": _pick([_ascii(g) for g in _GIVEN[0] + _GIVEN[1]], given + sex * len(_GIVEN[0]))
        + _pick([_ascii(f) for f in _FAMILY], family) + _digits(birth_year % 100, 2) + "@"
        + _pick(_EMAIL_DOMAIN, c(rng.integers(0, len(_EMAIL_DOMAIN), nc))),
        "email_empty": c(rng.random(nc) < 0.4),
        "street_address": pl.Series(c(rng.integers(1, 300, nc))).cast(pl.String) + " "
        + _pick(_STREET, c(rng.integers(0, len(_STREET), nc))),
        "village": _pick(_VILLAGE, c(rng.integers(0, len(_VILLAGE), nc))),
        "in_town": c(rng.random(nc) < 0.4),
        "locality": _pick(_LOCALITY, c(rng.integers(0, len(_LOCALITY), nc))),
        "summary_empty": c(rng.random(nc) < 0.1),
        "digitised": _pick(["", "0", "1"], c(digitised)),
        "vneid": _pick(["", "0", "1"], c(vneid)),
        "payment": _pick(["", "0", "1", "2", "9"], c(payment)),
        "n_fee": np.where(fee_row, 1 + second_fee, 0).astype(np.int64),
        "fee": pl.Series(p.fee[proc_row]).cast(pl.String),
        "fee2": pl.Series(np.where(p.fee[proc_row] >= 100_000, p.fee[proc_row] * 2, 300_000)).cast(pl.String),
        "n_doc": ((rs_resolved & (c(electronic) | c(paper_doc))).astype(np.int64)),
        "doc_link": c(electronic),
        "doc_name": _pick(_RESULT_NAMES, np.array([_crc(x) % len(_RESULT_NAMES) for x in p.code])[proc_row]),
        "n_supp": (is_final & c(has_supplement)).astype(np.int64),
        "supp_req": _format_compact(c(supp_requested)),
        "supp_old": _format_compact(c(due)),
        "supp_new": _format_compact(c(supp_new_due)),
        "rating": pl.Series(np.where(is_final & rs_resolved, c(rating), 0)).cast(pl.String).replace("0", ""),
        "new_field": c(rng.random(nc) < 0.01),
        "new_field_value": _pick(_NEW_FIELD_VALUES, c(rng.integers(0, len(_NEW_FIELD_VALUES), nc))),
    })
    w = pl.concat([w, date_cols], how="horizontal")
    case_id = pl.concat_str([pl.col("unit_code"), pl.lit("-"), pl.col("id_date"), pl.lit("-"), pl.col("case_no")])
    holder = (
        pl.when(pl.col("a_type") == 1).then(pl.col("person"))
        .when(pl.col("a_type") == 2).then(pl.col("business"))
        .when(pl.col("a_type") == 3).then(pl.col("agency"))
        .otherwise(pl.col("organisation"))
    )  # fmt: skip
    id_number = (
        pl.when(pl.col("id_kind") < 0.02).then(pl.lit(""))
        .when(pl.col("a_type") == 2).then(pl.col("tax_code"))
        .when(pl.col("a_type") >= 3).then(pl.when(pl.col("id_kind") < 0.5).then(pl.col("tax_code")).otherwise(pl.lit("")))
        .when(pl.col("id_kind") < 0.05).then(pl.col("cmnd"))
        .otherwise(pl.col("cccd"))
    )  # fmt: skip
    unit_name_expr = (
        pl.when(pl.col("ubnd")).then(pl.lit("UBND ") + pl.col("unit_name"))
        .when(pl.col("nfd_name")).then(pl.col("unit_name").str.normalize("NFD"))
        .otherwise(pl.col("unit_name"))
    )  # fmt: skip
    w = w.with_columns(
        _struct_lists(w, "n_fee", "DanhSachLePhi", [
            {"TenPhiLePhi": pl.lit("Lệ phí"), "MaPhiLePhi": pl.lit("LP-") + pl.col("proc_code"),
             "Gia": pl.col("fee"), "LoaiPhiLePhi": pl.lit("1")},
            {"TenPhiLePhi": pl.lit("Phí thẩm định"), "MaPhiLePhi": pl.lit("PTD-") + pl.col("proc_code"),
             "Gia": pl.col("fee2"), "LoaiPhiLePhi": pl.lit("2")},
        ]),
        _struct_lists(w, "n_doc", "DanhSachGiayToKetQua", [
            {"TenGiayTo": pl.col("doc_name"), "MaGiayToKetQua": pl.lit("KQ-") + pl.col("case_no"),
             "DuongDanTepTinKetQua": pl.when(pl.col("doc_link"))
             .then(pl.lit("https://dichvucong.quangtri.gov.vn/ketqua/") + case_id + pl.lit(".pdf"))
             .otherwise(pl.lit(""))},
        ]),
        _struct_lists(w, "n_supp", "DanhSachHoSoBoSung", [
            {"NgayYeuCau": pl.col("supp_req"), "NgayHenTraTruoc": pl.col("supp_old"),
             "NgayHenTraMoi": pl.col("supp_new")},
        ]),
    )  # fmt: skip
    out = w.select(
        case_id.alias("MaHoSo"),
        pl.when(pl.col("other_id")).then(pl.lit("QT-") + pl.col("id_date") + pl.lit("-") + pl.col("other_no"))
        .otherwise(pl.lit("")).alias("MaHoSoKhac"),
        pl.col("unit_code").alias("MaDonVi"),
        unit_name_expr.alias("DonViXuLy"),
        pl.col("proc_code").alias("MaTTHC"),
        pl.col("proc_name").alias("TenTTHC"),
        pl.col("field_code").alias("MaLinhVuc"),
        pl.col("field_name").alias("TenLinhVuc"),
        pl.col("mucdo").alias("MucDo"),
        pl.col("channel").alias("KenhThucHien"),
        pl.col("status").alias("TrangThaiHoSo"),
        *[pl.col(f) for f in DATE_FIELDS],
        holder.alias("ChuHoSo"),
        id_number.alias("SoGiayToChuHoSo"),
        pl.when(pl.col("phone_empty")).then(pl.lit("")).otherwise(pl.col("phone")).alias("SoDienThoai"),
        pl.when(pl.col("email_empty")).then(pl.lit("")).otherwise(pl.col("email")).alias("Email"),
        pl.when(pl.col("in_town")).then(pl.col("street_address")).otherwise(pl.col("village"))
        .add(pl.lit(", ")).add(pl.col("locality")).add(pl.lit(", tỉnh Quảng Trị")).alias("DiaChi"),
        pl.col("a_type").cast(pl.String).alias("LoaiDoiTuong"),
        pl.when(pl.col("summary_empty")).then(pl.lit("")).otherwise(pl.lit("V/v ") + pl.col("proc_name")).alias("TrichYeuHoSo"),
        pl.col("digitised").alias("HoSoCoThanhPhanSoHoa"),
        pl.col("vneid").alias("TaiKhoanDuocXacThucVoiVNeID"),
        pl.col("payment").alias("DuocThanhToanTrucTuyen"),
        pl.col("DanhSachLePhi"),
        pl.col("DanhSachGiayToKetQua"),
        pl.col("DanhSachHoSoBoSung"),
        pl.col("rating").alias("MucDoHaiLong"),
        pl.when(pl.col("new_field")).then(pl.col("new_field_value")).otherwise(pl.lit(None, pl.String)).alias(EXTRA_FIELD),
    )
    out = _break_records(out, rng, ctx.invalid_share, received_row)
    return out, nc


def _struct_lists(w: pl.DataFrame, count: str, name: str, items: list[dict[str, pl.Expr]]) -> pl.Series:
    """Per row, a list of the first ``w[count]`` structs of ``items`` (built long, then imploded:
    much faster than concat_list over struct columns)."""
    k = pl.col("_k")
    fields = {
        field: pl.coalesce([pl.when(k == i).then(item[field]) for i, item in enumerate(items)])
        for field in items[0]
    }
    long = (
        w.with_row_index("_row")
        .filter(pl.col(count) > 0)
        .with_columns(pl.int_ranges(0, pl.col(count)).alias("_k"))
        .explode("_k")
        .select("_row", pl.struct(**fields).alias(name))
        .group_by("_row", maintain_order=True)
        .agg(name)
    )
    lists = pl.DataFrame({"_row": pl.int_range(w.height, eager=True, dtype=pl.UInt32)}).join(
        long, on="_row", how="left", maintain_order="left"
    )
    return lists[name].fill_null([])


def _format_compact(values: np.ndarray) -> pl.Series:
    return _to_datetime(pl.Series(values.astype(np.int64))).dt.strftime(_FMT_COMPACT).fill_null("")


def _to_datetime(seconds: pl.Series) -> pl.Series:
    return (
        pl.select(pl.when(seconds < 0).then(None).otherwise(seconds * 1000).cast(pl.Datetime("ms")))
        .to_series()
    )


def _format_dates(frame: pl.DataFrame, style: np.ndarray) -> pl.DataFrame:
    """int64 seconds (-1 = empty) -> date strings in each case's style."""
    columns = {}
    for name in frame.columns:
        ts = _to_datetime(frame[name])
        text = ts.dt.strftime(_FMT_COMPACT).fill_null("")
        for code, fmt in ((1, _FMT_VN_DATETIME), (2, _FMT_ISO), (3, _FMT_VN_DATE)):
            if code == 3 and name not in ("NgayHenTra", "NgayNopHoSo"):
                continue
            at = np.nonzero(style == code)[0]
            if len(at):
                text = text.scatter(at, ts.gather(at).dt.strftime(fmt).fill_null(""))
        columns[name] = text
    return pl.DataFrame(columns)


def _break_records(df: pl.DataFrame, rng: np.random.Generator, share: float, received: np.ndarray) -> pl.DataFrame:
    """Make ``share`` of the rows invalid in one of the contract §6 ways."""
    n = df.height
    k = min(n, int(n * share + rng.random()))  # the expected count, rounded at random
    if k == 0:
        return df
    at = np.sort(rng.choice(n, size=k, replace=False))
    kind = rng.integers(0, 9, len(at))
    cols = {name: df[name] for name in (
        "MaHoSo", "MaDonVi", "MaTTHC", "NgayTiepNhan", "NgayHenTra", "TrangThaiHoSo", "KenhThucHien",
        "NgayKetThucXuLy", "NgayTra", "NgayTuChoi")}  # fmt: skip

    def put(name: str, rows: np.ndarray, values: pl.Series | str) -> None:
        if len(rows):
            vals = values if isinstance(values, pl.Series) else pl.Series([values] * len(rows), dtype=pl.String)
            cols[name] = cols[name].scatter(rows, vals)

    put("MaHoSo", at[kind == 0], "")
    put("MaDonVi", at[kind == 1], "")
    rows = at[kind == 2]
    put("NgayTiepNhan", rows, _pick(_INVALID_DATES, rng.integers(0, len(_INVALID_DATES), len(rows))))
    put("NgayHenTra", at[kind == 3], "31/02/2025")
    put("TrangThaiHoSo", at[kind == 4], "11")
    put("KenhThucHien", at[kind == 5], "9")
    rows = at[kind == 6]  # resolved without any end date
    for name in ("NgayKetThucXuLy", "NgayTra", "NgayTuChoi"):
        put(name, rows, "")
    put("TrangThaiHoSo", rows, "10")
    rows = at[kind == 7]  # ends before it was received
    put("TrangThaiHoSo", rows, "9")
    put("NgayKetThucXuLy", rows, _format_compact(received[rows] - 2 * _DAY))
    put("NgayTiepNhan", rows, _format_compact(received[rows]))
    put("MaTTHC", at[kind == 8], "")
    return df.with_columns(cols.values())


def iter_case_chunks(
    n_versions: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    seed: int = 7,
    start: date = date(2024, 12, 15),
    end: date = date(2025, 12, 14),
    unit_codes: list[str] | None = None,
    invalid_share: float = 0.001,
    procedures: pl.DataFrame | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield ``n_versions`` case versions in DataFrames of at most ``chunk_size`` rows.

    Deterministic for a given (seed, chunk_size, arguments). Case ids are unique across
    chunks; all versions of a case are in the same chunk.
    """
    if n_versions < 0 or chunk_size <= 0:
        raise ValueError("n_versions must be >= 0 and chunk_size > 0")
    if end < start:
        raise ValueError("end is before start")
    ctx = _Context(
        seed=seed,
        start_day=(start - _EPOCH).days,
        end_day=(end - _EPOCH).days,
        now=((end - _EPOCH).days + 1) * _DAY - 1,
        invalid_share=invalid_share,
        universe=_universe(unit_codes, procedures, seed),
    )
    done = 0
    chunk_no = 0
    cases = 0
    while done < n_versions:
        rows = min(chunk_size, n_versions - done)
        df, n_cases = _chunk(rows, chunk_no, cases, ctx)
        yield df
        done += rows
        cases += n_cases
        chunk_no += 1


def generate_cases(
    n_versions: int,
    *,
    seed: int = 7,
    start: date = date(2024, 12, 15),
    end: date = date(2025, 12, 14),
    unit_codes: list[str] | None = None,
    invalid_share: float = 0.001,
    procedures: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``n_versions`` case versions (one row each) as one DataFrame of contract fields.

    Same output as concatenating :func:`iter_case_chunks` with the default chunk size. A
    materialised version takes about 1 KB (33 string columns), so for many millions of rows
    pass ``iter_case_chunks(...)`` to a writer instead: memory then stays at one chunk
    (about 0.5 GB with the default 100,000 rows).
    """
    chunks = list(iter_case_chunks(
        n_versions, seed=seed, start=start, end=end, unit_codes=unit_codes,
        invalid_share=invalid_share, procedures=procedures,
    ))  # fmt: skip
    if not chunks:
        return _empty_frame()
    return chunks[0] if len(chunks) == 1 else pl.concat(chunks, rechunk=False)


def _empty_frame() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {f: pl.String() for f in CONTRACT_FIELDS}
    schema["DanhSachLePhi"] = pl.List(FEE_STRUCT)
    schema["DanhSachGiayToKetQua"] = pl.List(RESULT_STRUCT)
    schema["DanhSachHoSoBoSung"] = pl.List(SUPPLEMENT_STRUCT)
    schema[EXTRA_FIELD] = pl.String()
    return pl.DataFrame(schema=schema)


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------
Frames = pl.DataFrame | Iterable[pl.DataFrame]


def _chunks(data: Frames) -> Iterator[pl.DataFrame]:
    if isinstance(data, pl.DataFrame):
        yield data
    else:
        yield from data


def _json_lines(df: pl.DataFrame) -> pl.Series:
    """One JSON object per row; null-valued keys (fields absent from a record) are left out."""
    return (
        df.select(pl.struct(pl.all()).struct.json_encode().alias("line"))
        .to_series()
        .str.replace_all(r',"[A-Za-z_]+":null', "")
        .str.replace(r'^\{"[A-Za-z_]+":null,?', "{")
    )


def _lines_bytes(lines: pl.Series) -> bytes:
    buffer = io.BytesIO()
    if lines.len():
        pl.DataFrame({"l": lines}).write_csv(buffer, include_header=False, quote_style="never")
    return buffer.getvalue()


def write_jsonl(df: Frames, path: Path) -> Path:
    """JSON Lines; gzip-compressed when the name ends with ``.gz``.

    Chunks are encoded on the calling thread while the previous one is written (and
    compressed: zlib releases the GIL) on a helper thread.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gz = path.name.endswith(".gz")
    with (gzip.open(path, "wb", compresslevel=3) if gz else path.open("wb")) as fh, \
            ThreadPoolExecutor(max_workers=1) as pool:  # fmt: skip
        pending = None
        for chunk in _chunks(df):
            data = _lines_bytes(_json_lines(chunk))
            if pending is not None:
                pending.result()
            pending = pool.submit(fh.write, data)
        if pending is not None:
            pending.result()
    return path


def write_json(df: Frames, path: Path, *, as_page: bool = True) -> Path:
    """One JSON document: an API page body (§4) or, with ``as_page=False``, a bare array."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [line for chunk in _chunks(df) for line in _json_lines(chunk).to_list()]
    array = "[" + ",".join(lines) + "]"
    if as_page:
        body = (f'{{"error_code":0,"message":"","tong_so":{len(lines)},"trang":1,"so_trang":1,'
                f'"data":{array}}}')  # fmt: skip
    else:
        body = array
    path.write_text(body, encoding="utf-8")
    return path


def _list_as_json(name: str) -> pl.Expr:
    """A list column as JSON text in one cell; empty list -> empty cell."""
    encoded = pl.struct(pl.col(name).alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
    return pl.when(pl.col(name).list.len() > 0).then(encoded).otherwise(pl.lit("")).alias(name)


def _tabular(df: pl.DataFrame, headers: str) -> pl.DataFrame:
    """The table written to CSV/XLSX: contract headers, or the export screen's headers."""
    if headers == "contract":
        extra = [c for c in df.columns if c not in CONTRACT_FIELDS]
        return df.select(
            *[_list_as_json(c) if c in LIST_FIELDS else pl.col(c) for c in CONTRACT_FIELDS],
            *[pl.col(c) for c in extra],
        )
    if headers != "vietnamese":
        raise ValueError(f"headers must be 'contract' or 'vietnamese', not {headers!r}")
    total_fee = (
        pl.col("DanhSachLePhi").list.eval(pl.element().struct.field("Gia").cast(pl.Int64, strict=False))
        .list.sum().fill_null(0).cast(pl.String)
    )
    electronic = (
        pl.col("DanhSachGiayToKetQua")
        .list.eval(pl.element().struct.field("DuongDanTepTinKetQua").fill_null("") != "")
        .list.any().fill_null(False)
    )
    # no NgayTuChoi column on the export screen: a withdrawn/stopped case shows its end there
    finished = (
        pl.when(pl.col("TrangThaiHoSo").is_in(["7", "8"]) & (pl.col("NgayKetThucXuLy") == ""))
        .then(pl.col("NgayTuChoi")).otherwise(pl.col("NgayKetThucXuLy"))
    )  # fmt: skip
    derived = {
        "TongLePhi": total_fee,
        "CoKetQuaDienTu": pl.when(electronic).then(pl.lit("1")).otherwise(pl.lit("0")),
        "NgayKetThucXuLy": finished,
    }
    return df.select(derived.get(field, pl.col(field)).alias(header) for header, field in VIETNAMESE_HEADERS.items())


def _to_nfd(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        pl.col(c).str.normalize("NFD").alias(unicodedata.normalize("NFD", c)) if df[c].dtype == pl.String
        else pl.col(c).alias(unicodedata.normalize("NFD", c))
        for c in df.columns
    )


def write_csv(
    df: Frames,
    path: Path,
    *,
    headers: Literal["contract", "vietnamese"] = "contract",
    delimiter: str = ",",
    bom: bool = False,
    nfd: bool = False,
) -> Path:
    """CSV with contract headers (list fields as JSON text) or the Vietnamese export headers."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        if bom:
            fh.write(codecs.BOM_UTF8)
        first = True
        for chunk in _chunks(df):
            table = _tabular(chunk, headers)
            if nfd:
                table = _to_nfd(table)
            table.write_csv(fh, separator=delimiter, include_header=first)
            first = False
        if first:  # no chunk at all: header only
            table = _tabular(_empty_frame(), headers)
            (_to_nfd(table) if nfd else table).write_csv(fh, separator=delimiter)
    return path


def _excel_datetime(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars().str.replace(r"\+07:00$", "")
    return pl.coalesce(
        text.str.strptime(pl.Datetime("us"), _FMT_COMPACT, strict=False),
        text.str.strptime(pl.Datetime("us"), _FMT_VN_DATETIME, strict=False),
        text.str.strptime(pl.Datetime("us"), _FMT_VN_DATE, strict=False),
        text.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False),
    ).alias(name)


def write_xlsx(df: Frames, path: Path, *, headers: Literal["contract", "vietnamese"] = "vietnamese") -> Path:
    """First sheet, header row, dates as native Excel datetimes (unparseable ones as text)."""
    from openpyxl import Workbook

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("HoSo")
    first = True
    for chunk in _chunks(df):
        table = _tabular(chunk, headers)
        if first:
            ws.append(table.columns)
            first = False
        date_cols = [h for h in table.columns if VIETNAMESE_HEADERS.get(h, h) in DATE_FIELDS]
        parsed = table.select(_excel_datetime(h) for h in date_cols)
        positions = [table.columns.index(h) for h in date_cols]
        for row, dates in zip(table.iter_rows(), parsed.iter_rows(), strict=True):
            cells: list[object] = list(row)
            for i, value in zip(positions, dates, strict=True):
                if isinstance(value, datetime):
                    cells[i] = value
            ws.append([("" if v is None else v) for v in cells])
    if first:
        ws.append(_tabular(_empty_frame(), headers).columns)
    wb.save(path)
    return path


def write_demo_inbox(inbox: Path, *, n_versions: int = 60_000, seed: int = 7) -> list[Path]:
    """A province's inbox: ≈ ``n_versions`` versions spread over files in every format.

    Files are cut in arrival order (oldest first, as a province would hand them over):
    JSON Lines, gzipped JSON Lines, an API page body, a CSV with contract headers, a CSV
    from the export screen (Vietnamese NFD headers, ';', BOM), a small Excel file and a bare
    JSON array.
    """
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    df = generate_cases(n_versions, seed=seed)
    n = df.height
    xlsx_rows = min(round(n * 0.03), 2_500)
    rest = n - xlsx_rows
    plan = [
        ("01_hoso_dvcqg.jsonl", 0.26),
        ("02_hoso_dvcqg.jsonl.gz", 0.22),
        ("03_api_trang_1.json", 0.10),
        ("04_hoso_xuat_file.csv", 0.16),
        ("05_bao_cao_hoso_man_hinh.csv", 0.18),
        ("06_hoso_bo_sung.xlsx", None),
        ("07_hoso_mang.json", 0.08),
    ]
    paths: list[Path] = []
    offset = 0
    for name, share in plan:
        size = xlsx_rows if share is None else round(rest * share)
        size = n - offset if name == plan[-1][0] else min(size, n - offset)
        part = df.slice(offset, size)
        offset += size
        target = inbox / name
        if name.endswith(".jsonl") or name.endswith(".jsonl.gz"):
            write_jsonl(part, target)
        elif name.startswith("03_"):
            write_json(part, target, as_page=True)
        elif name.endswith(".json"):
            write_json(part, target, as_page=False)
        elif name.startswith("04_"):
            write_csv(part, target, headers="contract")
        elif name.endswith(".csv"):
            write_csv(part, target, headers="vietnamese", delimiter=";", bom=True, nfd=True)
        else:
            write_xlsx(part, target, headers="vietnamese")
        paths.append(target)
    return paths
