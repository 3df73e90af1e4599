"""Mart refresh: per-unit and per-level period stats, target attainment, and the drill-down
(per procedure, per field, per procedure and province, late cases).

A refresh recomputes whole windows (every grain) from core.cases and replaces their rows in
one transaction, so reruns are idempotent and readers never see half a window.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import duckdb

from pipeline import config, periods
from pipeline.metrics import (
    COUNT_COLUMNS,
    LATE_CASE_COLUMNS,
    TABLE_DOCS,
    TARGET_COLUMNS,
    field_table_docs,
    level_table_docs,
    procedure_province_table_docs,
    procedure_table_docs,
    rate_select,
    unit_table_docs,
)
from pipeline.reference import load_reference
from pipeline.warehouse import read_sql

log = logging.getLogger(__name__)

UNIT_TABLE = "mart.unit_period_stats"
LEVEL_TABLE = "mart.level_period_stats"
TARGET_TABLE = "mart.target_attainment"
PROCEDURE_TABLE = "mart.procedure_period_stats"
FIELD_TABLE = "mart.field_period_stats"
PROCEDURE_PROVINCE_TABLE = "mart.procedure_province_stats"
LATE_TABLE = "mart.late_cases"
DRILL_TABLES = (PROCEDURE_TABLE, FIELD_TABLE, PROCEDURE_PROVINCE_TABLE)


@dataclass(frozen=True)
class RefreshResult:
    windows: int
    first_day: date | None
    last_day: date | None
    unit_rows: int
    level_rows: int
    target_rows: int
    seconds: float
    procedure_rows: int = 0
    field_rows: int = 0
    procedure_province_rows: int = 0
    late_rows: int = 0


def _unit_select() -> str:
    return f"SELECT c.*,\n    {rate_select('c')}\nFROM ({read_sql('marts/unit_period_counts.sql')}) c"


def _level_select() -> str:
    sums = ", ".join(f"sum({c}) AS {c}" for c in COUNT_COLUMNS)
    inner = read_sql("marts/level_period_stats.sql").replace("$count_sums", sums)
    return f"SELECT c.*,\n    {rate_select('c')}\nFROM ({inner}) c"


# One count expression per line in unit_period_counts.sql's handled_counts CTE.
_COUNT_LINE = re.compile(r"^\s*(?P<expr>(?:count|coalesce|sum)\(.*\))\s+AS\s+(?P<name>\w+),?\s*$")
_FILTERED_COUNT = re.compile(r"^count\(\*\) FILTER \((?P<cond>.*)\)$")


def handled_count_expressions() -> dict[str, str]:
    """The per-case count expressions of mart.unit_period_stats (the handled_counts CTE of
    unit_period_counts.sql), by column name, in COUNT_COLUMNS order.

    The drill-down marts aggregate with these very expressions, so a change to how the unit
    table counts changes every drill-down table with it (the add-up checks then still hold).
    """
    handled = read_sql("marts/unit_period_counts.sql").split("FROM period_handled_cases", 1)[0]
    found: dict[str, str] = {}
    for line in handled.splitlines():
        match = _COUNT_LINE.match(line)
        if match and match["name"] in COUNT_COLUMNS:
            found[match["name"]] = match["expr"]
    expected = [c for c in COUNT_COLUMNS if c != "not_received"]
    if sorted(found) != sorted(expected):
        raise RuntimeError(
            "unit_period_counts.sql: handled_counts must define each count of pipeline.metrics.COUNT_COLUMNS "
            f"on one line; missing {sorted(set(expected) - set(found))}, unexpected {sorted(set(found) - set(expected))}"
        )
    return {c: found[c] for c in expected}


def count_condition(column: str) -> str:
    """The FILTER condition of a plain ``count(*) FILTER (...)`` column of the unit table."""
    match = _FILTERED_COUNT.match(handled_count_expressions()[column])
    if match is None:
        raise RuntimeError(f"unit_period_counts.sql: {column} is not a count(*) FILTER (...) expression")
    return match["cond"]


def _count_sums(alias: str) -> str:
    # Counts stay BIGINT (sum() would widen them to HUGEINT); the day sums are DOUBLE.
    return ",\n       ".join(
        f"sum({alias}.{c}) AS {c}" if c.startswith("days_") else f"CAST(sum({alias}.{c}) AS BIGINT) AS {c}"
        for c in COUNT_COLUMNS
    )


def _drill_counts_sql() -> str:
    exprs = handled_count_expressions()
    return (
        read_sql("marts/drill_counts.sql")
        .replace("$handled_counts", ",\n        ".join(f"{e} AS {c}" for c, e in exprs.items()))
        .replace("$coalesced_counts", ",\n    ".join(f"coalesce(h.{c}, 0) AS {c}" for c in exprs))
    )


def _rated(sql_file: str) -> str:
    inner = read_sql(sql_file).replace("$count_sums", _count_sums("d"))
    return f"SELECT c.*,\n    {rate_select('c')}\nFROM ({inner}) c"


def _procedure_select() -> str:
    return _rated("marts/procedure_period_stats.sql")


def _field_select() -> str:
    return _rated("marts/field_period_stats.sql")


def _procedure_province_select() -> str:
    return _rated("marts/procedure_province_stats.sql")


def _late_select() -> str:
    return (
        read_sql("marts/late_cases.sql")
        .replace("$resolved_late", count_condition("resolved_late"))
        .replace("$overdue", count_condition("in_progress_overdue"))
    )


def _set_refresh_periods(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE refresh_periods "
        "(period_grain VARCHAR, period_label VARCHAR, period_start DATE, period_end DATE)"
    )
    rows = periods.periods_table_rows(sorted(set(windows)))
    if rows:
        con.executemany("INSERT INTO refresh_periods VALUES (?, ?, ?, ?)", rows)
    # The (period, case) views over refresh_periods that every mart counts from.
    con.execute(read_sql("marts/period_cases.sql"))
    con.execute(read_sql("marts/procedure_catalogue.sql"))


def _comment(con: duckdb.DuckDBPyConnection, table: str, docs: dict[str, str]) -> None:
    def lit(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    con.execute(f"COMMENT ON TABLE {table} IS {lit(TABLE_DOCS[table])}")
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
        table.split("."),
    ).fetchall()}
    for column, doc in docs.items():
        if column in existing:
            con.execute(f"COMMENT ON COLUMN {table}.{column} IS {lit(doc)}")


def ensure_mart_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the mart tables (typed from the same SELECTs that fill them) with comments."""
    con.execute("CREATE SCHEMA IF NOT EXISTS mart")
    has_reference = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'core' AND table_name = 'unit_crosswalk'"
    ).fetchone()[0]
    if not has_reference:
        load_reference(con)
    _set_refresh_periods(con, [])
    created = {r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name = 'mart'"
    ).fetchall()}
    if UNIT_TABLE not in created:
        con.execute(f"CREATE TABLE {UNIT_TABLE} AS {_unit_select()} WITH NO DATA")
        _comment(con, UNIT_TABLE, unit_table_docs())
    if LEVEL_TABLE not in created:
        con.execute(f"CREATE TABLE {LEVEL_TABLE} AS {_level_select()} WITH NO DATA")
        _comment(con, LEVEL_TABLE, level_table_docs())
    if TARGET_TABLE not in created:
        con.execute(f"CREATE TABLE {TARGET_TABLE} AS {read_sql('marts/target_attainment.sql')} WITH NO DATA")
        _comment(con, TARGET_TABLE, TARGET_COLUMNS)
    if not set(DRILL_TABLES) <= created:
        con.execute(_drill_counts_sql())  # empty: no refresh periods
        for table, select, docs in (
            (PROCEDURE_TABLE, _procedure_select(), procedure_table_docs()),
            (FIELD_TABLE, _field_select(), field_table_docs()),
            (PROCEDURE_PROVINCE_TABLE, _procedure_province_select(), procedure_province_table_docs()),
        ):
            if table not in created:
                con.execute(f"CREATE TABLE {table} AS {select} WITH NO DATA")
                _comment(con, table, docs)
    if LATE_TABLE not in created:
        con.execute(f"CREATE TABLE {LATE_TABLE} AS {_late_select()} WITH NO DATA")
        _comment(con, LATE_TABLE, LATE_CASE_COLUMNS)
    con.execute(
        "CREATE TABLE IF NOT EXISTS mart.refresh_log (refreshed_at TIMESTAMP, windows BIGINT, "
        "first_day DATE, last_day DATE, unit_rows BIGINT, seconds DOUBLE, covers_pending BOOLEAN)"
    )
    for stmt in (
        "COMMENT ON TABLE mart.refresh_log IS 'Each mart refresh: how many windows were recomputed, "
        "the days they span, how long it took, and whether it covered every pending change.'",
        "COMMENT ON COLUMN mart.refresh_log.refreshed_at IS 'When the refresh committed.'",
        "COMMENT ON COLUMN mart.refresh_log.windows IS 'Windows (all grains) recomputed.'",
        "COMMENT ON COLUMN mart.refresh_log.first_day IS 'First day of the earliest window.'",
        "COMMENT ON COLUMN mart.refresh_log.last_day IS 'Last day of the latest window.'",
        "COMMENT ON COLUMN mart.refresh_log.unit_rows IS 'Rows written to mart.unit_period_stats.'",
        "COMMENT ON COLUMN mart.refresh_log.seconds IS 'Duration of the unit-stats refresh.'",
        "COMMENT ON COLUMN mart.refresh_log.covers_pending IS 'TRUE when every core change before it is reflected.'",
    ):
        con.execute(stmt)


