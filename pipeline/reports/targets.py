"""Target verdicts (docs/definitions.md §4.4): the rows of mart.target_attainment that judge a period, the
one ranking rule, and their Vietnamese words; one reading for the workbook, the dashboard and summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from pipeline import config, periods
from pipeline.db import table_columns, table_exists
from pipeline.reports.data import (
    LEVEL_ORDER,
    TARGET_CHART_METRICS,
    dicts,
    level_sort_sql,
    period_range_text,
    unit_label,
    vn_date,
)


# ---------------------------------------------------------------------------------------
# Target verdicts (docs/definitions.md §4.4): one reading for the workbook, the dashboard and summary
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdicts:
    """The target rows a period's report judges, and on what they are judged."""

    rows: list[dict]
    year: int
    as_of_end: date | None  # the last day of data the verdict uses (None: no verdict)
    basis: str  # "as_of" (year to date), "year" (the year's final row), "none"
    note: str  # one Vietnamese sentence saying which data the verdict uses


def _metric_order_sql(column: str = "metric") -> str:
    cases = " ".join(f"WHEN '{m}' THEN {i}" for i, m in enumerate(TARGET_CHART_METRICS))
    return f"CASE {column} {cases} ELSE 99 END, {column}"


def target_verdicts(con: duckdb.DuckDBPyConnection, period: periods.Period) -> Verdicts:
    """The §4.4 rows of mart.target_attainment that judge ``period``: ``as_of_period`` = the
    period's label (year to date up to its last day; for the year itself the final verdict).
    Without an ``as_of_period`` column (older marts) only a year period has a verdict (its
    yearly row); any other period gets none rather than a verdict built on later data."""
    year = periods.report_year(period)
    year_window = periods.parse_label(str(year), config.cutoff_day())
    if period.grain.startswith("cal_"):
        return Verdicts([], year, None, "none", (
            f"Chỉ tiêu năm {year} được đánh giá theo các kỳ báo cáo 15–14; kỳ theo lịch dương không có đánh giá chỉ tiêu."))
    if not table_exists(con, "mart.target_attainment"):
        return Verdicts([], year, None, "none", "Chưa có bảng đánh giá chỉ tiêu.")
    cols = {c for c, _, _ in table_columns(con, "mart.target_attainment")}
    optional = {
        "province_code": "NULL", "partial_window": "FALSE", "window_start": "CAST(NULL AS DATE)",
        "window_end": "CAST(NULL AS DATE)",
        "applicable": "coalesce(target, 0) <> 0",
    }
    select = ", ".join(["year", "metric", "unit_code", "unit_name", "unit_level", "actual", "numerator",
                        "denominator", "target", "gap", "met", "rank_in_level", "units_in_level"]
                       + [c if c in cols else f"{expr} AS {c}" for c, expr in optional.items()])
    if "as_of_period" in cols:
        where, params, basis = "year = ? AND as_of_period = ?", [year, period.label], "as_of"
    elif period.grain == "year":
        where, params, basis = "year = ?", [year], "year"
    else:
        return Verdicts([], year, None, "none", (
            f"Chưa có đánh giá chỉ tiêu năm {year} lũy kế đến hết kỳ này (cần cập nhật mart chỉ tiêu); "
            "không dùng số liệu sau kỳ báo cáo."))
    rows = dicts(con.execute(
        f"SELECT {select} FROM mart.target_attainment WHERE {where} "
        f"ORDER BY {_metric_order_sql()}, {level_sort_sql()}, gap DESC NULLS LAST, unit_name, unit_code",
        params,
    ))
    in_force = units_in_force(con, period.end)
    for r in rows:
        if not r["applicable"]:  # §4.4: a target of 0/empty does not apply: no gap, met or rank
            r["gap"] = r["met"] = r["rank_in_level"] = None
        r["window_start"] = r["window_start"] or year_window.start
        r["window_end"] = r["window_end"] or min(period.end, year_window.end)
        abolished = bool(r["partial_window"]) or (in_force is not None and r["unit_code"] not in in_force
                                                   and r["unit_code"] in known_units(con))
        r["in_force"] = not abolished
        r["abolished_note"] = successor_note(con, r["unit_code"], period.end) if abolished else None
    as_of_end = min(period.end, year_window.end)
    if basis == "year" or period.grain == "year":
        note = (f"Kết quả năm {year}: số liệu cả kỳ năm ({period_range_text(year_window)}).")
    else:
        note = (f"Đánh giá chỉ tiêu năm {year} theo số liệu lũy kế từ ngày {vn_date(year_window.start)} "
                f"đến hết ngày {vn_date(as_of_end)} (hết kỳ báo cáo); không dùng số liệu sau kỳ báo cáo.")
    if not rows:
        note += " Chưa có dòng đánh giá nào cho kỳ này."
    return Verdicts(rows, year, as_of_end, basis, note)


