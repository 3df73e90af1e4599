"""One quarter through its official life (docs/definitions.md §6) with injected dates: open (marked
provisional on its face) -> provisional (issuing refused) -> final -> issue 1 written and frozen;
late data arrives -> the marts move, issue 1's file and rows stay byte-for-byte, mart.restatements
lists the moved cells; reissue -> issue 2 with the change sheet. And: a crash half-way through
issuing leaves no half issue."""

from __future__ import annotations

import json
import shutil
import stat
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline import marts, periods
from pipeline.cycle import issue, timeline
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.reports.dashboard import write_dashboard
from pipeline.reports.issue_files import write_issue_files
from pipeline.reports.xlsx import write_quarter_report
from pipeline.warehouse import open_warehouse

Q1 = periods.parse_label("2025-Q1")  # 15 Dec 2024 – 14 Mar 2025, due 20 Mar
OPEN_DAY, PROVISIONAL_DAY, FINAL_DAY = date(2025, 3, 10), date(2025, 3, 18), date(2025, 3, 21)
# A case of U1 received in Q1 and resolved late in it, synced long after the quarter was issued.
LATE_CASE = {
    "MaDonVi": "U1", "MaTTHC": "P1", "NgayCapNhat": "20250501000000", "MaHoSo": "LATE1",
    "TrangThaiHoSo": "10", "KenhThucHien": "2", "MucDo": "4", "NgayTiepNhan": "20250301080000",
    "NgayHenTra": "20250310170000", "NgayKetThucXuLy": "20250312080000",
}


@pytest.fixture
def warehouse(tmp_path, fixtures, monkeypatch, metrics_cases_template):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    path = tmp_path / "w.duckdb"
    shutil.copy(metrics_cases_template, path)  # metrics_cases.jsonl landed and refreshed (conftest)
    return path


def first_lines(xlsx: Path) -> list[str]:
    return [ws.cell(row=1, column=1).value for ws in load_workbook(xlsx).worksheets]


def issued_rows(con, table: str, number: int) -> list[tuple]:
    return con.execute(
        f"SELECT * FROM issued.{table} WHERE period_label = '2025-Q1' AND issue = ? ORDER BY ALL", [number]
    ).fetchall()


def land_late_case(con, tmp_path: Path) -> None:
    late = tmp_path / "late.jsonl"
    late.write_text(json.dumps(LATE_CASE) + "\n", encoding="utf-8")
    land_file(con, late)
    merge_pending_batches(con)
    marts.refresh_all(con)
    issue.refresh_restatements(con)


