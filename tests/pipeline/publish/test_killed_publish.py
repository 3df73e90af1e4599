"""kill -9 during the analyst-copy publish (reliability issue, item 3): the temporary copy and
its WAL are never readable by others, analysts keep the previous copy, and the next publish
removes what the killed one left."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb

from pipeline.publish.analyst_copy import analytics_path, publish, remove_leftovers
from pipeline.warehouse import open_warehouse
from tests.app.test_summary_busy import _published_warehouse

ROOT = Path(__file__).resolve().parents[3]


def _leftovers(warehouse: Path) -> list[Path]:
    return sorted(p for p in warehouse.parent.iterdir() if ".tmp-" in p.name or ".publish-probe-" in p.name)


def test_a_killed_publish_leaves_nothing_after_the_next(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    warehouse = _published_warehouse(tmp_path, fixtures)
    copy = analytics_path(warehouse)
    published = copy.stat().st_mtime_ns
    assert remove_leftovers(warehouse) == []  # nothing to remove after a clean publish

    killed = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("killed_publish_child.py")), str(warehouse)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300,
    )
    assert killed.returncode == 137, killed.stderr[-2000:]
    left = _leftovers(warehouse)
    assert any(p.name.startswith(f"{copy.name}.tmp-") for p in left), left  # the half-written copy
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o007 == 0 for p in left)  # never world-readable
    assert copy.stat().st_mtime_ns == published  # analysts still open the previous copy
    con = duckdb.connect(str(copy), read_only=True)
    assert con.execute("SELECT count(*) FROM mart.unit_period_stats").fetchone()[0] > 0
    con.close()

    with open_warehouse(warehouse) as con:
        publish(con, warehouse)
    assert _leftovers(warehouse) == []
    assert stat.S_IMODE(copy.stat().st_mode) == 0o640
