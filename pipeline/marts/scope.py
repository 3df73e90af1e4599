"""The TEMP state of one refresh step: the windows it recomputes (refresh_periods), the case
facts and (period, case) views every mart counts from, the target windows. Only this module
creates that state; the steps (steps.py) read it through the SELECTs of statements.py."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

import duckdb

from pipeline import config, periods
from pipeline.db import (
    read_sql,
    render_sql,
    table_exists,
)
from pipeline.marts.statements import (
    ALL_CASES,
    HISTORY_TABLE,
    NO_CASES,
    TARGET_AS_OF_GRAINS,
    TARGET_CANDIDATES,
    target_window_stats_select,
)

log = logging.getLogger(__name__)


def build_case_unit_history(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build core.case_unit_history: the recorded unit per day, only for cases whose
    versions disagree on MaDonVi (docs/definitions.md §4.2 step 1). Returns its row count."""
    con.execute(read_sql("marts/case_unit_history.sql"))
    return con.execute(f"SELECT count(*) FROM {HISTORY_TABLE}").fetchone()[0]
# The drill-down aggregates its windows in batches of at most this many days per grain (a
# quarter): its groups (unit x procedure x field per window) are nearly as many as its
# (window, case) rows, and one batch's stay within DuckDB's memory limit as the data grows,
# instead of spilling every window's to disk. The unit-grain tables need no batches.
BATCH_DAYS = 92


def window_batches(windows: Iterable[periods.Period], max_days: int | None = None) -> list[list[periods.Period]]:
    """The windows in batches: per grain, consecutive windows spanning at most ``max_days``
    (default BATCH_DAYS) days together; a longer window is a batch of its own."""
    max_days = max_days or BATCH_DAYS
    batches: list[list[periods.Period]] = []
    for window in sorted(set(windows), key=lambda w: (w.grain, w.start, w.end, w.label)):
        current = batches[-1] if batches else None
        if (current and current[0].grain == window.grain
                and (window.end - current[0].start).days < max_days):
            current.append(window)
        else:
            batches.append([window])
    return batches


def set_refresh_periods(
    con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period], *, cases: str | None = ALL_CASES
) -> None:
    """TEMP TABLE refresh_periods = ``windows`` and the (period, case) views over it.

    ``cases``: the condition choosing the cases to count (builds mart_case_facts anew), or
    None to keep the facts this step already built (the later batches of one refresh)."""
    windows = sorted(set(windows))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE refresh_periods "
        "(period_grain VARCHAR, period_label VARCHAR, period_start DATE, period_end DATE)"
    )
    rows = periods.periods_table_rows(windows)
    if rows:
        con.executemany("INSERT INTO refresh_periods VALUES (?, ?, ?, ?)", rows)
    if cases is not None or not table_exists(con, "temp.mart_case_facts"):
        build_case_facts(con, cases if cases is not None and windows else NO_CASES)
    define_period_cases(con)


def build_case_facts(con: duckdb.DuckDBPyConnection, cases: str) -> None:
    if not table_exists(con, HISTORY_TABLE):
        build_case_unit_history(con)
    con.execute(read_sql("marts/procedure_catalogue.sql"))  # the facts take each case's field from it
    con.execute(render_sql("marts/case_facts.sql", case_filter=cases))


def define_period_cases(con: duckdb.DuckDBPyConnection) -> None:
    """The (period, case) views over refresh_periods and mart_case_facts that every mart counts from."""
    if not table_exists(con, HISTORY_TABLE):
        build_case_unit_history(con)
    con.execute(read_sql("marts/period_cases.sql"))
    con.execute(read_sql("marts/procedure_catalogue.sql"))


def target_as_of_rows(years: Iterable[int]) -> list[tuple[int, str, str, date, date]]:
    """(year, as_of_grain, as_of_period, window_start, as_of_end): every reporting period of
    each year, judged year to date (the rows of TEMP TABLE target_as_of)."""
    cutoff = config.cutoff_day()
    rows = []
    for year in sorted(set(years)):
        whole = periods.parse_label(str(year), cutoff)
        for p in periods.periods_within(whole, TARGET_AS_OF_GRAINS, cutoff):
            if whole.start <= p.end <= whole.end:
                rows.append((year, p.grain, p.label, whole.start, p.end))
    return rows


def set_target_periods(con: duckdb.DuckDBPyConnection, years: Iterable[int]) -> None:
    """TEMP tables target_as_of, target_windows and target_window_stats for the given years:
    the unit mart's counts over every target window, attributed as of each window's last day."""
    rows = target_as_of_rows(years)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE target_as_of (year INTEGER, as_of_grain VARCHAR, "
        "as_of_period VARCHAR, window_start DATE, as_of_end DATE)"
    )
    if rows:
        con.executemany("INSERT INTO target_as_of VALUES (?, ?, ?, ?, ?)", rows)
    con.execute(read_sql("marts/target_windows.sql"))
    target_windows = [
        periods.Period("target", f"{year}:{end}", start, end)
        for year, start, end in con.execute(
            "SELECT DISTINCT year, window_start, window_end FROM target_windows ORDER BY ALL"
        ).fetchall()
    ]
    set_refresh_periods(con, target_windows, cases=TARGET_CANDIDATES if target_windows else NO_CASES)
    # Only the target units' rows are needed (the filter on the group key is pushed down).
    con.execute(f"CREATE OR REPLACE TEMP TABLE target_window_stats AS {target_window_stats_select()}")
