"""Incomplete windows (docs/definitions.md §6): a window whose newest case data is older than its last
day says how far its data reaches on every output, is never stamped final, and is issued only
on an explicit, recorded confirmation. The fixture's newest NgayCapNhat is 20/04/2025: 2025-Q1
(to 14/03) is complete, 2025-Q2 (to 14/06) is not."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from pipeline import periods
from pipeline.cycle import issue, timeline
from pipeline.reports import summary
from pipeline.reports.dashboard import write_dashboard
from pipeline.reports.issue_files import write_issue_files
from pipeline.reports.xlsx import write_quarter_report
from pipeline.warehouse import open_warehouse

Q1, Q2 = periods.parse_label("2025-Q1"), periods.parse_label("2025-Q2")
REACH = "số liệu đến ngày 20/04/2025"


@pytest.fixture
def warehouse(tmp_path, fixtures, monkeypatch, metrics_cases_template):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    path = tmp_path / "w.duckdb"
    shutil.copy(metrics_cases_template, path)  # metrics_cases.jsonl landed and refreshed (conftest)
    return path


@pytest.mark.parametrize("today", [date(2025, 6, 1), date(2025, 6, 16), date(2025, 6, 21), date(2026, 1, 1)])
def test_every_status_of_an_incomplete_window_says_how_far_its_data_reaches(today):
    state = timeline.period_state(Q2, today)
    text = timeline.working_banner(state, datetime(2025, 4, 20, 9, 30))
    assert REACH in text and timeline.FINAL_MARK not in text
    issued = timeline.working_banner(state, datetime(2025, 4, 20), latest_issue=1, issue_file="f.xlsx")
    assert REACH in issued and timeline.FINAL_MARK not in issued


def test_a_complete_window_is_stamped_final_and_says_nothing_of_its_reach():
    assert not timeline.is_incomplete(Q1, datetime(2025, 3, 14, 23, 59))  # data of its last day: complete
    assert timeline.is_incomplete(Q1, datetime(2025, 3, 13, 23, 59)) and timeline.is_incomplete(Q1, None)
    text = timeline.working_banner(timeline.period_state(Q1, date(2025, 3, 21)), datetime(2025, 4, 20))
    assert text.startswith(timeline.FINAL_MARK) and "số liệu đến ngày" not in text
    official = timeline.official_banner(Q1, 1, datetime(2025, 3, 21, 9), datetime(2025, 4, 20), "ab" * 32)
    assert "số liệu đến ngày" not in official and timeline.INCOMPLETE_MARK not in official


def test_incomplete_window_outputs_and_issue_needs_a_recorded_confirmation(warehouse, tmp_path):
    out = tmp_path / "reports"
    final_day = date(2025, 6, 30)
    with open_warehouse(warehouse) as con:
        banner = issue.working_banner(con, Q2, final_day)
        assert banner.startswith(timeline.INCOMPLETE_MARK) and "--confirm-incomplete" in banner
        write_quarter_report(con, "quarter", "2025-Q2", out / "q2.xlsx", banner=banner)
        write_dashboard(con, "quarter", "2025-Q2", out / "q2.html", banner=banner)
        firsts = [ws.cell(row=1, column=1).value for ws in load_workbook(out / "q2.xlsx").worksheets]
        assert firsts and all(REACH in line and "ĐÃ CHỐT" not in line for line in firsts)
        page = (out / "q2.html").read_text(encoding="utf-8")
        assert REACH in page and "ĐÃ CHỐT" not in page
        printed = io.StringIO()
        with redirect_stdout(printed):
            summary.print_summary(warehouse, "2025-Q2", con=con)
        assert REACH in printed.getvalue()

        # Refused without the confirmation, in one sentence that names the flag; nothing written.
        with pytest.raises(issue.IssueRefused, match=r"2025-Q2 is incomplete: the newest case data is of "
                                                     r"2025-04-20, the window ends 2025-06-14 .*--confirm-incomplete"):
            issue.issue_period(con, Q2, write_files=write_issue_files, as_of=final_day, out_dir=out)
        assert issue.issue_record(con, Q2) is None and not list(out.glob("*issue*"))

        done = issue.issue_period(con, Q2, write_files=write_issue_files, as_of=final_day, out_dir=out, confirm_incomplete=True)
        assert done.action == "issued"
        complete = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=final_day, out_dir=out)  # complete: no confirmation needed
        assert complete.action == "issued"
        assert con.execute("SELECT period_label, confirmed_incomplete FROM issued.issues ORDER BY ALL").fetchall() == [
            ("2025-Q1", False), ("2025-Q2", True)]
        assert REACH in issue.issue_record(con, Q2).reason
        official = [ws.cell(row=1, column=1).value for ws in load_workbook(done.files[0]).worksheets]
        assert all(line.startswith("BẢN CHÍNH THỨC") and REACH in line for line in official)
        assert REACH in done.files[1].read_text(encoding="utf-8")
        assert REACH not in load_workbook(complete.files[0]).worksheets[0].cell(row=1, column=1).value
        # The working copy of the issued, incomplete window still says so, never "ĐÃ CHỐT".
        after = issue.working_banner(con, Q2, final_day)
        assert after.startswith(timeline.INCOMPLETE_MARK) and "lần phát hành 1" in after
