"""The DuckDB warehouse: connections, DDL and the SQL files under sql/."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline import config
from pipeline.validation import comment_case_table_sql, create_case_table_sql

log = logging.getLogger(__name__)

CASE_TABLES = {
    "raw.case_versions": "Every valid version of every case as landed (history is kept). Personal data only as keyed hashes.",
    "core.cases": "One row per case (MaHoSo): its newest valid version (largest NgayCapNhat; on a tie the later arrival). Invalid versions never replace valid ones.",
}


def read_sql(name: str) -> str:
    return (config.SQL_DIR / name).read_text(encoding="utf-8")


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the shared macros loaded and the PII key set."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise RuntimeError(f"cannot open warehouse {path}: {exc}") from exc
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
        yield con
    finally:
        con.close()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every landing/core table if missing (idempotent)."""
    con.execute(read_sql("ddl/warehouse.sql"))
    for table, doc in CASE_TABLES.items():
        con.execute(create_case_table_sql(table))
        con.execute(f"COMMENT ON TABLE {table} IS '{doc.replace(chr(39), chr(39) * 2)}'")
        for stmt in comment_case_table_sql(table):
            con.execute(stmt)


def table_columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[tuple[str, str, str]]:
    """(name, type, COMMENT) of a table's columns, in order: the same text the data dictionary
    (pipeline/docs.py) prints, for anything else that describes the table (Dagster's UI)."""
    schema, table = qualified.split(".")
    return con.execute(
        "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table],
    ).fetchall()
