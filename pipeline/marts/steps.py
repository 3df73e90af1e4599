"""Mart refresh steps: per-unit and per-level period stats, target attainment, the drill-down
(per procedure, per field, per procedure and province), late cases and the Decision-766 index.

A refresh recomputes whole windows (every grain) from core.cases and replaces their rows in
one transaction, so reruns are idempotent and readers never see half a window.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import duckdb

from pipeline import config, periods
from pipeline.db import (
    list_tables,
    read_sql,
    render_sql,
    sql_literal,
    table_columns,
    table_exists,
    transaction,
)
from pipeline.ingest.reference import load_reference
from pipeline.marts import drill_state, reference_state
from pipeline.marts import index766 as index766_marts
from pipeline.marts.scope import (
    build_case_facts,
    build_case_unit_history,
    set_refresh_periods,
    set_target_periods,
    window_batches,
)
from pipeline.marts.statements import (
    ALL_CASES,
    DRILL_TABLES,
    FIELD_TABLE,
    IN_REFRESH,
    LATE_CANDIDATES,
    LATE_TABLE,
    LEVEL_TABLE,
    NO_CASES,
    PROCEDURE_PROVINCE_TABLE,
    PROCEDURE_TABLE,
    TARGET_TABLE,
    UNIT_TABLE,
    drill_counts_sql,
    field_select,
    late_select,
    level_select,
    procedure_province_select,
    procedure_select,
    target_select,
    unit_select,
)
from pipeline.metrics import (
    LATE_CASE_COLUMNS,
    TABLE_DOCS,
    TARGET_COLUMNS,
    drill_counts_docs,
    field_table_docs,
    level_table_docs,
    procedure_province_table_docs,
    procedure_table_docs,
    unit_table_docs,
)

log = logging.getLogger(__name__)
INDEX766_CASES_TABLE = index766_marts.CASES_TABLE
DRILL_COUNTS_TABLE = drill_state.COUNTS_TABLE
INDEX766_SCORES_TABLE = index766_marts.SCORES_TABLE


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
    index766_case_rows: int = 0
    index766_score_rows: int = 0
    step_seconds: dict[str, float] = field(default_factory=dict)


def _comment(con: duckdb.DuckDBPyConnection, table: str, docs: dict[str, str]) -> None:
    con.execute(f"COMMENT ON TABLE {table} IS {sql_literal(TABLE_DOCS[table])}")
    existing = {name for name, _, _ in table_columns(con, table)}
    for column, doc in docs.items():
        if column in existing:
            con.execute(f"COMMENT ON COLUMN {table}.{column} IS {sql_literal(doc)}")


def ensure_mart_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the mart tables (typed from the same SELECTs that fill them) with comments."""
    con.execute("CREATE SCHEMA IF NOT EXISTS mart")
    if not table_exists(con, "core.unit_crosswalk"):
        load_reference(con)
    set_refresh_periods(con, [])
    _drop_outdated(con)
    created = list_tables(con, schema="mart")
    if UNIT_TABLE not in created:
        con.execute(f"CREATE TABLE {UNIT_TABLE} AS {unit_select()} WITH NO DATA")
        _comment(con, UNIT_TABLE, unit_table_docs())
    if LEVEL_TABLE not in created:
        con.execute(f"CREATE TABLE {LEVEL_TABLE} AS {level_select()} WITH NO DATA")
        _comment(con, LEVEL_TABLE, level_table_docs())
    else:
        _narrow_level_counts(con)
    if TARGET_TABLE not in created:
        set_target_periods(con, [])
        con.execute(f"CREATE TABLE {TARGET_TABLE} AS {target_select()} WITH NO DATA")
        _comment(con, TARGET_TABLE, TARGET_COLUMNS)
        set_refresh_periods(con, [])
    if not {*DRILL_TABLES, DRILL_COUNTS_TABLE} <= created:
        con.execute(drill_counts_sql())  # empty: no refresh periods
        con.execute(f"CREATE OR REPLACE TEMP TABLE batch_procedure_stats AS {procedure_select()}")
        for table, select, docs in (
            (DRILL_COUNTS_TABLE, "SELECT * FROM drill_counts", drill_counts_docs()),
            (PROCEDURE_TABLE, procedure_select(), procedure_table_docs()),
            (FIELD_TABLE, field_select(), field_table_docs()),
            (PROCEDURE_PROVINCE_TABLE, procedure_province_select(), procedure_province_table_docs()),
        ):
            if table not in created:
                con.execute(f"CREATE TABLE {table} AS {select} WITH NO DATA")
                _comment(con, table, docs)
        drill_state.forget(con)  # a table made anew: every window is recomputed whole
    if LATE_TABLE not in created:
        con.execute(f"CREATE TABLE {LATE_TABLE} AS {late_select()} WITH NO DATA")
        _comment(con, LATE_TABLE, LATE_CASE_COLUMNS)
    index766_marts.ensure_tables(con, _comment)
    con.execute(read_sql("ddl/marts.sql"))


