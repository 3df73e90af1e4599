"""One ranking rule for targets (docs/definitions.md §4.4, data.TARGET_RANK_RULE): the workbook's
«Chỉ tiêu» sheet, the dashboard and the command line summary show mart.target_attainment's
rank_in_level for every target row, small-sample units included."""

from __future__ import annotations

import html
import io
import re
from contextlib import redirect_stdout

from openpyxl import load_workbook

from pipeline.metrics import RATE_TITLES
from pipeline.reports import summary
from pipeline.reports.dashboard import write_dashboard
from pipeline.reports.data import min_sample
from pipeline.reports.xlsx import TARGET_CODE_COL, write_quarter_report
from pipeline.warehouse import connect

PERIOD = "2025-Q3"


def test_workbook_dashboard_summary_and_mart_rank_alike(demo_warehouse, tmp_path):
    con = connect(demo_warehouse, read_only=True)
    try:
        mart = {(u, m): r for u, m, r in con.execute(
            "SELECT unit_code, metric, rank_in_level FROM mart.target_attainment WHERE as_of_period = ?", [PERIOD]
        ).fetchall()}
        small = con.execute(
            "SELECT count(*) FROM mart.target_attainment WHERE as_of_period = ? AND rank_in_level IS NOT NULL "
            "AND denominator < ?", [PERIOD, min_sample()]).fetchone()[0]
        write_quarter_report(con, "quarter", PERIOD, tmp_path / "q.xlsx")
        write_dashboard(con, "quarter", PERIOD, tmp_path / "q.html")
        printed = io.StringIO()
        with redirect_stdout(printed):
            summary.print_summary(demo_warehouse, PERIOD, con=con)
    finally:
        con.close()
    assert small > 0 and sum(r is not None for r in mart.values()) > 10  # the case that split the reports

    metric_of = {title: name for name, title in RATE_TITLES.items()}
    sheet = load_workbook(tmp_path / "q.xlsx")["Chỉ tiêu"]
    workbook = {}
    for row in sheet.iter_rows(values_only=True):
        code = row[TARGET_CODE_COL - 1] if len(row) >= TARGET_CODE_COL else None
        if isinstance(row[0], int) and code:
            workbook[(code, metric_of[row[3]])] = row[10]
    assert workbook == mart

    page = (tmp_path / "q.html").read_text(encoding="utf-8")
    dashboard = {}
    for block in page.split('<div class="tblock" data-metric="')[1:]:
        metric = block.split('"', 1)[0]
        for unit, place in re.findall(r'class="trow [^"]*" data-unit="([^"]+)" [^>]*data-place="([^"]*)"', block):
            dashboard[(html.unescape(unit), metric)] = int(place) if place else None
    assert dashboard == mart
    assert "ít hồ sơ:" in page

    text = printed.getvalue()
    listed = re.findall(r"^\s+(\S+)\s.*?\s(\w+_rate)\s.*?rank (\d+|—)(?:/\d+)? ", text, re.M)
    assert listed and all(mart[(u, m)] == (None if r == "—" else int(r)) for u, m, r in listed)
