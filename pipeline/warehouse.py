"""The DuckDB warehouse: connections, DDL and the SQL files under sql/."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline import config
from pipeline.case_tables import comment_case_table_sql, create_case_table_sql
from pipeline.db import read_sql, sql_literal, transaction

log = logging.getLogger(__name__)

CASE_TABLES = {
    "raw.case_versions": "Every valid version of every case as landed (history is kept). Personal data only as keyed hashes.",
    "core.cases": "One row per case (MaHoSo): its newest valid version (largest NgayCapNhat; on a tie the later arrival). Invalid versions never replace valid ones.",
}


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse (DuckDB allows one writer, and no reader beside it)."""


class PiiKeyMismatchError(RuntimeError):
    """DVC_PII_KEY is not the key the warehouse's personal-data hashes were made with."""


_RE_LOCK_PID = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
# Personal data lives in the file (as keyed hashes, and masked in the quarantine): not for
# every local account. New files are 0600 and new folders 0750; existing ones lose world bits.
_DIR_MODE = 0o750


def _process_command(pid: str) -> str:
    """The holder's whole command line on one line (an argument's line breaks shown as \\n)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    parts = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    return " ".join(p.replace("\r", "").replace("\n", "\\n") for p in parts)


_RUN_WORDS = {"run", "pull", "backfill", "issue", "demo", "bench"}
_READER_WORDS = {"summary", "report"}


def holder_kind(command: str) -> str:
    """``run``, ``reader`` (e.g. ``summary``) or ``other``: who holds the warehouse, from its
    command line, so the message says what to wait for."""
    words = set(command.replace("=", " ").split())
    if "pipeline" in command and words & _READER_WORDS:
        return "reader"
    if ("pipeline" in command and words & _RUN_WORDS) or "dagster" in command:
        return "run"
    if "read_only" in command or "-readonly" in words:
        return "reader"
    return "other"


def _holder(error: str) -> str:
    match = _RE_LOCK_PID.search(error)
    if not match:
        return "another process"
    program, pid = match.groups()
    command = _process_command(pid) or program
    kind = {"reader": "a reader", "run": "a run"}.get(holder_kind(command), "a process")
    return f"{kind}, process {pid} ({command}),"


def lock_message(path: Path, error: str) -> str:
    """A lock conflict in words: which process holds the warehouse and what to do."""
    match = _RE_LOCK_PID.search(error)
    if not match:
        return f"warehouse {path} is in use by another process ({error.splitlines()[0]})"
    program, pid = match.groups()
    command = _process_command(pid) or program
    kind = holder_kind(command)
    if kind == "reader":
        advice = ("It is a reader (e.g. `summary` or `report`), done in seconds: retry when it has finished; "
                  "readers should use the analyst copy while a run may write")
    elif kind == "run":
        advice = (f"Wait for that run to finish and retry (see it with `ps -o pid,etime,args -p {pid}`); "
                  f"if it is hung, stop it with `kill {pid}` (a killed run loses nothing committed)")
    else:
        advice = (f"Close the warehouse in that program (or wait for it) and retry; see it with "
                  f"`ps -o pid,etime,args -p {pid}`, stop it with `kill {pid}` if it is hung")
    return (
        f"warehouse {path} is in use by process {pid} ({command}): DuckDB lets one process use it "
        f"at a time. {advice}. Do not delete the warehouse or its .wal file."
    )


def _duckdb_connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """duckdb.connect; a writer that finds the file held waits up to DVC_LOCK_WAIT_S for it
    (a reader lets go in seconds), saying so once, instead of failing the run."""
    deadline: float | None = None
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if read_only or "lock" not in str(exc).lower():
                raise
            now = time.monotonic()
            if deadline is None:
                wait = config.lock_wait_seconds()
                deadline = now + wait
                if wait > 0:
                    log.warning("%s holds warehouse %s; waiting up to %.0f s for it to let go (DVC_LOCK_WAIT_S)",
                                _holder(str(exc)), path, wait)
            if now >= deadline:
                raise
            time.sleep(0.05)


def _restrict_mode(path: Path) -> None:
    """Strip the world bits of the warehouse file (and a fresh one gets owner-only access)."""
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o007:
            path.chmod(mode & 0o770)
    except OSError as exc:  # e.g. a file owned by another account: say so, keep going
        log.warning("cannot restrict the permissions of %s: %s", path, exc)


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the shared macros loaded and the PII key set."""
    path = Path(path)
    if not read_only:
        for folder in reversed([path.parent, *path.parent.parents]):
            if not folder.exists():
                folder.mkdir(mode=_DIR_MODE, exist_ok=True)
    # A new file (and its .wal) is created owner-only: no moment in which it is world-readable.
    # (DuckDB refuses an empty pre-created file, so the umask does it.)
    new = not read_only and not path.exists()
    old_umask = os.umask(0o077) if new else None
    try:
        con = _duckdb_connect(path, read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(lock_message(path, str(exc))) from None
        raise RuntimeError(f"cannot open warehouse {path}: {exc}") from exc
    finally:
        if old_umask is not None:
            os.umask(old_umask)
    if not read_only:
        _restrict_mode(path)
    # Bounded memory: DuckDB spills to disk past this (default 80 % of RAM is too greedy on a
    # shared 2-core box, and peak RSS is a product requirement).
    con.execute(f"SET memory_limit = '{config.duckdb_memory_limit()}'")
    con.execute("SET enable_progress_bar = false")  # logs, not terminal bars, in nightly runs
    # TEMP macros live in the connection, so read-only connections get them too.
    con.execute(read_sql("macros.sql").replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
    if not read_only:
        con.execute("SET VARIABLE pii_key = ?", [config.pii_key()])
    return con


@contextmanager
def open_warehouse(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only)
    try:
        if not read_only:
            ensure_schema(con)
            check_pii_key(con)
        yield con
    finally:
        con.close()


def pii_key_fingerprint(key: str) -> str:
    """What the warehouse keeps of DVC_PII_KEY: a one-way digest, enough to tell keys apart."""
    return hashlib.sha256(f"dvc-pii-key-fingerprint:{key}".encode()).hexdigest()[:32]


PII_KEY_MISMATCH = (
    f"{config.ENV_PII_KEY} is not the key this warehouse's personal-data hashes were made with: "
    f"set the original {config.ENV_PII_KEY}, or re-key on purpose with DVC_PII_REKEY=1 "
    "(hashes landed before and after re-keying are then not comparable; see README, Operations)"
)


def check_pii_key(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to write with another DVC_PII_KEY than the warehouse's hashes were made with
    (one applicant would silently get two hashes), unless re-keying is asked (DVC_PII_REKEY=1)."""
    fingerprint = pii_key_fingerprint(config.pii_key())
    row = con.execute("SELECT fingerprint FROM raw.pii_key").fetchone()
    if row is None:
        con.execute("INSERT INTO raw.pii_key VALUES (?, now()::TIMESTAMP)", [fingerprint])
        return
    if row[0] == fingerprint:
        return
    if not config.pii_rekey_requested():
        raise PiiKeyMismatchError(PII_KEY_MISMATCH)
    with transaction(con):
        con.execute("DELETE FROM raw.pii_key")
        con.execute("INSERT INTO raw.pii_key VALUES (?, now()::TIMESTAMP)", [fingerprint])
    log.warning(
        "DVC_PII_REKEY=1: the warehouse now records the new %s; personal-data hashes landed before "
        "are NOT comparable with those landed from now on (the same applicant has two hashes)",
        config.ENV_PII_KEY,
    )


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every landing/core table if missing (idempotent). A warehouse whose catalog already
    holds every table, column, COMMENT and sequence the DDL makes is left alone: one catalog read
    instead of some 100 statements (a run opens the warehouse once per step)."""
    if _expected_catalog() <= _catalog(con):
        return
    _apply_schema(con)


_CATALOG_SQL = """
SELECT 'table', schema_name, table_name, '', '', coalesce(comment, '') FROM duckdb_tables()
WHERE database_name = current_database() AND NOT temporary
UNION ALL
SELECT 'column', schema_name, table_name, column_name, data_type, coalesce(comment, '') FROM duckdb_columns()
WHERE database_name = current_database()
UNION ALL
SELECT 'sequence', schema_name, sequence_name, '', '', '' FROM duckdb_sequences()
WHERE database_name = current_database() AND NOT temporary
"""


def _catalog(con: duckdb.DuckDBPyConnection) -> frozenset[tuple[str, ...]]:
    return frozenset(con.execute(_CATALOG_SQL).fetchall())


@functools.cache
def _expected_catalog() -> frozenset[tuple[str, ...]]:
    """What ensure_schema's DDL makes, read from a scratch in-memory database (once per process)."""
    scratch = duckdb.connect()
    try:
        _apply_schema(scratch)
        return _catalog(scratch)
    finally:
        scratch.close()


def _apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(read_sql("ddl/warehouse.sql"))
    for table, doc in CASE_TABLES.items():
        con.execute(create_case_table_sql(table))
        con.execute(f"COMMENT ON TABLE {table} IS {sql_literal(doc)}")
        for stmt in comment_case_table_sql(table):
            con.execute(stmt)
