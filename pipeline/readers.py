"""Readers for every export shape (PORTAL_EXPORT.md §4–5) into one staging table.

Each reader fills a DuckDB temp table ``stage`` with ``source_row``, ``raw_line`` (the record
as sent, for quarantine), one VARCHAR column per contract field, ``extra_fields`` and
``parse_error``. Files are streamed in Arrow batches (pyarrow's multithreaded CSV reader), so
memory stays bounded and no Python code touches individual rows on the hot path; only
``.json`` and ``.xlsx`` files, which are small by nature, are parsed in Python.
"""

from __future__ import annotations

import codecs
import gzip
import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from pipeline.validation import stage_from_lines_sql, stage_from_tabular_sql
from schemas.case_record import field_for_header

SUPPORTED_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".csv", ".xlsx")
STAGE = "stage"
CHUNK_ROWS = 250_000  # records validated and landed together; bounds memory for any file size
_BLOCK = 16 << 20
_LINE_DELIMITER = "\x1e"  # never appears raw inside valid JSON text


class ReadError(Exception):
    """A file that cannot be read at all (corrupt, wrong format, API error page)."""


@dataclass(frozen=True)
class StageInfo:
    fmt: str
    rows: int
    unknown_columns: tuple[str, ...] = ()


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if name.endswith(suffix):
            return suffix.lstrip(".")
    return None


def stage_chunks(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[StageInfo]:
    """Stage a file chunk by chunk: after each yield, TEMP TABLE ``stage`` holds the next
    chunk (up to CHUNK_ROWS records), so memory stays bounded whatever the file size."""
    fmt = file_format(path)
    if fmt is None:
        raise ReadError(f"{path.name}: unsupported file type (expected one of {', '.join(SUPPORTED_SUFFIXES)})")
    try:
        if fmt in ("jsonl", "jsonl.gz"):
            yield from _stage_jsonl(con, path, fmt)
        elif fmt == "json":
            yield _stage_json(con, path)
        elif fmt == "csv":
            yield from _stage_csv(con, path)
        else:
            yield _stage_xlsx(con, path)
    except ReadError:
        raise
    except (OSError, EOFError, pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
        raise ReadError(f"{path.name}: cannot read {fmt} file: {exc}") from exc


def stage_records(con: duckdb.DuckDBPyConnection, records: Iterable[Any], first_row: int = 1) -> StageInfo:
    """Stage records already in memory (an API page): same path as a JSONL file."""
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    table = pa.table({
        "source_row": pa.array(range(first_row, first_row + len(lines)), pa.int64()),
        "raw_line": pa.array(lines, pa.string()),
    })
    _create_lines_table(con)
    con.register("_lines_batch", table)
    con.execute("INSERT INTO stage_lines SELECT * FROM _lines_batch")
    con.unregister("_lines_batch")
    return _finish_lines(con, "api")


# ---------------------------------------------------------------------------------------
def _create_lines_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE stage_lines (source_row BIGINT, raw_line VARCHAR)")


def _finish_lines(con: duckdb.DuckDBPyConnection, fmt: str) -> StageInfo:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS {stage_from_lines_sql('stage_lines')}")
    con.execute("DROP TABLE stage_lines")
    rows = con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]
    return StageInfo(fmt=fmt, rows=rows)


def _stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> Iterator[StageInfo]:
    if fmt == "jsonl.gz":
        _check_gzip(path)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=["raw_line"], block_size=_BLOCK),
        parse_options=pacsv.ParseOptions(
            delimiter=_LINE_DELIMITER, quote_char=False, escape_char=False, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={"raw_line": pa.string()}, strings_can_be_null=False
        ),
    )
    _create_lines_table(con)
    offset = pending = 0
    for batch in reader:
        n = batch.num_rows
        numbered = pa.table({
            "source_row": pa.array(range(offset + 1, offset + n + 1), pa.int64()),
            "raw_line": batch.column(0),
        })
        con.register("_lines_batch", numbered)
        con.execute("INSERT INTO stage_lines SELECT * FROM _lines_batch")
        con.unregister("_lines_batch")
        offset += n
        pending += n
        if pending >= CHUNK_ROWS:
            yield _finish_lines(con, fmt)
            _create_lines_table(con)
            pending = 0
    if pending or offset == 0:
        yield _finish_lines(con, fmt)


