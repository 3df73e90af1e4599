"""JSON Lines (plain or gzip), ``.json`` page bodies and API records into the staging table.

Every record becomes one line of TEMP TABLE ``stage_lines`` (its number and its text), parsed
once by the validation SQL into ``stage``: JSONL files through DuckDB's parallel line reader
in chunks, ``.json`` files and API pages (small by nature) from Python.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.ingest.duckdb_source import _literal_source
from pipeline.ingest.staging import (
    _READ,
    _REJECTS,
    STAGE,
    ReadError,
    StageInfo,
    _chunk_bounds,
    _read_numbered,
    _size_options,
    drop_stage,
)
from pipeline.ingest.validation import stage_from_lines_sql

_LINE_DELIMITER = "\x1e"  # never appears raw inside valid JSON text


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
