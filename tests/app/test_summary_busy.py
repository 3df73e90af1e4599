"""`summary` while a run holds the warehouse: it reads the published analyst copy instead of
failing (hardening issue, item 7)."""

from __future__ import annotations

import subprocess
import sys
import time

from app.cli import main


def _published_warehouse(tmp_path, fixtures):
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.publish.analyst_copy import publish
    from pipeline.warehouse import open_warehouse

    warehouse = tmp_path / "w.duckdb"
    with open_warehouse(warehouse) as con:
        land_file(con, fixtures / "metrics_cases.jsonl")
        merge_pending_batches(con)
        marts.refresh_all(con)
        publish(con, warehouse)
    return warehouse


def test_summary_falls_back_to_the_analyst_copy_while_a_writer_holds_the_warehouse(tmp_path, fixtures, monkeypatch, capsys):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    warehouse = _published_warehouse(tmp_path, fixtures)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)",
         str(warehouse)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        assert main(["summary", "--warehouse", str(warehouse)]) == 0
        assert time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()
    out = capsys.readouterr().out
    assert "read from the published analyst copy" in out
    assert "cases in core.cases" in out or "in core.cases" in out
    assert "Headline rates" in out
