"""What the reports show of the Decision 766 index (docs/definitions.md §7; mart.index766_scores and
mart.index766_cases): each unit's points per indicator and in total of the case-computable
part, its rank within its level, the change from the previous window, and for the units with
the fewest points the cases that cost the most points. Shared by the workbook's «Chỉ số 766»
sheet, the dashboard section and the command line summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import duckdb

from pipeline import config, index766, periods
from pipeline.reports.data import (
    PROVINCE_TOTAL,
    dicts,
    level_sort_sql,
    period_title,
    province_clause,
    report_province,
    table_exists,
)

SCORES = "mart.index766_scores"
CASES = "mart.index766_cases"
INDEX_GRAINS = ("cal_month", "cal_quarter", "cal_year")
WORST_UNITS = 5
CASES_PER_UNIT = 10
# Why a case of mart.index766_cases loses points on an indicator: (flag condition, words).
# 3.5b counts procedures, not cases: a case cannot be said to lose its points.
CASE_LOSSES: dict[str, tuple[str, str]] = {
    "2.1": ("NOT k.on_time", "không đúng hạn"),
    "3.6": ("k.payment_counted AND NOT k.paid_online", "chưa thanh toán trực tuyến"),
    "4.1": ("NOT k.electronic_result", "chưa có kết quả điện tử"),
    "4.3": ("NOT k.reused_digitised", "chưa tái sử dụng dữ liệu số hóa"),
    "4.5b": ("NOT k.vneid", "tài khoản chưa xác thực VNeID"),
    "5.4": ("NOT (k.on_time AND NOT k.dissatisfied)", "không đúng hạn hoặc không hài lòng"),
}


@dataclass(frozen=True)
class IndexView:
    """One calendar window's index, for the report of ``report_period``."""

    window: periods.Period
    previous: periods.Period
    rules: list[dict]  # indicator, name, indicator_group, max_points (seeds/index766.csv order)
    computable_max: float
    province: dict | None  # scores by indicator, total, previous_total, change
    units: list[dict]  # per unit: scores, total, rank_in_level, units_in_level, previous_total, change
    worst: list[dict] = field(default_factory=list)  # units with the fewest points, each with 'cases'

    @property
    def caption(self) -> str:
        """Says plainly what the numbers are (and are not)."""
        codes = ", ".join(r["indicator"] for r in self.rules)
        missing = "; ".join(f"{code} ({words})" for code, words in index766.NOT_COMPUTED)
        return (
            f"Phần tính được từ hồ sơ: {self.computable_max:g}/{index766.INDEX_MAX_POINTS} điểm của Bộ chỉ số "
            f"766 (chỉ tiêu {codes}). Cổng Dịch vụ công quốc gia chấm thêm các chỉ tiêu còn lại — {missing} — "
            "nên tổng điểm của Cổng cao hơn. Công thức tái lập theo điểm Cổng đã công bố, không phải công thức "
            "chính thức; điểm tối đa và ngưỡng lấy từ danh mục Chỉ số 766 của hệ thống (cập nhật khi Cổng thay đổi)."
        )


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def index_window(period: periods.Period) -> periods.Period:
    """The calendar window a report shows the index for: the period itself when it is a
    calendar one; else the latest calendar month that ended by the period's last day."""
    if period.grain in INDEX_GRAINS:
        return period
    after = periods.period_of(period.end + timedelta(days=1), "cal_month", config.cutoff_day())
    return periods.previous_period(after, config.cutoff_day())


def _scores(con: duckdb.DuckDBPyConnection, window: periods.Period, province: str | None) -> list[dict]:
    where, params = province_clause(con, SCORES, province)
    return dicts(con.execute(
        f"""
        SELECT unit_code, unit_name, unit_level, indicator, numerator, denominator, ratio, score
        FROM {SCORES}
        WHERE period_grain = ? AND period_label = ?{where}
        ORDER BY {level_sort_sql()}, unit_name, unit_code
        """,
        [window.grain, window.label, *params],
    ))


def _by_unit(rows: list[dict]) -> dict[tuple[bool, str | None], dict]:
    out: dict[tuple[bool, str | None], dict] = {}
    for r in rows:
        key = (r["unit_level"] == PROVINCE_TOTAL, r["unit_code"])
        unit = out.setdefault(key, {"unit_code": r["unit_code"], "unit_name": r["unit_name"],
                                    "unit_level": r["unit_level"], "scores": {}, "counts": {}})
        unit["scores"][r["indicator"]] = r["score"]
        unit["counts"][r["indicator"]] = (r["numerator"], r["denominator"])
    for unit in out.values():
        scored = [s for s in unit["scores"].values() if s is not None]
        unit["total"] = sum(scored) if scored else None
        unit["received"] = unit["counts"].get("2.1", (0, 0))[1]
    return out


