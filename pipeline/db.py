"""The database kit: the small DuckDB chores every room needs, written once.

- ``transaction(con)``: BEGIN … COMMIT, ROLLBACK on any error (readers never see half a change);
- ``sql_literal(text)`` / ``sql_identifier(name)``: a string as a SQL literal / a quoted name (for statements DuckDB cannot parameterise:
  COMMENT ON, ATTACH, file paths in table functions);
- ``table_exists`` / ``table_columns``: catalog questions, for the working database, an attached
  one, or this connection's temporary tables;
- ``read_sql(name)`` / ``render_sql(name, **params)``: the statements under ``sql/``; templates
  name their holes ``$name`` and ``render_sql`` refuses a hole left unfilled or a value nobody asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from pipeline import config

# A template hole: $ and an identifier ($1 stays DuckDB's positional parameter).
_PLACEHOLDER = re.compile(r"\$([A-Za-z_]\w*)")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction around the block: committed when it ends, rolled back if it raises.
    Not nestable (DuckDB aborts the open transaction on a second BEGIN): call it outside one."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def sql_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (contract field names such as "Lệ phí (VND)")."""
    return '"' + name.replace('"', '""') + '"'


def _split(qualified: str) -> tuple[str | None, str, str]:
    parts = qualified.split(".")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    raise ValueError(f"expected schema.table or database.schema.table, got {qualified!r}")


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether ``schema.table`` (of the connection's default database) or
    ``database.schema.table`` exists; ``temp.name`` asks for this connection's temporary table."""
    if qualified.startswith("temp.") and qualified.count(".") == 1:
        return bool(con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [qualified[5:]]
        ).fetchone()[0])
    database, schema, table = _split(qualified)
    database = database or con.execute("SELECT current_database()").fetchone()[0]
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        [database, schema, table],
    ).fetchone()[0])


def list_tables(con: duckdb.DuckDBPyConnection, database: str | None = None, schema: str | None = None) -> set[str]:
    """Every ``schema.table`` of ``database`` (default: the connection's), or of one ``schema``."""
    return {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary "
        "AND database_name = coalesce(?, current_database()) AND schema_name = coalesce(?, schema_name)",
        [database, schema],
    ).fetchall()}


def table_columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[tuple[str, str, str]]:
    """(name, type, COMMENT) of a table's columns in order (``schema.table`` of the default
    database, or ``database.schema.table``); empty when the table does not exist."""
    database, schema, table = _split(qualified)
    database = database or con.execute("SELECT current_database()").fetchone()[0]
    return con.execute(
        "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, table],
    ).fetchall()


def read_sql(name: str) -> str:
    """The text of ``sql/<name>``."""
    return (config.SQL_DIR / name).read_text(encoding="utf-8")


def fill_placeholders(template: str, params: dict[str, object], *, source: str = "template") -> str:
    """Fill every ``$name`` hole of ``template`` from ``params`` in one pass (no replacement
    order to get wrong). Refuses a hole without a value and a value without a hole."""
    holes = set(_PLACEHOLDER.findall(template))
    missing = sorted(holes - params.keys())
    unused = sorted(params.keys() - holes)
    if missing or unused:
        raise ValueError(f"{source}: placeholders without a value {missing}, values without a placeholder {unused}")
    return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), template)


def render_sql(name: str, **params: object) -> str:
    """``sql/<name>`` with its ``$name`` holes filled from ``params`` (see fill_placeholders)."""
    return fill_placeholders(read_sql(name), params, source=f"sql/{name}")
