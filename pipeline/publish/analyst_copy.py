"""Publish the analyst copy: a DuckDB database and a Parquet set of the tables people query.

DuckDB lets one process write a file, and a reader in another process fails while the writer
holds it. So analysts never open the working warehouse: after each successful run the
pipeline writes a fresh copy of the analyst-facing tables to a temporary file and renames it
over ``<warehouse>.analytics.duckdb`` (an atomic rename on POSIX). A reader that opened the
old copy keeps reading it; the next connection sees the new one; nobody sees half a table.

The copy is written in an older DuckDB storage format (``config.analytics_storage_version``)
so the DuckDB 1.x clients analysts already have (CLI, Python, R, JDBC in DBeaver/Metabase)
open it; the working warehouse stays on the newest format.

The same tables are also written as Parquet, one file per table, with a data dictionary, for
pandas, R, Power Query and BI tools without a DuckDB driver: ``<warehouse>.analytics_parquet``
is a symlink to a complete, hidden version folder. Each publish writes a new folder and swaps
the link atomically, so a reader sees the previous set or the new one, never half of each; the
set just replaced is kept until the next publish (a reader may still be in it).

Only analyst-facing data is copied: the marts, the reference tables, core.cases without free
text and unknown fields (which may carry personal data), and batch-level quality summaries.
Published files are readable by their owner and group only (0640 files, 0750 folders).

A nightly publish costs what changed, not the whole copy. First each table's stamp
(publish/stamps.py: columns, row count, and its rows' hashes or, for a large table, its storage
layout and the pipeline's logs) is compared with the stamps kept at the last publish: when none
moved, nothing is written at all. Otherwise the previous analyst database is copied
(sequential I/O) to the temporary name and brought up to date in place: each table whose stamp
moved is compared with the warehouse segment by segment (a mart window, a case of core.cases,
else the whole table) by row count and the sum of the rows' hashes, and only the segments that
differ are deleted and re-inserted. A Parquet file records the fingerprint of its content in its
key-value metadata; an unchanged table's file is hard-linked from the previous set instead of
rewritten. Whenever there is no previous copy, its storage version differs, or anything fails
on the way, the publish falls back to writing everything afresh.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

import duckdb

from pipeline import config, tables
from pipeline.db import list_tables, sql_literal, table_columns
from pipeline.publish import stamps

log = logging.getLogger(__name__)

# (source table, published table, columns to leave out): the registry's published tables.
PUBLISHED: tuple[tuple[str, str, tuple[str, ...]], ...] = tuple(
    (t.name, t.published_as, t.dropped) for t in tables.published() if t.published_as
)

FILE_MODE = 0o640
FOLDER_MODE = 0o750
# Parquet has no 128-bit integer: DuckDB would write HUGEINT as DOUBLE. The sums in the level
# mart are counts, so BIGINT is exact (a value beyond it fails the cast instead of rounding).
PARQUET_TYPES = {"HUGEINT": "BIGINT", "UHUGEINT": "UBIGINT"}
DICTIONARY_MD = "data_dictionary.md"
DICTIONARY_CSV = "data_dictionary.csv"


def analytics_path(warehouse: Path | str) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.analytics.duckdb")


def parquet_path(warehouse: Path | str) -> Path:
    """The published Parquet folder (a symlink to the current complete set)."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.analytics_parquet")


def parquet_file(folder: Path | str, table: str) -> Path:
    """``<folder>/<schema>.<table>.parquet`` for a published table name ``schema.table``."""
    return Path(folder) / f"{table}.parquet"


