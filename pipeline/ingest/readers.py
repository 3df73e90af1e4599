"""Readers for every export shape (PORTAL_EXPORT.md §4–5) into one staging table.

Each reader fills a DuckDB temp table or view ``stage`` with ``source_row``, ``raw_line`` (the
line as sent, for quarantine; NULL for rows split into fields), one VARCHAR column per contract
field, ``extra_fields`` and ``parse_error``. CSV and JSONL files are read once by DuckDB's
parallel CSV reader into a temp table (file order kept, rejects kept) and staged from it in
chunks, so no Python code touches individual rows on the hot path and DuckDB's memory limit
bounds memory; only ``.json`` and ``.xlsx`` files, which are small by nature, are parsed in
Python.
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import json
import logging
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline import config
from pipeline.db import sql_literal
from pipeline.ingest.validation import TOO_LONG_MARKER, stage_from_lines_sql, stage_from_tabular_sql
from schemas.case_record import FIELD_SPECS, Kind, field_for_header, pii_like_name

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".csv", ".xlsx")
STAGE = "stage"
CHUNK_ROWS = 500_000  # records validated and landed together (one transaction per file)
_LINE_DELIMITER = "\x1e"  # never appears raw inside valid JSON text


class ReadError(Exception):
    """A file that cannot be read at all (corrupt, wrong format, API error page)."""


@dataclass(frozen=True)
class StageInfo:
    fmt: str
    rows: int
    unknown_columns: tuple[str, ...] = ()
    total_rows: int = 0  # records of the whole file (large files come in several chunks)


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if name.endswith(suffix):
            return suffix.lstrip(".")
    return None


def stage_chunks(
    con: duckdb.DuckDBPyConnection, path: Path, *, newline_free_block: bool | None = None
) -> Iterator[StageInfo]:
    """Stage a file: after each yield, TEMP TABLE ``stage`` holds the next chunk of records.

    CSV and JSONL files are read by DuckDB in one pass (it spills to disk past its memory
    limit) and staged CHUNK_ROWS records at a time, so the validation working set stays small
    whatever the file size. JSON and XLSX files, small by nature, are one chunk."""
    fmt = file_format(path)
    if fmt is None:
        raise ReadError(f"{path.name}: unsupported file type (expected one of {', '.join(SUPPORTED_SUFFIXES)})")
    drop_stage(con)  # leftovers of a failed file
    try:
        if fmt in ("jsonl", "jsonl.gz"):
            yield from _stage_jsonl(con, path, fmt, newline_free_block)
        elif fmt == "json":
            yield _stage_json(con, path)
        elif fmt == "csv":
            yield from _stage_csv(con, path, newline_free_block)
        else:
            yield _stage_xlsx(con, path)
    except ReadError:
        raise
    except (OSError, EOFError, pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
        raise ReadError(f"{path.name}: cannot read {fmt} file: {exc}") from exc
    except RecursionError as exc:  # e.g. JSON nested thousands deep: this file fails, not the run
        raise ReadError(f"{path.name}: {fmt} nested too deeply to read") from exc


def stage_records(con: duckdb.DuckDBPyConnection, records: Iterable[Any], first_row: int = 1) -> StageInfo:
    """Stage records already in memory (an API page): same path as a JSONL file."""
    drop_stage(con)
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
    # JSON is parsed once, into a table (quarantine reads the parsed fields again).
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS {stage_from_lines_sql('stage_lines')}")
    rows = con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]
    return StageInfo(fmt=fmt, rows=rows)


def _stage_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, newline_free_block: bool | None
) -> Iterator[StageInfo]:
    with _literal_source(path, gzipped=fmt == "jsonl.gz", newline_free_block=newline_free_block) as (
        source, compression,
    ):
        # DuckDB's own multithreaded reader splits the file into lines (a delimiter that cannot
        # appear raw in valid JSON, no quoting). Lines it cannot read at all (not UTF-8) are
        # rejects, kept as text so the JSON check quarantines them; lines over the size limit
        # arrive as a marker line (_literal_source), quarantined as too long.
        options = (
            f"header = false, columns = {{'raw_line': 'VARCHAR'}}, delim = '{_LINE_DELIMITER}', quote = '', "
            f"escape = '', auto_detect = false, {_size_options()}, compression = '{compression}'"
        )
        numbered = _read_numbered(con, source, options, first_row=1, name=path.name)
    for lo, hi, last in _chunk_bounds(numbered.accepted):
        rejects = f"UNION ALL SELECT line, coalesce(csv_line, '') FROM {_REJECTS}" if last else ""
        con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW stage_lines AS
            SELECT {numbered.row_expr} AS source_row, r.raw_line FROM {_READ} r {numbered.join}
            WHERE r.rowid >= {lo} AND r.rowid < {hi}
            {rejects}
            """
        )
        yield dataclasses.replace(_finish_lines(con, fmt), total_rows=numbered.rows)
    drop_stage(con)


