"""Analysts query the published copy at any time, even while the pipeline writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from app.cli import main
from pipeline.publish import analytics_path


def test_published_database_has_marts_and_no_personal_data(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "metrics_cases.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"
    assert main(["-q", "run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    tables = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    assert {"mart.unit_period_stats", "mart.level_period_stats", "mart.target_attainment", "core.cases",
            "quality.batches", "quality.quarantine_reasons"} <= tables
    assert "raw.case_versions" not in tables
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'cases'").fetchall()}
    assert "summary" not in columns and "extra_fields" not in columns and "applicant_name_hash" in columns
    comment = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'unit_period_stats' "
                          "AND column_name = 'carried_over'").fetchone()[0]
    assert comment.startswith("từ kỳ trước")
    con.close()


def test_reader_never_sees_a_lock_or_half_written_table(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    warehouse = tmp_path / "w.duckdb"
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("reader_loop.py")), str(analytics_path(warehouse)), str(stop)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        for i, name in enumerate(("metrics_cases.jsonl", "cases_small.jsonl", "cases_vi_nfd_semicolon_bom.csv")):
            inbox = tmp_path / f"inbox{i}"
            inbox.mkdir()
            shutil.copy(fixtures / name, inbox)
            assert main(["-q", "run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--full-refresh"]) == 0
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["inconsistent"] == 0
    assert result["queries"] > 0
