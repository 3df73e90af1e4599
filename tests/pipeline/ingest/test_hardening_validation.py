"""Issue 16, items 2, 6 and 7: implausible dates, fees, personal data in reasons and extras,
the PII key fingerprint, the warehouse's file mode and the lock message."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file

BASE = {
    "MaDonVi": "000.00.31.H48", "MaTTHC": "1.001234", "TrangThaiHoSo": "2", "KenhThucHien": "2",
    "NgayTiepNhan": "20250301080000", "NgayCapNhat": "20250301080000",
}


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def _reasons(con) -> dict[str, list[str]]:
    return dict(con.execute("SELECT case_id, reasons FROM raw.quarantine").fetchall())


# -- item 2: dates outside the plausible range --------------------------------------------
def test_implausible_dates_are_quarantined_and_never_land(con, tmp_path):
    records = [
        BASE | {"MaHoSo": "OK"},
        BASE | {"MaHoSo": "Y0001", "NgayTiepNhan": "00010101000000"},
        BASE | {"MaHoSo": "Y9999", "NgayCapNhat": "99991231235959"},
        BASE | {"MaHoSo": "Y2018", "NgayTiepNhan": "20180301080000"},  # before the first quarter
    ]
    result = land_file(con, _jsonl(tmp_path / "dates.jsonl", records))
    assert (result.records_landed, result.records_quarantined) == (1, 3)
    merge_pending_batches(con)
    assert con.execute("SELECT list(case_id) FROM core.cases").fetchone()[0] == ["OK"]
    reasons = _reasons(con)
    assert reasons["Y0001"][0].startswith("NgayTiepNhan: date outside the plausible range 2019-12-15..")
    assert "('99991231235959')" in reasons["Y9999"][0] and reasons["Y9999"][0].startswith("NgayCapNhat:")
    assert "NgayTiepNhan: date outside" in reasons["Y2018"][0]


def test_plausible_range_is_configured(con, tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_PLAUSIBLE_FROM", "2015-01-01")
    monkeypatch.setenv("DVC_PLAUSIBLE_TO", "2025-03-01")
    records = [BASE | {"MaHoSo": "Y2018", "NgayTiepNhan": "20180301080000", "NgayCapNhat": "20180301080000"},
               BASE | {"MaHoSo": "LATE"}]
    result = land_file(con, _jsonl(tmp_path / "dates.jsonl", records))
    assert (result.records_landed, result.records_quarantined) == (1, 1)
    assert list(_reasons(con)) == ["LATE"]


# -- item 7: fees --------------------------------------------------------------------------
@pytest.mark.parametrize("gia", ["1e30", "-5", "năm mươi nghìn", "1000000000000000000"])
def test_bad_fees_are_quarantined_not_guessed(con, tmp_path, gia):
    fee = [{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP", "Gia": gia, "LoaiPhiLePhi": "1"}]
    records = [BASE | {"MaHoSo": "BAD", "DanhSachLePhi": fee},
               BASE | {"MaHoSo": "GOOD", "DanhSachLePhi": [fee[0] | {"Gia": "50,000"}]}]
    result = land_file(con, _jsonl(tmp_path / "fees.jsonl", records))
    assert (result.records_landed, result.records_quarantined) == (1, 1)
    (reason,) = _reasons(con)["BAD"]
    assert reason.startswith("DanhSachLePhi[].Gia: fee is not a non-negative amount")
    assert con.execute("SELECT fee_total_vnd FROM raw.case_versions").fetchone()[0] == 50000


def test_bad_flat_fee_column_is_quarantined(con, tmp_path):
    path = tmp_path / "fees.csv"
    path.write_text("MaHoSo,MaDonVi,MaTTHC,TrangThaiHoSo,NgayTiepNhan,NgayCapNhat,Lệ phí (VND)\n"
                    "F1,U,P,2,20250301080000,20250301080000,1e30\n"
                    "F2,U,P,2,20250301080000,20250301080000,20000\n", encoding="utf-8")
    result = land_file(con, path)
    assert (result.records_landed, result.records_quarantined) == (1, 1)
    assert _reasons(con)["F1"] == ["TongLePhi: fee is not a non-negative amount of VND below 10^15 ('1e30')"]


# -- item 6: personal data -----------------------------------------------------------------
SECRETS = ("Nguyễn Văn An", "0912345678", "044090000123", "an@example.vn")


def test_reasons_never_echo_personal_data(con, tmp_path):
    records = [
        BASE | {"MaHoSo": "P1", "NgayTra": "Nguyễn Văn An 0912345678", "TrangThaiHoSo": "10",
                "NgayKetThucXuLy": "20250302080000"},
        BASE | {"MaHoSo": "P2", "TrangThaiHoSo": "an@example.vn"},
        BASE | {"MaHoSo": "P3", "KenhThucHien": "044090000123"},
    ]
    land_file(con, _jsonl(tmp_path / "pii.jsonl", records))
    reasons = _reasons(con)
    text = json.dumps(reasons, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text
    assert reasons["P1"] == ["NgayTra: unparseable date 'Xxxxxx Xxx Xx 0000000000'"]
    # what analysts get: quality.quarantine_reasons is built from these reasons
    published = con.execute("SELECT string_agg(r, ' ') FROM raw.quarantine, unnest(reasons) AS t(r)").fetchone()[0]
    assert all(secret not in published for secret in SECRETS)


def test_python_reasons_match_the_sql_shape():
    from schemas.case_record import reason_value

    assert reason_value("Nguyễn Văn An 0912345678") == "Xxxxxx Xxx Xx 0000000000"
    assert reason_value("20250231080000") == "20250231080000" and reason_value("11") == "11"
    assert reason_value("x" * 30) == "x" * 24 + "…"


def test_unknown_fields_named_like_personal_data_are_hashed(con, tmp_path):
    records = [BASE | {"MaHoSo": "X1", "HoTenNguoiNop": "Nguyễn Văn An", "cccd_nguoi_nop": "044090000123",
                       "Số điện thoại 2": "0912345678", "EMAIL_LIEN_HE": "an@example.vn", "GhiChu": "giữ"}]
    path = _jsonl(tmp_path / "extra.jsonl", records)
    land_file(con, path)
    extra = json.loads(con.execute("SELECT extra_fields FROM raw.case_versions").fetchone()[0])
    assert extra["GhiChu"] == "giữ"
    for key in ("HoTenNguoiNop", "cccd_nguoi_nop", "Số điện thoại 2", "EMAIL_LIEN_HE"):
        assert len(extra[key]) == 64  # keyed hash
    assert all(s not in json.dumps(extra, ensure_ascii=False) for s in SECRETS)


def test_unknown_personal_columns_of_a_csv_are_hashed_and_masked_in_quarantine(con, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(
        "MaHoSo,MaDonVi,MaTTHC,TrangThaiHoSo,NgayTiepNhan,NgayCapNhat,Họ tên người nộp\n"
        "C1,U,P,2,20250301080000,20250301080000,Nguyễn Văn An\n"
        "C2,U,P,99,20250301080000,20250301080000,Nguyễn Văn An\n", encoding="utf-8")
    land_file(con, path)
    dump = str(con.execute("SELECT * FROM raw.case_versions").fetchall())
    dump += str(con.execute("SELECT * FROM raw.quarantine").fetchall())
    assert "Nguyễn" not in dump
    masked = json.loads(con.execute("SELECT record FROM raw.quarantine").fetchone()[0])["Họ tên người nộp"]
    assert masked.endswith("***") and len(masked) == 4


def test_jsonl_line_cut_inside_a_personal_value_is_masked(con, tmp_path):
    path = tmp_path / "cut.jsonl"
    line = json.dumps(BASE | {"MaHoSo": "CUT"}, ensure_ascii=False)[:-1]
    path.write_text(line + ', "DiaChi": "12 Lê Lợi, Đông Hà", "HoTenNguoiNop": "Nguyễn Văn An\n', encoding="utf-8")
    result = land_file(con, path)
    assert result.records_quarantined == 1
    record = con.execute("SELECT record FROM raw.quarantine").fetchone()[0]
    assert "Nguyễn" not in record and "Lê Lợi" not in record and "CUT" in record


def test_csv_row_with_a_missing_column_is_masked(con, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text(
        "MaHoSo,MaDonVi,MaTTHC,TrangThaiHoSo,NgayTiepNhan,NgayCapNhat,ChuHoSo,SoDienThoai\n"
        # NgayTiepNhan missing: the name and phone shift one position to the left
        "S1,U,P,2,20250301080000,Nguyễn Văn An,0912345678\n", encoding="utf-8")
    result = land_file(con, path)
    assert result.records_quarantined == 1
    record = con.execute("SELECT record FROM raw.quarantine").fetchone()[0]
    assert "Nguyễn" not in record and "0912345678" not in record and "S1,U,P" in record


def test_another_pii_key_is_refused_unless_rekeying(tmp_path, monkeypatch, caplog):
    from pipeline import warehouse

    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("DVC_PII_KEY", "key-one")
    with warehouse.open_warehouse(path):
        pass
    monkeypatch.setenv("DVC_PII_KEY", "key-two")
    with pytest.raises(warehouse.PiiKeyMismatchError, match="DVC_PII_REKEY=1"), warehouse.open_warehouse(path):
        pass
    monkeypatch.setenv("DVC_PII_REKEY", "1")
    with warehouse.open_warehouse(path) as con:
        stored = con.execute("SELECT fingerprint FROM raw.pii_key").fetchall()
    assert stored == [(warehouse.pii_key_fingerprint("key-two"),)]
    assert "NOT comparable" in caplog.text
    monkeypatch.delenv("DVC_PII_REKEY")
    with warehouse.open_warehouse(path):  # the new key is now the warehouse's key
        pass
    assert "key-two" not in path.read_bytes().decode("latin-1")  # only its fingerprint


def test_warehouse_file_is_not_world_readable(tmp_path):
    from pipeline import warehouse

    path = tmp_path / "var" / "w.duckdb"
    with warehouse.open_warehouse(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o007 == 0
    os.chmod(path, 0o644)  # an existing world-readable file loses its world bits
    with warehouse.open_warehouse(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_locked_warehouse_names_the_holding_process(tmp_path, monkeypatch):
    from pipeline import warehouse

    monkeypatch.setenv("DVC_LOCK_WAIT_S", "0.5")  # a writer waits this long, then gives up
    path = tmp_path / "w.duckdb"
    script = f"import duckdb, sys\nc = duckdb.connect({str(path)!r})\nprint('ready', flush=True)\nsys.stdin.read()"
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(warehouse.WarehouseLockedError) as err:
            warehouse.connect(path)
        message = str(err.value)
        assert f"process {holder.pid}" in message and f"kill {holder.pid}" in message
        assert "Do not delete" in message
        # The holder's multi-line command whole, on one line.
        assert "\n" not in message and "\\nsys.stdin.read()" in message
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.parametrize(("command", "kind"), [
    ("/usr/bin/python3 -m pipeline -q summary --warehouse var/w.duckdb", "reader"),
    ("/usr/bin/python3 -m pipeline report --period 2025-Q1", "reader"),
    ("/usr/bin/python3 -m pipeline run --inbox var/inbox", "run"),
    ("/venv/bin/python /venv/bin/dagster dev -m assets.definitions", "run"),
    ("duckdb -readonly var/warehouse.duckdb", "reader"),
    ("/usr/bin/python3 my_script.py", "other"),
])
def test_the_lock_message_tells_a_reader_from_a_run(command, kind):
    from pipeline import warehouse

    assert warehouse.holder_kind(command) == kind


def test_the_lock_message_of_a_summary_does_not_say_wait_for_that_run(monkeypatch):
    from pathlib import Path

    from pipeline import warehouse

    error = 'IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held in /usr/bin/python3 (PID 42)'
    monkeypatch.setattr(warehouse, "_process_command", lambda pid: "python -m pipeline summary --warehouse w.duckdb")
    reader = warehouse.lock_message(Path("w.duckdb"), error)
    assert "It is a reader" in reader and "Wait for that run" not in reader
    monkeypatch.setattr(warehouse, "_process_command", lambda pid: "python -m pipeline run --inbox in")
    assert "Wait for that run to finish" in warehouse.lock_message(Path("w.duckdb"), error)
