"""Publish the analyst database: a read-only copy of the tables people query.

DuckDB lets one process write a file, and a reader in another process fails while the writer
holds it. So analysts never open the working warehouse: after each successful run the
pipeline writes a fresh copy of the analyst-facing tables to a temporary file and renames it
over ``<warehouse>.analytics.duckdb`` (an atomic rename on POSIX). A reader that opened the
old copy keeps reading it; the next connection sees the new one; nobody sees half a table.

Only analyst-facing data is copied: the marts, the reference tables, core.cases without free
text and unknown fields (which may carry personal data), and batch-level quality summaries.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

# (source table, published table, columns to leave out)
PUBLISHED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("mart.unit_period_stats", "mart.unit_period_stats", ()),
    ("mart.level_period_stats", "mart.level_period_stats", ()),
    ("mart.target_attainment", "mart.target_attainment", ()),
    ("mart.procedure_period_stats", "mart.procedure_period_stats", ()),
    ("mart.field_period_stats", "mart.field_period_stats", ()),
    ("mart.procedure_province_stats", "mart.procedure_province_stats", ()),
    ("mart.late_cases", "mart.late_cases", ()),
    ("mart.refresh_log", "mart.refresh_log", ()),
    ("core.units", "core.units", ()),
    ("core.unit_crosswalk", "core.unit_crosswalk", ()),
    ("core.targets", "core.targets", ()),
    ("core.procedures", "core.procedures", ()),
    ("core.cases", "core.cases", ("summary", "extra_fields", "source_name")),
    ("raw.batches", "quality.batches", ()),
)


def analytics_path(warehouse: Path | str) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.analytics.duckdb")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish(con: duckdb.DuckDBPyConnection, warehouse: Path | str) -> Path:
    """Write the analyst database next to the warehouse and swap it in atomically."""
    target = analytics_path(warehouse)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    existing = {
        f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    con.execute(f"ATTACH {_lit(str(tmp))} AS publish_target")
    # Published tables carry no order: let DuckDB write them in parallel (~20 % faster on
    # core.cases). Landing needs file order, so the setting is restored afterwards.
    con.execute("SET preserve_insertion_order = false")
    try:
        for schema in ("mart", "core", "quality"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS publish_target.{schema}")
        for source, published, dropped in PUBLISHED:
            if source not in existing:
                continue
            schema, table = source.split(".")
            columns = con.execute(
                "SELECT column_name, coalesce(comment, '') FROM duckdb_columns() "
                "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? "
                "ORDER BY column_index",
                [schema, table],
            ).fetchall()
            kept = [(c, doc) for c, doc in columns if c not in dropped]
            col_list = ", ".join(f'"{c}"' for c, _ in kept)
            con.execute(f"CREATE TABLE publish_target.{published} AS SELECT {col_list} FROM {source}")
            table_doc = con.execute(
                "SELECT coalesce(comment, '') FROM duckdb_tables() "
                "WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
                [schema, table],
            ).fetchone()[0]
            if table_doc:
                con.execute(f"COMMENT ON TABLE publish_target.{published} IS {_lit(table_doc)}")
            for column, doc in kept:
                if doc:
                    con.execute(f'COMMENT ON COLUMN publish_target.{published}."{column}" IS {_lit(doc)}')
        con.execute(
            "CREATE TABLE publish_target.quality.quarantine_reasons AS "
            "SELECT q.batch_id, q.source_name, r.reason, count(*) AS records "
            "FROM raw.quarantine q, unnest(q.reasons) AS r(reason) GROUP BY q.batch_id, q.source_name, r.reason"
            if "raw.quarantine" in existing else
            "CREATE TABLE publish_target.quality.quarantine_reasons "
            "(batch_id BIGINT, source_name VARCHAR, reason VARCHAR, records BIGINT)"
        )
        con.execute(
            "COMMENT ON TABLE publish_target.quality.quarantine_reasons IS "
            "'Quarantined records per batch and reason (the records themselves stay in the working warehouse).'"
        )
    finally:
        con.execute("RESET preserve_insertion_order")
        con.execute("DETACH publish_target")
    os.replace(tmp, target)
    log.info("published the analyst database %s", target)
    return target
