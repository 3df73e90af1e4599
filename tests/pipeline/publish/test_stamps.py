"""A publish with nothing changed writes nothing; any change is still published (publish/stamps.py)."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.publish import stamps
from pipeline.publish.analyst_copy import analytics_path, parquet_path, publish


def _night(tmp_path: Path, published_demo: Path) -> Path:
    night = tmp_path / "night"
    shutil.copytree(published_demo / "var" / "demo", night, symlinks=True)
    return night / "warehouse.duckdb"


def _publish(warehouse: Path, caplog: pytest.LogCaptureFixture, **kwargs) -> str:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pipeline.publish"):
        con = duckdb.connect(str(warehouse))
        publish(con, warehouse, **kwargs)
        con.close()
    return caplog.text


def _files(warehouse: Path) -> tuple:
    """What identifies the published files: the analyst database's inode and mtime, the set's link."""
    st = analytics_path(warehouse).stat()
    return st.st_ino, st.st_mtime_ns, str(parquet_path(warehouse).resolve())


def _published(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(params=["small tables hashed", "every table large"])
def night(request, tmp_path, published_demo, monkeypatch, caplog) -> Path:
    """The demo's published warehouse, published once more so its stamps are kept; with every
    table treated as large (storage layout and logs instead of row hashes) in the second case."""
    if request.param == "every table large":
        monkeypatch.setattr(stamps, "QUICK_ROWS", 0)
    warehouse = _night(tmp_path, published_demo)
    _publish(warehouse, caplog)
    return warehouse


def test_a_publish_with_nothing_changed_writes_nothing_and_says_so(night, caplog):
    before = _files(night)
    text = _publish(night, caplog)
    assert "nothing changed since the last publish" in text
    assert _files(night) == before
    # And again: a rerun does not wake it up.
    assert "nothing changed since the last publish" in _publish(night, caplog)
    assert _files(night) == before


@pytest.mark.parametrize("change, check", [
    ("UPDATE core.cases SET status_code = 99 WHERE case_id = (SELECT min(case_id) FROM core.cases)",
     "SELECT count(*) FROM core.cases WHERE status_code = 99"),
    ("DELETE FROM mart.late_cases WHERE rowid = (SELECT min(rowid) FROM mart.late_cases)",
     "SELECT (SELECT count(*) FROM mart.late_cases) - {late}"),
    ("INSERT INTO mart.refresh_log (refresh_id, windows) VALUES ('by hand', 0)",
     "SELECT count(*) FROM mart.refresh_log WHERE refresh_id = 'by hand'"),
    ("COMMENT ON COLUMN core.cases.status_code IS 'changed meaning'",
     "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'cases' AND comment = 'changed meaning'"),
])
def test_every_kind_of_change_is_still_published(night, caplog, change, check):
    (late,) = _published(night, "SELECT count(*) FROM mart.late_cases")[0]
    check = check.format(late=late)
    before = _published(night, check)
    con = duckdb.connect(str(night))
    con.execute(change)
    con.close()
    text = _publish(night, caplog)
    assert "nothing changed" not in text
    after = _published(night, check)
    assert after != before
    # The warehouse and its copy agree again: the next publish has nothing to do.
    assert "nothing changed since the last publish" in _publish(night, caplog)


def test_stamps_are_not_trusted_for_files_replaced_by_hand(night, caplog, tmp_path):
    analytics = analytics_path(night)
    stale = tmp_path / "stale.duckdb"
    shutil.copy(analytics, stale)
    con = duckdb.connect(str(stale))
    con.execute("DELETE FROM core.units")
    con.close()
    shutil.copy(stale, analytics)  # somebody copied an old file over the published one
    text = _publish(night, caplog)
    assert "nothing changed" not in text
    assert _published(night, "SELECT count(*) > 0 FROM core.units") == [(True,)]


def test_a_fresh_publish_keeps_stamps_and_the_next_one_reuses_them(night, caplog):
    _publish(night, caplog, reuse=False)
    assert stamps.stamps_path(analytics_path(night)).is_file()
    assert "nothing changed since the last publish" in _publish(night, caplog)


NIGHTS = (
    # C02 (resolved on time in March) gets a later version: returned late, after its due date.
    {"MaDonVi": "U1", "MaTTHC": "P1", "NgayCapNhat": "20250501000000", "MaHoSo": "C02", "TrangThaiHoSo": "10",
     "KenhThucHien": "1", "MucDo": "4", "NgayTiepNhan": "20250220080000", "NgayHenTra": "20250305170000",
     "NgayKetThucXuLy": "20250306080000", "NgayTra": "20250306090000"},
    # A new case received in May, still in progress.
    {"MaDonVi": "U1", "MaTTHC": "P1", "NgayCapNhat": "20250510000000", "MaHoSo": "C99", "TrangThaiHoSo": "4",
     "KenhThucHien": "2", "MucDo": "4", "NgayTiepNhan": "20250505080000", "NgayHenTra": "20250512170000"},
)


@pytest.mark.parametrize("quick_rows", [stamps.QUICK_ROWS, 0], ids=["small tables hashed", "every table large"])
def test_nights_compare_only_what_moved_and_equal_a_fresh_publish(
    tmp_path, published_demo, caplog, monkeypatch, quick_rows
):
    """After each night (a late correction, then a new case), the copy updated from the rows the
    logs say moved equals the same warehouse published afresh."""
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.publish import analyst_copy
    from pipeline.warehouse import open_warehouse
    from tests.conftest import FIXTURES
    from tests.pipeline.publish.test_publish import _analyst_view

    monkeypatch.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
    monkeypatch.setattr(stamps, "QUICK_ROWS", quick_rows)
    warehouse = _night(tmp_path, published_demo)
    _publish(warehouse, caplog)  # from here on the stamps and the logs' watermarks are trusted
    compared: list[tuple[str, str]] = []
    original = analyst_copy._changed_rows

    def spy(source, columns, moved):
        within = original(source, columns, moved)
        if within:
            compared.append((source, within))
        return within

    monkeypatch.setattr(analyst_copy, "_changed_rows", spy)
    for i, case in enumerate(NIGHTS):
        path = tmp_path / f"night{i}.jsonl"
        path.write_text(json.dumps(case) + "\n", encoding="utf-8")
        with open_warehouse(warehouse) as con:
            land_file(con, path)
            merge_pending_batches(con)
            marts.refresh(con, marts.windows_for_days(*marts.pending_day_range(con)))
        compared.clear()
        assert "nothing changed" not in _publish(warehouse, caplog)
        assert {"core.cases", "mart.unit_period_stats"} <= {s for s, _ in compared}
        # Mart rows are compared in exactly the windows the night's refresh recomputed.
        with duckdb.connect(str(warehouse), read_only=True) as con:
            refreshed = con.execute(
                "SELECT period_grain || '/' || period_label FROM mart.refresh_windows WHERE refresh_id = "
                "(SELECT arg_max(refresh_id, refreshed_at) FROM mart.refresh_log) ORDER BY 1").fetchall()
        (unit_rows,) = [w for s, w in compared if s == "mart.unit_period_stats"]
        assert refreshed and sorted(re.findall(r"'([^']+/[^']+)'", unit_rows)) == [k for (k,) in refreshed], unit_rows
        fresh = tmp_path / f"fresh{i}"
        fresh.mkdir()
        shutil.copy(warehouse, fresh / "warehouse.duckdb")
        _publish(fresh / "warehouse.duckdb", caplog, reuse=False)
        assert _analyst_view(warehouse) == _analyst_view(fresh / "warehouse.duckdb")
    with duckdb.connect(str(analytics_path(warehouse)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM core.cases WHERE case_id = 'C99'").fetchone() == (1,)


def test_without_the_stamps_file_every_row_is_compared(night, caplog):
    """The README's remedy after a hand edit no stamp sees: delete the stamps file."""
    stamps.stamps_path(analytics_path(night)).unlink()
    text = _publish(night, caplog)
    assert "nothing changed" not in text and "updated:" in text
    assert "nothing changed since the last publish" in _publish(night, caplog)