def known_units(con: duckdb.DuckDBPyConnection) -> set[str]:
    if not table_exists(con, "core.units"):
        return set()
    return {c for (c,) in con.execute("SELECT DISTINCT unit_code FROM core.units").fetchall()}


def units_in_force(con: duckdb.DuckDBPyConnection, day: date) -> set[str] | None:
    """Codes with a core.units row in force on ``day`` (docs/definitions.md §4.1); None without the table."""
    if not table_exists(con, "core.units"):
        return None
    return {c for (c,) in con.execute(
        "SELECT DISTINCT unit_code FROM core.units WHERE (valid_from IS NULL OR valid_from <= ?) "
        "AND (valid_to IS NULL OR valid_to >= ?)", [day, day]).fetchall()}


def successor_note(con: duckdb.DuckDBPyConnection, unit_code: str, day: date) -> str:
    """``(đã hợp nhất vào Sở Tài chính từ 01/03/2025)`` for a unit abolished by ``day``: its
    primary crosswalk row (the latest in force), else its last day in core.units."""
    if table_exists(con, "core.unit_crosswalk"):
        row = con.execute(
            """
            SELECT coalesce(
                       (SELECT arg_max(u.unit_name, coalesce(u.valid_from, DATE '0001-01-01'))
                        FROM core.units u WHERE u.unit_code = c.new_unit_code), c.new_unit_code),
                   c.valid_from
            FROM core.unit_crosswalk c
            WHERE c.old_unit_code = ? AND c.is_primary AND c.valid_from <= ?
            ORDER BY c.valid_from DESC LIMIT 1
            """,
            [unit_code, day],
        ).fetchone()
        if row:
            return f"(đã hợp nhất vào {row[0]} từ {vn_date(row[1])})"
    last = con.execute(
        "SELECT max(valid_to) FROM core.units WHERE unit_code = ?", [unit_code]
    ).fetchone()[0] if table_exists(con, "core.units") else None
    return f"(đã giải thể từ {vn_date(last + timedelta(days=1))})" if last else "(không còn hoạt động)"


def verdict_word(row: dict) -> str:
    """Đạt / Chưa đạt / Không áp dụng / Chưa có số liệu — the same words in every report."""
    if not row.get("applicable", True):
        return "Không áp dụng"
    if row["met"] is None:
        return "Chưa có số liệu"
    return "Đạt" if row["met"] else "Chưa đạt"


def gap_points(gap: float | None) -> str:
    """A gap in percentage points, Vietnamese style: ``−3,2 điểm``, ``+0,4 điểm``."""
    if gap is None:
        return "—"
    points = round(100 * gap, 1)
    sign = "+" if points > 0 else ("−" if points < 0 else "±")
    return f"{sign}{abs(points):.1f}".replace(".", ",") + " điểm"