def test_a_quarter_through_its_life(warehouse, tmp_path):
    out = tmp_path / "reports"
    with open_warehouse(warehouse) as con:
        # Open: the refreshed report says provisional on every sheet and on the dashboard.
        timeline.refresh_period_status(con, OPEN_DAY)
        assert con.execute(
            "SELECT status, due_date FROM mart.period_status WHERE period_label = '2025-Q1'"
        ).fetchone() == ("open", date(2025, 3, 20))
        banner = issue.working_banner(con, Q1, OPEN_DAY)
        write_quarter_report(con, "quarter", "2025-Q1", out / "open.xlsx", banner=banner)
        write_dashboard(con, "quarter", "2025-Q1", out / "open.html", banner=banner)
        lines = first_lines(out / "open.xlsx")  # form (by field), annex by unit, rates, targets, index 766
        assert len(lines) == 5 and all(line.startswith("SỐ LIỆU TẠM TÍNH — chưa chốt") for line in lines)
        assert "số liệu tính đến 20/04/2025 00:00" in lines[0]  # the data's as-of time
        page = (out / "open.html").read_text(encoding="utf-8")
        assert page.index('id="status-banner"') < page.index("<header>")
        assert "SỐ LIỆU TẠM TÍNH — chưa chốt" in page
        # The form itself still starts right below the banner.
        assert load_workbook(out / "open.xlsx").worksheets[0].cell(row=2, column=1).value == "Biểu số II.06a/VPCP/KSTT"

        # Open (its last day included): issuing is refused with a clear message; nothing is written.
        with pytest.raises(issue.IssueRefused, match=r"2025-Q1 is open on 2025-03-14 .* from the day after its "
                                                     r"window closes, 2025-03-15, through its due day 2025-03-20"):
            issue.issue_period(con, Q1, write_files=write_issue_files, as_of=date(2025, 3, 14), out_dir=out)
        assert not list(out.glob("*issue*"))
        timeline.refresh_period_status(con, PROVISIONAL_DAY)
        assert con.execute("SELECT status FROM mart.period_status WHERE period_label = '2025-Q1'").fetchone()[0] \
            == "provisional"

        # Final: issue 1, rows equal the marts, files read-only with the issue on their face.
        first = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=out, now=datetime(2025, 3, 21, 6, 0))
        assert (first.action, first.issue, first.status) == ("issued", 1, "final")
        xlsx1, html1 = out / "bieu_II06a_2025-Q1_issue1.xlsx", out / "dashboard_2025-Q1_issue1.html"
        assert first.files == [xlsx1, html1]
        for path in (xlsx1, html1):
            assert stat.S_IMODE(path.stat().st_mode) == 0o440
        assert all(line.startswith("BẢN CHÍNH THỨC — 2025-Q1 — LẦN PHÁT HÀNH 1") for line in first_lines(xlsx1))
        assert "LẦN PHÁT HÀNH 1" in html1.read_text(encoding="utf-8")
        mart_units = con.execute(
            "SELECT unit_code, received_total, on_time_rate FROM mart.unit_period_stats "
            "WHERE period_grain = 'quarter' AND period_label = '2025-Q1' ORDER BY unit_code"
        ).fetchall()
        assert con.execute(
            "SELECT unit_code, received_total, on_time_rate FROM issued.unit_period_stats "
            "WHERE period_label = '2025-Q1' AND issue = 1 ORDER BY unit_code"
        ).fetchall() == mart_units
        assert con.execute(
            "SELECT DISTINCT issued_at, data_as_of, content_hash FROM issued.level_period_stats WHERE issue = 1"
        ).fetchall() == [(datetime(2025, 3, 21, 6, 0), datetime(2025, 4, 20), first.content_hash)]
        assert con.execute("SELECT count(*) FROM issued.target_attainment WHERE period_label = '2025-Q1'").fetchone()[0] > 0
        assert con.execute(
            "SELECT status, latest_issue FROM mart.period_status WHERE period_label = '2025-Q1'"
        ).fetchone() == ("final", 1)
        # The workbook is built from the issued rows: its U1 row shows the issued count.
        form = load_workbook(xlsx1)["Phụ lục đơn vị"]  # the by-unit annex (the form is by field)
        u1 = next(r for r in form.iter_rows(values_only=True) if r[-1] == "U1")
        assert u1[2] == dict((u, n) for u, n, _ in mart_units)["U1"]
        frozen_bytes = {p: p.read_bytes() for p in (xlsx1, html1)}
        frozen_rows = {t: issued_rows(con, t, 1) for t in ("unit_period_stats", "level_period_stats", "target_attainment")}
        assert con.execute("SELECT count(*) FROM mart.restatements").fetchone()[0] == 0

        # Issuing again is a no-op that says so.
        again = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=date(2025, 4, 1), out_dir=out)
        assert again.action == "already_issued" and "already issued (issue 1" in again.message

        # Late data arrives: the marts move, issue 1 does not, the restatements list the cells.
        land_late_case(con, tmp_path)
        assert {p: p.read_bytes() for p in (xlsx1, html1)} == frozen_bytes
        assert {t: issued_rows(con, t, 1) for t in frozen_rows} == frozen_rows
        moved = con.execute(
            "SELECT table_name, row_key, column_name, issued_value, current_value, difference FROM mart.restatements "
            "WHERE period_label = '2025-Q1' AND issue = 1 AND column_name IN ('received_total', 'resolved_late') "
            "ORDER BY ALL"
        ).fetchall()
        u1_before = dict((u, n) for u, n, _ in mart_units)["U1"]
        assert ("unit_period_stats", "U1", "received_total", u1_before, u1_before + 1, 1.0) in moved
        assert any(m[:3] == ("level_period_stats", "— / province_total", "resolved_late") and m[5] == 1.0 for m in moved)
        assert [(m.period_label, m.issue) for m in issue.moved_periods(con)] == [("2025-Q1", 1)]
        assert "1 kỳ đã phát hành" not in issue.working_banner(con, Q1, FINAL_DAY)  # its own move is on line 1
        assert "ô khác bản chính thức" in issue.working_banner(con, Q1, FINAL_DAY)

        # Reissue: issue 2 next to issue 1, with the change sheet; issue 1 still untouched.
        second = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=date(2025, 5, 2), out_dir=out, reissue=True)
        assert (second.action, second.issue) == ("issued", 2) and second.cells_changed == len(
            con.execute("SELECT * FROM issued.changes WHERE issue = 2").fetchall())
        xlsx2 = out / "bieu_II06a_2025-Q1_issue2.xlsx"
        assert xlsx2.exists() and (out / "dashboard_2025-Q1_issue2.html").exists()
        assert {p: p.read_bytes() for p in (xlsx1, html1)} == frozen_bytes
        book = load_workbook(xlsx2)
        assert book.sheetnames[-1] == "Thay đổi"
        sheet = book["Thay đổi"]
        changes = [r for r in sheet.iter_rows(min_row=2, values_only=True) if isinstance(r[0], int)]
        assert len(changes) == second.cells_changed
        # A clerk's sheet: Vietnamese names of the unit and the column, values as in the form.
        assert (1, "Theo đơn vị", "Sở Thử Nghiệm (U1)", "Sở, ban, ngành cấp tỉnh", "Tổng số hồ sơ nhận giải quyết",
                u1_before, u1_before + 1, 1, "unit_period_stats: U1 · received_total") == changes[0]
        assert all("_" not in r[1] + r[4] for r in changes)  # no table or column codes shown
        cells = {r[8].rsplit(" · ", 1)[1]: sheet.cell(row=i, column=6)
                 for i, r in enumerate(sheet.iter_rows(values_only=True), start=1) if isinstance(r[0], int)}
        assert cells["received_total"].number_format == "#,##0" and cells["on_time_rate"].number_format == "0.00%"
        assert sheet.column_dimensions["I"].hidden  # the machine codes are kept, not printed
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_title_rows
        assert "THỦ TRƯỞNG ĐƠN VỊ" in [c for r in sheet.iter_rows(values_only=True) for c in r]
        assert "thay thế lần phát hành 1" in book.worksheets[0].cell(row=1, column=1).value
        assert con.execute("SELECT count(*) FROM mart.restatements").fetchone()[0] == 0
        assert issued_rows(con, "unit_period_stats", 1) == frozen_rows["unit_period_stats"]

        # Reissuing without any change is a no-op that says so.
        same = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=date(2025, 5, 3), out_dir=out, reissue=True)
        assert same.action == "unchanged" and same.issue == 2


