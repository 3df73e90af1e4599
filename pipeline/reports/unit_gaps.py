"""Unit codes the unit list does not know, said where the user looks (issue 27).

A province whose lists are not (yet) in the seeds folder lands its cases without complaint,
but every one of its unit codes has no row in ``units.csv``: its cases count under level
``unknown`` with no province (docs/definitions.md §4.2 step 3, §4.3), so the headline table, the
targets and the reports of the configured province show none of them. ``missing_units``
measures that gap; ``missing_units_lines`` says it in a few lines (how many codes and cases,
the largest, the file and setting to fix, how to draft it), once, in the run's output and in
``summary``; ``period_missing_units`` gives a report's refusal its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline import config
from pipeline.db import read_sql, table_exists

SHOWN = 5  # codes listed by name; the rest are counted


@dataclass(frozen=True)
class MissingUnits:
    """Codes with no row in the unit list: (code, name the source sends, cases), most first."""

    codes: list[tuple[str, str | None, int]]
    all_cases: int

    @property
    def cases(self) -> int:
        return sum(n for _, _, n in self.codes)

    @property
    def share(self) -> float:
        return self.cases / self.all_cases if self.all_cases else 0.0


def missing_units(con: duckdb.DuckDBPyConnection) -> MissingUnits:
    """The codes of core.cases that core.units lacks entirely (sql/checks/units_missing.sql)."""
    if not (table_exists(con, "core.cases") and table_exists(con, "core.units")):
        return MissingUnits([], 0)
    rows = con.execute(read_sql("checks/units_missing.sql")).fetchall()
    total = con.execute("SELECT count(*) FROM core.cases").fetchone()[0]
    return MissingUnits([(code, name, int(n)) for code, name, n in rows], int(total))


def _named(code: str, name: str | None, cases: int) -> str:
    return f"{code} {name or '(no name sent)'} ({cases:,} cases)"


def missing_units_lines(gap: MissingUnits, warehouse: Path | str, seeds: Path | None = None) -> list[str]:
    """What the run's output and ``summary`` print about the gap (nothing when there is none)."""
    if not gap.codes:
        return []
    folder = (seeds or config.seeds_dir()).resolve()
    shown = ", ".join(_named(*row) for row in gap.codes[:SHOWN])
    more = f" and {len(gap.codes) - SHOWN:,} more" if len(gap.codes) > SHOWN else ""
    return [
        f"WARNING: {len(gap.codes):,} unit code(s) with {gap.cases:,} cases ({100 * gap.share:.1f}% of all "
        f"{gap.all_cases:,} cases) have no row in the unit list {folder / 'units.csv'}:",
        f"  {shown}{more}.",
        "  Their cases count under level 'unknown' with no province: the headline rates, the targets "
        "and the reports leave them out.",
        f"  Fix: add them to units.csv of your own lists and point DVC_SEEDS_DIR at that folder "
        f"(now {folder}). A draft from this data: python -m pipeline reference draft "
        f"--warehouse {warehouse} --out my_seeds; review it, then DVC_SEEDS_DIR=my_seeds "
        f"python -m pipeline run --full-refresh --warehouse {warehouse}",
    ]


def period_missing_units(
    con: duckdb.DuckDBPyConnection, grain: str, label: str, limit: int = 3
) -> tuple[int, int, list[tuple[str, str | None, int]]]:
    """(codes, cases, the largest ``limit``) of a window's unit rows with no province (codes
    the unit list does not place), from mart.unit_period_stats; cases = received + not received."""
    if not table_exists(con, "mart.unit_period_stats"):
        return 0, 0, []
    province = ("province_code IS NULL AND " if con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'mart' AND table_name = 'unit_period_stats' "
        "AND column_name = 'province_code'").fetchone()[0] else "")
    rows = con.execute(
        f"""
        SELECT unit_code, unit_name, received_total + not_received AS cases
        FROM mart.unit_period_stats
        WHERE {province}unit_level = 'unknown' AND period_grain = ? AND period_label = ?
          AND received_total + not_received > 0
        ORDER BY cases DESC, unit_code
        """,
        [grain, label],
    ).fetchall()
    return len(rows), int(sum(r[2] for r in rows)), [(c, n, int(k)) for c, n, k in rows[:limit]]
