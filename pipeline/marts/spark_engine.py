"""The marts computed on Apache Spark: ``python -m pipeline backfill --engine spark``.

For data beyond one machine (the national level: ~10^8 cases a year). The warehouse stays the
system of record: the marts' inputs (core.cases, the reference tables, raw.case_versions; only
the columns the marts' SQL names) are exported to Parquet in a work folder that can sit on
shared storage (DVC_SPARK_WORKDIR), Spark computes the marts there, and its results come back
as Parquet into the very mart tables the DuckDB refresh writes (same tables, column types,
rows and refresh log), in one DuckDB transaction.

The SQL is the DuckDB refresh's own (pipeline/marts/statements.py composes it from sql/marts/),
transpiled by pipeline/marts/spark_sql.py; the steps follow refresh(): unit, level, targets,
drill-down (procedure, field, procedure-province), late cases, the Decision-766 index
(docs/definitions.md §7). Spark needs no batches: it spills what does not fit in memory.

One per-case input of the index is derived on DuckDB while exporting: index766_case_facts.sql
parses the portal's JSON fields (fee lines, supplement requests) with the landing's macros
(portal_ts, vnd_amount: sql/macros.sql), which have no Spark form; a Spark copy of the landing's
date parser would be a second source. It is one narrow row per case (no personal data), from the
same scan of core.cases the export makes anyway; the index's windows are computed on Spark.

Instants are naive local times (UTC+7 already applied at landing). The session reads and
computes them as TIMESTAMP_NTZ in a pinned UTC session zone, so no zone rule ever shifts a
case across a window boundary.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import sqlglot
from sqlglot import exp

from pipeline import periods
from pipeline.db import read_sql, render_sql, table_exists, transaction
from pipeline.ingest.reference import load_reference
from pipeline.marts import drill_state, spark_sql
from pipeline.marts import index766 as index766_marts
from pipeline.marts.scope import build_case_facts, target_as_of_rows
from pipeline.marts.statements import (
    ALL_CASES,
    DRILL_TABLES,
    FIELD_TABLE,
    HISTORY_TABLE,
    IN_REFRESH,
    LATE_CANDIDATES,
    LATE_TABLE,
    LEVEL_TABLE,
    NO_CASES,
    PROCEDURE_PROVINCE_TABLE,
    PROCEDURE_TABLE,
    TARGET_CANDIDATES,
    TARGET_TABLE,
    UNIT_TABLE,
    drill_counts_sql,
    field_select,
    late_select,
    level_select,
    procedure_province_select,
    procedure_select,
    target_select,
    target_window_stats_select,
    unit_select,
)
from pipeline.marts.steps import (
    RefreshResult,
    begin_refresh,
    complete_refresh,
    ensure_mart_tables,
    note_unit_rows,
)
from pipeline.quality import checks

if TYPE_CHECKING:  # pyspark is an optional extra (pip install -e ".[spark]")
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

ENV_MASTER = "DVC_SPARK_MASTER"
ENV_WORKDIR = "DVC_SPARK_WORKDIR"
DEFAULT_MASTER = "local[*]"
# Pinned whatever the cluster's defaults: the marts compare local instants.
PINNED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
# Defaults a cluster's settings (spark-submit --conf, spark-defaults.conf, --spark-conf) override.
DEFAULT_CONF = {
    "spark.app.name": "dvc-metrics marts",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
# local[*] only: few shuffle partitions (the default 200 is for clusters; small tasks dominate here).
LOCAL_CONF = {"spark.sql.shuffle.partitions": "8", "spark.default.parallelism": "8"}

# Mart tables in the order they are written back, with the rows each replaces.
WRITE_ORDER = (UNIT_TABLE, LEVEL_TABLE, TARGET_TABLE, *DRILL_TABLES, LATE_TABLE, *index766_marts.INDEX766_TABLES)
# Tables Spark computes itself (never exported).
COMPUTED = {HISTORY_TABLE, *WRITE_ORDER}
# The per-case input of the index derived on DuckDB by the export (see the module's docstring).
INDEX766_FACTS = "index766_case_facts"

TARGET_AS_OF_SCHEMA = "year INT, as_of_grain STRING, as_of_period STRING, window_start DATE, as_of_end DATE"
PERIODS_SCHEMA = "period_grain STRING, period_label STRING, period_start DATE, period_end DATE"


class SparkUnavailable(RuntimeError):
    """pyspark (the optional extra) or Java is missing."""


def spark_available() -> str | None:
    """None when the Spark engine can run here, else why not (for the command and the tests)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return 'pyspark is not installed (pip install -e ".[spark]")'
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime (java on PATH or JAVA_HOME); Spark needs one"
    return None


