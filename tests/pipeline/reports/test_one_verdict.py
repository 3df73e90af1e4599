"""One verdict: the workbook's Chỉ tiêu sheet, the dashboard and the summary command say the
same thing (verdict and gap in points) for every unit with a target in a quarter — the year to
date up to the quarter's last day (mart.target_attainment rows with as_of_period = 2025-Q3),
neither the quarter's own rate nor the final yearly row."""

from __future__ import annotations

import json
import re

from openpyxl import load_workbook

from app.cli import main
from pipeline.reports.dashboard import write_dashboard
from pipeline.reports.targets import gap_points
from pipeline.reports.xlsx import write_quarter_report
from pipeline.warehouse import connect
from tests.pipeline.reports.test_xlsx import _target_sheet_rows

WORDS = {True: "Đạt", False: "Chưa đạt", None: "Chưa có số liệu"}
SUMMARY_LINE = re.compile(r"^ {4}(\S+) .* (full_process_online_rate|online_payment_rate) +actual .* "
                          r"gap (\S+ điểm) rank \S+ (Chưa đạt)$")
COUNTS_LINE = re.compile(r"^  (\w+): (\d+) met \(Đạt\), (\d+) below \(Chưa đạt\), (\d+) without data, (\d+) not applicable$")


def test_workbook_dashboard_and_summary_give_one_verdict(new_warehouse, tmp_path, capsys):
    con = connect(new_warehouse, read_only=True)
    try:
        book = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "b.xlsx").path
        page = write_dashboard(con, "quarter", "2025-Q3", tmp_path / "d.html").path
        mart = {(code, metric): (met, gap, applicable, actual, target)
                for code, metric, met, gap, applicable, actual, target in con.execute(
                    "SELECT unit_code, metric, met, gap, applicable, actual, target FROM mart.target_attainment "
                    "WHERE year = 2025 AND as_of_period = '2025-Q3'").fetchall()}
        year_rows = dict(((c, m), a) for c, m, a in con.execute(
            "SELECT unit_code, metric, actual FROM mart.target_attainment WHERE as_of_period = '2025'").fetchall())
        quarter = dict(((c, m), v) for c, m, v in con.execute(
            "SELECT unit_code, m, CASE m WHEN 'full_process_online_rate' THEN full_process_online_rate "
            "ELSE online_payment_rate END FROM mart.unit_period_stats, "
            "(VALUES ('full_process_online_rate'), ('online_payment_rate')) AS t(m) "
            "WHERE period_grain = 'quarter' AND period_label = '2025-Q3'").fetchall())
    finally:
        con.close()
    assert main(["summary", "--warehouse", str(new_warehouse), "--period", "2025-Q3"]) == 0
    out = capsys.readouterr().out.splitlines()

    expected = {k: ("Không áp dụng" if not applicable else WORDS[met], None if not applicable else gap)
                for k, (met, gap, applicable, _, _) in mart.items()}
    # The workbook.
    sheet = _target_sheet_rows(load_workbook(book)["Chỉ tiêu"])
    workbook = {k: (v["verdict"], None if v["values"][4] is None else v["values"][4] / 100) for k, v in sheet.items()}
    # The dashboard (the rows it renders come from its embedded data).
    text = page.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', text, re.S).group(1))
    dashboard = {(r["code"], b["metric"]): (r["verdict"], r["gap"]) for b in data["targets"] for r in b["rows"]}
    for code, metric in dashboard:
        assert f'data-unit="{code}" data-status=' in text and f'data-verdict="{dashboard[code, metric][0]}"' in text
    # The summary: every unit below target with its gap, and the counts per metric.
    below = {(m.group(1), m.group(2)): (m.group(4), m.group(3)) for line in out if (m := SUMMARY_LINE.match(line))}
    counts = {m.group(1): tuple(int(x) for x in m.groups()[1:]) for line in out if (m := COUNTS_LINE.match(line))}

    assert len(expected) == 52
    for key, (verdict, gap) in expected.items():
        assert workbook[key][0] == dashboard[key][0] == verdict, key
        for got in (workbook[key][1], dashboard[key][1]):
            assert (got is None and gap is None) or abs(got - gap) < 1e-12, key
        if verdict == "Chưa đạt":
            assert below[key] == ("Chưa đạt", gap_points(gap)), key
    assert set(below) == {k for k, (v, _) in expected.items() if v == "Chưa đạt"}
    for metric in ("full_process_online_rate", "online_payment_rate"):
        words = [v for (_, m), (v, _) in expected.items() if m == metric]
        assert counts[metric] == (words.count("Đạt"), words.count("Chưa đạt"), words.count("Chưa có số liệu"),
                                  words.count("Không áp dụng"))
    # It is the year to date: neither the quarter's own rate nor the yearly verdict.
    assert any(quarter.get(k) is not None and target and (quarter[k] >= target) != met
               for k, (met, _, applicable, _, target) in mart.items() if applicable and met is not None)
    assert any(year_rows[k] != actual for k, (_, _, _, actual, _) in mart.items() if actual is not None)
