"""The staging table every reader fills, and DuckDB's line reader shared by CSV and JSON Lines.

``ReadError`` and ``StageInfo`` (what a staged chunk holds); ``_read_numbered``: a file read by
DuckDB's parallel CSV reader into TEMP TABLE ``stage_read`` with its rejects kept and the
accepted rows numbered as in the file; ``_chunk_bounds`` (CHUNK_ROWS records per chunk) and
``drop_stage``. Entry points are in ``pipeline.ingest.readers``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline import config
from pipeline.db import sql_literal

log = logging.getLogger(__name__)

STAGE = "stage"
CHUNK_ROWS = 500_000  # records validated and landed together (one transaction per file)


class ReadError(Exception):
    """A file that cannot be read at all (corrupt, wrong format, API error page)."""


@dataclass(frozen=True)
class StageInfo:
    fmt: str
    rows: int
    unknown_columns: tuple[str, ...] = ()
    total_rows: int = 0  # records of the whole file (large files come in several chunks)


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
