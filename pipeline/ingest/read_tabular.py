"""CSV and XLSX exports into the staging table: header mapping, CSV sniffing, XLSX rows.

Both map their header row to contract fields (``_map_headers``; unknown columns are kept as
extra fields) and fill ``stage`` through the same tabular validation SQL: CSV files through
DuckDB's parallel reader in chunks (rejected rows kept, personal data masked), XLSX workbooks
(small by nature) from Python with openpyxl.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.db import sql_literal
from pipeline.ingest.duckdb_source import _literal_source
from pipeline.ingest.staging import (
    _READ,
    _REJECTS,
    STAGE,
    ReadError,
    StageInfo,
    _chunk_bounds,
    _line_limit,
    _read_numbered,
    _size_options,
    drop_stage,
)
from pipeline.ingest.validation import TOO_LONG_MARKER, stage_from_tabular_sql
from schemas.case_record import FIELD_SPECS, Kind, field_for_header, pii_like_name


# ---------------------------------------------------------------------------------------
# Tabular sources: CSV and XLSX share the header mapping and the staging SQL
# ---------------------------------------------------------------------------------------
def _map_headers(headers: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """Safe column names, contract field -> column, and unknown (extra) columns."""
    columns: list[str] = []
    mapping: dict[str, str] = {}
    extras: list[str] = []
    seen: set[str] = set()
    for i, header in enumerate(headers):
        clean = unicodedata.normalize("NFC", (header or "").replace("\ufeff", "")).strip() or f"column_{i + 1}"
        name = clean
        while name in seen or name in ("source_row", "parse_error", "raw_line"):
            name = f"{clean}_{i + 1}"
        seen.add(name)
        columns.append(name)
        field = field_for_header(clean)
        if field and field not in mapping:
            mapping[field] = name
        else:
            extras.append(name)
    return columns, mapping, extras


def _finish_tabular(con: duckdb.DuckDBPyConnection, fmt: str, mapping: dict[str, str], extras: list[str]) -> StageInfo:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS {stage_from_tabular_sql('stage_tabular', mapping, extras)}")
    con.execute("DROP TABLE stage_tabular")
    rows = con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]
    return StageInfo(fmt=fmt, rows=rows, unknown_columns=tuple(extras))


def _create_tabular_table(con: duckdb.DuckDBPyConnection, columns: list[str]) -> None:
    cols = ", ".join(f'"{c}" VARCHAR' for c in columns)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_tabular "
        f"(source_row BIGINT, {cols}, raw_line VARCHAR, parse_error VARCHAR)"
    )


def _sniff_csv(path: Path) -> tuple[str, list[str], str]:
    """(encoding, header fields, delimiter) from the first line."""
    with path.open("rb") as fh:
        first = fh.readline()
    encoding = "utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        header_line = first.decode(encoding).rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path.name}: header is not UTF-8 text") from exc
    if not header_line.strip():
        raise ReadError(f"{path.name}: empty file or empty header row")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    import csv

    headers = next(csv.reader([header_line], delimiter=delimiter))
    return encoding, headers, delimiter


def _stage_csv(
    con: duckdb.DuckDBPyConnection, path: Path, newline_free_block: bool | None = None
) -> Iterator[StageInfo]:
    _encoding, headers, delimiter = _sniff_csv(path)
    columns, mapping, extras = _map_headers(headers)
    _require_known_header(path, mapping)
    types = ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in columns)
    # DuckDB's parallel CSV reader (quoted values may span lines); ragged or non-UTF-8 rows
    # are rejected with their record number and kept for quarantine, not dropped.
    options = (
        f"header = false, skip = 1, columns = {{{types}}}, delim = {sql_literal(delimiter)}, quote = '\"', "
        f"escape = '\"', auto_detect = false, {_size_options()}"
    )
    with _literal_source(path, newline_free_block=newline_free_block) as (source, _compression):
        numbered = _read_numbered(con, source, options, first_row=2, name=path.name)
    col_list = ", ".join(f'r."{c}"' for c in columns)
    nulls = ", ".join(f'NULL AS "{c}"' for c in columns)
    for lo, hi, last in _chunk_bounds(numbered.accepted):
        rejects = f"""
            UNION ALL
            SELECT line, {nulls},
                   CASE WHEN starts_with(csv_line, {sql_literal(TOO_LONG_MARKER)}) THEN csv_line
                        ELSE {_masked_csv_line(columns, mapping, delimiter)} END,
                   CASE WHEN starts_with(csv_line, {sql_literal(TOO_LONG_MARKER)})
                        THEN 'CSV row ' || line || ' is too long: ' || substr(csv_line, {len(TOO_LONG_MARKER) + 1})
                             || ' bytes, more than the limit of {_line_limit() >> 20} MB (DVC_MAX_LINE_MB)'
                        ELSE 'CSV row ' || line || ' cannot be read (' || lower(error_type) || '): ' || error_message END
            FROM {_REJECTS}""" if last else ""
        rows = f"""(
            SELECT {numbered.row_expr} AS source_row, {col_list}, NULL::VARCHAR AS raw_line,
                   NULL::VARCHAR AS parse_error
            FROM {_READ} r {numbered.join}
            WHERE r.rowid >= {lo} AND r.rowid < {hi}{rejects}
        )"""
        # A view, not a copy: validation reads the file's table once; quarantine re-reads the
        # few rows it needs. (The row's text is not quoted in the reason: it may hold personal
        # data; the quarantined record carries it, masked.)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE} AS {stage_from_tabular_sql(rows, mapping, extras)}")
        count = min(hi, numbered.accepted) - lo + (numbered.rows - numbered.accepted if last else 0)
        yield StageInfo(fmt="csv", rows=count, unknown_columns=tuple(extras), total_rows=numbered.rows)
    drop_stage(con)


def _require_known_header(path: Path, mapping: dict[str, str], fmt: str = "csv") -> None:
    """One clear failure for a file whose header is not the contract's (another delimiter,
    another export), instead of every row "required field missing"."""
    if not mapping and fmt == "xlsx":
        raise ReadError(
            f"{path.name}: row 1 of the first sheet matched none of the contract's fields: expected the "
            "header row there (contract names such as MaHoSo, or the export screen's headers such as Mã hồ sơ)"
        )
    if not mapping:
        raise ReadError(
            f"{path.name}: the header matched none of the contract's fields (delimiter?): "
            "expected comma- or semicolon-separated contract names or export-screen headers"
        )


def _masked_csv_line(columns: list[str], mapping: dict[str, str], delimiter: str) -> str:
    """SQL: a rejected row's text with the fields under personal-data headers masked (the
    quarantine keeps the text so a person can see what was wrong, not who it was about)."""
    positions = [columns.index(mapping[f.name]) + 1 for f in FIELD_SPECS if f.spec.kind is Kind.PII and f.name in mapping]
    positions += [i + 1 for i, c in enumerate(columns) if c not in mapping.values() and pii_like_name(c)]
    listed = ", ".join(map(str, positions)) or "0"
    n, d = len(columns), sql_literal(delimiter)
    # A rejected row is ragged: a missing column shifts the later fields left and a quoted
    # delimiter splits a field, so counting delimiters alone misses the personal data. Mask
    # the personal-data positions counted from the start, and for a short row also from the
    # end, and in any ragged row every field that looks personal (non-ASCII letters, a run of
    # 9+ digits, an e-mail).
    return (
        f"array_to_string(list_transform(string_split(csv_line, {d}), lambda v, i: CASE "
        f"WHEN i IN ({listed}) "
        f"OR (len(string_split(csv_line, {d})) < {n} AND i + {n} - len(string_split(csv_line, {d})) IN ({listed})) "
        f"OR (len(string_split(csv_line, {d})) <> {n} AND regexp_matches(v, '[^\\x00-\\x7F]|[0-9]{{9,}}|@')) "
        f"THEN pii_mask(v) ELSE v END), {d})"
    )


def _insert_tabular(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("_tab_batch", table)
    con.execute("INSERT INTO stage_tabular BY NAME SELECT * FROM _tab_batch")
    con.unregister("_tab_batch")


def _excel_text(value: Any) -> str:
    """Excel cell -> contract text; native Excel dates become yyyyMMddHHmmss."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d%H%M%S")
    if isinstance(value, date):
        return datetime.combine(value, time()).strftime("%Y%m%d%H%M%S")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Consecutive empty rows after which an xlsx is refused (its export never has one).
