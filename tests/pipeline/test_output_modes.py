"""Outputs for people get modes that match their content (reliability issue, item 4): reports
and Data Docs 0640 in 0750 folders whatever the umask, one setting (DVC_OUTPUT_MODE); a name and
phone number typed into a date or code field of a quarantined record are masked."""

from __future__ import annotations

import json
import os
import stat

import pytest

from pipeline.quality import data_docs
from pipeline.reports.data import atomic_write


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual default: files 0644, folders 0755
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_reports_and_data_docs_are_0640_in_0750_folders(tmp_path, open_umask, monkeypatch):
    monkeypatch.delenv("DVC_OUTPUT_MODE", raising=False)
    report = atomic_write(tmp_path / "reports" / "q" / "bieu.xlsx", lambda tmp: tmp.write_bytes(b"x"))
    assert _mode(report) == 0o640
    assert _mode(report.parent) == _mode(report.parent.parent) == 0o750
    index = data_docs.write_index(tmp_path / "quality" / "data_docs")
    assert _mode(index) == 0o640 and _mode(index.parent) == 0o750
    assert _mode(tmp_path) != 0o750  # a folder that existed is left as it was


def test_one_setting_changes_every_output_mode(tmp_path, open_umask, monkeypatch):
    monkeypatch.setenv("DVC_OUTPUT_MODE", "0600")
    report = atomic_write(tmp_path / "reports" / "dashboard.html", lambda tmp: tmp.write_text("x"))
    assert _mode(report) == 0o600 and _mode(report.parent) == 0o700
    monkeypatch.setenv("DVC_OUTPUT_MODE", "0644")
    assert _mode(data_docs.write_index(tmp_path / "docs")) == 0o644 and _mode(tmp_path / "docs") == 0o755
    monkeypatch.setenv("DVC_OUTPUT_MODE", "rw-r-----")
    with pytest.raises(ValueError, match="DVC_OUTPUT_MODE"):
        atomic_write(tmp_path / "r" / "x.html", lambda tmp: tmp.write_text("x"))


def test_personal_data_in_a_mistyped_field_of_a_quarantined_record_is_masked(con, tmp_path):
    from pipeline.ingest.landing import land_file

    clear = ("Nguyễn Văn An", "0912345678", "Trần Thị Bình")
    record = {"MaHoSo": "Q1", "MaDonVi": "U1", "MaTTHC": "P1", "TrangThaiHoSo": "4",
              "NgayTiepNhan": f"{clear[0]} {clear[1]}", "NgayCapNhat": "20250301080000", "KenhThucHien": clear[2]}
    path = tmp_path / "typed_wrong.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    table = tmp_path / "typed_wrong.csv"
    table.write_text("MaHoSo,MaDonVi,MaTTHC,TrangThaiHoSo,NgayTiepNhan,NgayCapNhat\n"
                     f"Q2,U1,P1,4,{clear[0]} {clear[1]},20250301080000\n", encoding="utf-8")
    assert land_file(con, path).records_quarantined == land_file(con, table).records_quarantined == 1
    kept = [json.loads(r[0]) for r in con.execute("SELECT record FROM raw.quarantine ORDER BY source_row").fetchall()]
    text = json.dumps(kept, ensure_ascii=False)
    assert not [v for v in clear if v in text]
    assert {r["NgayTiepNhan"] for r in kept} == {"Xxxxxx Xxx Xx 0000000000"}  # its shape, as in the reasons
    assert kept[0]["KenhThucHien"] == "Xxxx Xxx Xxxx"
    # well-typed values stay as sent
    assert {r["NgayCapNhat"] for r in kept} == {"20250301080000"} and {r["MaDonVi"] for r in kept} == {"U1"}


def test_the_quality_folder_keeps_no_world_readable_result(tmp_path, open_umask, monkeypatch):
    from pipeline.output_modes import restrict_tree

    monkeypatch.delenv("DVC_OUTPUT_MODE", raising=False)
    stored = tmp_path / "quality" / "gx" / "validations" / "suite" / "result.json"
    stored.parent.mkdir(parents=True)  # as Great Expectations makes them: 0755 / 0644
    stored.write_text("{}")
    assert _mode(stored) == 0o644
    restrict_tree(tmp_path / "quality")
    assert _mode(stored) == 0o640 and _mode(stored.parent) == _mode(tmp_path / "quality" / "gx") == 0o750
