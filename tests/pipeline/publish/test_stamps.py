"""A publish with nothing changed writes nothing; any change is still published (publish/stamps.py)."""

from __future__ import annotations

import logging
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
