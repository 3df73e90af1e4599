"""The Decision 766 index marts (docs/definitions.md §7): mart.index766_cases (per calendar window and
case of the population, one flag per indicator) and mart.index766_scores (per calendar window,
unit and province, numerator, denominator, ratio and score per indicator).

Both are recomputed per window like the other marts (steps.py), for the calendar windows
only, in one transaction. The scores follow seeds/index766.csv (core.index766) through
pipeline.index766.score_sql; nothing here holds a maximum or a threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import duckdb

from pipeline import index766, periods
from pipeline.db import read_sql, render_sql, table_exists
from pipeline.ingest.reference import load_reference
from pipeline.metrics import INDEX766_CASE_COLUMNS, INDEX766_SCORE_COLUMNS

CASES_TABLE = "mart.index766_cases"
SCORES_TABLE = "mart.index766_scores"
INDEX766_TABLES = (CASES_TABLE, SCORES_TABLE)
CALENDAR_GRAINS = ("cal_month", "cal_quarter", "cal_year")


def calendar_windows(windows: Iterable[periods.Period]) -> list[periods.Period]:
    """The index is calendar only (§7): the cal_month, cal_quarter and cal_year windows."""
    return sorted({w for w in windows if w.grain in CALENDAR_GRAINS})


def population_filter(windows: list[periods.Period]) -> str:
    """case_facts.sql's case filter: only cases received inside the windows' span can be in R."""
    if not windows:
        return "FALSE"
    first = min(w.start for w in windows)
    last = max(w.end for w in windows) + timedelta(days=1)
    return (f"(c.status_code NOT IN ('1', '3') AND c.received_at >= TIMESTAMP '{first} 00:00:00' "
            f"AND c.received_at < TIMESTAMP '{last} 00:00:00')")


def cases_select() -> str:
    return read_sql("marts/index766_cases.sql")


def scores_select() -> str:
    score = index766.score_sql("numerator", "denominator", "max_points", "threshold", "zero_denominator_score")
    return render_sql("marts/index766_scores.sql", score=score)


def ensure_tables(con: duckdb.DuckDBPyConnection, comment) -> None:
    """Create both tables (typed from their SELECTs) if missing. Needs the (empty) period views
    of scope.py set; ``comment(con, table, docs)`` puts the dictionary's comments on them."""
    if all(table_exists(con, t) for t in INDEX766_TABLES):
        return
    if not table_exists(con, "core.index766"):  # a warehouse loaded before the index existed
        load_reference(con)
    con.execute(read_sql("marts/index766_case_facts.sql"))
    if not table_exists(con, CASES_TABLE):
        con.execute(f"CREATE TABLE {CASES_TABLE} AS {cases_select()} WITH NO DATA")
        comment(con, CASES_TABLE, INDEX766_CASE_COLUMNS)
    if not table_exists(con, SCORES_TABLE):
        con.execute(f"CREATE TABLE {SCORES_TABLE} AS {scores_select()} WITH NO DATA")
        comment(con, SCORES_TABLE, INDEX766_SCORE_COLUMNS)


def fill_windows(con: duckdb.DuckDBPyConnection, set_periods, in_refresh: str,
                 windows: list[periods.Period]) -> None:
    """Replace the two tables' rows of ``windows`` (calendar windows), inside the caller's
    transaction. ``set_periods(con, windows, cases=...)``: scope.set_refresh_periods."""
    set_periods(con, windows, cases=population_filter(windows))
    con.execute(read_sql("marts/index766_case_facts.sql"))
    for table in INDEX766_TABLES:
        con.execute(f"DELETE FROM {table} WHERE {in_refresh}")
    con.execute(f"INSERT INTO {CASES_TABLE} BY NAME {cases_select()}")
    con.execute(f"INSERT INTO {SCORES_TABLE} BY NAME {scores_select()}")
    con.execute("DROP TABLE IF EXISTS index766_case_facts")
