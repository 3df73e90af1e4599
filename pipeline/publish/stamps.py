"""What each published table holds, told cheaply: a publish with nothing changed costs next to nothing.

Comparing every row of the large tables (core.cases, the drill-down, late cases: tens of millions
of rows at 5M versions) was most of a publish in which nothing had changed (50 s at 5M). A
table's *stamp* says, without reading its rows:

- its columns (names, types, COMMENTs), its table COMMENT and its row count;
- a small table (at most ``QUICK_ROWS`` rows): the sum of its rows' hashes, exact;
- a large table: DuckDB's storage layout of it after a checkpoint (``pragma_storage_info``:
  an insert or an update writes new segments; a delete changes the row count) and the
  pipeline's logs that every writer of a large table appends to (``LOGS``: a landing, a merge,
  a mart refresh, an issue).

The publish keeps the stamps of what it published beside the analyst database; the next one
compares. Every stamp equal (and the analyst files the same ones): nothing to write. Otherwise
only the tables whose stamp moved are compared row by row and rewritten (analyst_copy). A hand
edit of a large table that neither changes its row count nor writes new storage is not seen:
delete the stamps file (``stamps_path``) and the next publish compares every row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.db import table_columns, table_exists

log = logging.getLogger(__name__)

# Up to this many rows a table's stamp hashes every row (a few milliseconds per 100,000 rows).
QUICK_ROWS = 300_000
# The logs every writer of a large published table appends to, with the columns that say a write
# happened: landing (raw.batches), the merge into core.cases (core.merge_log, core.merged_batches),
# a mart refresh starting (mart.refresh_log's refresh_id and start, also written by the Spark
# engine; its completion marks, set after the publish, say nothing about the marts' rows), an
# issue (issued.issues), the PII key. None: every column.
LOGS: dict[str, tuple[str, ...] | None] = {
    "raw.batches": ("batch_id", "source_name", "finished_at"),
    "raw.pii_key": None,
    "core.merge_log": None,
    "core.merged_batches": None,
    "mart.refresh_log": ("refresh_id", "refreshed_at", "windows", "first_day", "last_day"),
    "mart.refresh_windows": None,
    "issued.issues": None,
}
STAMP_FORMAT = 1


def stamps_path(analytics: Path) -> Path:
    """The hidden file beside the analyst database that holds what it was published from."""
    return analytics.with_name(f".{analytics.name}.stamps.json")


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:24]


def row_hash(columns: list[str], alias: str = "x") -> str:
    """SQL: the hash of a row's ``columns``."""
    return "hash(" + ", ".join(f'{alias}."{c}"' for c in columns) + ")"


def fingerprint_sql(relation: str, columns: list[str]) -> str:
    """SQL: (rows, sum of the rows' hashes) of ``relation``, equal for the same rows in any order
    (the stamps of small tables and the publish's comparison of a copied table)."""
    return f"SELECT count(*), coalesce(sum({row_hash(columns)}::HUGEINT), 0) FROM {relation} x"


