"""The files of an official issue: its workbook (with the «Thay đổi» sheet for a corrected
issue) and its dashboard, rendered from the issued rows only (cycle.issue.issue_scratch) and
written once, read-only (cycle.issue.write_once). cycle.issue.issue_period receives
write_issue_files as its file writer: the cycle never reaches up into the reports."""

from __future__ import annotations

from pathlib import Path

import duckdb
from openpyxl.workbook import Workbook

from pipeline import periods
from pipeline.cycle import timeline
from pipeline.cycle.issue import change_rows, issue_record, issue_scratch, write_once
from pipeline.reports.changes_sheet import add_changes_sheet
from pipeline.reports.dashboard import save_dashboard
from pipeline.reports.model import build_report
from pipeline.reports.xlsx import render_workbook


def write_issue_files(con: duckdb.DuckDBPyConnection, period: periods.Period, issue: int, out_dir: Path) -> list[Path]:
    """Write the issue's workbook and dashboard if missing (never replaced); returns both paths.
    Both are rendered from one report model of the issue's scratch database."""
    record = issue_record(con, period, issue)
    banner = timeline.official_banner(period, issue, record.issued_at, record.data_as_of, record.content_hash)
    xlsx_path, html_path = out_dir / record.xlsx_file, out_dir / record.dashboard_file
    if xlsx_path.exists() and html_path.exists():
        return [xlsx_path, html_path]
    changes = change_rows(con, period, issue) if issue > 1 else None
    scratch = issue_scratch(con, period, issue)
    try:
        report = build_report(scratch, period, banner=banner)
        if not xlsx_path.exists():
            def extra(wb: Workbook) -> None:
                if changes is not None:
                    previous = issue_record(con, period, issue - 1)
                    add_changes_sheet(wb, scratch, period, issue, previous.issued_at if previous else None, changes)

            write_once(xlsx_path, lambda tmp: render_workbook(report, tmp, extra=extra))
        if not html_path.exists():
            write_once(html_path, lambda tmp: save_dashboard(report, tmp))
    finally:
        scratch.close()
    return [xlsx_path, html_path]