def _narrow_level_counts(con: duckdb.DuckDBPyConnection) -> None:
    """Count columns an older refresh created as HUGEINT become BIGINT, like the unit table's
    (a small table: the roll-ups; the values are unchanged)."""
    wide = [c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'mart' AND table_name = 'level_period_stats' "
        "AND data_type = 'HUGEINT'"
    ).fetchall()]
    for column in wide:
        con.execute(f"ALTER TABLE {LEVEL_TABLE} ALTER COLUMN {column} TYPE BIGINT")


def _drop_outdated(con: duckdb.DuckDBPyConnection) -> None:
    """Drop mart tables of an older layout (marts are derived: the next refresh refills them)."""
    expected = {UNIT_TABLE: "province_code", LEVEL_TABLE: "province_code", TARGET_TABLE: "as_of_period"}
    for table, column in expected.items():
        if table_exists(con, table) and column not in {c for c, _, _ in table_columns(con, table)}:
            log.warning("marts: %s has an older layout (no %s); dropping it to rebuild", table, column)
            con.execute(f"DROP TABLE {table}")


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
    watermark = (
        "(SELECT max(refreshed_at) FROM mart.refresh_log WHERE covers_pending)"
        if table_exists(con, "mart.refresh_log") else "NULL"
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


def pending_quarters(con: duckdb.DuckDBPyConnection, *, full: bool = False) -> list[periods.Period]:
    """The quarters a refresh must recompute: those the core changes since the last refresh
    touched and those a change of the reference lists moves (reference_state), or (``full``)
    every quarter with data. Empty when nothing is pending. The sensors and the command line
    all ask this (read-only safe)."""
    days = data_day_range(con) if full else pending_day_range(con)
    quarters = set(periods.quarters_overlapping(*days, cutoff_day=config.cutoff_day())) if days else set()
    if not full:
        quarters.update(reference_pending(con)[1])
    return sorted(quarters)


def reference_pending(con: duckdb.DuckDBPyConnection) -> tuple[reference_state.ReferenceChange, list[periods.Period]]:
    """The change of the reference lists since the marts were built on them, and the quarters
    with data whose refresh applies it (none when the lists are unchanged or there is no data)."""
    change = reference_state.pending_change(con)
    if not change.changed:
        return change, []
    days = data_day_range(con) if table_exists(con, "core.cases") else None
    if days is None:
        return change, []
    data_quarters = periods.quarters_overlapping(*days, cutoff_day=config.cutoff_day())
    return change, reference_state.affected_quarters(change, data_quarters)


def windows_for_days(first: date, last: date, cutoff_day: int | None = None) -> list[periods.Period]:
    return periods.periods_overlapping(first, last, cutoff_day=cutoff_day or config.cutoff_day())


def _replace_windows(
    con: duckdb.DuckDBPyConnection,
    windows: Iterable[periods.Period],
    table: str,
    where: str,
    select: str,
    *,
    reference: bool,
    cases: str = ALL_CASES,
) -> int:
    """Replace the rows of ``table`` matching ``where`` (the refreshed windows) by ``select``,
    in one transaction; returns the rows now there. ``cases``: the cases ``select`` counts
    (NO_CASES: it reads another mart table). One statement for every window: these tables have
    few rows per window (units) or none to group (late cases), unlike the drill-down's."""
    windows = sorted(set(windows))
    if reference:
        load_reference(con)
        build_case_unit_history(con)
    ensure_mart_tables(con)
    with transaction(con):
        set_refresh_periods(con, windows, cases=cases)
        con.execute(f"DELETE FROM {table} WHERE {where}")
        con.execute(f"INSERT INTO {table} BY NAME {select}")
    return con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]


