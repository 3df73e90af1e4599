"""What every report reads: periods and their Vietnamese titles, unit levels and names, the
headline rates, and the mart rows of a period (shared by the workbook, the dashboard and the
command line summary)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from pipeline import config, periods
from pipeline.metrics import HEADLINE_RATES, RATE_TITLES

__all__ = ["HEADLINE_RATES", "RATE_TITLES"]

# Roll-up levels in the order of the form, with their group headings.
LEVEL_ORDER: tuple[str, ...] = ("province", "province_department", "district", "commune", "unknown")
LEVEL_NAMES: dict[str, str] = {
    "province": "UBND tỉnh",
    "province_department": "Sở, ban, ngành cấp tỉnh",
    "district": "Cấp huyện (huyện, thị xã, thành phố)",
    "commune": "Cấp xã (xã, phường, thị trấn)",
    "unknown": "Đơn vị chưa có trong danh mục",
}
PROVINCE_TOTAL = "province_total"
PROVINCE_TOTAL_NAME = "Tổng cộng toàn tỉnh"

# The yearly targets the reports chart and list first (any rate may carry a target).
TARGET_CHART_METRICS: tuple[str, ...] = ("full_process_online_rate", "online_payment_rate")

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


# ---------------------------------------------------------------------------------------
# Periods and names
# ---------------------------------------------------------------------------------------
def resolve_period(period_grain: str | None, period_label: str) -> periods.Period:
    """The window of a label (its grain comes from its shape); a given grain must match."""
    period = periods.parse_label(period_label, config.cutoff_day())
    if period_grain and period_grain != period.grain:
        raise ValueError(
            f"period {period_label!r} is a {period.grain} label, not a {period_grain} one"
        )
    return period


def report_year(period: periods.Period) -> int:
    """The target year of a window: the year in its label (2025-Q1, cal-2025-03 -> 2025)."""
    return int(re.search(r"[0-9]{4}", period.label).group(0))


def period_title(period: periods.Period) -> str:
    """``Quý I năm 2025``, ``Tháng 3 năm 2025``, ``6 tháng đầu năm 2025``, ``Năm 2025``."""
    year = report_year(period)
    grain = period.grain.removeprefix("cal_")
    number = int(re.search(r"(?:Q|H|-)([0-9]+)$", period.label).group(1)) if grain != "year" else 0
    if grain == "month":
        text = f"Tháng {number} năm {year}"
    elif grain == "quarter":
        text = f"Quý {ROMAN[number - 1]} năm {year}"
    elif grain == "half":
        text = f"6 tháng {'đầu' if number == 1 else 'cuối'} năm {year}"
    else:
        text = f"Năm {year}"
    return f"{text} (theo lịch dương)" if period.grain.startswith("cal_") else text


def vn_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def period_range_text(period: periods.Period) -> str:
    return f"từ ngày {vn_date(period.start)} đến ngày {vn_date(period.end)}"


def xlsx_name(period: periods.Period) -> str:
    return f"bieu_II06a_{period.label}.xlsx"


def level_name(level: str) -> str:
    return LEVEL_NAMES.get(level, level)


def unit_label(row: dict) -> str:
    """A unit's name, or its code when neither the reference list nor the source had a name."""
    return row.get("unit_name") or str(row["unit_code"])


def level_sort_sql(column: str = "unit_level") -> str:
    cases = " ".join(f"WHEN '{level}' THEN {i}" for i, level in enumerate(LEVEL_ORDER))
    return f"CASE {column} {cases} ELSE {len(LEVEL_ORDER)} END, {column}"


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]
    ).fetchone()[0])


def province_name(con: duckdb.DuckDBPyConnection) -> str | None:
    """The root unit's name (seeds/units.csv level 'province'), e.g. Tỉnh Quảng Trị."""
    if not table_exists(con, "core.units"):
        return None
    row = con.execute(
        "SELECT unit_name FROM core.units WHERE unit_level = 'province' ORDER BY unit_code LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def period_has_rows(con: duckdb.DuckDBPyConnection, period: periods.Period) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?",
        [period.grain, period.label],
    ).fetchone()[0])


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------------------
# Reading the marts
# ---------------------------------------------------------------------------------------
def dicts(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def unit_and_level_rows(
    con: duckdb.DuckDBPyConnection, period: periods.Period, columns: str
) -> tuple[list[dict], dict[str, dict]]:
    """The period's unit rows (in form order) and its roll-up rows by level, with ``columns``."""
    units = dicts(con.execute(
        f"""
        SELECT unit_level, unit_code, unit_name, {columns}
        FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ?
        ORDER BY {level_sort_sql()}, unit_code
        """,
        [period.grain, period.label],
    ))
    levels = dicts(con.execute(
        f"""
        SELECT unit_level, units, {columns}
        FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?
        """,
        [period.grain, period.label],
    ))
    return units, {r["unit_level"]: r for r in levels}


def read_rates(con: duckdb.DuckDBPyConnection, period: periods.Period) -> tuple[list[dict], dict[str, dict]]:
    cols = ", ".join(f"{r}, {r}_numerator, {r}_denominator" for r, _ in HEADLINE_RATES)
    return unit_and_level_rows(con, period, cols)


def read_targets(con: duckdb.DuckDBPyConnection, year: int) -> list[dict]:
    if not table_exists(con, "mart.target_attainment"):
        return []
    metric_order = " ".join(f"WHEN '{m}' THEN {i}" for i, m in enumerate(TARGET_CHART_METRICS))
    return dicts(con.execute(
        f"""
        SELECT metric, unit_level, unit_code, unit_name, actual, numerator, denominator, target,
               gap, met, rank_in_level, units_in_level
        FROM mart.target_attainment WHERE year = ?
        ORDER BY CASE metric {metric_order} ELSE 99 END, metric, {level_sort_sql()},
                 rank_in_level NULLS LAST, unit_name, unit_code
        """,
        [year],
    ))


