"""The smaller messages of the reliability issue: an unreadable file is reported in words that
say what to do, never with DuckDB's internals; an xlsx is refused with an xlsx reason."""

from __future__ import annotations

import random

from pipeline.ingest.landing import land_file


def test_random_bytes_jsonl_is_reported_plainly(con, tmp_path):
    path = tmp_path / "random.jsonl"
    path.write_bytes(random.Random(28).randbytes(200_000))
    result = land_file(con, path)
    assert result.status == "failed"
    assert result.error.startswith("random.jsonl: not a JSON Lines file: its content is not text lines")
    assert "re-export" in result.error
    assert not [w for w in ("CSV Parser", "state machine", "reject_", "Invalid Input Error") if w in result.error]


def _workbook(path, header, empty_rows: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(header)
    for _ in range(empty_rows):
        ws.append(["", "", "", ""])
    wb.save(path)


def test_xlsx_of_empty_rows_gets_an_xlsx_reason(con, tmp_path):
    blank = tmp_path / "blank.xlsx"
    _workbook(blank, ["", "", "", ""], 20_000)
    result = land_file(con, blank)
    assert result.status == "failed" and "row 1 of the first sheet is empty" in result.error
    titled = tmp_path / "titled.xlsx"
    _workbook(titled, ["Danh sách hồ sơ"], 20_000)
    result = land_file(con, titled)
    assert result.status == "failed" and "row 1 of the first sheet matched none of the contract's fields" in result.error
    assert "delimiter" not in result.error


def test_xlsx_of_many_empty_rows_below_its_header_is_refused_at_once(con, tmp_path):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)  # no <dimension>: openpyxl used to scan the whole sheet first
    ws = wb.create_sheet()
    ws.append(["MaHoSo", "MaDonVi", "MaTTHC", "TrangThaiHoSo", "NgayCapNhat"])
    ws.append(["X1", "U", "P", "2", "20250301080000"])
    for _ in range(60_000):  # formatted, empty
        cell = WriteOnlyCell(ws, value=None)
        cell.font = Font(bold=True)
        ws.append([cell])
    path = tmp_path / "tall.xlsx"
    wb.save(path)
    result = land_file(con, path)
    assert result.status == "failed"
    # stopped 10,000 rows into the gap, not at row 60,002
    assert "rows 3–10003 of the first sheet are empty (1 records above them)" in result.error
    assert "delete the empty rows" in result.error and "delimiter" not in result.error