def publish(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path | str,
    storage_version: str | None = None,
    *,
    reuse: bool = True,
) -> Path:
    """Write the analyst database and the Parquet set next to the warehouse; swap both in.

    ``reuse`` (default): start from the previous published copy and change only what differs
    (see the module doc); False writes everything afresh. The result is the same either way."""
    version = storage_version or config.analytics_storage_version()
    target = analytics_path(warehouse)
    folder = parquet_path(warehouse)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    new_set = folder.with_name(f".{folder.name}.{time.time_ns()}")
    previous_set = folder.resolve() if folder.is_symlink() and folder.is_dir() else None
    remove_leftovers(warehouse)
    started = time.perf_counter()
    current = current_stamps(con) if stamps.checkpoint(con) else {}
    before, marks = stamps.previous(target, folder, version) if reuse and current and previous_set else ({}, {})
    if before and before == current:
        log.info(
            "publish: nothing changed since the last publish (%d tables, compared by their stamps in %.1fs): "
            "the analyst database %s and the Parquet set %s stay as they are",
            len(current), time.perf_counter() - started, target, folder,
        )
        return target
    unchanged = {name for name, stamp in current.items() if before.get(name) == stamp}
    moved = stamps.moved_since(con, marks) if before else stamps.UNKNOWN
    new_marks = stamps.watermarks(con)
    timings: dict[str, float] = {}
    # Files DuckDB creates (the temporary copy, its WAL) are never readable by others, also
    # while they are written or left by a kill (the umask is restored right after).
    old_umask = os.umask(0o027)
    try:
        started = time.perf_counter()
        # Published tables carry no order: let DuckDB write them in parallel (~20 % faster on
        # core.cases). Landing needs file order, so the setting is restored afterwards.
        con.execute("SET preserve_insertion_order = false")
        try:
            sync = _attach_previous(con, target, tmp, version) if reuse else None
            if sync is not None:
                try:
                    tables, stats, fingerprints = _sync_tables(con, unchanged, moved)
                except duckdb.Error as exc:  # a damaged or unexpected previous copy: start afresh
                    log.warning("publish: updating the previous copy failed (%s); writing it afresh", exc)
                    con.execute("DETACH publish_target")
                    _drop_temporary(tmp)
                    sync = None
            if sync is None:
                con.execute(f"ATTACH {sql_literal(str(tmp))} AS publish_target (STORAGE_VERSION {sql_literal(version)})")
                tables, stats, fingerprints = _copy_tables(con), None, {}
            timings["database"] = time.perf_counter() - started
            started = time.perf_counter()
            written = _write_parquet_set(
                con, tables, new_set, previous_set if reuse else None, fingerprints,
                unchanged if sync is not None else set(),
                # A stamp that moved while the stamps were trusted: the file is rewritten unhashed.
                set(current) - unchanged if sync is not None and before else set(),
            )
            timings["parquet"] = time.perf_counter() - started
        finally:
            con.execute("RESET preserve_insertion_order")
            if _attached(con, "publish_target"):
                con.execute("DETACH publish_target")
        os.chmod(tmp, FILE_MODE)
    except BaseException:
        _drop_temporary(tmp)
        shutil.rmtree(new_set, ignore_errors=True)
        raise
    finally:
        os.umask(old_umask)
    os.replace(tmp, target)
    _swap_link(folder, new_set)
    if current:
        stamps.save(target, folder, version, current, FILE_MODE, new_marks)
    how = (
        "afresh" if stats is None else
        f"updated: {stats['tables_changed']} of {len(tables)} tables changed, "
        f"{stats['rows_deleted']:,} rows replaced by {stats['rows_inserted']:,}"
    )
    log.info(
        "published the analyst database %s (storage %s, %s, %.1fs) and the Parquet set %s "
        "(%d of %d files written, the rest linked from the previous set, %.1fs)",
        target, version, how, timings["database"], folder, written, len(tables), timings["parquet"],
    )
    return target


