"""Restatements on real-shaped data (docs/definitions.md §6): rows matched on their FULL key, counts
exactly and rates beyond 1e-9, so recomputing unchanged data restates nothing, and late data
restates exactly the cells it changed. The data has two provinces (Quảng Trị, and Quảng Bình
until its merger on 1/7/2025) and unit codes missing from the reference lists: the case where
matching the roll-ups on their level alone reported every issue as moved."""

from __future__ import annotations

import io
import json
import math
import shutil
from contextlib import redirect_stdout
from datetime import date, datetime
from pathlib import Path

import pytest

from pipeline import marts, periods
from pipeline.cycle import issue
from pipeline.db import table_columns
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.reports import summary
from pipeline.reports.issue_files import write_issue_files
from pipeline.warehouse import open_warehouse

Q2, Q3 = periods.parse_label("2025-Q2"), periods.parse_label("2025-Q3")
OTHER_PROVINCE, MAIN_PROVINCE = "000.00.00.H44", "000.00.00.H48"
# A district of Quảng Bình (the second province) and a code missing from seeds/units.csv.
DISTRICT_B, UNKNOWN = "000.00.41.H44", "000.00.99.H48"
# Two cases of 2025-Q2 that reach the portal long after its issue, both ended within Q2 (so
# nothing carries over into Q3): one resolved late, one resolved early at an unknown code.
LATE_VERSIONS = [
    {"MaDonVi": DISTRICT_B, "DonViXuLy": "Thành phố Đồng Hới", "MaTTHC": "1.001193", "MaHoSo": "LATE-Q2-1",
     "NgayCapNhat": "20251001080000", "TrangThaiHoSo": "10", "KenhThucHien": "2", "MucDo": "4",
     "NgayTiepNhan": "20250505080000", "NgayHenTra": "20250512170000", "NgayKetThucXuLy": "20250520090000"},
    {"MaDonVi": UNKNOWN, "DonViXuLy": "Ban Quản lý dự án", "MaTTHC": "1.001193", "MaHoSo": "LATE-Q2-2",
     "NgayCapNhat": "20251001080000", "TrangThaiHoSo": "10", "KenhThucHien": "1", "MucDo": "2",
     "NgayTiepNhan": "20250401080000", "NgayHenTra": "20250410170000", "NgayKetThucXuLy": "20250403090000"},
]


@pytest.fixture
def warehouse(two_province_warehouse, tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(two_province_warehouse, path)
    return path


def issue_both(con, out: Path) -> None:
    for period, day in ((Q2, date(2025, 6, 21)), (Q3, date(2025, 9, 21))):
        done = issue.issue_period(con, period, write_files=write_issue_files, as_of=day, out_dir=out, now=datetime(day.year, day.month, day.day, 9))
        assert done.action == "issued"


def mart_cells(con, period: periods.Period) -> dict[tuple, float | None]:
    """Every compared cell of the period's mart rows, by (table, full key, column): the oracle."""
    cells = {}
    for spec in issue.present_tables(con):
        columns = table_columns(con, spec.source)
        values = issue._value_columns(columns, spec.keys)
        names = [c for c, _, _ in columns]
        if "period_label" in names:
            where, params = "period_grain = ? AND period_label = ?", [period.grain, period.label]
        else:  # targets: the rows judged as of the period (its report's year to date)
            where, params = "as_of_period = ?", [period.label]
        select = ", ".join(f'"{c}"' for c in (*spec.keys, *values))
        rows = con.execute(f"SELECT {select} FROM {spec.source} WHERE {where}", params).fetchall()
        keys = [r[:len(spec.keys)] for r in rows]
        assert len(set(keys)) == len(keys), f"{spec.source}: {spec.keys} is not the row's full key"
        for row in rows:
            for column, value in zip(values, row[len(spec.keys):], strict=True):
                cells[(spec.table, row[:len(spec.keys)], column)] = None if value is None else float(value)
    return cells


def really_changed(before: dict, after: dict) -> set[tuple]:
    def differs(a, b):
        if a is None or b is None:
            return (a is None) != (b is None)
        return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)

    return {k for k in before.keys() | after.keys() if differs(before.get(k), after.get(k))}


