"""Readers for every export shape (docs/portal_export.md §4–5) into one staging table.

Each reader fills a DuckDB temp table or view ``stage`` with ``source_row``, ``raw_line`` (the
line as sent, for quarantine; NULL for rows split into fields), one VARCHAR column per contract
field, ``extra_fields`` and ``parse_error``. CSV and JSONL files are read once by DuckDB's
parallel CSV reader into a temp table (file order kept, rejects kept) and staged from it in
chunks, so no Python code touches individual rows on the hot path and DuckDB's memory limit
bounds memory; only ``.json`` and ``.xlsx`` files, which are small by nature, are parsed in
Python.

This module holds the entry points (format detection, dispatch by suffix); the formats are
read in ``read_lines`` (JSON Lines, JSON, API records) and ``read_tabular`` (CSV, XLSX), on
the staging table and DuckDB reads of ``staging`` and the source files of ``duckdb_source``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.ingest.read_lines import _stage_json, _stage_jsonl, stage_records
from pipeline.ingest.read_tabular import _stage_csv, _stage_xlsx
from pipeline.ingest.staging import STAGE, ReadError, StageInfo, drop_stage

# The entry points: the format modules fill the stage, callers use these names from here.
__all__ = [
    "STAGE", "SUPPORTED_SUFFIXES", "ReadError", "StageInfo", "drop_stage", "file_format",
    "stage_chunks", "stage_records",
]

SUPPORTED_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".csv", ".xlsx")


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
