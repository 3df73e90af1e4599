"""Data checks shared by the Dagster asset checks and the tests (SQL in sql/checks/)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipeline.db import read_sql, render_sql
from pipeline.metrics import IDENTITIES


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    violations: int
    sample: list[tuple]


def _run(con: duckdb.DuckDBPyConnection, sql: str, sample: int = 10) -> CheckOutcome:
    rows = con.execute(f"SELECT * FROM ({sql}) ORDER BY ALL").fetchall()
    return CheckOutcome(passed=not rows, violations=len(rows), sample=rows[:sample])


def identity_sql(table: str = "mart.unit_period_stats", key: str = "unit_code") -> str:
    """One row per violated docs/definitions.md §2 identity (metrics.IDENTITIES) of ``table``."""
    return "\nUNION ALL\n".join(
        f"SELECT period_grain, period_label, {key}, '{i.total} = {' + '.join(i.parts)}' AS identity, "
        f"{i.total} AS lhs, {' + '.join(i.parts)} AS rhs FROM {table} "
        f"WHERE {i.total} <> {' + '.join(i.parts)}"
        for i in IDENTITIES
    )


def identity_violations(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """received = resolved + in progress; resolved/in-progress/new splits; received = carried + new."""
    return _run(con, identity_sql())


def carry_over_violations(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """carried over of a window = in progress of the window before it."""
    return _run(con, read_sql("checks/carry_over.sql"))


def _drill_add_up_sql(table: str) -> str:
    from pipeline.marts.statements import count_sums
    from pipeline.metrics import COUNT_COLUMNS

    # The parts are summed as the marts roll up (the day sums exactly, in whole milliseconds).
    return render_sql(
        "checks/drill_add_up.sql",
        part_sums=count_sums("d"),
        mismatches="[" + ", ".join(
            f"CASE WHEN coalesce(u.{c}, 0) <> coalesce(p.{c}, 0) THEN '{c}' END" for c in COUNT_COLUMNS) + "]",
        table=table,
    )


def procedure_add_up_violations(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Per unit and window, mart.procedure_period_stats adds up to mart.unit_period_stats."""
    return _run(con, _drill_add_up_sql("mart.procedure_period_stats"))


def field_add_up_violations(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Per unit and window, mart.field_period_stats adds up to mart.unit_period_stats."""
    return _run(con, _drill_add_up_sql("mart.field_period_stats"))


def late_case_count_violations(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Per unit and window, mart.late_cases rows = resolved_late + in_progress_overdue."""
    return _run(con, read_sql("checks/late_cases_count.sql"))


def unit_code_problems(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(unit_code, 'unknown' | 'expired', cases): codes in core.cases that the reference list
    cannot place on the case's reception day (sql/checks/unit_codes.sql), most cases first."""
    return con.execute(
        f"SELECT unit_code, problem, cases FROM ({read_sql('checks/unit_codes.sql')}) "
        "ORDER BY cases DESC, unit_code"
    ).fetchall()


def unknown_unit_codes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Unit codes in core.cases that are unknown (missing from the reference list) or expired
    (no row in force when the case was received), with their case counts."""
    return [(code, cases) for code, _, cases in unit_code_problems(con)]


def unknown_procedure_codes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return con.execute(
        """
        SELECT c.procedure_code, count(*) AS cases FROM core.cases c
        WHERE NOT EXISTS (SELECT 1 FROM core.procedures p WHERE p.procedure_code = c.procedure_code)
        GROUP BY c.procedure_code ORDER BY cases DESC, c.procedure_code
        """
    ).fetchall()


def batch_reconciliation(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Every batch: records read = landed + quarantined."""
    return _run(
        con,
        "SELECT batch_id, source_name, records_read, records_landed, records_quarantined "
        "FROM raw.batches WHERE records_read <> records_landed + records_quarantined",
    )


def duplicate_case_rows(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    return _run(con, "SELECT case_id, count(*) FROM core.cases GROUP BY case_id HAVING count(*) > 1")


def index766_add_up_violations(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Per unit (and province) and calendar window, the flags of mart.index766_cases add up to
    the numerators and denominators of mart.index766_scores (docs/definitions.md §7)."""
    return _run(con, read_sql("checks/index766_add_up.sql"))