def restated(con, period: periods.Period) -> set[tuple]:
    specs = {s.table: s for s in issue.ISSUED_TABLES}
    out = set()
    for table, row_key, column in con.execute(
        "SELECT table_name, row_key, column_name FROM mart.restatements WHERE period_label = ?", [period.label]
    ).fetchall():
        key = tuple(None if part == "—" and k == "province_code" else part
                    for k, part in zip(specs[table].keys, row_key.split(" / "), strict=True))
        out.add((table, key, column))
    return out


def summary_text(con, path: Path) -> str:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        summary.print_summary(path, "2025-Q2", con=con)
    return buffer.getvalue()


def test_recomputing_unchanged_data_restates_nothing(warehouse, tmp_path):
    with open_warehouse(warehouse) as con:
        levels = con.execute("SELECT DISTINCT province_code FROM mart.level_period_stats "
                             "WHERE period_label = '2025-Q2'").fetchall()
        assert {p for (p,) in levels} == {MAIN_PROVINCE, OTHER_PROVINCE, None}  # the case that broke it
        issue_both(con, tmp_path / "reports")
        assert issue.refresh_restatements(con) == 0
        marts.refresh_all(con)  # `run` recomputing every window from the same data
        assert issue.refresh_restatements(con) == 0
        marts.refresh(con, periods.windows_of_quarters([Q2], 15))  # `backfill --quarters 2025-Q2`
        assert issue.refresh_restatements(con) == 0
        assert issue.moved_periods(con) == []
        banner = issue.working_banner(con, Q2, date(2025, 10, 2))
        assert "không khác bản chính thức" in banner and "kỳ đã phát hành khác" not in banner
        assert "no issued period has moved since its issue" in summary_text(con, warehouse)
        again = issue.issue_period(con, Q2, write_files=write_issue_files, as_of=date(2025, 10, 2), out_dir=tmp_path / "reports", reissue=True)
        assert again.action == "unchanged"


def test_late_data_restates_exactly_the_cells_that_changed_on_their_full_key(warehouse, tmp_path):
    late = tmp_path / "late.jsonl"
    late.write_text("".join(json.dumps(v) + "\n" for v in LATE_VERSIONS), encoding="utf-8")
    with open_warehouse(warehouse) as con:
        issue_both(con, tmp_path / "reports")
        before = mart_cells(con, Q2)
        land_file(con, late)
        merge_pending_batches(con)
        marts.refresh_all(con)
        issue.refresh_restatements(con)
        expected = really_changed(before, mart_cells(con, Q2))
        got = restated(con, Q2)
        assert got == expected and got
        # Each on its own row: the two units, and only the roll-ups they belong to.
        assert {k for t, k, _ in got if t == "unit_period_stats"} == {(DISTRICT_B,), (UNKNOWN,)}
        assert {k for t, k, _ in got if t == "level_period_stats"} == {
            (OTHER_PROVINCE, "district"), (OTHER_PROVINCE, "province_total"), (None, "unknown"), (None, "province_total")}
        counts = dict(((t, k, c), d) for t, k, c, d in con.execute(
            "SELECT table_name, row_key, column_name, difference FROM mart.restatements WHERE period_label = '2025-Q2'"
        ).fetchall())
        assert counts[("level_period_stats", f"{OTHER_PROVINCE} / province_total", "resolved_late")] == 1
        assert counts[("level_period_stats", "— / province_total", "resolved_early")] == 1
        assert counts[("unit_period_stats", DISTRICT_B, "received_total")] == 1
        assert ("late_cases", ("LATE-Q2-1",), "days_late") in got
        # Quảng Trị's rows and the next quarter (nothing carried over) did not move.
        assert not any(k[0] == MAIN_PROVINCE for t, k, _ in got if t == "level_period_stats")
        assert [(m.period_label, m.cells) for m in issue.moved_periods(con)] == [("2025-Q2", len(got))]
        assert "1 issued period(s) moved since their issue: 2025-Q2" in summary_text(con, warehouse)
        second = issue.issue_period(con, Q2, write_files=write_issue_files, as_of=date(2025, 10, 2), out_dir=tmp_path / "reports", reissue=True)
        assert (second.issue, second.cells_changed) == (2, len(got))
        assert issue.refresh_restatements(con) == 0