def read_index(con: duckdb.DuckDBPyConnection, period: periods.Period, *, worst: int = WORST_UNITS,
               per_unit: int = CASES_PER_UNIT) -> IndexView | None:
    """The index of ``period``'s calendar window (index_window); None when the marts have no
    index rows for it (older warehouse, or no case received in that window)."""
    if not table_exists(con, SCORES) or not table_exists(con, "core.index766"):
        return None
    window = index_window(period)
    previous = periods.previous_period(window, config.cutoff_day())
    province = report_province(con, window)
    current = _by_unit(_scores(con, window, province))
    if not current:
        return None
    before = _by_unit(_scores(con, previous, province))
    rules = dicts(con.execute(
        "SELECT indicator, name, indicator_group, max_points FROM core.index766 ORDER BY sort_order"))
    for key, unit in current.items():
        old = before.get(key)
        unit["previous_total"] = old["total"] if old else None
        unit["change"] = (None if unit["total"] is None or unit["previous_total"] is None
                          else unit["total"] - unit["previous_total"])
    units = [u for (is_province, _), u in current.items() if not is_province]
    for level in {u["unit_level"] for u in units}:
        members = sorted((u for u in units if u["unit_level"] == level and u["total"] is not None),
                         key=lambda u: -u["total"])
        for u in members:  # ties share the better rank (SQL RANK)
            u["rank_in_level"] = 1 + sum(1 for o in members if o["total"] > u["total"])
            u["units_in_level"] = len(members)
    provinces = [u for (is_province, _), u in current.items() if is_province]
    view = IndexView(window, previous, rules, sum(r["max_points"] for r in rules),
                     provinces[0] if provinces else None, units)
    lowest = sorted((u for u in units if u["total"] is not None), key=lambda u: (u["total"], u["unit_code"]))[:worst]
    cases = _costly_cases(con, window, [u["unit_code"] for u in lowest], per_unit)
    view.worst.extend({**u, "cases": cases.get(u["unit_code"], [])} for u in lowest)
    return view


def _costly_cases(con: duckdb.DuckDBPyConnection, window: periods.Period, units: list[str],
                  per_unit: int) -> dict[str, list[dict]]:
    """Per unit, the cases that cost the most points: on each indicator a case fails, the points
    one more success would add (max / (threshold × denominator) while the unit is below the
    threshold, else 0), summed; most first."""
    if not units:
        return {}
    failures = " UNION ALL ".join(
        f"SELECT '{code}' AS indicator, k.* FROM k WHERE {condition}" for code, (condition, _) in CASE_LOSSES.items())
    words = " ".join(f"WHEN '{code}' THEN '{text}'" for code, (_, text) in CASE_LOSSES.items())
    procedures = ("LEFT JOIN (SELECT procedure_code, any_value(procedure_name) AS procedure_name "
                  "FROM core.procedures GROUP BY procedure_code) p ON p.procedure_code = f.procedure_code"
                  if table_exists(con, "core.procedures") else "")
    rows = dicts(con.execute(
        f"""
        WITH k AS (
            SELECT * FROM {CASES}
            WHERE period_grain = ? AND period_label = ? AND list_contains(?, unit_code)
        ),
        f AS ({failures}),
        lost AS (
            SELECT f.unit_code, f.case_id, f.procedure_code, f.received_at, f.due_at, f.ended_at, f.indicator,
                   CASE WHEN s.denominator > 0 AND s.ratio < s.threshold
                        THEN s.max_points / (s.threshold * s.denominator) ELSE 0 END AS points,
                   CASE f.indicator {words} END AS reason,
                   {"p.procedure_name" if procedures else "NULL"} AS procedure_name
            FROM f
            JOIN {SCORES} s
              ON s.period_grain = ? AND s.period_label = ? AND s.unit_level <> '{PROVINCE_TOTAL}'
             AND s.unit_code = f.unit_code AND s.indicator = f.indicator
            {procedures}
        )
        SELECT unit_code, case_id, procedure_code, any_value(procedure_name) AS procedure_name,
               any_value(received_at) AS received_at, any_value(due_at) AS due_at, any_value(ended_at) AS ended_at,
               sum(points) AS points_lost, list(reason ORDER BY indicator) AS reasons
        FROM lost
        GROUP BY unit_code, case_id, procedure_code
        HAVING sum(points) > 0
        QUALIFY row_number() OVER (PARTITION BY unit_code ORDER BY sum(points) DESC, case_id) <= ?
        ORDER BY unit_code, points_lost DESC, case_id
        """,
        [window.grain, window.label, units, window.grain, window.label, per_unit],
    ))
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["unit_code"], []).append(r)
    return out


def summary_lines(view: IndexView) -> list[str]:
    """The province's points for the command line summary."""
    lines = [f"Decision 766 index, {view.window.label} ({period_title(view.window)}), "
             f"case-computable part: {view.computable_max:g} of {index766.INDEX_MAX_POINTS} points "
             f"(the portal adds {', '.join(code for code, _ in index766.NOT_COMPUTED)}):"]
    p = view.province
    if p is None:
        return lines + ["  no province row (units outside the reference list)"]
    parts = [f"{r['indicator']} {_points(p['scores'].get(r['indicator']))}/{r['max_points']:g}" for r in view.rules]
    change = "" if p["change"] is None else f" ({p['change']:+.2f} vs {view.previous.label})"
    lines.append(f"  province {p['unit_name']}: {p['total']:.2f} of {view.computable_max:g}{change}")
    lines.append("  " + ", ".join(parts))
    if view.worst:
        lines.append("  fewest points: " + ", ".join(f"{u['unit_name']} {u['total']:.2f}" for u in view.worst[:3]))
    return lines
