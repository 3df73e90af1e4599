"""The marts' SELECTs, composed from the SQL files under sql/marts/ (db.render_sql): table names,
the per-case count expressions every mart shares, and the case sets a step counts."""

from __future__ import annotations

import logging
import re

from pipeline.db import (
    read_sql,
    render_sql,
)
from pipeline.metrics import (
    COUNT_COLUMNS,
    RATES,
    rate_select,
)

log = logging.getLogger(__name__)

UNIT_TABLE = "mart.unit_period_stats"
LEVEL_TABLE = "mart.level_period_stats"
TARGET_TABLE = "mart.target_attainment"
HISTORY_TABLE = "core.case_unit_history"
# Periods of a year whose reports judge the yearly targets year to date (docs/definitions.md §4.4);
# the year's own row is the verdict.
TARGET_AS_OF_GRAINS: tuple[str, ...] = ("month", "quarter", "half", "year")
PROCEDURE_TABLE = "mart.procedure_period_stats"
FIELD_TABLE = "mart.field_period_stats"
PROCEDURE_PROVINCE_TABLE = "mart.procedure_province_stats"
LATE_TABLE = "mart.late_cases"
DRILL_TABLES = (PROCEDURE_TABLE, FIELD_TABLE, PROCEDURE_PROVINCE_TABLE)


def unit_select() -> str:
    return f"SELECT c.*,\n    {rate_select('c')}\nFROM ({read_sql('marts/unit_period_counts.sql')}) c"


def level_select() -> str:
    inner = render_sql("marts/level_period_stats.sql", count_sums=count_sums("u"))
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


# The day sums are DOUBLE days of whole milliseconds (period_cases.sql: ms_to_end).
MS_PER_DAY = 86_400_000


def day_sum(column: str) -> str:
    """The sum of a day-sum column over finer rows, exactly: each row's days back to its whole
    milliseconds (exact below 2**51 ms, some 26,000 years), added as integers, then days again.
    A plain sum() of DOUBLEs depends on the order DuckDB's threads add them in, so two recounts
    of the same cases could differ in the last bits (and a publish would replace equal rows)."""
    # A DOUBLE divisor: Spark reads 86400000.0 as a DECIMAL and would round the quotient.
    return f"sum(CAST(round({column} * {MS_PER_DAY}) AS BIGINT)) / CAST({MS_PER_DAY} AS DOUBLE)"


def count_sums(alias: str) -> str:
    # Counts stay BIGINT (sum() would widen them to HUGEINT); the day sums are DOUBLE.
    return ",\n       ".join(
        f"{day_sum(f'{alias}.{c}')} AS {c}" if c.startswith("days_") else f"CAST(sum({alias}.{c}) AS BIGINT) AS {c}"
        for c in COUNT_COLUMNS
    )


def drill_counts_sql() -> str:
    exprs = handled_count_expressions()
    return render_sql(
        "marts/drill_counts.sql",
        handled_counts=",\n        ".join(f"{e} AS {c}" for c, e in exprs.items()),
        coalesced_counts=",\n    ".join(f"coalesce(h.{c}, 0) AS {c}" for c in exprs),
    )


def _rated(sql_file: str) -> str:
    inner = render_sql(sql_file, count_sums=count_sums("d"))
    return f"SELECT c.*,\n    {rate_select('c')}\nFROM ({inner}) c"


def procedure_select() -> str:
    return _rated("marts/procedure_period_stats.sql")


def field_select() -> str:
    return _rated("marts/field_period_stats.sql")


def procedure_province_select() -> str:
    return _rated("marts/procedure_province_stats.sql")


def late_select() -> str:
    return render_sql(
        "marts/late_cases.sql",
        resolved_late=count_condition("resolved_late"),
        overdue=count_condition("in_progress_overdue"),
    )


# Which cases a refresh step's (window, case) rows are built from (case_facts.sql).
ALL_CASES = "TRUE"
NO_CASES = "FALSE"
# mart.late_cases: only a case whose due date passed before it ended (or that is still open)
# can be resolved late or overdue at some window's end (the late_cases.sql conditions).
LATE_CANDIDATES = "c.due_at IS NOT NULL AND (c.ended_at IS NULL OR CAST(c.ended_at AS DATE) > CAST(c.due_at AS DATE))"
# mart.target_attainment: only cases that can count under a unit with a target (recorded under
# it, under a code the crosswalk leads to it, or moved between units: core.case_unit_history).
TARGET_CANDIDATES = (
    "(c.unit_code IN (SELECT unit_code FROM core.targets) "
    "OR c.unit_code IN (SELECT unit_code FROM core.unit_resolution "
    "WHERE resolved_code IN (SELECT unit_code FROM core.targets)) "
    "OR c.case_id IN (SELECT case_id FROM core.case_unit_history))"
)


def _rate_case(column: str) -> str:
    """CASE over the target's metric name -> that rate's column of target_window_stats."""
    suffix = "" if column == "actual" else f"_{column}"
    whens = " ".join(f"WHEN '{r.name}' THEN s.{r.name}{suffix}" for r in RATES)
    cast = "DOUBLE"
    return f"CAST(CASE t.metric {whens} END AS {cast})"


def target_select() -> str:
    return render_sql(
        "marts/target_attainment.sql",
        actual=_rate_case("actual"), numerator=_rate_case("numerator"), denominator=_rate_case("denominator"),
    )


def target_window_stats_select() -> str:
    return f"SELECT * FROM ({unit_select()}) WHERE unit_code IN (SELECT unit_code FROM core.targets)"


IN_REFRESH = "(period_grain, period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)"
