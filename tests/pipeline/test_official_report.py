"""The Biểu II.06a workbook: opens with openpyxl, Vietnamese headers of the form, and every
number equal to the mart's (units, level subtotals, province total, rates, targets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.cli import main
from pipeline.official_report import write_quarter_report
from pipeline.warehouse import connect
from tests.report_data import build_demo_warehouse, build_fixture_warehouse

# The form's columns (3)..(13) in the mart's terms; "in person and postal" is the sum of two.
FORM = (
    ("received_total",), ("new_online",), ("new_in_person", "new_postal"), ("carried_over",),
    ("resolved_total",), ("resolved_early",), ("resolved_on_time",), ("resolved_late",),
    ("in_progress_total",), ("in_progress_within",), ("in_progress_overdue",),
)
RATES = ("on_time_rate", "online_rate", "full_process_online_rate", "online_payment_rate",
         "digitised_components_rate", "electronic_result_rate", "satisfaction_rate")


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory) -> Path:
    return build_demo_warehouse(tmp_path_factory.mktemp("report-demo") / "w.duckdb")


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory) -> Path:
    return build_fixture_warehouse(tmp_path_factory.mktemp("report-fixtures") / "w.duckdb")


def _expected_form(con, table: str, key: str, grain: str, label: str) -> dict[str, list[int]]:
    columns = sorted({c for group in FORM for c in group})
    cur = con.execute(
        f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE period_grain = ? AND period_label = ?",
        [grain, label],
    )
    out = {}
    for row in cur.fetchall():
        values = dict(zip(columns, row[1:], strict=True))
        out[row[0]] = [sum(values[c] for c in group) for group in FORM]
    return out


def _header_row(ws) -> int:
    for row in range(1, 20):
        if ws.cell(row=row, column=1).value == "STT":
            return row
    raise AssertionError("no STT header")


CASES = [
    ("demo", "quarter", "2025-Q1"),
    ("demo", "quarter", "2025-Q3"),  # after the 1/7/2025 reorganisation
    ("demo", "month", "2025-08"),
    ("demo", "cal_quarter", "cal-2025-Q2"),
    ("demo", "year", "2025"),
    ("fixtures", "quarter", "2025-Q1"),  # unknown units, a unit without a name
]


@pytest.fixture
def warehouses(demo_warehouse, fixture_warehouse):
    return {"demo": demo_warehouse, "fixtures": fixture_warehouse}


@pytest.mark.parametrize(("source", "grain", "label"), CASES)
def test_form_numbers_equal_the_marts(warehouses, tmp_path, source, grain, label):
    con = connect(warehouses[source], read_only=True)
    try:
        result = write_quarter_report(con, grain, label, tmp_path / f"bieu_{label}.xlsx")
        units = _expected_form(con, "mart.unit_period_stats", "unit_code", grain, label)
        levels = _expected_form(con, "mart.level_period_stats", "unit_level", grain, label)
        unit_levels = dict(con.execute(
            "SELECT unit_code, unit_level FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ?",
            [grain, label]).fetchall())
        start, end = con.execute(
            "SELECT min(period_start), max(period_end) FROM mart.level_period_stats "
            "WHERE period_grain = ? AND period_label = ?", [grain, label]).fetchone()
    finally:
        con.close()
    assert units and levels and result.unit_rows == len(units)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"bieu_{label}.xlsx"]  # no temp file left

    wb = load_workbook(result.path)
    assert wb.sheetnames == ["Biểu II.06a", "Tỷ lệ", "Chỉ tiêu"]
    ws = wb["Biểu II.06a"]
    assert ws["A1"].value == "Biểu số II.06a/VPCP/KSTT"
    assert ws["A2"].value == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
    assert f"từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}" in ws["A3"].value
    h = _header_row(ws)
    header = {(r - h, c): ws.cell(row=r, column=c).value for r in range(h, h + 3) for c in range(1, 15)}
    assert (header[0, 1], header[0, 2], header[0, 3], header[0, 7]) == (
        "STT", "Đơn vị", "Số hồ sơ nhận giải quyết", "Kết quả giải quyết")
    assert (header[1, 3], header[1, 4], header[1, 6], header[1, 7], header[1, 11]) == (
        "Tổng số", "Trong kỳ", "Từ kỳ trước chuyển qua", "Số hồ sơ đã giải quyết", "Số hồ sơ đang giải quyết")
    assert [header[2, c] for c in range(4, 6)] == ["Trực tuyến", "Trực tiếp và dịch vụ bưu chính công ích"]
    assert [header[2, c] for c in range(7, 14)] == [
        "Tổng số", "Trước hạn", "Đúng hạn", "Quá hạn", "Tổng số", "Trong hạn", "Quá hạn"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {f"A{h}:A{h + 2}", f"B{h}:B{h + 2}", f"C{h}:F{h}", f"G{h}:M{h}", f"C{h + 1}:C{h + 2}",
            f"D{h + 1}:E{h + 1}", f"F{h + 1}:F{h + 2}", f"G{h + 1}:J{h + 1}", f"K{h + 1}:M{h + 1}"} <= merged
    assert [ws.cell(row=h + 3, column=c).value for c in range(1, 14)] == [f"({i})" for i in range(1, 14)]
    assert ws.freeze_panes == f"C{h + 4}"

    seen_units, seen_levels, level = {}, {}, None
    row = h + 4
    while (code := ws.cell(row=row, column=14).value) is not None:
        numbers = [ws.cell(row=row, column=c).value for c in range(3, 14)]
        assert all(type(v) is int for v in numbers), (row, numbers)  # numbers, not strings
        if code in levels:
            seen_levels[code] = numbers
            level = code
        else:
            assert code not in seen_units
            assert unit_levels[code] == level  # listed under its level's subtotal row
            seen_units[code] = numbers
        row += 1
    assert seen_units == units
    assert seen_levels == levels  # every level subtotal and the province total
    assert ws.cell(row=row - 1, column=2).value == "Tổng cộng toàn tỉnh"
    assert ws.cell(row=row - 1, column=14).value == "province_total"
    total = seen_levels["province_total"]
    assert total[0] == total[1] + total[2] + total[3] == total[4] + total[8]


def test_rates_sheet_equals_the_marts(demo_warehouse, tmp_path):
    con = connect(demo_warehouse, read_only=True)
    cols = ", ".join(f"{r}, {r}_numerator, {r}_denominator" for r in RATES)
    try:
        path = write_quarter_report(con, "quarter", "2025-Q2", tmp_path / "b.xlsx").path
        expected = {
            row[0]: list(row[1:]) for table, key in (("mart.unit_period_stats", "unit_code"),
                                                     ("mart.level_period_stats", "unit_level"))
            for row in con.execute(
                f"SELECT {key}, {cols} FROM {table} WHERE period_grain = 'quarter' AND period_label = '2025-Q2'"
            ).fetchall()
        }
    finally:
        con.close()
    ws = load_workbook(path)["Tỷ lệ"]
    h = _header_row(ws)
    assert [ws.cell(row=h, column=3 + 3 * i).value for i in range(len(RATES))] == [
        "Tỷ lệ giải quyết trước hạn, đúng hạn", "Tỷ lệ hồ sơ trực tuyến", "Tỷ lệ hồ sơ trực tuyến toàn trình",
        "Tỷ lệ thanh toán trực tuyến qua Cổng DVCQG", "Tỷ lệ số hóa thành phần hồ sơ",
        "Tỷ lệ số hóa kết quả giải quyết", "Tỷ lệ hài lòng"]
    assert [ws.cell(row=h + 1, column=c).value for c in (3, 4, 5)] == ["Tỷ lệ", "Tử số", "Mẫu số"]
    last = 3 + 3 * len(RATES)
    found = {}
    row = h + 2
    while (code := ws.cell(row=row, column=last).value) is not None:
        found[code] = [ws.cell(row=row, column=c).value for c in range(3, last)]
        assert ws.cell(row=row, column=3).number_format == "0.00%"
        row += 1
    # Counts exactly; rates to the 16 significant digits openpyxl writes (Excel keeps 15).
    assert found.keys() == expected.keys()
    for code, values in found.items():
        assert values == [v if v is None else pytest.approx(v, rel=1e-15) for v in expected[code]], code
    assert all(type(v) is int for values in found.values() for i, v in enumerate(values) if i % 3)
    assert any(v is None for values in found.values() for v in values[::3])  # NULL rates stay empty


def test_targets_sheet_equals_target_attainment(demo_warehouse, tmp_path):
    con = connect(demo_warehouse, read_only=True)
    try:
        path = write_quarter_report(con, "month", "2025-05", tmp_path / "b.xlsx").path
        expected = {
            (code, metric): [actual, num, den, target, gap, rank, of]
            for code, metric, actual, num, den, target, gap, rank, of in con.execute(
                "SELECT unit_code, metric, actual, numerator, denominator, target, gap, rank_in_level, "
                "units_in_level FROM mart.target_attainment WHERE year = 2025 AND as_of_period = '2025'"
            ).fetchall()
        }
        met = dict(((c, m), v) for c, m, v in con.execute(
            "SELECT unit_code, metric, met FROM mart.target_attainment WHERE year = 2025 AND as_of_period = '2025'").fetchall())
    finally:
        con.close()
    ws = load_workbook(path)["Chỉ tiêu"]
    h = _header_row(ws)
    assert [ws.cell(row=h, column=c).value for c in range(1, 14)] == [
        "STT", "Đơn vị", "Cấp", "Chỉ tiêu", "Thực hiện", "Tử số", "Mẫu số", "Kế hoạch", "Chênh lệch",
        "Đánh giá", "Xếp hạng trong cấp", "Số đơn vị xếp hạng", "Mã đơn vị"]
    metrics = {"Tỷ lệ hồ sơ trực tuyến toàn trình": "full_process_online_rate",
               "Tỷ lệ thanh toán trực tuyến qua Cổng DVCQG": "online_payment_rate"}
    verdict = {True: "Đạt", False: "Chưa đạt", None: "Chưa có số liệu"}
    found = {}
    for row in range(h + 1, h + 1 + len(expected)):
        key = (ws.cell(row=row, column=13).value, metrics[ws.cell(row=row, column=4).value])
        found[key] = [ws.cell(row=row, column=c).value for c in (5, 6, 7, 8, 9, 11, 12)]
        assert ws.cell(row=row, column=10).value == verdict[met[key]]
    assert expected and found.keys() == expected.keys()
    for key, values in found.items():
        assert values == [v if v is None else pytest.approx(v, rel=1e-15) for v in expected[key]], key


def test_report_command_writes_both_files(demo_warehouse, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert main(["report", "--period", "cal-2025-03", "--warehouse", str(demo_warehouse), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bieu_II06a_cal-2025-03.xlsx", "dashboard_cal-2025-03.html"]
    assert str(out / "bieu_II06a_cal-2025-03.xlsx") in capsys.readouterr().out
    monkeypatch.setenv("DVC_REPORTS_DIR", str(tmp_path / "env"))
    assert main(["report", "--period", "2025-H1", "--grain", "half", "--warehouse", str(demo_warehouse)]) == 0
    assert sorted(p.name for p in (tmp_path / "env").iterdir()) == ["bieu_II06a_2025-H1.xlsx", "dashboard_2025-H1.html"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--period", "2025-Q5"], 2, "error: not a period label: '2025-Q5'"),
    (["--period", "2025-03", "--grain", "quarter"], 2, "error: period '2025-03' is a month label, not a quarter one"),
    (["--period", "2031-Q1"], 1, "has no mart rows for quarter 2031-Q1"),
])
def test_report_command_errors_are_one_line(demo_warehouse, tmp_path, capsys, args, code, message):
    assert main(["report", *args, "--warehouse", str(demo_warehouse), "--out", str(tmp_path)]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not list(tmp_path.iterdir())


def test_report_command_missing_warehouse(tmp_path, capsys):
    assert main(["report", "--period", "2025-Q1", "--warehouse", str(tmp_path / "nope.duckdb")]) == 2
    assert capsys.readouterr().err.startswith("error: warehouse ")
