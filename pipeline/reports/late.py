"""What a leader acts on: the units with overdue cases and the late-case list of a period."""

from __future__ import annotations

import duckdb

from pipeline import periods
from pipeline.db import table_exists
from pipeline.reports.data import dicts, province_clause, report_province


# ---------------------------------------------------------------------------------------
# What a leader acts on: overdue and late cases
# ---------------------------------------------------------------------------------------
def overdue_by_unit(con: duckdb.DuckDBPyConnection, period: periods.Period, limit: int = 25) -> list[dict]:
    """Units with cases in progress overdue at the period's end or resolved late in it, most first."""
    where, params = province_clause(con, "mart.unit_period_stats", report_province(con, period))
    return dicts(con.execute(
        f"""
        SELECT unit_code, unit_name, unit_level, in_progress_overdue, in_progress_total,
               resolved_late, resolved_total
        FROM mart.unit_period_stats
        WHERE period_grain = ? AND period_label = ?{where} AND in_progress_overdue + resolved_late > 0
        ORDER BY in_progress_overdue DESC, resolved_late DESC, unit_code LIMIT ?
        """,
        [period.grain, period.label, *params, limit],
    ))


def late_cases(con: duckdb.DuckDBPyConnection, period: periods.Period, per_unit: int = 10) -> list[dict] | None:
    """The period's late-case list (mart.late_cases, docs/definitions.md §5): per unit the ``per_unit``
    cases most days late; None when that mart does not exist (yet)."""
    if not table_exists(con, "mart.late_cases"):
        return None
    procedures = "core.procedures" if table_exists(con, "core.procedures") else None
    proc_join = (f"LEFT JOIN (SELECT procedure_code, any_value(procedure_name) AS procedure_name "
                 f"FROM {procedures} GROUP BY procedure_code) p ON p.procedure_code = l.procedure_code"
                 if procedures else "")
    proc_name = "p.procedure_name" if procedures else "NULL"
    return dicts(con.execute(
        f"""
        SELECT l.unit_code, coalesce(u.unit_name, l.unit_code) AS unit_name, l.case_id,
               l.procedure_code, {proc_name} AS procedure_name, l.late_kind, l.received_at,
               l.due_at, l.ended_at, l.days_late
        FROM mart.late_cases l
        LEFT JOIN mart.unit_period_stats u
          ON u.period_grain = l.period_grain AND u.period_label = l.period_label AND u.unit_code = l.unit_code
        {proc_join}
        WHERE l.period_grain = ? AND l.period_label = ?
        QUALIFY row_number() OVER (PARTITION BY l.unit_code ORDER BY l.days_late DESC NULLS LAST, l.case_id) <= ?
        ORDER BY l.unit_code, l.days_late DESC NULLS LAST, l.case_id
        """,
        [period.grain, period.label, per_unit],
    ))