def _check_gzip(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise ReadError(f"{path.name}: not a gzip file")


# ---------------------------------------------------------------------------------------
# The file DuckDB reads: a literal name, and no line longer than the limit
# ---------------------------------------------------------------------------------------
SCAN_BLOCK = 8 << 20


class _LongLines:
    """Finds the lines longer than ``limit`` bytes in a stream of blocks (1-based numbers).

    Per block only C-speed calls (count/find/rfind): a line longer than a block is the only
    one that can be too long, so the lines inside a block need no look."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines = 0  # complete lines seen
        self.current = 0  # bytes of the line in progress
        self.found: dict[int, int] = {}  # line number -> length

    def feed(self, block: bytes) -> None:
        first = block.find(b"\n")
        if first < 0:
            self.current += len(block)
            return
        self._close(self.current + first)
        last = block.rfind(b"\n")
        inner = block.count(b"\n", first + 1, last + 1)
        if self.limit < SCAN_BLOCK:  # lines inside a block can be too long too (tests)
            start = first + 1
            for _ in range(inner):
                end = block.index(b"\n", start)
                self._close(end - start)
                start = end + 1
        else:
            self.lines += inner
        self.current = len(block) - last - 1

    def finish(self) -> dict[int, int]:
        if self.current:
            self._close(self.current)
            self.current = 0
        return self.found

    def _close(self, length: int) -> None:
        self.lines += 1
        if length > self.limit:
            self.found[self.lines] = length


def _scan(path: Path, gzipped: bool, limit: int) -> dict[int, int]:
    """Lines over the limit (number -> bytes); for gzip also the integrity check (a truncated
    archive fails here with a clear message rather than mid-read)."""
    scanner = _LongLines(limit)
    try:
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as fh:
            while block := fh.read(SCAN_BLOCK):
                scanner.feed(block)
    except (OSError, EOFError) as exc:
        if gzipped:
            raise ReadError(f"{path.name}: corrupt gzip file ({exc})") from exc
        raise
    return scanner.finish()


def newline_free(block: bytes) -> bool:
    """A block of SCAN_BLOCK bytes without a line break: a line may be over the limit. (A line
    over 3 blocks long always contains a whole block, so files without one need no scan.)"""
    return b"\n" not in block


@contextmanager
def _literal_source(
    path: Path, *, gzipped: bool = False, newline_free_block: bool | None = None
) -> Iterator[tuple[Path, str]]:
    """(path, compression) for DuckDB to read in place of ``path``.

    DuckDB reads a path as a glob pattern (``*``, ``?``, ``[``): a file named ``*.csv`` would
    also read its neighbours. So DuckDB gets a private alias (a link in a fresh temporary
    folder) with a plain name. And DuckDB drops a line longer than its read buffer without a
    trace (the following lines are then misnumbered): when a line is over the limit
    (DVC_MAX_LINE_MB), DuckDB reads a copy in which each such line is a short marker line,
    quarantined as too long under its own line number."""
    if gzipped:
        _check_gzip(path)
    limit = _line_limit()
    # newline_free_block: the caller already read the file in SCAN_BLOCK blocks (content hash)
    if not gzipped and newline_free_block is False and limit >= 3 * SCAN_BLOCK:
        long_lines: dict[int, int] = {}
    else:
        long_lines = _scan(path, gzipped, limit)
    with tempfile.TemporaryDirectory(prefix="dvc-read-") as tmp:
        if not long_lines:
            alias = Path(tmp) / ("source.gz" if gzipped else "source.txt")
            os.symlink(path.resolve(), alias)
            yield alias, "gzip" if gzipped else "none"
            return
        copy = Path(tmp) / "source.txt"
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as src, copy.open("wb") as dst:
            number = 0
            while True:
                line = src.readline(SCAN_BLOCK)
                if not line:
                    break
                number += 1
                if number in long_lines:
                    while not line.endswith(b"\n") and (line := src.readline(SCAN_BLOCK)):
                        pass
                    dst.write(f"{TOO_LONG_MARKER}{long_lines[number]}\n".encode())
                    continue
                dst.write(line)
                while not line.endswith(b"\n") and (line := src.readline(SCAN_BLOCK)):
                    dst.write(line)
        yield copy, "none"


def _stage_json(con: duckdb.DuckDBPyConnection, path: Path) -> StageInfo:
    try:
        body = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ReadError(f"{path.name}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise ReadError(f"{path.name}: JSON nested too deeply to be a page of case records") from exc
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


# ---------------------------------------------------------------------------------------
# DuckDB reads with rejects: rows it cannot split are kept (as quarantine candidates) and the
# accepted rows are numbered as in the file, skipping the rejected record numbers.
# ---------------------------------------------------------------------------------------
_READ = "stage_read"
_REJECTS = "stage_rejects"
# DuckDB splits a file into buffers read by parallel threads; one record must fit a buffer.
_BUFFER_BYTES = 64 << 20
_FEW_REJECTS = 1000


def _line_limit() -> int:
    """Longest line DuckDB is given (DVC_MAX_LINE_MB, at most half a read buffer); longer
    lines are replaced by a marker before the read (_literal_source)."""
    return min(config.max_line_bytes(), _BUFFER_BYTES // 2)


def _size_options() -> str:
    return f"buffer_size = {_BUFFER_BYTES}, max_line_size = {_line_limit()}"


@dataclass(frozen=True)
class _Numbered:
    rows: int  # accepted + rejected records
    accepted: int
    row_expr: str  # SQL: record number of an accepted row r
    join: str  # SQL joined to the read table for row_expr


def _read_numbered(
    con: duckdb.DuckDBPyConnection, path: Path, options: str, first_row: int, name: str
) -> _Numbered:
    """Read a file into TEMP TABLE stage_read (file order, so rowid k = k-th accepted record)
    and its rejects into stage_rejects; say how to number the accepted rows.

    Accepted row k (0-based) has record number first_row + k + j, where j counts the rejected
    records r_i (i-th smallest, 1-based) with r_i - i - first_row + 1 <= k: the rejects with
    at most k accepted records before them."""
    for table in ("reject_errors_tmp", "reject_scans_tmp"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_READ} AS SELECT * FROM read_csv({sql_literal(str(path))}, {options}, "
            "store_rejects = true, rejects_table = 'reject_errors_tmp', rejects_scan = 'reject_scans_tmp')"
        )
    except duckdb.Error as exc:
        raise ReadError(_unreadable(name, exc)) from exc
    # One row per rejected record (a record can break several rules).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_REJECTS} AS
        SELECT line, first(error_type ORDER BY column_idx) AS error_type,
               first(error_message ORDER BY column_idx) AS error_message,
               first(trim(csv_line, chr(10) || chr(13)) ORDER BY column_idx) AS csv_line,
               line - row_number() OVER (ORDER BY line) - {first_row} + 1 AS accepted_before
        FROM reject_errors_tmp GROUP BY line
        """
    )
    for table in ("reject_errors_tmp", "reject_scans_tmp"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    accepted = con.execute(f"SELECT count(*) FROM {_READ}").fetchone()[0]
    rejected, keys = con.execute(
        f"SELECT count(*), list(accepted_before ORDER BY line) FROM {_REJECTS}"
    ).fetchone()
    if rejected == 0:  # the usual case: the row number is the position
        return _Numbered(accepted, accepted, f"r.rowid + {first_row}", "")
    if rejected <= _FEW_REJECTS:
        listed = "[" + ", ".join(str(k) for k in keys) + "]"
        return _Numbered(
            accepted + rejected,
            accepted,
            f"r.rowid + {first_row} + len(list_filter({listed}, lambda k: k <= r.rowid))",
            "",
        )
    # Many rejects: an ASOF join (slower per row than a short list, but not quadratic).
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE stage_reject_gaps AS SELECT accepted_before AS gap_key, "
        f"max(i) AS rejected_before FROM (SELECT accepted_before, row_number() OVER (ORDER BY line) AS i "
        f"FROM {_REJECTS}) GROUP BY gap_key"
    )
    return _Numbered(
        accepted + rejected,
        accepted,
        f"r.rowid + {first_row} + coalesce(g.rejected_before, 0)",
        "ASOF LEFT JOIN stage_reject_gaps g ON g.gap_key <= r.rowid",
    )


def _unreadable(name: str, exc: duckdb.Error) -> str:
    """A file DuckDB's line reader gives up on, in words (its parser's state is no reason)."""
    log.debug("%s: DuckDB could not read it: %s", name, exc)
    kind = "JSON Lines" if ".jsonl" in name.lower() else "CSV"
    if isinstance(exc, duckdb.InvalidInputException) or "CSV Parser" in str(exc):
        return (f"{name}: not a {kind} file: its content is not text lines (binary or damaged data?); "
                f"check that it is the portal's export, re-export it and drop it in again")
    return f"{name}: cannot read the file as {kind}: {str(exc).splitlines()[0]}"


def _chunk_bounds(accepted: int) -> Iterator[tuple[int, int, bool]]:
    """Row ranges [lo, hi) of the read table validated and landed together: the working set
    of one chunk stays within DuckDB's memory limit (validating a whole multi-GB file at
    once spills to disk and runs slower)."""
    lo = 0
    while True:
        hi = lo + CHUNK_ROWS
        yield lo, hi, hi >= accepted
        if hi >= accepted:
            return
        lo = hi


def drop_stage(con: duckdb.DuckDBPyConnection, *, backing: bool = True) -> None:
    """Drop the staged chunk (table or view) and, with backing, the file's read tables."""
    names = (STAGE, "stage_lines", "stage_tabular")
    if backing:
        names += (_READ, _REJECTS, "stage_reject_gaps")
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
    for name in names:
        if name in views:
            con.execute(f"DROP VIEW {name}")
    for name in names:
        if name not in views:
            con.execute(f"DROP TABLE IF EXISTS {name}")


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
