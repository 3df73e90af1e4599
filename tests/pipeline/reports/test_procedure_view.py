"""The dashboard's per-procedure view (issue 27): per level the procedures with the most late
cases (each linked to its late list) and the lowest rates among procedures with enough cases."""

from __future__ import annotations

import re

from pipeline import config, periods
from pipeline.reports.dashboard import write_dashboard
from pipeline.reports.procedure_view import (
    CASES,
    TOP,
    procedure_late_cases,
    procedure_levels,
    procedures_html,
)
from pipeline.warehouse import connect

PERIOD = periods.parse_label("2025-Q3", config.cutoff_day())


def test_most_late_and_lowest_rates_per_level_add_up_from_the_mart(demo_warehouse):
    con = connect(demo_warehouse, read_only=True)
    try:
        levels = procedure_levels(con, PERIOD, 20)
        assert levels and {b.level for b in levels} <= {"province", "province_department", "district", "commune"}
        for block in levels:
            late = [r["late"] for r in block.most_late]
            assert late == sorted(late, reverse=True) and all(n > 0 for n in late) and len(late) <= TOP
            for r in block.most_late:  # the same sum straight from the marts
                expected = con.execute(
                    "SELECT sum(p.resolved_late + p.in_progress_overdue) FROM mart.procedure_period_stats p "
                    "JOIN mart.unit_period_stats u ON u.period_grain = p.period_grain AND u.period_label = "
                    "p.period_label AND u.unit_code = p.unit_code WHERE p.period_grain = 'quarter' AND "
                    "p.period_label = '2025-Q3' AND u.unit_level = ? AND p.procedure_code = ?",
                    [block.level, r["procedure_code"]]).fetchone()[0]
                assert r["late"] == expected
            for key, den in (("on_time", "on_time_den"), ("fpo", "fpo_den")):
                rates = [r[key] for r in block.lowest[key]]
                assert rates == sorted(rates) and all(r[den] >= 20 for r in block.lowest[key])
        # A larger minimum sample ranks fewer procedures (never one below it).
        strict = procedure_levels(con, PERIOD, 10_000)
        assert all(not b.lowest["on_time"] and not b.lowest["fpo"] for b in strict)
        wanted = [(b.level, r["procedure_code"]) for b in levels for r in b.most_late]
        cases = procedure_late_cases(con, PERIOD, wanted)
    finally:
        con.close()
    assert cases and set(cases) <= set(wanted)
    for rows in cases.values():
        days = [c["days_late"] for c in rows]
        assert len(rows) <= CASES and days == sorted(days, reverse=True)


def test_dashboard_links_each_procedure_to_its_late_list(demo_warehouse, tmp_path):
    con = connect(demo_warehouse, read_only=True)
    try:
        page = write_dashboard(con, "quarter", "2025-Q3", tmp_path / "d.html").path.read_text(encoding="utf-8")
    finally:
        con.close()
    section = page[page.index('<section id="procedures">'):]
    section = section[:section.index("</section>")]
    links = re.findall(r'href="#(late-proc-\d+)"', section)
    anchors = re.findall(r'id="(late-proc-\d+)"', section)
    assert links and sorted(set(links)) == sorted(anchors)
    assert "Thủ tục nhiều hồ sơ trễ hạn nhất" in section and "Thủ tục có tỷ lệ thấp nhất" in section
    assert not re.search(r"[a-z]+_[a-z_]+_rate", section)  # Vietnamese names, no column names


def test_without_the_drilldown_or_late_cases_the_view_says_so():
    assert "chưa có trong kho dữ liệu" in procedures_html(None, {}, 20)
    assert "Không có hồ sơ nào theo thủ tục" in procedures_html([], {}, 20)