def test_a_crash_half_way_leaves_no_half_issue(warehouse, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    real_copy = issue._copy_table
    copied: list[str] = []

    def crash_on_second_table(con, spec, period, meta):
        if copied:
            raise RuntimeError("disk full (injected)")
        copied.append(spec.table)
        return real_copy(con, spec, period, meta)

    monkeypatch.setattr(issue, "_copy_table", crash_on_second_table)
    with open_warehouse(warehouse) as con:
        with pytest.raises(RuntimeError, match="injected"):
            issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=out)
        assert copied == ["unit_period_stats"]  # the first table was written before the crash
        for table in ("issues", "unit_period_stats", "level_period_stats", "target_attainment"):
            assert con.execute(f"SELECT count(*) FROM issued.{table}").fetchone()[0] == 0, table
        assert not out.exists() or not list(out.iterdir())
        monkeypatch.setattr(issue, "_copy_table", real_copy)
        assert issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=out).issue == 1


def test_missing_files_of_an_issue_are_rebuilt_from_its_rows_never_overwritten(warehouse, tmp_path):
    out = tmp_path / "reports"
    with open_warehouse(warehouse) as con:
        issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=out)
        html1 = out / "dashboard_2025-Q1_issue1.html"
        html1.unlink()  # e.g. the process died after the commit, before the files
        again = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=out)
        assert again.action == "already_issued" and html1.exists()
    with pytest.raises(FileExistsError, match="never overwritten"):
        issue.write_once(html1, lambda tmp: tmp.write_text("x"))


def test_open_period_is_refused_and_drill_down_tables_are_issued_when_present(warehouse, tmp_path):
    with open_warehouse(warehouse) as con:
        with pytest.raises(issue.IssueRefused, match="2025-Q2 is open"):
            issue.issue_period(con, periods.parse_label("2025-Q2"), write_files=write_issue_files, as_of=date(2025, 6, 1), out_dir=tmp_path)
        # The drill-down marts (mart.procedure_period_stats …) are issued and compared with the rest.
        assert con.execute("SELECT count(*) FROM mart.procedure_period_stats WHERE period_label = '2025-Q1'").fetchone()[0]
        issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=tmp_path)
        assert con.execute(
            "SELECT count(*) FROM issued.procedure_period_stats WHERE period_label = '2025-Q1' AND issue = 1"
        ).fetchone()[0] == con.execute(
            "SELECT count(*) FROM mart.procedure_period_stats WHERE period_label = '2025-Q1'"
        ).fetchone()[0] > 0
        con.execute("UPDATE mart.procedure_period_stats SET received_total = received_total + 5 "
                    "WHERE period_label = '2025-Q1' AND unit_code = 'U1'")
        issue.refresh_restatements(con)
        assert con.execute(
            "SELECT row_key, column_name, difference FROM mart.restatements WHERE table_name = 'procedure_period_stats'"
        ).fetchall() == [("U1 / P1", "received_total", 5.0)]