def master() -> str:
    return os.environ.get(ENV_MASTER, "").strip() or DEFAULT_MASTER


def workdir(warehouse: Path | str) -> Path:
    """The exchange folder: DVC_SPARK_WORKDIR, else ``spark-work`` beside the warehouse."""
    configured = os.environ.get(ENV_WORKDIR, "").strip()
    return Path(configured) if configured else Path(warehouse).parent / "spark-work"


def session(conf: dict[str, str] | None = None) -> SparkSession:
    """The process's Spark session (created once; reused by later calls)."""
    reason = spark_available()
    if reason:
        raise SparkUnavailable(reason)
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    loaded = SparkConf()  # spark-submit's --conf and spark-defaults.conf, when launched by it
    builder = SparkSession.builder
    if not loaded.contains("spark.master"):
        builder = builder.master(master())
    chosen = master() if not loaded.contains("spark.master") else loaded.get("spark.master")
    defaults = DEFAULT_CONF | (LOCAL_CONF if chosen.startswith("local") else {})
    for key, value in defaults.items():
        if not loaded.contains(key):
            builder = builder.config(key, value)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    for key, value in PINNED_CONF.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():  # pyspark's notice about the pandas version: not ours to act on
        warnings.simplefilter("ignore", FutureWarning)
        spark = builder.getOrCreate()
    for key, value in PINNED_CONF.items():  # an existing session keeps its settings otherwise
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def mart_sql() -> dict[str, str]:
    """Every DuckDB statement the Spark engine transpiles, by step: what the export reads the
    tables and columns of, and what the tests check transpiles (the case facts with every
    case filter a step uses)."""
    return {
        "history": read_sql("marts/case_unit_history.sql"),
        "catalogue": read_sql("marts/procedure_catalogue.sql"),
        "facts": render_sql("marts/case_facts.sql",
                            case_filter=f"({ALL_CASES}) OR ({LATE_CANDIDATES}) OR {TARGET_CANDIDATES}"),
        "period_cases": read_sql("marts/period_cases.sql"),
        "unit": unit_select(),
        "level": level_select(),
        "target_windows": read_sql("marts/target_windows.sql"),
        "target_window_stats": target_window_stats_select(),
        "target": target_select(),
        "drill_counts": drill_counts_sql(),
        "procedure": procedure_select(),
        "field": field_select(),
        "procedure_province": procedure_province_select(),
        "late": late_select(),
        "index766_cases": index766_marts.cases_select(),
        "index766_scores": index766_marts.scores_select(),
    }


def referenced(sqls: Iterable[str]) -> tuple[set[str], set[str]]:
    """(schema-qualified tables, column names) the given DuckDB statements name."""
    tables: set[str] = set()
    columns: set[str] = set()
    for sql in sqls:
        for tree in sqlglot.parse(sql, read=spark_sql.READ):
            if tree is None:
                continue
            for table in tree.find_all(exp.Table):
                if table.db:
                    tables.add(f"{table.db}.{table.name}")
            columns |= {c.name for c in tree.find_all(exp.Column)}
    return tables, columns


