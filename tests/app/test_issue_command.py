"""`python -m pipeline issue` and `--as-of`: what a clerk types, what a clerk reads."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from openpyxl import load_workbook

from app.cli import main
from pipeline.publish.analyst_copy import analytics_path


@pytest.fixture
def warehouse(tmp_path, fixtures, monkeypatch, metrics_cases_template):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    monkeypatch.delenv("DVC_AS_OF", raising=False)
    path = tmp_path / "w.duckdb"
    shutil.copy(metrics_cases_template, path)  # metrics_cases.jsonl landed and refreshed (conftest)
    return path


def test_issue_refuses_an_open_period_in_one_line(warehouse, capsys):
    code = main(["issue", "--period", "2025-Q1", "--as-of", "2025-03-14", "--warehouse", str(warehouse)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert err[0] == ("error: 2025-Q1 is open on 2025-03-14 (window 2024-12-15 – 2025-03-14): a period can be "
                      "issued from the day after its window closes, 2025-03-15, through its due day 2025-03-20 "
                      "(and later, once final)")
    assert main(["issue", "--period", "2025-03", "--warehouse", str(warehouse)]) == 2


def test_report_as_of_marks_the_open_quarter_and_issue_freezes_the_final_one(warehouse, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["report", "--period", "2025-Q1", "--as-of", "2025-03-10", "--warehouse", str(warehouse),
                 "--out", str(out)]) == 0
    first = load_workbook(out / "bieu_II06a_2025-Q1.xlsx").worksheets[0].cell(row=1, column=1).value
    assert first.startswith("SỐ LIỆU TẠM TÍNH — chưa chốt")
    assert "DVC_AS_OF" not in __import__("os").environ  # --as-of lasts for its command only

    assert main(["issue", "--period", "2025-Q1", "--as-of", "2025-03-21", "--warehouse", str(warehouse),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2025-Q1: issue 1 written" in printed and str(out / "bieu_II06a_2025-Q1_issue1.xlsx") in printed
    assert main(["issue", "--period", "2025-Q1", "--as-of", "2025-03-22", "--warehouse", str(warehouse),
                 "--out", str(out)]) == 0
    assert "already issued (issue 1" in capsys.readouterr().out

    # Analysts query any issue in the published copy.
    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM issued.unit_period_stats WHERE issue = 1").fetchone()[0] > 0
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'issues'").fetchone()[0]
    finally:
        con.close()

    assert main(["summary", "--as-of", "2025-03-22", "--warehouse", str(warehouse)]) == 0
    text = capsys.readouterr().out
    assert "Reporting cycle as of 2025-03-22" in text and "2025-Q1 final (issue 1)" in text
    assert "no issued period has moved since its issue" in text
    final = main(["report", "--period", "2025-Q1", "--as-of", "2025-03-22", "--warehouse", str(warehouse),
                  "--out", str(out)])
    assert final == 0
    line = load_workbook(out / "bieu_II06a_2025-Q1.xlsx").worksheets[0].cell(row=1, column=1).value
    assert line.startswith("SỐ LIỆU ĐÃ CHỐT") and "lần phát hành 1" in line


def test_run_as_of_reaches_the_assets_as_a_setting_not_the_environment(tmp_path, fixtures, monkeypatch):
    """--as-of travels to the Dagster assets in the run's RunSettings resource: period status is
    judged on that day, and nothing is written into the process environment."""
    import os
    import shutil
    from datetime import date

    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    monkeypatch.delenv("DVC_AS_OF", raising=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "metrics_cases.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"
    environment = dict(os.environ)
    assert main(["-q", "run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--as-of", "2025-03-18"]) == 0
    assert dict(os.environ) == environment
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT as_of FROM mart.period_status").fetchall() == [(date(2025, 3, 18),)]
        status = con.execute(
            "SELECT status FROM mart.period_status WHERE period_grain = 'quarter' AND period_label = '2025-Q1'"
        ).fetchone()[0]
    finally:
        con.close()
    assert status == "provisional"  # the window closed on 14/03; due on 20/03


def test_issue_of_an_incomplete_window_needs_confirm_incomplete(warehouse, tmp_path, capsys):
    """The fixture's data reaches 20/04/2025; 2025-Q2 ends 14/06/2025."""
    out = tmp_path / "out"
    args = ["issue", "--period", "2025-Q2", "--as-of", "2025-06-30", "--warehouse", str(warehouse), "--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2025-Q2 is incomplete" in err[0] and "--confirm-incomplete" in err[0]
    assert not out.exists() or not list(out.glob("*issue*"))
    assert main([*args, "--confirm-incomplete"]) == 0
    assert "2025-Q2: issue 1 written" in capsys.readouterr().out
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT confirmed_incomplete FROM issued.issues WHERE period_label = '2025-Q2'"
                           ).fetchall() == [(True,)]
    finally:
        con.close()