def refresh_unit_stats(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> int:
    """Recompute mart.unit_period_stats for the given windows."""
    return _replace_windows(con, windows, UNIT_TABLE, IN_REFRESH, unit_select(), reference=True)


def refresh_level_stats(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> int:
    """Recompute mart.level_period_stats from mart.unit_period_stats for the given windows."""
    return _replace_windows(con, windows, LEVEL_TABLE, IN_REFRESH, level_select(), reference=False, cases=NO_CASES)


def refresh_target_attainment(
    con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period], *, history: bool = True
) -> int:
    """Recompute mart.target_attainment for the years of the year windows among the given
    windows: every as-of period of the year (year to date) and the year's verdict.
    ``history=False`` reuses core.case_unit_history (refresh() has just rebuilt it)."""
    years = sorted({int(w.label) for w in windows if w.grain == "year"})
    load_reference(con)
    if history:
        build_case_unit_history(con)
    ensure_mart_tables(con)
    where = f"year IN ({', '.join(str(y) for y in years) or 'NULL'})"
    with transaction(con):
        set_target_periods(con, years)
        con.execute(f"DELETE FROM {TARGET_TABLE} WHERE {where}")
        con.execute(f"INSERT INTO {TARGET_TABLE} BY NAME {target_select()}")
    return con.execute(f"SELECT count(*) FROM {TARGET_TABLE} WHERE {where}").fetchone()[0]


def targets_missed(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> tuple[int, int]:
    """(targets missed, targets with an actual) of the year windows among ``windows``."""
    years = sorted({int(w.label) for w in windows if w.grain == "year"})
    if not years:
        return 0, 0
    return con.execute(
        f"SELECT count(*) FILTER (NOT met), count(met) FROM {TARGET_TABLE} "
        "WHERE list_contains(?, year) AND as_of_period = CAST(year AS VARCHAR)",  # the year's verdicts
        [years],
    ).fetchone()


def refresh_drilldown(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> dict[str, int]:
    """Recompute mart.procedure_period_stats, mart.field_period_stats and
    mart.procedure_province_stats for the given windows, in one transaction.

    One pass over the (period, case) views aggregates at (unit, procedure, field) grain
    (drill_counts.sql, kept in mart.drill_counts); the procedure and field tables are roll-ups
    of it, and the province table a roll-up of the procedure rows (the province of each unit on
    the window's last day: period_units, as in mart.unit_period_stats). A window already
    computed on the same reference lists is updated for the cases merged since (drill_state);
    the others are recomputed from all their cases, batch by batch (window_batches).
    Returns the rows now there per table.
    """
    windows = sorted(set(windows))
    load_reference(con)
    ensure_mart_tables(con)
    with transaction(con):
        drill_plan = drill_state.plan(con, windows)
        log.info("%s", drill_plan.describe())
        if drill_plan.full:
            _drill_full(con, drill_plan.full)
        if drill_plan.delta:
            _drill_delta(con, drill_plan.delta, drill_plan.merged_after)
        for temp in ("drill_counts", "batch_procedure_stats"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        drill_state.record(con, drill_plan)
        set_refresh_periods(con, windows, cases=None)
    return {t: con.execute(f"SELECT count(*) FROM {t} WHERE {IN_REFRESH}").fetchone()[0] for t in DRILL_TABLES}


def _drill_full(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> None:
    """Every drill-down row of ``windows`` from all their cases."""
    set_refresh_periods(con, windows, cases=NO_CASES)
    for table in (*DRILL_TABLES, DRILL_COUNTS_TABLE):
        con.execute(f"DELETE FROM {table} WHERE {IN_REFRESH}")
    build_case_facts(con, ALL_CASES)
    for batch in window_batches(windows):
        set_refresh_periods(con, batch, cases=None)
        con.execute(drill_counts_sql())
        con.execute(f"INSERT INTO {DRILL_COUNTS_TABLE} BY NAME SELECT * FROM drill_counts")
        # The batch's procedure rows once, then the table and its province roll-up from them.
        con.execute(f"CREATE OR REPLACE TEMP TABLE batch_procedure_stats AS {procedure_select()}")
        con.execute(f"INSERT INTO {PROCEDURE_TABLE} BY NAME SELECT * FROM batch_procedure_stats")
        con.execute(f"INSERT INTO {FIELD_TABLE} BY NAME {field_select()}")
        con.execute(f"INSERT INTO {PROCEDURE_PROVINCE_TABLE} BY NAME {procedure_province_select()}")


def _drill_delta(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period], merged_after) -> None:
    """Update the drill-down rows of ``windows`` for the cases merged after ``merged_after``:
    the (unit, procedure) groups they can be in are recounted from all their cases, then the
    procedure, field and province rows over those groups rolled up again (drill_state)."""
    windows = sorted(set(windows))
    con.execute(render_sql(
        "marts/drill_delta.sql",
        merged_after=sql_literal(merged_after) if merged_after else "TIMESTAMP '0001-01-01'",
        null_key=drill_state.NULL_KEY,
    ))
    if not con.execute("SELECT count(*) FROM drill_affected_pairs").fetchone()[0]:
        return
    affected = drill_state.in_affected_pairs("d")
    set_refresh_periods(con, windows, cases=NO_CASES)
    # The (window, unit, field) rows the recount can move: those of the groups before and after.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE drill_touched_fields AS "
        f"SELECT DISTINCT period_grain, period_label, unit_code, field_code FROM {DRILL_COUNTS_TABLE} d "
        f"WHERE {IN_REFRESH} AND {affected}"
    )
    con.execute(f"DELETE FROM {DRILL_COUNTS_TABLE} d WHERE {IN_REFRESH} AND {affected}")
    build_case_facts(con, drill_state.DELTA_CASES)
    for batch in window_batches(windows):
        set_refresh_periods(con, batch, cases=None)
        con.execute(drill_counts_sql())
        con.execute(f"INSERT INTO {DRILL_COUNTS_TABLE} BY NAME SELECT * FROM drill_counts d WHERE {affected}")
    set_refresh_periods(con, windows, cases=None)
    con.execute(
        "INSERT INTO drill_touched_fields "
        f"SELECT DISTINCT period_grain, period_label, unit_code, field_code FROM {DRILL_COUNTS_TABLE} d "
        f"WHERE {IN_REFRESH} AND {affected}"
    )
    # Procedure rows: every (window, unit, procedure) of an affected pair, from its drill rows.
    con.execute(f"CREATE OR REPLACE TEMP TABLE drill_counts AS SELECT * FROM {DRILL_COUNTS_TABLE} d "
                f"WHERE {IN_REFRESH} AND {affected}")
    con.execute(f"DELETE FROM {PROCEDURE_TABLE} d WHERE {IN_REFRESH} AND {affected}")
    con.execute(f"INSERT INTO {PROCEDURE_TABLE} BY NAME {procedure_select()}")
    # Field rows: every (window, unit, field) the recount touched, from all its drill rows.
    touched = ("(period_grain, period_label, unit_code, field_code) IN "
               "(SELECT (period_grain, period_label, unit_code, field_code) FROM drill_touched_fields)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE drill_counts AS SELECT * FROM {DRILL_COUNTS_TABLE} WHERE {touched}")
    con.execute(f"DELETE FROM {FIELD_TABLE} WHERE {touched}")
    con.execute(f"INSERT INTO {FIELD_TABLE} BY NAME {field_select()}")
    # Province rows: every (window, procedure) of an affected pair, from all its procedure rows.
    procedures = ("coalesce(procedure_code, " + drill_state.NULL_KEY + ") IN "
                  "(SELECT procedure_key FROM drill_affected_pairs)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE batch_procedure_stats AS SELECT * FROM {PROCEDURE_TABLE} "
                f"WHERE {IN_REFRESH} AND {procedures}")
    con.execute(f"DELETE FROM {PROCEDURE_PROVINCE_TABLE} WHERE {IN_REFRESH} AND {procedures}")
    con.execute(f"INSERT INTO {PROCEDURE_PROVINCE_TABLE} BY NAME {procedure_province_select()}")


def refresh_late_cases(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> int:
    """Recompute mart.late_cases for the given windows."""
    return _replace_windows(
        con, windows, LATE_TABLE, IN_REFRESH, late_select(), reference=True, cases=LATE_CANDIDATES
    )


def refresh_index766(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> dict[str, int]:
    """Recompute mart.index766_cases and mart.index766_scores (docs/definitions.md §7) for the calendar
    windows among ``windows``, in one transaction. Returns the rows now there per table."""
    cal = index766_marts.calendar_windows(windows)
    load_reference(con)
    ensure_mart_tables(con)
    if cal:
        with transaction(con):
            index766_marts.fill_windows(con, set_refresh_periods, IN_REFRESH, cal)
    set_refresh_periods(con, cal, cases=NO_CASES)
    return {t: con.execute(f"SELECT count(*) FROM {t} WHERE {IN_REFRESH}").fetchone()[0]
            for t in index766_marts.INDEX766_TABLES}


def begin_refresh(
    con: duckdb.DuckDBPyConnection,
    refresh_id: str,
    windows: list[periods.Period],
    *,
    refreshable: Callable[[periods.Period], bool] = lambda quarter: True,
) -> bool:
    """Record that a refresh of ``windows`` starts now, before it reads core.cases. It marks
    nothing as reflected yet: the changes pending now stay pending until ``complete_refresh``,
    called once every dependent output is written, so an interrupted or failed refresh is
    redone by the next run. Returns whether these windows cover every pending quarter that is
    ``refreshable`` (the orchestrator's partitions: a quarter it cannot refresh must not keep
    every later run busy)."""
    first = min((w.start for w in windows), default=None)
    last = max((w.end for w in windows), default=None)
    # Quarters, not the span of every window: a year window spans quarters this run left alone.
    refreshed = {w for w in windows if w.grain == "quarter"}
    covers = all(q in refreshed for q in pending_quarters(con) if refreshable(q))
    reference_state.record_candidate(con, refresh_id)  # the lists this refresh reads
    con.execute(
        "INSERT INTO mart.refresh_log (refresh_id, refreshed_at, windows, first_day, last_day, "
        "covers_candidate, covers_pending) VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, FALSE)",
        [refresh_id, len(windows), first, last, covers],
    )
    # The windows themselves: a publish compares only their rows (publish/stamps.py).
    if windows:
        con.executemany(
            "INSERT INTO mart.refresh_windows VALUES (?, ?, ?)", [(refresh_id, w.grain, w.label) for w in windows]
        )
    return covers


def note_unit_rows(con: duckdb.DuckDBPyConnection, refresh_id: str, unit_rows: int, seconds: float) -> None:
    con.execute(
        "UPDATE mart.refresh_log SET unit_rows = ?, seconds = ? WHERE refresh_id = ?",
        [unit_rows, seconds, refresh_id],
    )


def complete_refresh(con: duckdb.DuckDBPyConnection, refresh_id: str) -> bool:
    """Every output of the refresh is written: its covered changes stop being pending.
    Returns whether it covered every change pending when it started."""
    row = con.execute(
        "UPDATE mart.refresh_log SET covers_pending = covers_candidate, completed_at = now()::TIMESTAMP "
        "WHERE refresh_id = ? RETURNING covers_candidate",
        [refresh_id],
    ).fetchone()
    covered = bool(row and row[0])
    reference_state.apply_candidate(con, refresh_id, covered=covered)
    return covered


def refresh(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> RefreshResult:
    """Recompute the given windows of every mart table."""
    started = time.perf_counter()
    windows = sorted(set(windows))
    ensure_mart_tables(con)
    refresh_id = f"direct-{uuid.uuid4()}"
    begin_refresh(con, refresh_id, windows)
    steps: dict[str, float] = {}
    tick = time.perf_counter()

    def timed(step: str, value):
        nonlocal tick
        now = time.perf_counter()
        steps[step] = now - tick
        tick = now
        return value

    unit_rows = timed("unit", refresh_unit_stats(con, windows))
    level_rows = timed("level", refresh_level_stats(con, windows))
    target_rows = timed("target", refresh_target_attainment(con, windows, history=False))
    drill = timed("drilldown", refresh_drilldown(con, windows))
    late_rows = timed("late_cases", refresh_late_cases(con, windows))
    index766_rows = timed("index766", refresh_index766(con, windows))
    seconds = time.perf_counter() - started
    note_unit_rows(con, refresh_id, unit_rows, seconds)
    complete_refresh(con, refresh_id)
    first = min((w.start for w in windows), default=None)
    last = max((w.end for w in windows), default=None)
    result = RefreshResult(
        len(windows), first, last, unit_rows, level_rows, target_rows, seconds,
        procedure_rows=drill[PROCEDURE_TABLE], field_rows=drill[FIELD_TABLE],
        procedure_province_rows=drill[PROCEDURE_PROVINCE_TABLE], late_rows=late_rows,
        index766_case_rows=index766_rows[INDEX766_CASES_TABLE],
        index766_score_rows=index766_rows[INDEX766_SCORES_TABLE], step_seconds=steps,
    )
    log.info(
        "marts: %d windows (%s..%s) -> %d unit rows, %d level rows, %d target rows, %d procedure rows, "
        "%d field rows, %d procedure-province rows, %d late-case rows, %d index-766 case rows, "
        "%d index-766 score rows in %.1fs",
        result.windows, first, last, unit_rows, level_rows, target_rows, result.procedure_rows,
        result.field_rows, result.procedure_province_rows, late_rows, result.index766_case_rows,
        result.index766_score_rows, seconds,
    )
    return result


def refresh_all(con: duckdb.DuckDBPyConnection) -> RefreshResult | None:
    """Every window of every grain the data touches, each recomputed from all its cases."""
    days = data_day_range(con)
    if days is None:
        return None
    drill_state.forget(con)
    return refresh(con, windows_for_days(*days))