def export_inputs(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, Path]:
    """The marts' input tables as Parquet files in ``folder`` (only the columns the marts'
    SQL names: no other column of the cases, personal data included, leaves the warehouse)."""
    tables, columns = referenced(mart_sql().values())
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for table in sorted(tables - COMPUTED):
        schema, name = table.split(".")
        present = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, name],
        ).fetchall()]
        if not present:
            raise RuntimeError(f"{table} does not exist in the warehouse: nothing to compute the marts from")
        wanted = [c for c in present if c in columns]
        path = folder / f"{spark_sql.view_name(table)}.parquet"
        con.execute(
            f"COPY (SELECT {', '.join(wanted)} FROM {table}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)"
        )
        out[table] = path
    return out


def export_index766_facts(con: duckdb.DuckDBPyConnection, folder: Path, windows: list[periods.Period]) -> dict[str, Path]:
    """index766_case_facts.sql's rows (docs/definitions.md §7) for the population of the calendar
    windows among ``windows`` (index766.population_filter), computed here on DuckDB, as a Parquet
    file in ``folder``: the fee lines and supplement requests parsed by the landing's macros."""
    cal = index766_marts.calendar_windows(windows)
    build_case_facts(con, index766_marts.population_filter(cal))
    con.execute(read_sql("marts/index766_case_facts.sql"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{INDEX766_FACTS}.parquet"
    con.execute(f"COPY {INDEX766_FACTS} TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    con.execute(f"DROP TABLE {INDEX766_FACTS}")
    return {INDEX766_FACTS: path}


class SparkMarts:
    """The marts of one refresh on one Spark session: the DuckDB refresh's statements, transpiled."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._cached: dict[str, DataFrame] = {}

    def register(self, name: str, df: DataFrame, *, cache: bool = True) -> DataFrame:
        """``name`` (a temp view) = ``df``; a DuckDB TEMP TABLE, so cached when reused."""
        old = self._cached.pop(name, None)
        if cache:
            df = df.persist()
            self._cached[name] = df
        df.createOrReplaceTempView(name)
        if old is not None:
            old.unpersist()
        return df

    def run(self, duckdb_sql: str) -> DataFrame | None:
        """Run the statements of ``duckdb_sql``; returns the last SELECT's DataFrame, if any."""
        result = None
        for statement in spark_sql.to_spark(duckdb_sql):
            if statement.kind == "table":
                self.register(statement.name, self.spark.sql(statement.sql))
            elif statement.kind == "view":
                self.spark.sql(statement.sql)
            else:
                result = self.spark.sql(statement.sql)
        return result

    def select(self, duckdb_sql: str) -> DataFrame:
        df = self.run(duckdb_sql)
        if df is None:
            raise ValueError("expected a SELECT")
        return df

    def load_inputs(self, files: dict[str, Path]) -> None:
        for table, path in files.items():
            self.register(spark_sql.view_name(table), self.spark.read.parquet(str(path)), cache=False)

    def set_refresh_periods(self, windows: Iterable[periods.Period], cases: str) -> None:
        """refresh_periods = ``windows``, mart_case_facts of ``cases``, and the (period, case)
        views over them (scope.set_refresh_periods)."""
        rows = periods.periods_table_rows(sorted(set(windows)))
        self.register("refresh_periods", self.spark.createDataFrame(rows, PERIODS_SCHEMA))
        self.run(read_sql("marts/procedure_catalogue.sql"))
        self.run(render_sql("marts/case_facts.sql", case_filter=cases if rows else NO_CASES))
        self.run(read_sql("marts/period_cases.sql"))

    def unpersist_all(self) -> None:
        for df in self._cached.values():
            df.unpersist()
        self._cached.clear()


def compute(marts_on: SparkMarts, windows: list[periods.Period]) -> dict[str, DataFrame]:
    """The rows of every mart table for ``windows`` (and core.case_unit_history), as DataFrames
    cached in the session, in refresh() order."""
    out: dict[str, DataFrame] = {}
    register = marts_on.register
    out[HISTORY_TABLE] = register(spark_sql.view_name(HISTORY_TABLE), marts_on.spark.sql(
        spark_sql.to_spark(read_sql("marts/case_unit_history.sql"))[0].sql))

    marts_on.set_refresh_periods(windows, ALL_CASES)
    out[UNIT_TABLE] = register(spark_sql.view_name(UNIT_TABLE), marts_on.select(unit_select()))
    out[LEVEL_TABLE] = register(spark_sql.view_name(LEVEL_TABLE), marts_on.select(level_select()))

    years = sorted({int(w.label) for w in windows if w.grain == "year"})
    register("target_as_of", marts_on.spark.createDataFrame(target_as_of_rows(years), TARGET_AS_OF_SCHEMA))
    marts_on.run(read_sql("marts/target_windows.sql"))
    target_windows = [
        periods.Period("target", f"{r['year']}:{r['window_end']}", r["window_start"], r["window_end"])
        for r in marts_on.spark.sql(
            "SELECT DISTINCT year, window_start, window_end FROM target_windows").collect()
    ]
    marts_on.set_refresh_periods(target_windows, TARGET_CANDIDATES if target_windows else NO_CASES)
    register("target_window_stats", marts_on.select(target_window_stats_select()))
    out[TARGET_TABLE] = register(spark_sql.view_name(TARGET_TABLE), marts_on.select(target_select()))

    marts_on.set_refresh_periods(windows, ALL_CASES)
    marts_on.run(drill_counts_sql())
    out[PROCEDURE_TABLE] = register("batch_procedure_stats", marts_on.select(procedure_select()))
    out[FIELD_TABLE] = register(spark_sql.view_name(FIELD_TABLE), marts_on.select(field_select()))
    out[PROCEDURE_PROVINCE_TABLE] = register(
        spark_sql.view_name(PROCEDURE_PROVINCE_TABLE), marts_on.select(procedure_province_select()))

    marts_on.set_refresh_periods(windows, LATE_CANDIDATES)
    out[LATE_TABLE] = register(spark_sql.view_name(LATE_TABLE), marts_on.select(late_select()))

    # index766.fill_windows: the calendar windows and their population; the scores read the
    # index's cases and the unit mart just computed.
    cal = index766_marts.calendar_windows(windows)
    marts_on.set_refresh_periods(cal, index766_marts.population_filter(cal))
    for table, select in ((index766_marts.CASES_TABLE, index766_marts.cases_select()),
                          (index766_marts.SCORES_TABLE, index766_marts.scores_select())):
        out[table] = register(spark_sql.view_name(table), marts_on.select(select))
    return out


def _parquet_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.parquet"))


def write_back(
    con: duckdb.DuckDBPyConnection, folder: Path, windows: list[periods.Period], years: list[int]
) -> dict[str, int]:
    """Replace the refreshed windows' rows of every mart table (and core.case_unit_history)
    by the Parquet results in ``folder``, in one transaction; returns the rows now there."""
    rows = periods.periods_table_rows(windows)
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE refresh_periods ({PERIODS_SCHEMA.replace('STRING', 'VARCHAR')})")
        if rows:
            con.executemany("INSERT INTO refresh_periods VALUES (?, ?, ?, ?)", rows)
        year_filter = f"year IN ({', '.join(str(y) for y in years) or 'NULL'})"
        for table in (HISTORY_TABLE, *WRITE_ORDER):
            where = "TRUE" if table == HISTORY_TABLE else year_filter if table == TARGET_TABLE else IN_REFRESH
            con.execute(f"DELETE FROM {table} WHERE {where}")
            files = _parquet_files(folder / spark_sql.view_name(table))
            if files:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [files])
        # The drill-down's working rows are DuckDB's own: its next refresh of these windows
        # recomputes them whole (drill_state).
        if table_exists(con, drill_state.COUNTS_TABLE):
            con.execute(f"DELETE FROM {drill_state.COUNTS_TABLE} WHERE {IN_REFRESH}")
        drill_state.forget(con, IN_REFRESH)
    counts = {}
    for table in WRITE_ORDER:
        where = year_filter if table == TARGET_TABLE else IN_REFRESH
        counts[table] = con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
    return counts


def _ensure_history_table(con: duckdb.DuckDBPyConnection) -> None:
    """core.case_unit_history with DuckDB's own types and comments, empty (Spark fills it)."""
    if table_exists(con, HISTORY_TABLE):
        return
    statements = sqlglot.parse(read_sql("marts/case_unit_history.sql"), read=spark_sql.READ)
    create = statements[0]
    empty = exp.select("*").from_(create.expression.subquery("h")).where(exp.false())
    con.execute(f"CREATE TABLE {HISTORY_TABLE} AS {empty.sql(spark_sql.READ)}")
    for comment in statements[1:]:
        con.execute(comment.sql(spark_sql.READ))


def refresh(
    con: duckdb.DuckDBPyConnection,
    windows: Iterable[periods.Period],
    *,
    folder: Path,
    spark: SparkSession | None = None,
    conf: dict[str, str] | None = None,
    refreshable: Callable[[periods.Period], bool] = lambda quarter: True,
) -> RefreshResult:
    """Recompute the given windows of every mart table on Spark (the DuckDB engine's refresh(),
    same tables and rows); ``folder``: the Parquet exchange folder (its in/ and out/ are
    replaced, and removed once the results are written back; kept after a failure)."""
    started = time.perf_counter()
    windows = sorted(set(windows))
    years = sorted({int(w.label) for w in windows if w.grain == "year"})
    steps: dict[str, float] = {}
    tick = time.perf_counter()

    def timed(step: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        steps[step] = steps.get(step, 0.0) + now - tick
        tick = now

    spark = spark or session(conf)
    timed("spark_session")
    load_reference(con)
    ensure_mart_tables(con)
    _ensure_history_table(con)
    refresh_id = f"spark-{uuid.uuid4()}"
    begin_refresh(con, refresh_id, windows, refreshable=refreshable)
    # Only our own subfolders are replaced: DVC_SPARK_WORKDIR may be a shared folder.
    for sub in ("in", "out"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    files = export_inputs(con, folder / "in") | export_index766_facts(con, folder / "in", windows)
    timed("export")
    on = SparkMarts(spark)
    try:
        on.load_inputs(files)
        results = compute(on, windows)
        for table, df in results.items():
            df.write.mode("overwrite").parquet(str(folder / "out" / spark_sql.view_name(table)))
            timed(table)
    finally:
        on.unpersist_all()
    counts = write_back(con, folder / "out", windows, years)
    for sub in ("in", "out"):  # written back: no copy of the cases stays on the exchange storage
        shutil.rmtree(folder / sub, ignore_errors=True)
    timed("write_back")
    seconds = time.perf_counter() - started
    note_unit_rows(con, refresh_id, counts[UNIT_TABLE], seconds)
    complete_refresh(con, refresh_id)
    result = RefreshResult(
        len(windows), min((w.start for w in windows), default=None), max((w.end for w in windows), default=None),
        counts[UNIT_TABLE], counts[LEVEL_TABLE], counts[TARGET_TABLE], seconds,
        procedure_rows=counts[PROCEDURE_TABLE], field_rows=counts[FIELD_TABLE],
        procedure_province_rows=counts[PROCEDURE_PROVINCE_TABLE], late_rows=counts[LATE_TABLE],
        index766_case_rows=counts[index766_marts.CASES_TABLE], index766_score_rows=counts[index766_marts.SCORES_TABLE],
        step_seconds=steps,
    )
    log.info(
        "marts on Spark (%s): %d windows -> %s in %.1fs", spark.sparkContext.master, len(windows),
        ", ".join(f"{t} {n:,}" for t, n in counts.items()), seconds,
    )
    return result


# The blocking checks marts_job runs on the mart tables (assets/marts.py): a refresh on Spark
# publishes nothing either when one fails.
BLOCKING_CHECKS = (
    checks.identity_violations, checks.carry_over_violations, checks.procedure_add_up_violations,
    checks.field_add_up_violations, checks.late_case_count_violations, checks.index766_add_up_violations,
)


def failed_checks(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The blocking mart checks that fail, each with its violation count (empty: all pass)."""
    failed = []
    for check in BLOCKING_CHECKS:
        outcome = check(con)
        if not outcome.passed:
            failed.append(f"{check.__name__}: {outcome.violations} violation(s)")
    return failed
