"""A refresh is done only when everything it feeds is written (hardening issue, item 1).

A run killed between the unit mart and the roll-ups used to leave the "marts up to date" mark
behind: every later run said so and the roll-ups stayed empty. Now the mark is set by the last
asset of marts_job, so the next run redoes the refresh and completes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _level_vs_units(warehouse: Path) -> tuple[int, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            """
            SELECT (SELECT coalesce(sum(new_total), 0) FROM mart.level_period_stats
                    WHERE period_grain = 'quarter' AND unit_level = 'province_total'),
                   (SELECT coalesce(sum(new_total), 0) FROM mart.unit_period_stats WHERE period_grain = 'quarter')
            """
        ).fetchone()
    finally:
        con.close()


@pytest.mark.slow
def test_a_run_killed_between_unit_mart_and_rollups_is_completed_by_the_next(tmp_path, fixtures, monkeypatch, capsys):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "metrics_cases.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"

    killed = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("killed_run_child.py")), str(inbox), str(warehouse),
         "after_unit_mart"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600,
    )
    assert killed.returncode == 137, killed.stderr[-2000:]
    level_total, unit_total = _level_vs_units(warehouse)
    assert unit_total > 0 and level_total == 0  # died before the roll-ups

    capsys.readouterr()
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    err = capsys.readouterr().err
    assert "marts are up to date" not in err
    level_total, unit_total = _level_vs_units(warehouse)
    assert level_total == unit_total > 0
    assert (warehouse.parent / "reports" / "bieu_II06a_2025-Q1.xlsx").is_file()
    assert Path(str(warehouse).replace(".duckdb", ".analytics.duckdb")).is_file()

    # ... and only then is nothing pending any more.
    capsys.readouterr()
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    assert "marts are up to date" in capsys.readouterr().err