def data_day_range(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """First and last local day the case data touches (reception/submission to last change)."""
    row = con.execute(
        """
        SELECT min(least(submitted_at, received_at))::DATE,
               max(greatest(updated_at, received_at, submitted_at, ended_at))::DATE
        FROM core.cases
        """
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def pending_day_range(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """Days touched by core changes since the last mart refresh (None: nothing to do).

    Read-only safe: the sensor calls it on a read-only connection.
    """
    has_log = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'mart' AND table_name = 'refresh_log'"
    ).fetchone()[0]
    watermark = (
        "(SELECT max(refreshed_at) FROM mart.refresh_log WHERE covers_pending)" if has_log else "NULL"
    )
    row = con.execute(
        f"""
        SELECT min(affected_from), max(affected_to) FROM core.merge_log
        WHERE cases_changed > 0
          AND merged_at > coalesce({watermark}, TIMESTAMP '1900-01-01')
        """
    ).fetchone()
    if row is None or row[0] is None:
        return None
    full = data_day_range(con)
    last = max(row[1], full[1]) if full else row[1]
    return row[0], last


def windows_for_days(first: date, last: date, cutoff_day: int | None = None) -> list[periods.Period]:
    return periods.periods_overlapping(first, last, cutoff_day=cutoff_day or config.cutoff_day())


_IN_REFRESH = "(period_grain, period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)"
_YEARS_IN_REFRESH = (
    "CAST(year AS VARCHAR) IN (SELECT period_label FROM refresh_periods WHERE period_grain = 'year')"
)


def _replace_windows(
    con: duckdb.DuckDBPyConnection,
    windows: Iterable[periods.Period],
    table: str,
    where: str,
    select: str,
    *,
    reference: bool,
) -> int:
    """Replace the rows of ``table`` matching ``where`` (the refreshed windows) by ``select``,
    in one transaction; returns the rows now there."""
    windows = sorted(set(windows))
    if reference:
        load_reference(con)
    ensure_mart_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        _set_refresh_periods(con, windows)
        con.execute(f"DELETE FROM {table} WHERE {where}")
        con.execute(f"INSERT INTO {table} BY NAME {select}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]


def refresh_unit_stats(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> int:
    """Recompute mart.unit_period_stats for the given windows."""
    return _replace_windows(con, windows, UNIT_TABLE, _IN_REFRESH, _unit_select(), reference=True)


def refresh_level_stats(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> int:
    """Recompute mart.level_period_stats from mart.unit_period_stats for the given windows."""
    return _replace_windows(con, windows, LEVEL_TABLE, _IN_REFRESH, _level_select(), reference=False)


def refresh_target_attainment(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> int:
    """Recompute mart.target_attainment for the year windows among the given windows."""
    return _replace_windows(
        con, windows, TARGET_TABLE, _YEARS_IN_REFRESH, read_sql("marts/target_attainment.sql"), reference=True
    )


def refresh_drilldown(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> dict[str, int]:
    """Recompute mart.procedure_period_stats, mart.field_period_stats and
    mart.procedure_province_stats for the given windows, in one transaction.

    One pass over the (period, case) views aggregates at (unit, procedure, field) grain
    (drill_counts.sql); the procedure and field tables are roll-ups of it, and the province
    table a roll-up of the procedure table. mart.unit_period_stats must already hold these
    windows (the province of each unit comes from it). Returns the rows now there per table.
    """
    windows = sorted(set(windows))
    load_reference(con)
    ensure_mart_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        _set_refresh_periods(con, windows)
        con.execute(_drill_counts_sql())
        for table, select in (
            (PROCEDURE_TABLE, _procedure_select()),
            (FIELD_TABLE, _field_select()),
            (PROCEDURE_PROVINCE_TABLE, _procedure_province_select()),
        ):
            con.execute(f"DELETE FROM {table} WHERE {_IN_REFRESH}")
            con.execute(f"INSERT INTO {table} BY NAME {select}")
        con.execute("DROP TABLE drill_counts")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return {t: con.execute(f"SELECT count(*) FROM {t} WHERE {_IN_REFRESH}").fetchone()[0] for t in DRILL_TABLES}


def refresh_late_cases(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> int:
    """Recompute mart.late_cases for the given windows."""
    return _replace_windows(con, windows, LATE_TABLE, _IN_REFRESH, _late_select(), reference=True)


def log_refresh(
    con: duckdb.DuckDBPyConnection,
    windows: list[periods.Period],
    unit_rows: int,
    seconds: float,
    pending: tuple[date, date] | None,
) -> bool:
    """Record a refresh. When it covered every day pending before it, core changes up to now
    count as reflected in the marts (pending_day_range starts after it). Returns that flag."""
    first = min((w.start for w in windows), default=None)
    last = max((w.end for w in windows), default=None)
    covers = pending is None or (first is not None and first <= pending[0] and last >= pending[1])
    con.execute(
        "INSERT INTO mart.refresh_log VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?, ?)",
        [len(windows), first, last, unit_rows, seconds, covers],
    )
    return covers


def refresh(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> RefreshResult:
    """Recompute the given windows of every mart table."""
    started = time.perf_counter()
    windows = sorted(set(windows))
    pending = pending_day_range(con)
    unit_rows = refresh_unit_stats(con, windows)
    level_rows = refresh_level_stats(con, windows)
    target_rows = refresh_target_attainment(con, windows)
    drill = refresh_drilldown(con, windows)
    late_rows = refresh_late_cases(con, windows)
    seconds = time.perf_counter() - started
    log_refresh(con, windows, unit_rows, seconds, pending)
    first = min((w.start for w in windows), default=None)
    last = max((w.end for w in windows), default=None)
    result = RefreshResult(
        len(windows), first, last, unit_rows, level_rows, target_rows, seconds,
        procedure_rows=drill[PROCEDURE_TABLE], field_rows=drill[FIELD_TABLE],
        procedure_province_rows=drill[PROCEDURE_PROVINCE_TABLE], late_rows=late_rows,
    )
    log.info(
        "marts: %d windows (%s..%s) -> %d unit rows, %d level rows, %d target rows, %d procedure rows, "
        "%d field rows, %d procedure-province rows, %d late-case rows in %.1fs",
        result.windows, first, last, unit_rows, level_rows, target_rows, result.procedure_rows,
        result.field_rows, result.procedure_province_rows, late_rows, seconds,
    )
    return result


def refresh_all(con: duckdb.DuckDBPyConnection) -> RefreshResult | None:
    """Every window of every grain the data touches."""
    days = data_day_range(con)
    if days is None:
        return None
    return refresh(con, windows_for_days(*days))
