"""The warehouse columns of a case version (raw.case_versions, core.cases), derived from the
record schema (schemas/case_record.py): names, types and COMMENTs, and their DDL. The one
place the column contract is written; validation (ingest/validation.py) fills these columns
and the warehouse (warehouse.py) creates them."""

from __future__ import annotations

from pipeline.db import sql_identifier, sql_literal
from schemas.case_record import FIELD_SPECS, ContractField, Kind

# Columns derived at landing time, with their meaning (used for DDL and COMMENTs).
DERIVED_COLUMNS: dict[str, tuple[str, str]] = {
    "service_level": ("VARCHAR", "Service level normalised from MucDo: '4' full-process online (toàn trình), '3' partly online, '2' information only; NULL if absent or unknown."),
    "channel": ("VARCHAR", "Channel normalised from KenhThucHien: 'online' (2), 'postal' (3), 'in_person' (1 or empty)."),
    "ended_at": ("TIMESTAMP", "End of the case (docs/definitions.md §2): status 9/10 NgayKetThucXuLy else NgayTra; status 7/8 NgayTuChoi else NgayKetThucXuLy; NULL for other statuses."),
    "fee_total_vnd": ("DECIMAL(18,2)", "Total fees in VND: sum of DanhSachLePhi[].Gia, else the flattened 'Lệ phí (VND)' column."),
    "has_electronic_result": ("BOOLEAN", "TRUE when a result document has a non-empty DuongDanTepTinKetQua (or the flattened 'Có kết quả điện tử' says yes)."),
}

BOOKKEEPING_COLUMNS: dict[str, tuple[str, str]] = {
    "batch_id": ("BIGINT", "Landing batch (raw.batches) that brought this version."),
    "source_name": ("VARCHAR", "File path or API window the version came from."),
    "source_row": ("BIGINT", "Position in the source: JSONL line number, CSV/XLSX sheet row (header = row 1), JSON array element (1-based) or API record index in the window."),
    "arrival_seq": ("BIGINT", "Global arrival order (batch, then row): breaks NgayCapNhat ties, the later arrival wins."),
}

TRAILING_COLUMNS: dict[str, tuple[str, str]] = {
    "extra_fields": ("JSON", "Fields the contract does not know yet, kept as sent (the portal adds fields over time)."),
    "version_hash": ("VARCHAR", "MD5 of the typed version: the same version landed twice is stored once."),
}


def warehouse_column(field: ContractField) -> str:
    if field.spec.kind is Kind.PII:
        return f"{field.spec.column}_hash"
    return field.spec.column


def warehouse_type(field: ContractField) -> str:
    return {Kind.DATE: "TIMESTAMP", Kind.LIST: "JSON"}.get(field.spec.kind, "VARCHAR")


def case_version_columns() -> list[tuple[str, str, str]]:
    """(column, type, comment) of raw.case_versions, which core.cases shares."""
    cols = [(name, typ, doc) for name, (typ, doc) in BOOKKEEPING_COLUMNS.items()]
    for field in FIELD_SPECS:
        doc = field.spec.description
        if field.spec.kind is Kind.PII:
            doc = f"Keyed hash (DVC_PII_KEY) of the normalised value; never clear text. {doc}"
        cols.append((warehouse_column(field), warehouse_type(field), doc))
    cols += [(name, typ, doc) for name, (typ, doc) in DERIVED_COLUMNS.items()]
    cols += [(name, typ, doc) for name, (typ, doc) in TRAILING_COLUMNS.items()]
    return cols


def create_case_table_sql(table: str) -> str:
    body = ",\n    ".join(f"{sql_identifier(c)} {t}" for c, t, _ in case_version_columns())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {body}\n);"


def comment_case_table_sql(table: str) -> list[str]:
    return [f"COMMENT ON COLUMN {table}.{sql_identifier(c)} IS {sql_literal(doc)};" for c, _, doc in case_version_columns()]