# The one ranking rule for targets (docs/definitions.md §4.4), the same in mart.target_attainment, the
# workbook, the dashboard and the command line summary: rank_in_level of the mart = position by
# actual (highest first, ties share the better place, SQL RANK) among the applicable targets
# with an actual of the same year, as-of period, metric, province and level; units judged on a
# partial window rank with the others. No minimum sample: a unit with fewer than DVC_MIN_SAMPLE
# cases in the denominator keeps its rank and is flagged «ít hồ sơ» in every report.
TARGET_RANK_RULE = (
    "Xếp hạng theo tỷ lệ đạt được (cao nhất = 1, bằng nhau cùng hạng) trong các đơn vị cùng cấp, "
    "cùng tỉnh có chỉ tiêu áp dụng và có số liệu; đơn vị có ít hơn {sample} hồ sơ vẫn được xếp hạng "
    "và được đánh dấu «ít hồ sơ»."
)


def small_sample(row: dict, sample: int) -> bool:
    """A target row whose rate rests on fewer than ``sample`` cases (flagged, still ranked)."""
    return row.get("actual") is not None and (row.get("denominator") or 0) < sample


def small_sample_note(row: dict, sample: int) -> str | None:
    """«ít hồ sơ: 18 < 20» for a small-sample row, the same words in every report."""
    if not small_sample(row, sample):
        return None
    return f"ít hồ sơ: {int(row.get('denominator') or 0)} < {sample}"


def rank_targets(rows: list[dict], sample: int) -> list[dict]:
    """One metric's verdict rows in display order within each level, with ``place`` = the
    mart's rank_in_level (TARGET_RANK_RULE; None = not ranked), ``ranked_units`` = the mart's
    units_in_level and ``status``: ranked, small (ranked, fewer than ``sample`` cases),
    abolished (ranked on its partial window), no_data, not_applicable. Returns copies."""
    out: list[dict] = []
    levels = [lv for lv in LEVEL_ORDER if any(r["unit_level"] == lv for r in rows)]
    levels += sorted({r["unit_level"] for r in rows} - set(levels))
    for level in levels:
        members = [dict(r) for r in rows if r["unit_level"] == level]
        for r in members:
            r["place"] = r.get("rank_in_level") if r["applicable"] and r["actual"] is not None else None
            if not r["applicable"]:
                r["status"] = "not_applicable"
            elif r["place"] is None:
                r["status"] = "no_data"
            elif not r["in_force"]:
                r["status"] = "abolished"
            elif small_sample(r, sample):
                r["status"] = "small"
            else:
                r["status"] = "ranked"
        ranked = [r for r in members if r["place"] is not None]
        order = {"no_data": 1, "not_applicable": 2}
        members.sort(key=lambda r: (order.get(r["status"], 0), r["place"] if r["place"] is not None else 0,
                                    unit_label(r), r["unit_code"]))
        for r in members:
            r["ranked_units"] = max((r2.get("units_in_level") or 0 for r2 in ranked), default=0) or len(ranked)
        out += members
    return out


def rank_units_by_rate(units: list[dict], rate: str, sample: int) -> list[dict]:
    """Units with a value of ``rate`` ranked within their level (highest first, ties share),
    those with fewer than ``sample`` cases in its denominator flagged and listed after them
    unranked. Each unit dict has code, name, level, rates, num, den."""
    out: list[dict] = []
    levels = [lv for lv in LEVEL_ORDER if any(u["level"] == lv for u in units)]
    levels += sorted({u["level"] for u in units} - set(levels))
    for level in levels:
        valued = [u for u in units if u["level"] == level and u["rates"][rate] is not None]
        big = sorted((u for u in valued if (u["den"][rate] or 0) >= sample),
                     key=lambda u: (-u["rates"][rate], u["name"]))
        small = sorted((u for u in valued if (u["den"][rate] or 0) < sample),
                       key=lambda u: (-u["rates"][rate], u["name"]))
        place = 0
        for i, u in enumerate(big):
            place = place if i and u["rates"][rate] == big[i - 1]["rates"][rate] else i + 1
            out.append({"code": u["code"], "level": level, "place": place, "small": False, "ranked": len(big)})
        out += [{"code": u["code"], "level": level, "place": None, "small": True, "ranked": len(big)} for u in small]
    return out
