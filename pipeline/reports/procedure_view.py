"""The dashboard's per-procedure view (issue 27; docs/definitions.md §5 drill-down).

Per unit level of the report's province: the procedures with the most late cases (resolved late
in the window + in progress overdue at its end), each linked to its own list of late cases, and
the procedures with the lowest on-time and full-process online rates among those with at least
``DVC_MIN_SAMPLE`` cases in the rate's denominator (smaller ones are not ranked). Read from
mart.procedure_period_stats and mart.late_cases; without them the view says it is not available.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import duckdb

from pipeline import periods
from pipeline.db import render_sql
from pipeline.reports.data import (
    LEVEL_ORDER,
    dicts,
    level_name,
    province_clause,
    report_province,
    table_exists,
)

TOP = 5  # procedures per level and list
CASES = 10  # late cases listed per procedure
LOW_RATES: tuple[tuple[str, str, str, str], ...] = (
    # (key, Vietnamese name, numerator column, denominator column) of the view's query
    ("on_time", "Tỷ lệ giải quyết trước hạn, đúng hạn", "on_time_num", "on_time_den"),
    ("fpo", "Tỷ lệ hồ sơ trực tuyến toàn trình", "fpo_num", "fpo_den"),
)


@dataclass(frozen=True)
class LevelProcedures:
    level: str
    most_late: list[dict]  # procedure rows, most late first
    lowest: dict[str, list[dict]]  # rate key -> procedure rows, lowest rate first


def _rate(num: int | None, den: int | None) -> float | None:
    return num / den if den else None


def procedure_levels(con: duckdb.DuckDBPyConnection, period: periods.Period, sample: int) -> list[LevelProcedures] | None:
    """Per level (form order), the procedures to look at first; None without the drill-down mart."""
    if not table_exists(con, "mart.procedure_period_stats"):
        return None
    where, params = province_clause(con, "mart.unit_period_stats", report_province(con, period))
    rows = dicts(con.execute(
        render_sql("reports/procedure_view.sql", province_where=where),
        [period.grain, period.label, *params, period.grain, period.label],
    ))
    for r in rows:
        for key, _, num, den in LOW_RATES:
            r[key] = _rate(r[num], r[den])
    levels = [lv for lv in LEVEL_ORDER if any(r["unit_level"] == lv for r in rows)]
    levels += sorted({r["unit_level"] for r in rows} - set(levels))
    out = []
    for level in levels:
        members = [r for r in rows if r["unit_level"] == level]
        late = sorted((r for r in members if r["late"] > 0), key=lambda r: (-r["late"], r["procedure_code"]))[:TOP]
        lowest = {}
        for key, _, _, den in LOW_RATES:
            ranked = [r for r in members if r[key] is not None and (r[den] or 0) >= sample]
            lowest[key] = sorted(ranked, key=lambda r, k=key: (r[k], -r[den], r["procedure_code"]))[:TOP]
        out.append(LevelProcedures(level, late, lowest))
    return out


def procedure_late_cases(
    con: duckdb.DuckDBPyConnection, period: periods.Period, wanted: list[tuple[str, str]]
) -> dict[tuple[str, str], list[dict]]:
    """(level, procedure) -> its late cases in the period (most days late first, ``CASES`` each)."""
    if not wanted or not table_exists(con, "mart.late_cases"):
        return {}
    where, params = province_clause(con, "mart.unit_period_stats", report_province(con, period))
    levels = sorted({lv for lv, _ in wanted})
    codes = sorted({code for _, code in wanted})
    found = dicts(con.execute(
        f"""
        SELECT u.unit_level, l.procedure_code, l.case_id, coalesce(u.unit_name, l.unit_code) AS unit_name,
               l.late_kind, l.received_at, l.due_at, l.days_late
        FROM mart.late_cases l
        JOIN (SELECT unit_code, unit_name, unit_level FROM mart.unit_period_stats
              WHERE period_grain = ? AND period_label = ?{where}) u ON u.unit_code = l.unit_code
        WHERE l.period_grain = ? AND l.period_label = ?
          AND list_contains(?, u.unit_level) AND list_contains(?, l.procedure_code)
        QUALIFY row_number() OVER (PARTITION BY u.unit_level, l.procedure_code
                                   ORDER BY l.days_late DESC NULLS LAST, l.case_id) <= ?
        ORDER BY u.unit_level, l.procedure_code, l.days_late DESC NULLS LAST, l.case_id
        """,
        [period.grain, period.label, *params, period.grain, period.label, levels, codes, CASES],
    ))
    out: dict[tuple[str, str], list[dict]] = {}
    for case in found:
        key = (case["unit_level"], case["procedure_code"])
        if key in wanted:
            out.setdefault(key, []).append(case)
    return out


# ---------------------------------------------------------------------------------------
# HTML (the dashboard's conventions: Vietnamese numbers, every cell escaped)
# ---------------------------------------------------------------------------------------
def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _n(value) -> str:
    return "—" if value is None else f"{int(value):,}".replace(",", ".")


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}".replace(".", ",") + "\u00a0%"


def _day(value) -> str:
    return "—" if value is None else f"{value:%d/%m/%Y}"


def _name(r: dict) -> str:
    name = r.get("procedure_name")
    return f'{_e(name)} <span class="code">({_e(r["procedure_code"])})</span>' if name else _e(r["procedure_code"])


KINDS = {"resolved_late": "đã giải quyết quá hạn", "overdue": "đang giải quyết quá hạn"}


def procedures_html(levels: list[LevelProcedures] | None, cases: dict[tuple[str, str], list[dict]],
                    sample: int) -> str:
    """The section's inner HTML: per level the most-late and lowest-rate tables, then the late
    list of each procedure shown (anchors ``late-proc-<n>``)."""
    if levels is None:
        return '<p class="note">Số liệu theo thủ tục (mart.procedure_period_stats) chưa có trong kho dữ liệu.</p>'
    if not levels:
        return '<p class="note">Không có hồ sơ nào theo thủ tục trong kỳ.</p>'
    anchors: dict[tuple[str, str], str] = {}
    parts, lists = [], []
    for block in levels:
        parts.append(f'<h3>{_e(level_name(block.level))}</h3>')
        if block.most_late:
            body = []
            for r in block.most_late:
                key = (block.level, r["procedure_code"])
                link = ""
                if key in cases:
                    anchor = anchors.setdefault(key, f"late-proc-{len(anchors)}")
                    link = f'<a href="#{anchor}">{_e(_n(r["late"]))} hồ sơ</a>'
                body.append(
                    f'<tr data-procedure="{_e(r["procedure_code"])}"><td class="l">{_name(r)}</td>'
                    f'<td>{_e(_n(r["units"]))}</td><td>{_e(_n(r["late"]))}</td><td>{_e(_n(r["resolved_total"]))}</td>'
                    f'<td>{_e(_pct(r["on_time"]))}</td><td>{_e(_pct(r["fpo"]))}</td><td>{link}</td></tr>')
            parts.append(
                '<h4>Thủ tục nhiều hồ sơ trễ hạn nhất</h4><div class="scroll"><table class="proc-late">'
                '<thead><tr><th class="l">Thủ tục</th><th>Số đơn vị</th><th>Hồ sơ trễ hạn</th><th>Đã giải quyết</th>'
                '<th>Tỷ lệ đúng hạn</th><th>Tỷ lệ trực tuyến toàn trình</th><th>Danh sách</th></tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table></div>')
        else:
            parts.append('<p class="note">Không có hồ sơ trễ hạn ở cấp này trong kỳ.</p>')
        low = []
        for key, title, num, den in LOW_RATES:
            for i, r in enumerate(block.lowest[key]):
                low.append(
                    f'<tr><td class="l">{_e(title) if i == 0 else ""}</td><td class="l">{_name(r)}</td>'
                    f'<td>{_e(_pct(r[key]))}</td><td>{_e(_n(r[num]))}/{_e(_n(r[den]))}</td></tr>')
        if low:
            parts.append(
                f'<h4>Thủ tục có tỷ lệ thấp nhất (từ {_e(sample)} hồ sơ trở lên)</h4><div class="scroll">'
                '<table class="proc-low"><thead><tr><th class="l">Tỷ lệ</th><th class="l">Thủ tục</th><th>Tỷ lệ</th>'
                f'<th>Tử số/Mẫu số</th></tr></thead><tbody>{"".join(low)}</tbody></table></div>')
    for (level, code), anchor in anchors.items():
        rows = "".join(
            f'<tr><td class="l">{_e(c["case_id"])}</td><td class="l">{_e(c["unit_name"])}</td>'
            f'<td class="l">{_e(KINDS.get(c["late_kind"], c["late_kind"]))}</td><td>{_e(_day(c["received_at"]))}</td>'
            f'<td>{_e(_day(c["due_at"]))}</td><td>{_e(_n(c["days_late"]))}</td></tr>' for c in cases[(level, code)])
        name = next((r.get("procedure_name") for b in levels for r in b.most_late
                     if b.level == level and r["procedure_code"] == code), None)
        lists.append(
            f'<h4 id="{anchor}">{_e(name or code)} — {_e(level_name(level))}</h4><div class="scroll"><table class="late">'
            '<thead><tr><th class="l">Mã hồ sơ</th><th class="l">Đơn vị</th><th class="l">Tình trạng</th>'
            f'<th>Tiếp nhận</th><th>Hẹn trả</th><th>Số ngày trễ</th></tr></thead><tbody>{rows}</tbody></table></div>')
    if lists:
        parts.append(f'<h3>Danh sách hồ sơ trễ hạn theo thủ tục</h3><p class="note">Tối đa {CASES} hồ sơ mỗi thủ '
                     'tục, trễ nhiều ngày nhất trước.</p>' + "".join(lists))
    parts.append('<p class="note">Tỷ lệ của thủ tục trong một cấp = tổng tử số / tổng mẫu số của các đơn vị '
                 'cấp đó; thủ tục có ít hồ sơ hơn ngưỡng không được xếp vào danh sách tỷ lệ thấp.</p>')
    return "".join(parts)