def current_stamps(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The stamp (publish/stamps.py) of every table a publish would write now, by published name."""
    existing = list_tables(con)
    logs = stamps.logs_digest(con)
    database = current_database(con)
    out = {
        name: stamps.table_stamp(con, source, _columns(con, source, dropped=dropped),
                                 _table_doc(con, database, source), logs)
        for source, name, dropped in PUBLISHED if source in existing
    }
    quarantine = "raw.quarantine"
    out["quality.quarantine_reasons"] = (
        stamps.table_stamp(con, quarantine, _columns(con, quarantine), "", logs) if quarantine in existing else "none"
    )
    return out


def remove_leftovers(warehouse: Path | str) -> list[Path]:
    """Remove what a killed publish left next to the warehouse: temporary copies (and their
    WAL), storage probes, half-made link stagings. One writer at a time holds the warehouse,
    so none of them belongs to a publish in progress. Returns what was removed."""
    target, folder = analytics_path(warehouse), parquet_path(warehouse)
    prefixes = (
        f"{target.name}.tmp-", ".publish-probe-", f".{folder.name}.link-", f"{stamps.stamps_path(target).name}.tmp-",
    )
    removed = []
    if not target.parent.is_dir():
        return removed
    # iterdir + startswith, not glob: the warehouse name may contain glob characters.
    for entry in target.parent.iterdir():
        if entry.name.startswith(prefixes) and (entry.is_symlink() or entry.is_file()):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    if removed:
        log.info("publish: removed %d file(s) a previous, interrupted publish left behind: %s",
                 len(removed), ", ".join(p.name for p in removed))
    return removed


def _drop_temporary(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    tmp.with_name(f"{tmp.name}.wal").unlink(missing_ok=True)


def _attached(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [name]).fetchone()[0])


def _storage_tag(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    tags = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = ?", [name]).fetchone()[0]
    return (tags or {}).get("storage_version")


_STORAGE_TAGS: dict[str, str | None] = {}


def _expected_storage_tag(con: duckdb.DuckDBPyConnection, version: str, folder: Path) -> str | None:
    """How DuckDB labels a file written with STORAGE_VERSION ``version`` (probed once)."""
    if version not in _STORAGE_TAGS:
        probe = folder / f".publish-probe-{os.getpid()}.duckdb"
        _drop_temporary(probe)
        try:
            con.execute(f"ATTACH {sql_literal(str(probe))} AS publish_probe (STORAGE_VERSION {sql_literal(version)})")
            try:
                _STORAGE_TAGS[version] = _storage_tag(con, "publish_probe")
            finally:
                con.execute("DETACH publish_probe")
        finally:
            _drop_temporary(probe)
    return _STORAGE_TAGS[version]


def _attach_previous(con: duckdb.DuckDBPyConnection, target: Path, tmp: Path, version: str) -> bool | None:
    """Copy the previous analyst database to ``tmp`` and attach it as publish_target; None (and
    nothing attached, no temporary left) when there is none or it is not fit to start from."""
    if not target.is_file() or target.with_name(f"{target.name}.wal").exists():
        return None
    try:
        shutil.copyfile(target, tmp)  # the published file is never written in place: a stable copy
        con.execute(f"ATTACH {sql_literal(str(tmp))} AS publish_target")
    except (OSError, duckdb.Error) as exc:
        log.warning("publish: cannot start from the previous copy %s (%s); writing it afresh", target, exc)
        _drop_temporary(tmp)
        return None
    found, wanted = _storage_tag(con, "publish_target"), _expected_storage_tag(con, version, tmp.parent)
    if found is None or found != wanted:
        log.info("publish: the previous copy has storage %s, not %s; writing it afresh", found, wanted)
        con.execute("DETACH publish_target")
        _drop_temporary(tmp)
        return None
    return True


def _columns(
    con: duckdb.DuckDBPyConnection, name: str, *, database: str | None = None, dropped: tuple[str, ...] = ()
) -> list[tuple[str, str, str]]:
    """(column, type, comment) of table ``name`` in ``database`` (default: the warehouse)
    without the dropped columns, in table order."""
    qualified = f"{database}.{name}" if database else name
    return [(c, t, doc) for c, t, doc in table_columns(con, qualified) if c not in dropped]


def _table_doc(con: duckdb.DuckDBPyConnection, database: str, name: str) -> str:
    schema, table = name.split(".")
    row = con.execute(
        "SELECT coalesce(comment, '') FROM duckdb_tables() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        [database, schema, table],
    ).fetchone()
    return row[0] if row else ""


QUARANTINE_REASONS_SQL = (
    "SELECT q.batch_id, q.source_name, r.reason, count(*) AS records "
    "FROM raw.quarantine q, unnest(q.reasons) AS r(reason) GROUP BY q.batch_id, q.source_name, r.reason"
)
QUARANTINE_REASONS_DOC = (
    "Quarantined records per batch and reason (the records themselves stay in the working warehouse)."
)


def _quarantine_reasons(con: duckdb.DuckDBPyConnection, existing: set[str]) -> None:
    con.execute("DROP TABLE IF EXISTS publish_target.quality.quarantine_reasons")
    con.execute(
        f"CREATE TABLE publish_target.quality.quarantine_reasons AS {QUARANTINE_REASONS_SQL}"
        if "raw.quarantine" in existing else
        "CREATE TABLE publish_target.quality.quarantine_reasons "
        "(batch_id BIGINT, source_name VARCHAR, reason VARCHAR, records BIGINT)"
    )
    con.execute(
        f"COMMENT ON TABLE publish_target.quality.quarantine_reasons IS {sql_literal(QUARANTINE_REASONS_DOC)}"
    )


def _copy_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the analyst tables with their COMMENTs in publish_target; return their names."""
    existing = list_tables(con)
    published: list[str] = []
    for schema in ("mart", "core", "quality", "issued"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS publish_target.{schema}")
    for source, name, dropped in PUBLISHED:
        if source not in existing:
            continue
        kept = _columns(con, source, dropped=dropped)
        _create_copy(con, source, name, kept)
        published.append(name)
    _quarantine_reasons(con, existing)
    published.append("quality.quarantine_reasons")
    return published


def _create_copy(con: duckdb.DuckDBPyConnection, source: str, name: str, kept: list[tuple[str, str, str]]) -> None:
    col_list = ", ".join(f'"{c}"' for c, _, _ in kept)
    con.execute(f"CREATE TABLE publish_target.{name} AS SELECT {col_list} FROM {source}")
    table_doc = _table_doc(con, current_database(con), source)
    if table_doc:
        con.execute(f"COMMENT ON TABLE publish_target.{name} IS {sql_literal(table_doc)}")
    for column, _, doc in kept:
        if doc:
            con.execute(f'COMMENT ON COLUMN publish_target.{name}."{column}" IS {sql_literal(doc)}')


def current_database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchone()[0]


# The segments a published table is compared and replaced by: a mart window, a case.
WINDOW_KEY = ("period_grain", "period_label")
CASE_KEY = ("case_id",)
# Beyond this share of a table's rows to replace, the table is written afresh instead.
REWRITE_SHARE = 0.5


def _segment_key(name: str, columns: list[str]) -> tuple[str, ...]:
    if set(WINDOW_KEY) <= set(columns):
        return WINDOW_KEY
    if name == "core.cases" and set(CASE_KEY) <= set(columns):
        return CASE_KEY
    return ()


def _changed_rows(source: str, columns: list[str], moved: stamps.Moved) -> str | None:
    """A condition on ``x`` that holds for every row of ``source`` the logs say can have changed
    since the last publish; None: any row may have. A mart window table changes only in the
    windows a refresh recomputed (every refresh logs them, and the days they span); core.cases only
    in the cases merged from later batches (cases are replaced, never removed)."""
    spec = tables.BY_NAME.get(source)
    window_table = spec is not None and spec.schema == "mart" and spec.scope == "window"
    if window_table and moved.windows and {"period_grain", "period_label"} <= set(columns):
        listed = ", ".join(sql_literal(f"{grain}/{label}") for grain, label in moved.windows)
        return f"(x.period_grain || '/' || x.period_label) IN ({listed})"
    if (window_table and moved.spans
            and {"period_start", "period_end"} <= set(columns)):
        return "(" + " OR ".join(
            f"(x.period_end >= DATE {sql_literal(first)} AND x.period_start <= DATE {sql_literal(last)})"
            for first, last in sorted(set(moved.spans))
        ) + ")"
    if source == "core.cases" and moved.batch_after is not None and {"case_id", "batch_id"} <= set(columns):
        return f"x.case_id IN (SELECT case_id FROM core.cases WHERE batch_id > {int(moved.batch_after)})"
    return None


def _sync_tables(
    con: duckdb.DuckDBPyConnection, unchanged: set[str] = frozenset(), moved: stamps.Moved = stamps.UNKNOWN,
) -> tuple[list[str], dict[str, int], dict[str, tuple[int, int]]]:
    """Bring the attached previous copy up to date with the warehouse; return the published
    table names (as _copy_tables), what was done, and the (rows, hash sum) fingerprints of
    the tables it computed on the way. ``unchanged``: tables whose stamp says the previous copy
    holds them as they are (not compared); ``moved``: what the logs say changed since the last
    publish (only those rows are compared)."""
    existing = list_tables(con)
    stats = {"tables_changed": 0, "rows_deleted": 0, "rows_inserted": 0}
    fingerprints: dict[str, tuple[int, int]] = {}
    for schema in ("mart", "core", "quality", "issued"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS publish_target.{schema}")
    previous = list_tables(con, "publish_target")
    source_db = current_database(con)
    published: list[str] = []
    for source, name, dropped in PUBLISHED:
        if source not in existing:
            continue
        published.append(name)
        if name in unchanged and name in previous:
            continue
        kept = _columns(con, source, dropped=dropped)
        target_columns = _columns(con, name, database="publish_target") if name in previous else []
        if [(c, t) for c, t, _ in target_columns] != [(c, t) for c, t, _ in kept]:
            con.execute(f"DROP TABLE IF EXISTS publish_target.{name}")
            _create_copy(con, source, name, kept)
            stats["tables_changed"] += 1
            stats["rows_inserted"] += con.execute(f"SELECT count(*) FROM publish_target.{name}").fetchone()[0]
            continue
        started = time.perf_counter()
        columns = [c for c, _, _ in kept]
        deleted, inserted, whole = _sync_rows(con, source, name, columns, _changed_rows(source, columns, moved))
        if whole is not None:
            fingerprints[name] = whole
        log.debug("publish: %s: %d rows replaced by %d (%.1fs)", name, deleted, inserted, time.perf_counter() - started)
        if deleted or inserted:
            stats["tables_changed"] += 1
            stats["rows_deleted"] += deleted
            stats["rows_inserted"] += inserted
        # COMMENTs: only those that differ (each is a catalog change).
        table_doc = _table_doc(con, source_db, source)
        if table_doc != _table_doc(con, "publish_target", name):
            con.execute(f"COMMENT ON TABLE publish_target.{name} IS {sql_literal(table_doc) if table_doc else 'NULL'}")
        for (column, _, doc), (_, _, old) in zip(kept, target_columns, strict=True):
            if doc != old:
                con.execute(
                    f'COMMENT ON COLUMN publish_target.{name}."{column}" IS {sql_literal(doc) if doc else "NULL"}')
    keep = set(published) | {"quality.quarantine_reasons"}
    for name in sorted(previous - keep):
        con.execute(f"DROP TABLE publish_target.{name}")
    _quarantine_reasons(con, existing)
    published.append("quality.quarantine_reasons")
    return published, stats, fingerprints


def _sync_rows(
    con: duckdb.DuckDBPyConnection, source: str, name: str, columns: list[str], within: str | None = None
) -> tuple[int, int, tuple[int, int] | None]:
    """Make publish_target.<name> hold the source's rows: the rows found on one side only
    (compared by their hash within their segment) are deleted or inserted, the others stay.
    ``within``: a condition on ``x`` that holds for every row that can have changed (only those
    are compared). Returns (rows deleted, rows inserted, the source's whole-table fingerprint,
    None when only some rows were compared)."""
    key = _segment_key(name, columns)
    target = f"publish_target.{name}"
    fields = [*key, "h"]
    select = ", ".join([*(f'x."{k}"' for k in key), f"{stamps.row_hash(columns)} AS h"])
    temps = ("publish_source_rows", "publish_target_rows", "publish_deleted", "publish_inserted")
    where = f" WHERE {within}" if within else ""
    try:
        for temp, relation in zip(temps, (source, target), strict=False):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT x.rowid AS row_id, {select} FROM {relation} x{where}")
        match = " AND ".join(f'a."{f}" IS NOT DISTINCT FROM b."{f}"' for f in fields)
        for temp, a, b in (("publish_deleted", "publish_target_rows", "publish_source_rows"),
                           ("publish_inserted", "publish_source_rows", "publish_target_rows")):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT a.row_id, a.h FROM {a} a ANTI JOIN {b} b ON {match}")
        totals = " UNION ALL ".join(
            f"SELECT {i} AS i, count(*) AS n, coalesce(sum(h::HUGEINT), 0) AS h FROM {temp}" for i, temp in enumerate(temps))
        (sn, sh), (tn, th), (dn, dh), (inn, ih) = [
            (n, h) for _, n, h in sorted(con.execute(totals).fetchall())]
        whole = None if within else (sn, sh)
        if not dn and not inn and (sn, sh) == (tn, th):
            return 0, 0, whole
        # Rows present more than once on a side are not matched one by one: then (or when most
        # of a whole table's rows changed) the table is rewritten whole.
        if (tn - dn + inn, th - dh + ih) != (sn, sh) or (not within and dn > REWRITE_SHARE * tn):
            return (*_rewrite(con, source, target, columns), whole)
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT row_id FROM publish_deleted)")
        col_list = ", ".join(f'"{c}"' for c in columns)
        con.execute(
            f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM {source} "
            "WHERE rowid IN (SELECT row_id FROM publish_inserted)"
        )
        return int(dn), int(inn), whole
    finally:
        for temp in temps:
            con.execute(f"DROP TABLE IF EXISTS {temp}")


def _rewrite(con: duckdb.DuckDBPyConnection, source: str, target: str, columns: list[str]) -> tuple[int, int]:
    """Replace every row of ``target`` (keeps the table, its COMMENTs)."""
    col_list = ", ".join(f'"{c}"' for c in columns)
    (deleted,) = con.execute(f"SELECT count(*) FROM {target}").fetchone()
    con.execute(f"DELETE FROM {target}")
    con.execute(f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM {source}")
    (inserted,) = con.execute(f"SELECT count(*) FROM {target}").fetchone()
    return deleted, inserted


FINGERPRINT_KEY = "dvc_publish_fingerprint"


def _previous_fingerprint(path: Path) -> str | None:
    """The fingerprint a previous publish stored in a Parquet file's key-value metadata."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (OSError, ValueError):
        return None
    value = metadata.get(FINGERPRINT_KEY.encode())
    return value.decode() if value is not None else None


def _write_parquet_set(
    con: duckdb.DuckDBPyConnection,
    tables: list[str],
    folder: Path,
    previous: Path | None = None,
    fingerprints: dict[str, tuple[int, int]] | None = None,
    unchanged: set[str] = frozenset(),
    moved: set[str] = frozenset(),
) -> int:
    """One Parquet file per published table, read from publish_target, plus the dictionary.
    A file of ``previous`` with the same content fingerprint is hard-linked instead of written
    (``fingerprints``: those already known, by table; ``unchanged``: tables whose stamp did not
    move, linked unread; ``moved``: tables whose stamp moved, written without hashing their
    rows first). Returns the number of files written."""
    folder.mkdir()
    os.chmod(folder, FOLDER_MODE)
    dictionary: list[tuple[str, str, str, str]] = []  # (table, column, type, meaning)
    written = 0
    for name in tables:
        table_doc = _table_doc(con, "publish_target", name)
        columns = _columns(con, name, database="publish_target")
        path = parquet_file(folder, name)
        old = parquet_file(previous, name) if previous is not None else None
        if not (name in unchanged and old is not None and old.is_file() and _link(old, path)):
            written += _write_parquet_file(
                con, name, columns, path, old, (fingerprints or {}).get(name), hashed=name not in moved)
        os.chmod(path, FILE_MODE)
        dictionary.append((name, "", "", table_doc))
        dictionary += [(name, c, PARQUET_TYPES.get(t, t), doc) for c, t, doc in columns]
    _write_dictionary(dictionary, folder)
    return written


def _write_parquet_file(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: list[tuple[str, str, str]],
    path: Path,
    old: Path | None,
    known: tuple[int, int] | None,
    *,
    hashed: bool = True,
) -> int:
    """Write publish_target.<name> to ``path``, or hard-link ``old`` when it holds the same
    content fingerprint (``known``: the table's (rows, hash sum) if already computed).
    ``hashed=False``: write it without computing the fingerprint (it is recorded as unknown, so
    a later comparison by content rewrites the file). Returns 1 if a file was written."""
    names = [c for c, _, _ in columns]
    fingerprint = "unhashed"
    if hashed or known:
        n, h = known or con.execute(stamps.fingerprint_sql(f"publish_target.{name}", names)).fetchone()
        signature = hashlib.sha256(repr([(c, t) for c, t, _ in columns]).encode()).hexdigest()[:16]
        fingerprint = f"{n}:{h}:{signature}"
        if old is not None and _previous_fingerprint(old) == fingerprint and _link(old, path):
            return 0
    select = ", ".join(
        f'CAST("{c}" AS {PARQUET_TYPES[t]}) AS "{c}"' if t in PARQUET_TYPES else f'"{c}"' for c, t, _ in columns
    )
    # Snappy (DuckDB's default) is the codec every Parquet reader has, Power Query included.
    con.execute(
        f"COPY (SELECT {select} FROM publish_target.{name}) TO {sql_literal(str(path))} "
        f"(FORMAT parquet, COMPRESSION snappy, KV_METADATA {{{FINGERPRINT_KEY}: {sql_literal(fingerprint)}}})"
    )
    return 1


def _link(old: Path, new: Path) -> bool:
    try:
        os.link(old, new)
        return True
    except OSError:  # another file system, no hard links: write it
        return False


def _write_dictionary(rows: list[tuple[str, str, str, str]], folder: Path) -> None:
    """data_dictionary.md (people) and data_dictionary.csv (tools) of the Parquet set."""
    md = [
        "# Data dictionary of the published Parquet files",
        "",
        "One file per table, `<schema>.<table>.parquet`; the same tables, columns and values as the",
        "analyst database `<warehouse>.analytics.duckdb` (types as stored in Parquet). Generated by",
        "the pipeline at every publish from the warehouse's own COMMENTs.",
        "",
    ]
    for table, column, dtype, doc in rows:
        if column:
            md.append(f"| `{column}` | {dtype} | {doc.replace('|', '/')} |")
        else:
            md += [f"## `{table}` (`{table}.parquet`)", "", doc or "(no description)", "",
                   "| column | type | meaning |", "|---|---|---|"]
            if md[-7]:  # a blank line after the previous table
                md.insert(-6, "")
    md_path = folder / DICTIONARY_MD
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    csv_path = folder / DICTIONARY_CSV
    # utf-8-sig: Excel and Power Query then read the Vietnamese text as UTF-8.
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["table", "file", "column", "type", "meaning"])
        for table, column, dtype, doc in rows:
            writer.writerow([table, f"{table}.parquet", column, dtype, doc])
    for path in (md_path, csv_path):
        os.chmod(path, FILE_MODE)


def _swap_link(link: Path, new_set: Path) -> None:
    """Point ``link`` at ``new_set`` atomically; keep the set it replaces, drop older ones."""
    previous = os.readlink(link) if link.is_symlink() else None
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # a plain folder (copied by hand): nothing can be swapped over it
    staging = link.with_name(f".{link.name}.link-{os.getpid()}")
    staging.unlink(missing_ok=True)
    os.symlink(new_set.name, staging)  # relative: the folder pair can be moved or mounted
    os.replace(staging, link)
    keep = {new_set.name, previous}
    prefix = f".{link.name}."
    # iterdir + startswith, not glob: the warehouse name may contain glob characters.
    for entry in link.parent.iterdir():
        if entry.name.startswith(prefix) and entry.name not in keep and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
