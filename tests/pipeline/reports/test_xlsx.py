"""The Biểu II.06a workbook: opens with openpyxl, Vietnamese headers of the form, and every
number equal to the mart's (units, level subtotals, province total, rates, targets)."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from app.cli import main
from pipeline.reports.data import NoReportData, report_province, resolve_period
from pipeline.reports.xlsx import write_quarter_report
from pipeline.warehouse import connect
from tests.report_data import build_fixture_warehouse

# The form's columns (3)..(13) in the mart's terms; "in person and postal" is the sum of two.
FORM = (
    ("received_total",), ("new_online",), ("new_in_person", "new_postal"), ("carried_over",),
    ("resolved_total",), ("resolved_early",), ("resolved_on_time",), ("resolved_late",),
    ("in_progress_total",), ("in_progress_within",), ("in_progress_overdue",),
)
RATES = ("on_time_rate", "online_rate", "full_process_online_rate", "online_payment_rate",
         "digitised_components_rate", "electronic_result_rate", "satisfaction_rate")


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory) -> Path:
    return build_fixture_warehouse(tmp_path_factory.mktemp("report-fixtures") / "w.duckdb")


def _expected_form(con, table: str, key: str, grain: str, label: str) -> dict[str, list[int]]:
    """The form's numbers per key from a mart (the report's province only, when per province)."""
    from pipeline.reports.data import province_clause, report_province, resolve_period

    columns = sorted({c for group in FORM for c in group})
    where, params = ("", []) if table.startswith("(") else province_clause(
        con, table, report_province(con, resolve_period(grain, label)))
    cur = con.execute(
        f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE period_grain = ? AND period_label = ?{where}",
        [grain, label, *params],
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
    # With the field mart the form is by field and the by-unit table is the annex (tested below).
    assert wb.sheetnames == ["Biểu II.06a", "Phụ lục đơn vị", "Tỷ lệ", "Chỉ tiêu", "Chỉ số 766"]
    ws = wb["Phụ lục đơn vị"]
    assert ws["A1"].value == "Biểu số II.06a/VPCP/KSTT — Phụ lục"
    assert ws["A2"].value == "PHỤ LỤC: TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC THEO TỪNG CƠ QUAN, ĐƠN VỊ"
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
        # Two provinces are in force on 14/6/2025 (the merger is on 1/7): the report shows one.
        province = report_province(con, resolve_period("quarter", "2025-Q2"))
        expected = {
            row[0]: list(row[1:]) for table, key in (("mart.unit_period_stats", "unit_code"),
                                                     ("mart.level_period_stats", "unit_level"))
            for row in con.execute(
                f"SELECT {key}, {cols} FROM {table} WHERE period_grain = 'quarter' AND period_label = '2025-Q2' "
                "AND province_code IS NOT DISTINCT FROM ?", [province]
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


TARGET_HEADERS = [
    "STT", "Đơn vị", "Cấp", "Chỉ tiêu", "Thực hiện (lũy kế)", "Tử số", "Mẫu số", "Kế hoạch",
    "Chênh lệch (điểm %)", "Đánh giá", "Xếp hạng trong cấp", "Số đơn vị xếp hạng", "Mã đơn vị"]
METRIC_TITLES = {"Tỷ lệ hồ sơ trực tuyến toàn trình": "full_process_online_rate",
                 "Tỷ lệ thanh toán trực tuyến qua Cổng DVCQG": "online_payment_rate"}


def _target_sheet_rows(ws) -> dict[tuple[str, str], dict]:
    h = _header_row(ws)
    assert [ws.cell(row=h, column=c).value for c in range(1, 14)] == TARGET_HEADERS
    found = {}
    row = h + 1
    while (code := ws.cell(row=row, column=13).value) is not None:
        key = (code, METRIC_TITLES[ws.cell(row=row, column=4).value])
        found[key] = {"values": [ws.cell(row=row, column=c).value for c in (5, 6, 7, 8, 9, 11, 12)],
                      "verdict": ws.cell(row=row, column=10).value, "name": ws.cell(row=row, column=2).value,
                      "window": ws.cell(row=row, column=14).value}
        row += 1
    return found


VERDICT_WORDS = {True: "Đạt", False: "Chưa đạt", None: "Chưa có số liệu"}


def test_targets_sheet_of_the_year_is_the_yearly_verdict(legacy_warehouse, tmp_path):
    # Today's marts (one row per year): the year's report shows it, gap in points.
    con = connect(legacy_warehouse, read_only=True)
    try:
        path = write_quarter_report(con, "year", "2025", tmp_path / "b.xlsx").path
        expected = {
            (code, metric): ([actual, num, den, target, None if gap is None or not target else 100 * gap,
                              rank if target else None, of if target and rank else None],
                             VERDICT_WORDS[met] if target else "Không áp dụng")
            for code, metric, actual, num, den, target, gap, met, rank, of in con.execute(
                "SELECT unit_code, metric, actual, numerator, denominator, target, gap, met, rank_in_level, "
                "units_in_level FROM mart.target_attainment WHERE year = 2025"
            ).fetchall()
        }
    finally:
        con.close()
    found = _target_sheet_rows(load_workbook(path)["Chỉ tiêu"])
    assert expected and found.keys() == expected.keys()
    for key, got in found.items():
        values, verdict = expected[key]
        assert got["values"] == [v if v is None else pytest.approx(v, rel=1e-12) for v in values], key
        assert got["verdict"] == verdict, key


def test_targets_sheet_never_uses_data_after_the_period(legacy_warehouse, tmp_path):
    # Without year-to-date rows, a month's report cannot judge the yearly targets: it says
    # so instead of printing the year's verdict built on later data (the Q1-has-December bug).
    con = connect(legacy_warehouse, read_only=True)
    try:
        path = write_quarter_report(con, "month", "2025-05", tmp_path / "b.xlsx").path
    finally:
        con.close()
    ws = load_workbook(path)["Chỉ tiêu"]
    assert _target_sheet_rows(ws) == {}
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("không dùng số liệu sau kỳ báo cáo" in t for t in texts)
    assert any("Không có chỉ tiêu được đánh giá cho Tháng 5 năm 2025" in t for t in texts)


def test_targets_sheet_judges_the_year_to_date(new_warehouse, tmp_path):
    con = connect(new_warehouse, read_only=True)
    try:
        path = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "b.xlsx").path
        rows = con.execute(
            "SELECT unit_code, metric, actual, numerator, denominator, target, gap, met, rank_in_level, "
            "units_in_level, applicable, partial_window, window_end FROM mart.target_attainment "
            "WHERE year = 2025 AND as_of_period = '2025-Q3'").fetchall()
    finally:
        con.close()
    found = _target_sheet_rows(load_workbook(path)["Chỉ tiêu"])
    assert rows and found.keys() == {(r[0], r[1]) for r in rows}
    for code, metric, actual, num, den, target, gap, met, rank, of, applicable, partial, end in rows:
        got = found[code, metric]
        want = [actual, num, den, target, None if gap is None else 100 * gap, rank, of if rank else None]
        assert got["values"] == [v if v is None else pytest.approx(v, rel=1e-12) for v in want], code
        assert got["verdict"] == (VERDICT_WORDS[met] if applicable else "Không áp dụng")
        assert got["window"].endswith(f"{end:%d/%m/%Y}")
        assert ("(đã hợp nhất vào " in got["name"] or "(đã giải thể từ " in got["name"]) == partial
    assert {g["verdict"] for g in found.values()} >= {"Đạt", "Chưa đạt", "Không áp dụng"}


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


# ---------------------------------------------------------------------------------------
# The submittable form: official layout, header and signature blocks, Vietnamese only
# ---------------------------------------------------------------------------------------
PROVINCE = "000.00.00.H48"
LEVEL_GROUPS = {"Cấp tỉnh": ("province", "province_department"), "Cấp huyện": ("district",),
                "Cấp xã": ("commune",), "Đơn vị chưa có trong danh mục": ("unknown",)}
INTERNAL = re.compile(r"province_department|province_total|\bunknown\b|\bcommune\b|\bdistrict\b|mart\.|core\.|"
                      r"raw\.|METRICS|seeds/|\.csv|_rate\b|[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.H[0-9]{2}")


def _texts(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def _form_rows(ws) -> list[tuple[str, str, list[int]]]:
    """(hidden code, label, numbers) of the body rows of a form sheet."""
    h = _header_row(ws)
    out, row = [], h + 4
    while (code := ws.cell(row=row, column=14).value) is not None:
        out.append((code, ws.cell(row=row, column=2).value, [ws.cell(row=row, column=c).value for c in range(3, 14)]))
        row += 1
    return out


def test_official_layout_by_field_and_level(new_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_REPORT_RECIPIENT", "Văn phòng Chính phủ")
    con = connect(new_warehouse, read_only=True)
    try:
        result = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "b.xlsx")
        levels = _expected_form(con, f"(SELECT * FROM mart.level_period_stats WHERE province_code = '{PROVINCE}')",
                                "unit_level", "quarter", "2025-Q3")
        columns = sorted({c for group in FORM for c in group})
        fields: dict[tuple[str, str], list[int]] = {}
        for level, code, *values in con.execute(
            f"""SELECT u.unit_level, f.field_code, {', '.join(f'sum(f.{c})' for c in columns)}
                FROM mart.field_period_stats f JOIN mart.unit_period_stats u USING (period_grain, period_label, unit_code)
                WHERE f.period_grain = 'quarter' AND f.period_label = '2025-Q3' AND u.province_code = ?
                GROUP BY ALL""", [PROVINCE]).fetchall():
            group = next(g for g, members in LEVEL_GROUPS.items() if level in members)
            named = dict(zip(columns, values, strict=True))
            numbers = [sum(named[c] for c in grp) for grp in FORM]
            old = fields.get((group, code), [0] * len(FORM))
            fields[group, code] = [a + b for a, b in zip(old, numbers, strict=True)]
    finally:
        con.close()
    assert result.layout == "field"
    wb = load_workbook(result.path)
    assert wb.sheetnames == ["Biểu II.06a", "Phụ lục đơn vị", "Tỷ lệ", "Chỉ tiêu", "Chỉ số 766"]
    ws = wb["Biểu II.06a"]
    # Header block: form code, title, period, reporting unit, receiving office, date.
    assert ws["A1"].value == "Biểu số II.06a/VPCP/KSTT"
    assert ws["A2"].value.startswith("TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC")
    assert ws["A3"].value == "Kỳ báo cáo: Quý III năm 2025 (từ ngày 15/06/2025 đến ngày 14/09/2025)"
    texts = _texts(ws)
    assert "Đơn vị báo cáo: UBND tỉnh Quảng Trị" in texts
    assert "Đơn vị nhận báo cáo: Văn phòng Chính phủ" in texts
    assert any(re.fullmatch(r"Ngày lập báo cáo: [0-9]{2}/[0-9]{2}/[0-9]{4}", t) for t in texts)
    h = _header_row(ws)
    assert ws.cell(row=h, column=2).value == "Lĩnh vực, công việc giải quyết theo cấp"

    body = _form_rows(ws)
    groups: dict[str, list[int]] = {}
    seen_fields: dict[tuple[str, str], list[int]] = {}
    group = None
    for code, label, numbers in body[:-1]:
        assert all(type(v) is int for v in numbers)
        if ":" not in code:
            group = label
            groups[label] = numbers
        else:
            seen_fields[group, code.split(":", 1)[1]] = numbers
    # The levels with units in force on 14/9/2025 (districts ended on 30/6: no "Cấp huyện").
    assert list(groups) == [g for g, members in LEVEL_GROUPS.items() if any(lv in levels for lv in members)]
    assert {"Cấp tỉnh", "Cấp xã"} <= set(groups)
    for name, numbers in groups.items():  # each level's subtotal = the level mart's rows
        want = [sum(levels[lv][i] for lv in LEVEL_GROUPS[name] if lv in levels) for i in range(len(FORM))]
        assert numbers == want, name
        members = [v for (g, _), v in seen_fields.items() if g == name]  # = its field rows
        assert [sum(col) for col in zip(*members, strict=True)] == numbers, name
    assert seen_fields == {k: v for k, v in fields.items()}
    assert body[-1][:2] == ("province_total", "Tổng cộng toàn tỉnh")
    assert body[-1][2] == levels["province_total"]  # this province only, not the other one
    # Signature block under the table.
    assert any(re.fullmatch(r"Quảng Trị, ngày …… tháng …… năm ……", t) for t in texts)
    assert {"NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)"} <= set(texts)
    # Print: landscape A4, one page wide, header rows repeated, page numbers and date in the footer.
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == f"${h}:${h + 3}"
    assert ws.oddFooter.center.text == "Trang &P/&N" and ws.oddFooter.left.text.startswith("Lập ngày ")
    assert ws.column_dimensions["N"].hidden


def test_annex_equals_unit_period_stats(new_warehouse, tmp_path):
    con = connect(new_warehouse, read_only=True)
    try:
        path = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "b.xlsx").path
        units = _expected_form(con, f"(SELECT * FROM mart.unit_period_stats WHERE province_code = '{PROVINCE}')",
                               "unit_code", "quarter", "2025-Q3")
        names = dict(con.execute("SELECT unit_code, unit_name FROM mart.unit_period_stats "
                                 "WHERE period_grain = 'quarter' AND period_label = '2025-Q3'").fetchall())
    finally:
        con.close()
    ws = load_workbook(path)["Phụ lục đơn vị"]
    assert ws["A2"].value.startswith("PHỤ LỤC")
    found = {code: (label, numbers) for code, label, numbers in _form_rows(ws) if code in names}
    assert {c: n for c, (_, n) in found.items()} == units  # every unit of the province, no other
    assert all(label == names[c] for c, (label, _) in found.items())


def test_printed_sheets_show_no_code_or_internal_name(new_warehouse, demo_warehouse, tmp_path):
    for warehouse in (new_warehouse, demo_warehouse):
        con = connect(warehouse, read_only=True)
        try:
            path = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "b.xlsx").path
        finally:
            con.close()
        wb = load_workbook(path)
        for ws in wb.worksheets:
            hidden = {letter for letter, dim in ws.column_dimensions.items() if dim.hidden}
            assert hidden, ws.title  # the codes live in a hidden column ...
            shown = [str(c.value) for row in ws.iter_rows() for c in row
                     if isinstance(c.value, str) and c.column_letter not in hidden]
            leaks = [t for t in shown if INTERNAL.search(t)]
            assert not leaks, (ws.title, leaks[:5])  # ... and nowhere else


def test_text_cells_are_never_formulas(demo_warehouse, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse, copy)
    evil = '=HYPERLINK("http://example.invalid","bấm vào")'
    con = duckdb.connect(str(copy))
    code = con.execute("SELECT min(unit_code) FROM mart.unit_period_stats WHERE period_label = '2025-Q3' "
                       "AND unit_level = 'commune'").fetchone()[0]
    con.execute("UPDATE mart.unit_period_stats SET unit_name = ? WHERE unit_code = ?", [evil, code])
    con.close()
    con = connect(copy, read_only=True)
    try:
        path = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "b.xlsx").path
    finally:
        con.close()
    with zipfile.ZipFile(path) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    cells = [c for ws in load_workbook(path).worksheets for row in ws.iter_rows() for c in row if c.value == evil]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)  # form and rates sheets


def test_no_report_for_a_period_without_cases(demo_warehouse, tmp_path, capsys):
    # A quarter before the data starts has mart rows of zeros: refused, nothing written.
    copy = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse, copy)
    con = duckdb.connect(str(copy))
    for table in ("mart.unit_period_stats", "mart.level_period_stats"):
        numeric = [c for (c, t) in con.execute(
            f"SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'mart' "
            f"AND table_name = '{table.split('.')[1]}'").fetchall()
            if c not in ("period_grain", "period_label", "period_start", "period_end", "units")
            and t.startswith(("BIGINT", "HUGEINT", "INTEGER", "DOUBLE", "DECIMAL"))]
        zeros = ", ".join(f"0 AS {c}" for c in numeric)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * REPLACE ('2024-Q4' AS period_label, "
                    f"DATE '2024-09-15' AS period_start, DATE '2024-12-14' AS period_end, {zeros}) "
                    f"FROM {table} WHERE period_grain = 'quarter' AND period_label = '2025-Q1'")
    con.close()
    con = connect(copy, read_only=True)
    try:
        with pytest.raises(NoReportData, match="before the data starts; the data covers 15/12/2024–"):
            write_quarter_report(con, "quarter", "2024-Q4", tmp_path / "out" / "b.xlsx")
    finally:
        con.close()
    assert not (tmp_path / "out").exists()
    assert main(["report", "--period", "2024-Q4", "--warehouse", str(copy), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no report for 2024-Q4" in err[0] and "before the data starts" in err[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_reporting_unit_from_configuration(demo_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_PROVINCE_NAME", "UBND tỉnh Quảng Trị (mới)")
    monkeypatch.setenv("DVC_REPORT_RECIPIENT", "Bộ phận KSTT, Văn phòng UBND tỉnh")
    con = connect(demo_warehouse, read_only=True)
    try:
        path = write_quarter_report(con, "quarter", "2025-Q2", tmp_path / "b.xlsx").path
    finally:
        con.close()
    for ws in load_workbook(path).worksheets:
        texts = _texts(ws)
        assert "Đơn vị báo cáo: UBND tỉnh Quảng Trị (mới)" in texts, ws.title
        assert "Đơn vị nhận báo cáo: Bộ phận KSTT, Văn phòng UBND tỉnh" in texts, ws.title
        assert "Quảng Trị (mới), ngày …… tháng …… năm ……" in texts, ws.title


def test_codes_without_province_are_left_out_and_counted(new_warehouse, tmp_path):
    # Per-province marts roll unknown codes up on their own (no province): the province's form
    # leaves them out of its rows and totals and says how many cases that is.
    copy = tmp_path / "w.duckdb"
    shutil.copy(new_warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute("""INSERT INTO mart.unit_period_stats BY NAME
                   SELECT * REPLACE (NULL AS province_code, 'ZZ.UNKNOWN' AS unit_code, 'unknown' AS unit_level,
                                     1234 AS received_total)
                   FROM mart.unit_period_stats WHERE period_grain = 'quarter' AND period_label = '2025-Q3' LIMIT 1""")
    con.close()
    con = connect(copy, read_only=True)
    try:
        path = write_quarter_report(con, "quarter", "2025-Q3", tmp_path / "b.xlsx").path
        total = con.execute("SELECT received_total FROM mart.level_period_stats WHERE period_grain = 'quarter' "
                            "AND period_label = '2025-Q3' AND unit_level = 'province_total' AND province_code = ?",
                            [PROVINCE]).fetchone()[0]
        codes, cases = con.execute("SELECT count(*), sum(received_total) FROM mart.unit_period_stats "
                                   "WHERE period_grain = 'quarter' AND period_label = '2025-Q3' "
                                   "AND province_code IS NULL").fetchone()
    finally:
        con.close()
    wb = load_workbook(path)
    for name in ("Biểu II.06a", "Phụ lục đơn vị"):
        ws = wb[name]
        rows = _form_rows(ws)
        assert "ZZ.UNKNOWN" not in {code for code, _, _ in rows} and rows[-1][2][0] == total
        cases_vn = f"{cases:,}".replace(",", ".")
        assert cases >= 1234 and (f"Không tính vào biểu: {codes} mã đơn vị chưa có trong danh mục đơn vị của tỉnh, "
                                  f"với {cases_vn} hồ sơ tiếp nhận trong kỳ.") in _texts(ws)


def test_the_reporting_province_is_the_one_in_force_today(new_warehouse, tmp_path, monkeypatch):
    # A province merged into this one on 1/7/2025 (lower code) is in force in Q1 too: the
    # report is still this province's; DVC_PROVINCE_CODE can pick the other one.
    from pipeline import periods
    from pipeline.reports import data

    copy = tmp_path / "w.duckdb"
    shutil.copy(new_warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute("INSERT INTO core.units VALUES ('000.00.00.H44', 'Tỉnh Quảng Bình', 'province', NULL, NULL, "
                "DATE '2025-06-30')")
    q1 = periods.parse_label("2025-Q1")
    assert data.report_province(con, q1) == PROVINCE
    assert data.report_header(con, q1).reporting_unit == "UBND tỉnh Quảng Trị"
    monkeypatch.setenv("DVC_PROVINCE_CODE", "000.00.00.H44")
    assert data.report_province(con, q1) == "000.00.00.H44"
    con.close()