MAX_EMPTY_XLSX_ROWS = 10_000


@contextmanager
def _quick_sheet_size() -> Iterator[None]:
    """While a workbook loads read-only: look for a sheet's <dimension> only before its data.

    openpyxl looks for it through the whole sheet when there is none (files written by other
    tools): 20 s for 400,000 empty rows before the first is read. Without it the size is
    unknown, which the rows we read do not need."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.worksheet import _read_only
    from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
    from openpyxl.worksheet.dimensions import SheetDimension

    def get_size(sheet) -> None:
        source = sheet._get_source()
        try:
            for _event, element in iterparse(source, events=("start",)):
                if element.tag == DIMENSION_TAG:
                    dims = SheetDimension.from_tree(element).boundaries
                    if dims is not None:
                        sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row = dims
                    return
                if element.tag == DATA_TAG:
                    return
        finally:
            source.close()

    original = _read_only.ReadOnlyWorksheet._get_size
    _read_only.ReadOnlyWorksheet._get_size = get_size
    try:
        yield
    finally:
        _read_only.ReadOnlyWorksheet._get_size = original


def _xlsx_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The header row (trailing empty cells dropped), then the data rows cut to its width.

    A sheet whose last used column is far right (one formatted cell in column GR, or a
    dimension of A1:XFD400000) would otherwise give every row thousands of empty cells:
    minutes and gigabytes for a sheet of empty rows."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with _quick_sheet_size():
            wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError) as exc:
        raise ReadError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise ReadError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
    try:
        sheet = wb.worksheets[0]
        header = list(next(sheet.iter_rows(max_row=1, values_only=True), ()))
        while header and _excel_text(header[-1]).strip() == "":
            header.pop()
        if not header:
            return
        yield tuple(header)
        yield from sheet.iter_rows(min_row=2, max_col=len(header), values_only=True)
    finally:
        wb.close()


def _stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path) -> StageInfo:
    rows = _xlsx_rows(path)
    try:
        header = next(rows)
    except StopIteration as exc:
        raise ReadError(
            f"{path.name}: row 1 of the first sheet is empty: expected the header row there (contract names "
            "or the export screen's headers); nothing below it is read"
        ) from exc
    columns, mapping, extras = _map_headers([_excel_text(h) for h in header])
    _require_known_header(path, mapping, "xlsx")
    width = len(columns)
    data: list[list[str]] = [[] for _ in columns]
    numbers: list[int] = []
    empty_run = 0
    for sheet_row, row in enumerate(rows, start=2):
        cells = [_excel_text(v) for v in row[:width]]
        if not any(c.strip() for c in cells):
            empty_run += 1
            if empty_run > MAX_EMPTY_XLSX_ROWS:
                # Formatted-but-empty rows (a sheet "used" to row 1,048,576) cost a minute to
                # read for nothing: refuse at once and say how to fix it, not read on.
                raise ReadError(
                    f"{path.name}: rows {sheet_row - empty_run + 1}–{sheet_row} of the first sheet are empty "
                    f"({len(numbers):,} records above them): the portal's export has no empty rows; delete the "
                    "empty rows (or copy the records into a new workbook) and drop the file in again"
                )
            continue
        empty_run = 0
        cells += [""] * (width - len(cells))
        numbers.append(sheet_row)
        for i, cell in enumerate(cells):
            data[i].append(cell)
    _create_tabular_table(con, columns)
    table = pa.table(
        {"source_row": pa.array(numbers, pa.int64())}
        | {c: pa.array(data[i], pa.string()) for i, c in enumerate(columns)}
        | {"raw_line": pa.nulls(len(numbers), pa.string()), "parse_error": pa.nulls(len(numbers), pa.string())}
    )
    _insert_tabular(con, table)
    return _finish_tabular(con, "xlsx", mapping, extras)
