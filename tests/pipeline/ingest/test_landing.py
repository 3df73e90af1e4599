"""Landing: every format, every rule, reconciliation, idempotency, newest-version-wins."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file


def _quarantine(con) -> dict[str, list[str]]:
    rows = con.execute("SELECT coalesce(case_id, '#' || source_row), reasons FROM raw.quarantine").fetchall()
    return {key: reasons for key, reasons in rows}


def test_jsonl_lands_valid_and_quarantines_every_reason(con, fixtures):
    result = land_file(con, fixtures / "cases_small.jsonl")
    assert result.status == "landed"
    # 10 lines, one blank: 9 records = 3 landed + 6 quarantined
    assert (result.records_read, result.records_landed, result.records_quarantined) == (9, 3, 6)
    q = _quarantine(con)
    assert q["H48-004"] == ["NgayTiepNhan: unparseable date '20250231080000'", "status 9 has no end date"]
    assert sorted(q[""]) == sorted([
        "MaHoSo: required field is missing or empty",
        "TrangThaiHoSo: not a status code 1-10 ('11')",
        "KenhThucHien: not empty/1/2/3 ('9')",
    ])
    assert q["H48-006"] == ["status 10 has no end date"]
    assert q["H48-007"] == ["end date is before NgayTiepNhan"]
    by_row = dict(con.execute("SELECT source_row, reasons FROM raw.quarantine").fetchall())
    assert by_row[9] == ["malformed JSON: the line does not parse"]
    assert by_row[10] == ["not a JSON object"]
    batch = con.execute("SELECT records_read, records_landed, records_quarantined FROM raw.batches").fetchone()
    assert batch == (9, 3, 6)


def test_dates_parse_to_local_time_and_fields_are_derived(con, fixtures):
    land_file(con, fixtures / "cases_small.jsonl")
    merge_pending_batches(con)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT case_id, received_at, due_at, updated_at, channel, service_level, ended_at, fee_total_vnd, "
        "has_electronic_result, extra_fields FROM core.cases"
    ).fetchall()}
    received, due, updated, channel, level, ended, fee, electronic, extra = rows["H48-002"]
    assert str(received) == "2025-01-14 23:59:59"  # dd/MM/yyyy HH:mm:ss
    assert str(due) == "2025-01-20 00:00:00"  # dd/MM/yyyy
    assert str(updated) == "2025-01-15 08:00:00"  # ISO with +07:00 stays local
    assert channel == "in_person" and level == "4" and ended is None  # empty channel, word MucDo
    received, due, updated, channel, level, ended, fee, electronic, extra = rows["H48-001"]
    assert str(ended) == "2025-01-14 10:00:00"  # status 10 ends at NgayKetThucXuLy
    assert float(fee) == 50000 and electronic is True and channel == "online"
    assert json.loads(extra) == {"TruongMoiCuaCong": "giá trị mới"}  # unknown fields kept


def test_personal_data_never_stored_in_clear(con, fixtures):
    land_file(con, fixtures / "cases_small.jsonl")
    merge_pending_batches(con)
    dump = " ".join(
        str(v)
        for table in ("raw.case_versions", "core.cases", "raw.quarantine")
        for row in con.execute(f"SELECT * FROM {table}").fetchall()
        for v in row
    )
    for secret in ("Nguyễn Văn An", "044090000123", "0912345678", "an@example.vn", "Lê Lợi", "Trần Thị Bình", "0987654321"):
        assert secret not in dump
    hashed = con.execute("SELECT applicant_name_hash FROM core.cases WHERE case_id = 'H48-001'").fetchone()[0]
    assert len(hashed) == 64
    masked = con.execute("SELECT record->>'ChuHoSo' FROM raw.quarantine WHERE case_id = 'H48-004'").fetchone()[0]
    assert masked == "T***"


def test_pii_hash_is_keyed(tmp_path, fixtures, monkeypatch):
    from pipeline import warehouse

    hashes = []
    for key in ("key-one", "key-two"):
        monkeypatch.setenv("DVC_PII_KEY", key)
        with warehouse.open_warehouse(tmp_path / f"{key}.duckdb") as con:
            land_file(con, fixtures / "cases_small.jsonl")
            hashes.append(con.execute(
                "SELECT applicant_name_hash FROM raw.case_versions WHERE case_id = 'H48-001'").fetchone()[0])
    assert hashes[0] != hashes[1]


def test_csv_vietnamese_nfd_headers_semicolon_bom(con, fixtures):
    result = land_file(con, fixtures / "cases_vi_nfd_semicolon_bom.csv")
    assert (result.records_read, result.records_landed, result.records_quarantined) == (3, 2, 1)
    merge_pending_batches(con)
    row = con.execute(
        "SELECT unit_name_source, procedure_name, fee_total_vnd, has_electronic_result, channel, "
        "online_payment_code, extra_fields FROM core.cases WHERE case_id = 'H48-101'"
    ).fetchone()
    assert row[0] == "Thành phố Đông Hà" and row[1] == "Cấp giấy phép xây dựng"  # NFC again
    assert float(row[2]) == 150000 and row[3] is True and row[4] == "online" and row[5] == "1"
    assert json.loads(row[6]) == {"Cột lạ": "x"}
    source_row, reasons = con.execute("SELECT source_row, reasons FROM raw.quarantine").fetchone()
    assert source_row == 4  # header is sheet row 1
    assert "Ngày tiếp nhận" not in reasons[0] and reasons[0] == "NgayTiepNhan: unparseable date '31/02/2025'"


def test_csv_contract_headers_with_json_lists(con, fixtures):
    result = land_file(con, fixtures / "cases_contract_headers.csv")
    assert (result.records_read, result.records_landed, result.records_quarantined) == (3, 2, 1)
    merge_pending_batches(con)
    fee = con.execute("SELECT fee_total_vnd FROM core.cases WHERE case_id = 'H48-201'").fetchone()[0]
    assert float(fee) == 20000
    assert _quarantine(con)["H48-203"] == ["end date is before NgayTiepNhan"]


@pytest.mark.parametrize("name", ["api_page.json", "bare_array.json"])
def test_json_page_and_bare_array(con, fixtures, name):
    result = land_file(con, fixtures / name)
    expected = (2, 1, 1) if name == "api_page.json" else (1, 1, 0)
    assert (result.records_read, result.records_landed, result.records_quarantined) == expected
    channel = con.execute("SELECT channel_code FROM raw.case_versions WHERE case_id = 'H48-301'").fetchone()[0]
    assert channel == "2"  # a bare number is read as its text


def test_jsonl_gz(con, fixtures, tmp_path):
    target = tmp_path / "cases.jsonl.gz"
    with gzip.open(target, "wb") as fh:
        fh.write((fixtures / "cases_small.jsonl").read_bytes())
    result = land_file(con, target)
    assert (result.records_read, result.records_landed, result.records_quarantined) == (9, 3, 6)


def test_xlsx_with_native_excel_dates(con, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Mã hồ sơ", "Mã đơn vị", "Mã TTHC", "Trạng thái", "Kênh thực hiện", "Ngày tiếp nhận",
               "Ngày hẹn trả", "Ngày kết thúc xử lý", "Ngày cập nhật", "Chủ hồ sơ"])
    ws.append(["H48-401", "000.00.03.H48", "1.005000", "10", 2, datetime(2025, 5, 2, 8, 30),
               datetime(2025, 5, 9, 17, 0), datetime(2025, 5, 9, 18, 0), datetime(2025, 5, 9, 18, 0), "Vũ Văn Hải"])
    ws.append(["H48-402", "000.00.03.H48", "1.005000", "10", "1", "20250502083000", None, None, "20250509180000", None])
    wb.save(tmp_path / "export.xlsx")
    result = land_file(con, tmp_path / "export.xlsx")
    assert (result.records_read, result.records_landed, result.records_quarantined) == (2, 1, 1)
    received = con.execute("SELECT received_at FROM raw.case_versions WHERE case_id = 'H48-401'").fetchone()[0]
    assert str(received) == "2025-05-02 08:30:00"
    assert con.execute("SELECT source_row FROM raw.quarantine").fetchone()[0] == 3


def test_same_file_twice_changes_nothing(con, fixtures, tmp_path):
    land_file(con, fixtures / "cases_small.jsonl")
    before = con.execute("SELECT (SELECT count(*) FROM raw.case_versions), (SELECT count(*) FROM raw.quarantine)").fetchone()
    copy = tmp_path / "renamed.jsonl"
    shutil.copy(fixtures / "cases_small.jsonl", copy)
    again = land_file(con, copy)
    assert again.status == "skipped_duplicate_file"
    after = con.execute("SELECT (SELECT count(*) FROM raw.case_versions), (SELECT count(*) FROM raw.quarantine)").fetchone()
    assert before == after
    assert con.execute("SELECT count(*) FROM raw.batches").fetchone()[0] == 1


def test_overlapping_files_do_not_double_versions(con, fixtures, tmp_path):
    land_file(con, fixtures / "cases_small.jsonl")
    lines = (fixtures / "cases_small.jsonl").read_text().splitlines()
    overlap = tmp_path / "overlap.jsonl"
    overlap.write_text("\n".join(lines[:2]) + "\n")  # different file, same two versions
    result = land_file(con, overlap)
    assert result.records_landed == 2 and result.records_new_versions == 0
    assert con.execute("SELECT count(*) FROM raw.case_versions").fetchone()[0] == 3


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


BASE = {"MaDonVi": "U1", "MaTTHC": "P1", "NgayTiepNhan": "20250101080000"}


def test_newest_version_wins_even_when_it_arrives_first(con, tmp_path):
    newer = BASE | {"MaHoSo": "C1", "TrangThaiHoSo": "10", "NgayKetThucXuLy": "20250105080000", "NgayCapNhat": "20250105080000"}
    older = BASE | {"MaHoSo": "C1", "TrangThaiHoSo": "4", "NgayCapNhat": "20250102080000"}
    land_file(con, _write(tmp_path / "a.jsonl", [newer]))
    merge_pending_batches(con)
    land_file(con, _write(tmp_path / "b.jsonl", [older]))
    merge_pending_batches(con)
    assert con.execute("SELECT status_code FROM core.cases WHERE case_id = 'C1'").fetchone()[0] == "10"
    assert con.execute("SELECT count(*) FROM raw.case_versions WHERE case_id = 'C1'").fetchone()[0] == 2  # history kept


def test_out_of_order_versions_in_one_file_and_tie_goes_to_later_arrival(con, tmp_path):
    v3 = BASE | {"MaHoSo": "C2", "TrangThaiHoSo": "10", "NgayKetThucXuLy": "20250103080000", "NgayCapNhat": "20250103080000"}
    v1 = BASE | {"MaHoSo": "C2", "TrangThaiHoSo": "2", "NgayCapNhat": "20250101080000"}
    tie_a = BASE | {"MaHoSo": "C3", "TrangThaiHoSo": "4", "NgayCapNhat": "20250103080000"}
    tie_b = BASE | {"MaHoSo": "C3", "TrangThaiHoSo": "5", "NgayCapNhat": "20250103080000"}
    land_file(con, _write(tmp_path / "a.jsonl", [v3, v1, tie_a, tie_b]))
    merge_pending_batches(con)
    status = dict(con.execute("SELECT case_id, status_code FROM core.cases").fetchall())
    assert status == {"C2": "10", "C3": "5"}
    tie_c = BASE | {"MaHoSo": "C3", "TrangThaiHoSo": "6", "NgayCapNhat": "20250103080000"}
    land_file(con, _write(tmp_path / "b.jsonl", [tie_c]))
    merge_pending_batches(con)
    assert con.execute("SELECT status_code FROM core.cases WHERE case_id = 'C3'").fetchone()[0] == "6"


def test_invalid_newer_version_never_replaces_valid_older(con, tmp_path):
    valid = BASE | {"MaHoSo": "C4", "TrangThaiHoSo": "4", "NgayCapNhat": "20250102080000"}
    broken = BASE | {"MaHoSo": "C4", "TrangThaiHoSo": "10", "NgayCapNhat": "20250109080000"}  # no end date
    land_file(con, _write(tmp_path / "a.jsonl", [valid, broken]))
    merge_pending_batches(con)
    assert con.execute("SELECT status_code FROM core.cases WHERE case_id = 'C4'").fetchone()[0] == "4"
    assert con.execute("SELECT count(*) FROM raw.quarantine WHERE case_id = 'C4'").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.jsonl.gz", b"this is not gzip", "not a gzip file"),
        ("broken.xlsx", b"PK not really a zip", "not a readable .xlsx"),
        ("broken.json", b"{\"data\": [", "not valid JSON"),
        ("error_page.json", b"{\"error_code\": -1, \"message\": \"token\", \"data\": []}", "error_code=-1"),
        ("empty.csv", b"", "empty file"),
    ],
)
def test_broken_files_fail_clearly_and_leave_nothing(con, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = land_file(con, path)
    assert result.status == "failed" and message in result.error
    assert con.execute("SELECT count(*) FROM raw.batches").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.case_versions").fetchone()[0] == 0
    assert con.execute("SELECT error FROM raw.batch_failures").fetchone()[0] == result.error


def test_failure_mid_batch_rolls_back_everything(con, fixtures, monkeypatch):
    from pipeline.ingest import landing

    def explode(*args, **kwargs):
        raise landing.ReconciliationError("simulated crash after inserting versions")

    original = landing._land_chunk

    def land_then_fail(con_, *args, **kwargs):
        original(con_, *args, **kwargs)
        explode()

    monkeypatch.setattr(landing, "_land_chunk", land_then_fail)
    result = land_file(con, fixtures / "cases_small.jsonl")
    assert result.status == "failed"
    for table in ("raw.batches", "raw.case_versions", "raw.quarantine"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


@pytest.mark.parametrize("name", ["cases_small.jsonl", "cases_contract_headers.csv"])
def test_repeated_records_in_one_file_are_stored_once(con, fixtures, tmp_path, monkeypatch, name):
    """Every record twice in the same file, in different chunks: read twice, stored once
    (versions and quarantine); chunk boundaries change nothing."""
    from pipeline.ingest import staging

    monkeypatch.setattr(staging, "CHUNK_ROWS", 2)
    doubled = tmp_path / name
    lines = (fixtures / name).read_text().splitlines()
    body = lines[1:] if name.endswith(".csv") else lines
    doubled.write_text("\n".join(lines + body) + "\n")
    result = land_file(con, doubled)
    single = {"cases_small.jsonl": (9, 3, 6), "cases_contract_headers.csv": (3, 2, 1)}[name]
    assert (result.records_read, result.records_landed, result.records_quarantined) == tuple(2 * x for x in single)
    assert result.records_new_versions == single[1]
    assert con.execute("SELECT count(*) FROM raw.case_versions").fetchone()[0] == single[1]
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == single[2]


def _csv_row(i: int, extra: str = "") -> str:
    # minimal valid record: status 2 (received), MaHoSo carries the sheet row number
    return f"R{i},000.00.31.H48,1.001234,2,2,20250301080000,20250301080000{extra}"


CSV_HEADER = "MaHoSo,MaDonVi,MaTTHC,TrangThaiHoSo,KenhThucHien,NgayTiepNhan,NgayCapNhat"


def test_csv_ragged_and_broken_rows_are_quarantined_with_their_row_numbers(con, tmp_path):
    """Rows DuckDB's reader cannot split (wrong field count, bad UTF-8) are quarantined under
    their own sheet row numbers, and every accepted row keeps its own number around them."""
    rows = [CSV_HEADER]
    for i in range(2, 13):
        if i in (4, 5):
            rows.append(_csv_row(i, ",surplus"))  # too many fields
        elif i == 9:
            rows.append("R9,000.00.31.H48")  # too few fields
        else:
            rows.append(_csv_row(i))
    path = tmp_path / "ragged.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode() + b'R13,000.00.31.H48,1.001234,2,2,2025\xff,20250301080000\n')
    result = land_file(con, path)
    assert (result.records_read, result.records_landed, result.records_quarantined) == (12, 8, 4)
    landed = con.execute("SELECT source_row, case_id FROM raw.case_versions ORDER BY source_row").fetchall()
    assert all(case_id == f"R{row}" for row, case_id in landed), landed
    quarantined = dict(con.execute("SELECT source_row, reasons[1] FROM raw.quarantine").fetchall())
    assert sorted(quarantined) == [4, 5, 9, 13]
    assert "too many columns" in quarantined[4] and "missing columns" in quarantined[9]
    assert "CSV row 13 cannot be read" in quarantined[13]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_row_numbers_follow_the_file_in_a_parallel_read(con, tmp_path, monkeypatch, suffix):
    """DuckDB reads big files in buffers on several threads; source_row must still be the
    file's row (small buffers here, so this 7 MB file is read in many pieces)."""
    from pipeline.ingest import staging

    monkeypatch.setattr(staging, "_BUFFER_BYTES", 256 << 10)
    monkeypatch.setattr(staging, "CHUNK_ROWS", 30_000)  # and several chunks
    n = 100_000
    path = tmp_path / f"big{suffix}"
    if suffix == ".csv":
        path.write_text(CSV_HEADER + "\n" + "\n".join(_csv_row(i) for i in range(2, n + 2)) + "\n")
    else:
        keys = CSV_HEADER.split(",")
        lines = (json.dumps(dict(zip(keys, _csv_row(i).split(","), strict=True))) for i in range(1, n + 1))
        path.write_text("\n".join(lines) + "\n")
    result = land_file(con, path)
    assert result.records_landed == n
    wrong = con.execute("SELECT count(*) FROM raw.case_versions WHERE case_id <> 'R' || source_row").fetchone()[0]
    assert wrong == 0


def test_rejected_csv_row_keeps_its_text_with_personal_data_masked(con, tmp_path):
    """A row DuckDB cannot split is quarantined with its text, but the fields under the
    personal-data headers are masked there as everywhere else."""
    path = tmp_path / "pii.csv"
    path.write_text(
        f"{CSV_HEADER},ChuHoSo,SoDienThoai\n"
        f"{_csv_row(2)},Nguyễn Văn An,0987654321,surplus\n"
    )
    result = land_file(con, path)
    assert (result.records_read, result.records_quarantined) == (1, 1)
    record = con.execute("SELECT record FROM raw.quarantine").fetchone()[0]
    assert "R2,000.00.31.H48" in record and "surplus" in record
    assert "Nguyễn" not in record and "0987654321" not in record and "N***" in record