def _check_gzip(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise ReadError(f"{path.name}: not a gzip file")
    try:  # a truncated archive fails here with a clear message rather than mid-stream
        with gzip.open(path, "rb") as fh:
            while fh.read(16 << 20):
                pass
    except (OSError, EOFError) as exc:
        raise ReadError(f"{path.name}: corrupt gzip file ({exc})") from exc


def _stage_json(con: duckdb.DuckDBPyConnection, path: Path) -> StageInfo:
    try:
        body = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ReadError(f"{path.name}: not valid JSON ({exc})") from exc
    if isinstance(body, dict):
        if "data" not in body:
            raise ReadError(f"{path.name}: JSON object without a 'data' array (not an API page body)")
        if str(body.get("error_code", "0")) not in ("0", ""):
            raise ReadError(
                f"{path.name}: API page with error_code={body.get('error_code')} ({body.get('message', '')})"
            )
        records = body["data"]
    else:
        records = body
    if not isinstance(records, list):
        raise ReadError(f"{path.name}: expected an array of records")
    info = stage_records(con, records)
    return StageInfo(fmt="json", rows=info.rows)


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
        f"CREATE OR REPLACE TEMP TABLE stage_tabular (source_row BIGINT, {cols}, parse_error VARCHAR)"
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


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[StageInfo]:
    encoding, headers, delimiter = _sniff_csv(path)
    columns, mapping, extras = _map_headers(headers)
    bad_rows: list[str] = []

    def on_invalid(row: Any) -> str:
        bad_rows.append(
            f"CSV row has {row.actual_columns} fields, the header has {row.expected_columns}: {row.text[:200]}"
        )
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=columns, skip_rows=1, block_size=_BLOCK, encoding="utf8"
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    _create_tabular_table(con, columns)
    offset = 1  # the header is sheet row 1
    pending = 0
    for batch in reader:
        n = batch.num_rows
        table = pa.Table.from_batches([batch]).add_column(
            0, "source_row", pa.array(range(offset + 1, offset + n + 1), pa.int64())
        ).append_column("parse_error", pa.nulls(n, pa.string()))
        _insert_tabular(con, table)
        offset += n
        pending += n
        if pending >= CHUNK_ROWS:
            yield _finish_tabular(con, "csv", mapping, extras)
            _create_tabular_table(con, columns)
            pending = 0
    if bad_rows:
        # Ragged rows are kept as quarantine candidates: row numbers are unknown once skipped,
        # so they continue after the last good row, and the reason quotes the row's text.
        table = pa.table({"source_row": pa.array(range(offset + 1, offset + len(bad_rows) + 1), pa.int64())}
                         | {c: pa.nulls(len(bad_rows), pa.string()) for c in columns}
                         | {"parse_error": pa.array(bad_rows, pa.string())})
        _insert_tabular(con, table)
        pending += len(bad_rows)
    if pending or offset == 1:
        yield _finish_tabular(con, "csv", mapping, extras)


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


def _xlsx_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError) as exc:
        raise ReadError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise ReadError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
    try:
        yield from wb.worksheets[0].iter_rows(values_only=True)
    finally:
        wb.close()


def _stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path) -> StageInfo:
    rows = _xlsx_rows(path)
    try:
        header = next(rows)
    except StopIteration as exc:
        raise ReadError(f"{path.name}: empty workbook") from exc
    columns, mapping, extras = _map_headers([_excel_text(h) for h in header])
    width = len(columns)
    data: list[list[str]] = [[] for _ in columns]
    numbers: list[int] = []
    for sheet_row, row in enumerate(rows, start=2):
        cells = [_excel_text(v) for v in row[:width]]
        if not any(c.strip() for c in cells):
            continue
        cells += [""] * (width - len(cells))
        numbers.append(sheet_row)
        for i, cell in enumerate(cells):
            data[i].append(cell)
    _create_tabular_table(con, columns)
    table = pa.table(
        {"source_row": pa.array(numbers, pa.int64())}
        | {c: pa.array(data[i], pa.string()) for i, c in enumerate(columns)}
        | {"parse_error": pa.nulls(len(numbers), pa.string())}
    )
    _insert_tabular(con, table)
    return _finish_tabular(con, "xlsx", mapping, extras)
