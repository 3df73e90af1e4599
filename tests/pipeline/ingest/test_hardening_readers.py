"""Issue 16, items 4 and 7: every line accounted for, literal file names, links out of the
inbox, deep JSON, unmatched headers, empty and wide-empty workbooks."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from pipeline.ingest import duckdb_source, read_tabular, staging
from pipeline.ingest.landing import land_file

BASE = {
    "MaDonVi": "000.00.31.H48", "MaTTHC": "1.001234", "TrangThaiHoSo": "2", "KenhThucHien": "2",
    "NgayTiepNhan": "20250301080000", "NgayCapNhat": "20250301080000",
}


def _line(case_id: str, pad: int = 0) -> str:
    return json.dumps(BASE | {"MaHoSo": case_id} | ({"TrichYeuHoSo": "x" * pad} if pad else {}))


def _failures(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT error FROM raw.batch_failures").fetchall()]


# -- too-long lines --------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_too_long_line_is_quarantined_with_its_number_and_later_lines_keep_theirs(con, tmp_path, monkeypatch, gz):
    """Small limits stand in for the real ones (32 MB line, 64 MB buffer): a line longer than
    DuckDB's read buffer used to vanish without a trace and shift every later line number."""
    monkeypatch.setattr(staging, "_BUFFER_BYTES", 1 << 20)
    monkeypatch.setenv("DVC_MAX_LINE_MB", "1")  # effective limit: half the buffer, 512 KB
    lines = [_line("L1"), _line("L2", pad=3 << 20), _line("L3"), _line("L4", pad=600 << 10), _line("L5")]
    text = "\n".join(lines) + "\n"
    path = tmp_path / ("big.jsonl.gz" if gz else "big.jsonl")
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    result = land_file(con, path)
    assert (result.records_read, result.records_landed, result.records_quarantined) == (5, 3, 2)
    landed = con.execute("SELECT source_row, case_id FROM raw.case_versions ORDER BY 1").fetchall()
    assert landed == [(1, "L1"), (3, "L3"), (5, "L5")]
    quarantined = dict(con.execute("SELECT source_row, reasons[1] FROM raw.quarantine").fetchall())
    assert sorted(quarantined) == [2, 4]
    assert quarantined[2].startswith(f"line too long: {len(lines[1])} bytes")


def test_lines_of_tens_of_megabytes_are_read_not_quarantined(con, tmp_path):
    path = tmp_path / "wide.jsonl"
    path.write_text("\n".join([_line("W1", pad=12 << 20), _line("W2", pad=30 << 20), _line("W3")]) + "\n")
    result = land_file(con, path)
    assert (result.records_read, result.records_landed, result.records_quarantined) == (3, 3, 0)


def test_scanner_counts_lines_across_blocks():
    scanner = duckdb_source._LongLines(limit=10)
    for block in (b"short\nabcdefghij", b"klmno\nok\n", b"x" * 30, b"\nend"):
        scanner.feed(block)
    assert scanner.finish() == {2: 15, 4: 30}


# -- literal names, links, special files ------------------------------------------------------
def test_file_named_like_a_glob_reads_only_itself(con, tmp_path):
    header = "MaHoSo,MaDonVi,MaTTHC,TrangThaiHoSo,NgayTiepNhan,NgayCapNhat"
    swapped = "MaHoSo,MaTTHC,MaDonVi,TrangThaiHoSo,NgayTiepNhan,NgayCapNhat"
    (tmp_path / "a.csv").write_text(f"{swapped}\nNEIGHBOUR,P,U,2,20250301080000,20250301080000\n")
    for name in ("*.csv", "?.csv", "[a].csv"):
        target = tmp_path / name
        target.write_text(f"{header}\nSTAR-{len(name)}{name[0]},U,P,2,20250301080000,20250301080000\n")
        result = land_file(con, target)
        assert (result.records_read, result.records_landed) == (1, 1), name
    assert con.execute("SELECT count(*) FROM raw.case_versions WHERE case_id = 'NEIGHBOUR'").fetchone()[0] == 0
    assert con.execute("SELECT count(DISTINCT unit_code) FROM raw.case_versions").fetchone()[0] == 1