def test_issued_on_its_due_day_the_period_is_final_everywhere(warehouse, tmp_path):
    """The report is due on the 20th: issuing that day works, and the issue makes the period
    final at once (status table, banners, summary), before the due day has passed."""
    due_day = date(2025, 3, 20)
    with open_warehouse(warehouse) as con:
        assert timeline.period_status(Q1, due_day) == "provisional"
        done = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=due_day, out_dir=tmp_path, now=datetime(2025, 3, 20, 16, 0))
        assert (done.action, done.issue, done.status) == ("issued", 1, "final")
        assert "report due 2025-03-20" in issue.issue_record(con, Q1).reason
        assert con.execute(
            "SELECT status, latest_issue FROM mart.period_status WHERE period_label = '2025-Q1'"
        ).fetchone() == ("final", 1)
        banner = issue.working_banner(con, Q1, due_day)
        assert banner.startswith("SỐ LIỆU ĐÃ CHỐT — số liệu hiện tại, KHÔNG phải bản chính thức") and "TẠM TÍNH" not in banner
        # Issued early (the day after the window closed): final too; the other quarters unchanged.
        q2 = periods.parse_label("2025-Q2")
        early = issue.issue_period(con, q2, write_files=write_issue_files, as_of=date(2025, 6, 15), out_dir=tmp_path, confirm_incomplete=True)
        assert early.status == "final"
        timeline.refresh_period_status(con, date(2025, 6, 15))
        assert dict(con.execute("SELECT period_label, status FROM mart.period_status WHERE period_grain = 'quarter'"
                                ).fetchall())["2025-Q2"] == "final"
        assert timeline.period_status(periods.parse_label("2025-Q3"), date(2025, 6, 15)) == "open"


def test_schedule_candidates_are_final_and_never_issued(warehouse, tmp_path):
    with open_warehouse(warehouse) as con:
        assert issue.periods_to_issue(con, PROVISIONAL_DAY) == []
        assert issue.periods_to_issue(con, date(2025, 3, 19)) == []
        assert [p.label for p in issue.periods_to_issue(con, date(2025, 3, 20))] == ["2025-Q1"]  # by its due day
        assert [p.label for p in issue.periods_to_issue(con, FINAL_DAY)] == ["2025-Q1"]  # not months, not 2025
        assert [p.label for p in issue.periods_to_issue(con, date(2025, 6, 21))] == ["2025-H1", "2025-Q1", "2025-Q2"]
        issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=tmp_path)
        assert "2025-Q1" not in [p.label for p in issue.periods_to_issue(con, FINAL_DAY)]


def test_a_quarters_year_to_date_targets_moving_is_no_reason_to_reissue(warehouse, tmp_path):
    """A quarter's issue froze the year's target figures; those judged as of later periods move
    by design while the year runs: not a restatement of the quarter, so no corrected issue. The
    rows judged as of the quarter itself (what its report shows) are compared."""
    with open_warehouse(warehouse) as con:
        issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=tmp_path)
        con.execute("UPDATE mart.target_attainment SET numerator = numerator + 1 "
                    "WHERE year = 2025 AND as_of_period <> '2025-Q1'")
        assert issue.refresh_restatements(con) == 0
        again = issue.issue_period(con, Q1, write_files=write_issue_files, as_of=FINAL_DAY, out_dir=tmp_path, reissue=True)
        assert (again.action, again.issue) == ("unchanged", 1) and "no cell moved" in again.message
        frozen = con.execute("SELECT sum(numerator) FROM issued.target_attainment WHERE issue = 1").fetchone()[0]
        assert frozen < con.execute("SELECT sum(numerator) FROM mart.target_attainment WHERE year = 2025").fetchone()[0]
        con.execute("UPDATE mart.target_attainment SET numerator = numerator + 1 "
                    "WHERE as_of_period = '2025-Q1' AND unit_code = 'U1' AND metric = 'online_payment_rate'")
        issue.refresh_restatements(con)
        assert con.execute("SELECT row_key, column_name, difference FROM mart.restatements").fetchall() == [
            ("2025-Q1 / U1 / online_payment_rate", "numerator", 1.0)]
