"""Dagster's standard table metadata for the assets that write a DuckDB table.

``dagster/table_name``, ``dagster/column_schema`` (each column's type and its DuckDB COMMENT, the
text of the data dictionary) and ``dagster/row_count``, so the UI shows what a table holds and
how big it is, read from the warehouse itself.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

from pipeline.db import table_columns

OWNERS = ["team:provincial-data"]


def table_metadata(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, Any]:
    columns = table_columns(con, table)
    if not columns:
        return {"dagster/table_name": table}
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return {
        "dagster/table_name": table,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, dtype, description=comment or None) for name, dtype, comment in columns]
        ),
        "dagster/row_count": rows,
    }