def test_link_out_of_the_inbox_is_refused(con, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = tmp_path / "secret.jsonl"
    outside.write_text(_line("OUT") + "\n")
    (inbox / "passwd.jsonl").symlink_to(outside)
    (inbox / "inside.jsonl").write_text(_line("IN") + "\n")
    (inbox / "alias.jsonl").symlink_to(inbox / "inside.jsonl")
    refused = land_file(con, inbox / "passwd.jsonl")
    assert refused.status == "failed" and "symbolic link to a file outside the inbox" in refused.error
    assert land_file(con, inbox / "alias.jsonl").status == "landed"  # a link within the inbox is fine
    assert con.execute("SELECT list(case_id) FROM raw.case_versions").fetchone()[0] == ["IN"]
    assert any("outside the inbox" in e for e in _failures(con))


def test_fifo_is_refused_not_waited_on(con, tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    result = land_file(con, fifo)
    assert result.status == "failed" and "not a regular file" in result.error


def test_deeply_nested_json_is_a_batch_failure_and_later_files_land(con, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    good = tmp_path / "good.jsonl"
    good.write_text(_line("G1") + "\n")
    results = [land_file(con, p) for p in (deep, good)]
    assert results[0].status == "failed" and "nested too deeply" in results[0].error
    assert results[1].status == "landed"
    assert any("nested too deeply" in e for e in _failures(con))


# -- item 7 ----------------------------------------------------------------------------------
def test_tab_delimited_file_is_one_clear_failure(con, tmp_path):
    path = tmp_path / "tabs.csv"
    path.write_text("MaHoSo\tMaDonVi\tMaTTHC\tTrangThaiHoSo\tNgayCapNhat\n"
                    "T1\tU\tP\t2\t20250301080000\nT2\tU\tP\t2\t20250301080000\n")
    result = land_file(con, path)
    assert result.status == "failed"
    assert "the header matched none of the contract's fields (delimiter?)" in result.error
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0


def test_zero_byte_xlsx_is_an_empty_file_not_already_landed(con, tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")  # same (empty) content hash as any 0-byte file
    land_file(con, tmp_path / "empty.jsonl")
    zero = tmp_path / "empty.xlsx"
    zero.write_bytes(b"")
    result = land_file(con, zero)
    assert result.status == "failed" and "empty file" in result.error


def test_xlsx_with_many_empty_formatted_rows_reads_only_the_header_width(con, tmp_path):
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.append(["MaHoSo", "MaDonVi", "MaTTHC", "TrangThaiHoSo", "NgayTiepNhan", "NgayCapNhat"])
    ws.append(["X1", "U", "P", "2", "20250301080000", "20250301080000"])
    bold = Font(bold=True)
    for row in range(3, 2003):  # formatted cells in the last column (XFD): a sheet 16,384 wide
        ws.cell(row=row, column=16384).font = bold
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    assert {len(r) for r in read_tabular._xlsx_rows(path)} == {6}  # not 16,384 cells per row
    result = land_file(con, path)
    assert (result.records_read, result.records_landed, result.records_quarantined) == (1, 1, 0)


def test_fifty_megabyte_first_line_is_quarantined_and_the_next_keeps_number_two(con, tmp_path):
    """The issue's case with the real limits: it used to report "1 read = 1 landed"."""
    path = tmp_path / "two.jsonl"
    path.write_text(_line("HUGE", pad=50 << 20) + "\n" + _line("NEXT") + "\n")
    result = land_file(con, path)
    assert (result.records_read, result.records_landed, result.records_quarantined) == (2, 1, 1)
    assert con.execute("SELECT source_row, case_id FROM raw.case_versions").fetchall() == [(2, "NEXT")]
    row, reason = con.execute("SELECT source_row, reasons[1] FROM raw.quarantine").fetchone()
    assert row == 1 and reason.startswith("line too long:") and "DVC_MAX_LINE_MB" in reason


def test_too_long_csv_row_is_quarantined_under_its_row_number(con, tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "_BUFFER_BYTES", 1 << 20)  # limit: 512 KB
    header = "MaHoSo,MaDonVi,MaTTHC,TrangThaiHoSo,NgayTiepNhan,NgayCapNhat,TrichYeuHoSo"
    row = "{},U,P,2,20250301080000,20250301080000,{}"
    path = tmp_path / "long.csv"
    path.write_text("\n".join([header, row.format("C2", "ngắn"), row.format("C3", "x" * (3 << 20)),
                               row.format("C4", "ngắn")]) + "\n")
    result = land_file(con, path)
    assert (result.records_read, result.records_landed, result.records_quarantined) == (3, 2, 1)
    assert con.execute("SELECT list(source_row ORDER BY source_row) FROM raw.case_versions").fetchone()[0] == [2, 4]
    row_number, reason = con.execute("SELECT source_row, reasons[1] FROM raw.quarantine").fetchone()
    assert row_number == 3 and reason.startswith("CSV row 3 is too long:")
