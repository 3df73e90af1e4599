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
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import time
from pathlib import Path

import duckdb

from pipeline import config

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
    # The official reporting cycle (METRICS.md §6): status, restatements and every issue.
    ("mart.period_status", "mart.period_status", ()),
    ("mart.restatements", "mart.restatements", ()),
    ("issued.issues", "issued.issues", ()),
    ("issued.changes", "issued.changes", ()),
    ("issued.unit_period_stats", "issued.unit_period_stats", ()),
    ("issued.level_period_stats", "issued.level_period_stats", ()),
    ("issued.target_attainment", "issued.target_attainment", ()),
    ("issued.procedure_period_stats", "issued.procedure_period_stats", ()),
    ("issued.field_period_stats", "issued.field_period_stats", ()),
    ("issued.late_cases", "issued.late_cases", ()),
    ("core.units", "core.units", ()),
    ("core.unit_crosswalk", "core.unit_crosswalk", ()),
    ("core.targets", "core.targets", ()),
    ("core.procedures", "core.procedures", ()),
    ("core.cases", "core.cases", ("summary", "extra_fields", "source_name")),
    ("raw.batches", "quality.batches", ()),
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


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish(
    con: duckdb.DuckDBPyConnection, warehouse: Path | str, storage_version: str | None = None
) -> Path:
    """Write the analyst database and the Parquet set next to the warehouse; swap both in."""
    version = storage_version or config.analytics_storage_version()
    target = analytics_path(warehouse)
    folder = parquet_path(warehouse)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    new_set = folder.with_name(f".{folder.name}.{time.time_ns()}")
    tmp.unlink(missing_ok=True)
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        con.execute(f"ATTACH {_lit(str(tmp))} AS publish_target (STORAGE_VERSION {_lit(version)})")
        # Published tables carry no order: let DuckDB write them in parallel (~20 % faster on
        # core.cases). Landing needs file order, so the setting is restored afterwards.
        con.execute("SET preserve_insertion_order = false")
        try:
            tables = _copy_tables(con)
            timings["database"] = time.perf_counter() - started
            started = time.perf_counter()
            _write_parquet_set(con, tables, new_set)
            timings["parquet"] = time.perf_counter() - started
        finally:
            con.execute("RESET preserve_insertion_order")
            con.execute("DETACH publish_target")
        os.chmod(tmp, FILE_MODE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        tmp.with_name(f"{tmp.name}.wal").unlink(missing_ok=True)
        shutil.rmtree(new_set, ignore_errors=True)
        raise
    os.replace(tmp, target)
    _swap_link(folder, new_set)
    log.info(
        "published the analyst database %s (storage %s, %.1fs) and the Parquet set %s (%.1fs)",
        target, version, timings["database"], folder, timings["parquet"],
    )
    return target


def _copy_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the analyst tables with their COMMENTs in publish_target; return their names."""
    existing = {
        f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    published: list[str] = []
    for schema in ("mart", "core", "quality", "issued"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS publish_target.{schema}")
    for source, name, dropped in PUBLISHED:
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
        con.execute(f"CREATE TABLE publish_target.{name} AS SELECT {col_list} FROM {source}")
        table_doc = con.execute(
            "SELECT coalesce(comment, '') FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchone()[0]
        if table_doc:
            con.execute(f"COMMENT ON TABLE publish_target.{name} IS {_lit(table_doc)}")
        for column, doc in kept:
            if doc:
                con.execute(f'COMMENT ON COLUMN publish_target.{name}."{column}" IS {_lit(doc)}')
        published.append(name)
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
    published.append("quality.quarantine_reasons")
    return published


def _write_parquet_set(con: duckdb.DuckDBPyConnection, tables: list[str], folder: Path) -> None:
    """One Parquet file per published table, read from publish_target, plus the dictionary."""
    folder.mkdir()
    os.chmod(folder, FOLDER_MODE)
    dictionary: list[tuple[str, str, str, str]] = []  # (table, column, type, meaning)
    for name in tables:
        schema, table = name.split(".")
        table_doc = con.execute(
            "SELECT coalesce(comment, '') FROM duckdb_tables() "
            "WHERE database_name = 'publish_target' AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchone()[0]
        columns = con.execute(
            "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
            "WHERE database_name = 'publish_target' AND schema_name = ? AND table_name = ? "
            "ORDER BY column_index",
            [schema, table],
        ).fetchall()
        select = ", ".join(
            f'CAST("{c}" AS {PARQUET_TYPES[t]}) AS "{c}"' if t in PARQUET_TYPES else f'"{c}"'
            for c, t, _ in columns
        )
        path = parquet_file(folder, name)
        # Snappy (DuckDB's default) is the codec every Parquet reader has, Power Query included.
        con.execute(
            f"COPY (SELECT {select} FROM publish_target.{name}) TO {_lit(str(path))} "
            "(FORMAT parquet, COMPRESSION snappy)"
        )
        os.chmod(path, FILE_MODE)
        dictionary.append((name, "", "", table_doc))
        dictionary += [(name, c, PARQUET_TYPES.get(t, t), doc) for c, t, doc in columns]
    _write_dictionary(dictionary, folder)


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
