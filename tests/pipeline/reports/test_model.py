"""One report model per period: build_report reads, the renderers only render (they work on a
closed connection) and `report` reads a period once for both of its files."""

from __future__ import annotations

import duckdb
import pytest
from openpyxl import load_workbook

from app.cli import main
from pipeline import periods
from pipeline.reports import model
from pipeline.reports.dashboard import render_dashboard, save_dashboard
from pipeline.reports.xlsx import render_workbook, write_quarter_report
from pipeline.warehouse import connect

Q3 = periods.parse_label("2025-Q3")


def _cells(path) -> dict[str, list[tuple]]:
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in load_workbook(path).worksheets}


def test_renderers_do_not_query(new_warehouse, tmp_path):
    con = connect(new_warehouse, read_only=True)
    report = model.build_report(con, Q3, banner="SỐ LIỆU TẠM TÍNH")
    con.close()
    with pytest.raises(duckdb.Error):  # the connection is really gone: any query would fail
        con.execute("SELECT 1")
    book = render_workbook(report, tmp_path / "b.xlsx")
    page = save_dashboard(report, tmp_path / "d.html")
    assert book.unit_rows > 0 and page.units > 0
    html, data = render_dashboard(report)
    assert "SỐ LIỆU TẠM TÍNH" in html and data["period"]["label"] == "2025-Q3"
    # The model-rendered workbook is the one the connection-taking entry point writes.
    con = connect(new_warehouse, read_only=True)
    try:
        wrapped = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "w.xlsx", banner="SỐ LIỆU TẠM TÍNH")
    finally:
        con.close()
    assert _cells(book.path) == _cells(wrapped.path)


def test_report_command_reads_each_period_once(new_warehouse, tmp_path, monkeypatch):
    calls: dict[str, int] = {"build_report": 0, "target_verdicts": 0, "read_index": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(model, "build_report", counted("build_report", model.build_report))
    monkeypatch.setattr(model, "target_verdicts", counted("target_verdicts", model.target_verdicts))
    monkeypatch.setattr(model, "read_index", counted("read_index", model.read_index))
    assert main(["report", "--period", "2025-Q3", "--warehouse", str(new_warehouse), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bieu_II06a_2025-Q3.xlsx", "dashboard_2025-Q3.html"]
    # One model for both files; the verdicts and the index (shown by both) are read once.
    assert calls == {"build_report": 1, "target_verdicts": 1, "read_index": 1}


def test_summary_reads_its_period_from_the_model(new_warehouse, monkeypatch, capsys):
    from pipeline.reports import summary

    reads = {"model": 0, "direct": 0}

    def counted(key, real):
        def wrapper(*args, **kwargs):
            reads[key] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(model, "target_verdicts", counted("model", model.target_verdicts))
    monkeypatch.setattr(summary, "target_verdicts", counted("direct", summary.target_verdicts))
    summary.print_summary(new_warehouse, "2025-Q3")
    out = capsys.readouterr().out
    assert reads == {"model": 1, "direct": 0} and "Targets 2025 judged for 2025-Q3" in out
    # A period without any case has no model: the summary reads it directly and says so.
    summary.print_summary(new_warehouse, "2023-Q1")
    out = capsys.readouterr().out
    assert reads == {"model": 1, "direct": 1} and "Targets 2023 judged for 2023-Q1" in out