def _row_hash_sum(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> tuple[int, int]:
    n, h = con.execute(fingerprint_sql(relation, columns)).fetchone()
    return int(n), int(h)


def logs_digest(con: duckdb.DuckDBPyConnection) -> str:
    """The logs' content (each a few rows per run), hashed."""
    parts = []
    for name, wanted in LOGS.items():
        if table_exists(con, name):
            present = [c for c, _, _ in table_columns(con, name)]
            columns = [c for c in present if wanted is None or c in wanted]
            parts.append((name, _row_hash_sum(con, name, columns)))
    return _digest(parts)


def _storage_digest(con: duckdb.DuckDBPyConnection, source: str) -> str:
    schema, table = source.split(".")
    rows = con.execute(
        "SELECT row_group_id, column_id, segment_id, block_id, block_offset, count, persistent, has_updates "
        f"FROM pragma_storage_info('\"{schema}\".\"{table}\"') ORDER BY ALL"
    ).fetchall()
    return _digest(rows)


def table_stamp(
    con: duckdb.DuckDBPyConnection, source: str, columns: list[tuple[str, str, str]], table_doc: str, logs: str
) -> str:
    """The stamp of ``source`` published with ``columns`` (column, type, COMMENT); ``logs``:
    ``logs_digest`` of the same state. The connection's database must be checkpointed."""
    (rows,) = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    if rows <= QUICK_ROWS:
        content: object = _row_hash_sum(con, source, [c for c, _, _ in columns])
    else:
        content = (_storage_digest(con, source), logs)
    return _digest((STAMP_FORMAT, columns, table_doc, rows, content))


def checkpoint(con: duckdb.DuckDBPyConnection) -> bool:
    """Write the WAL into the database file (storage layouts are read from it); False when
    DuckDB cannot now (then no stamp is trusted)."""
    try:
        con.execute("CHECKPOINT")
        return True
    except duckdb.Error as exc:
        log.debug("publish: no checkpoint (%s): every table is compared", exc)
        return False


def _file_identity(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def previous(analytics: Path, parquet_link: Path, storage_version: str) -> tuple[dict[str, str], dict]:
    """The stamps of the tables as last published, if the analyst database and the Parquet set
    are still the very files that publish wrote (else {}: compare everything), and the logs'
    watermarks it kept. A publish that replaced the files and died before saving its stamps
    leaves stamps that no longer match."""
    path = stamps_path(analytics)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    link = os.readlink(parquet_link) if parquet_link.is_symlink() else None
    if (
        not isinstance(saved, dict)
        or saved.get("format") != STAMP_FORMAT
        or saved.get("storage_version") != storage_version
        or saved.get("analytics") != _file_identity(analytics)
        or saved.get("parquet_set") != link
        or not isinstance(saved.get("tables"), dict)
    ):
        return {}, {}
    marks = saved.get("watermarks")
    return {str(k): str(v) for k, v in saved["tables"].items()}, marks if isinstance(marks, dict) else {}


def watermarks(con: duckdb.DuckDBPyConnection) -> dict[str, str | int | None]:
    """How far the logs reached when the copy was published: the last mart refresh started and
    the last batch merged into core.cases."""
    refreshed = (
        con.execute("SELECT max(refreshed_at)::VARCHAR FROM mart.refresh_log").fetchone()[0]
        if table_exists(con, "mart.refresh_log") else None
    )
    merged = (
        con.execute("SELECT max(batch_id) FROM core.merged_batches").fetchone()[0]
        if table_exists(con, "core.merged_batches") else None
    )
    return {"refreshed_at": refreshed, "batch_id": merged}


@dataclass(frozen=True)
class Moved:
    """What the logs say changed since the last publish; None: not known (compare everything)."""

    spans: list[tuple[str, str]] | None  # days spanned by the mart refreshes started since
    batch_after: int | None  # core.cases rows from batches after this one are new or replaced
    # (None also when no batch was merged since: then a change is not the merge's)
    # The (grain, label) of every window those refreshes recomputed; None: not recorded for
    # each of them (then the spans tell).
    windows: list[tuple[str, str]] | None = None


UNKNOWN = Moved(None, None)


def moved_since(con: duckdb.DuckDBPyConnection, saved_watermarks: dict | None) -> Moved:
    """The refreshes and merges since ``saved_watermarks`` (as ``watermarks`` wrote them)."""
    if not saved_watermarks:
        return UNKNOWN
    spans = windows = None
    if table_exists(con, "mart.refresh_log"):
        since = "WHERE ? IS NULL OR refreshed_at > CAST(? AS TIMESTAMP)"
        marks = [saved_watermarks.get("refreshed_at")] * 2
        spans = [
            (str(a), str(b)) for a, b in con.execute(
                f"SELECT first_day, last_day FROM mart.refresh_log {since}", marks).fetchall()
        ]
        if any(a == "None" or b == "None" for a, b in spans):
            spans = None  # a refresh without its span: every window may have moved
        if spans is not None and table_exists(con, "mart.refresh_windows"):
            recorded, found = con.execute(
                "SELECT count(*) FILTER (w.windows = coalesce(r.n, 0)), count(*) FROM mart.refresh_log w "
                "LEFT JOIN (SELECT refresh_id, count(*) AS n FROM mart.refresh_windows GROUP BY ALL) r "
                f"USING (refresh_id) {since.replace('refreshed_at', 'w.refreshed_at')}", marks).fetchone()
            if recorded == found:  # every refresh since recorded its windows
                windows = sorted(con.execute(
                    "SELECT DISTINCT period_grain, period_label FROM mart.refresh_windows WHERE refresh_id IN "
                    f"(SELECT refresh_id FROM mart.refresh_log {since})", marks).fetchall())
    # Restricting core.cases to later batches is sound only when batches were merged since: a
    # change with none (a hand edit) is compared whole.
    batch = saved_watermarks.get("batch_id")
    merged_since = isinstance(batch, int) and table_exists(con, "core.merged_batches") and con.execute(
        "SELECT count(*) FROM core.merged_batches WHERE batch_id > ?", [batch]).fetchone()[0] > 0
    return Moved(spans, batch if merged_since else None, windows)


def save(
    analytics: Path, parquet_link: Path, storage_version: str, stamps: dict[str, str], mode: int,
    marks: dict[str, str | int | None] | None = None,
) -> None:
    """Keep ``stamps`` (and the logs' ``marks``) for the files just swapped in (written aside,
    then renamed over)."""
    path = stamps_path(analytics)
    saved = {
        "format": STAMP_FORMAT,
        "storage_version": storage_version,
        "analytics": _file_identity(analytics),
        "parquet_set": os.readlink(parquet_link) if parquet_link.is_symlink() else None,
        "tables": stamps,
        "watermarks": marks or {},
    }
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(saved, indent=1, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
