"""Smoke run of the benchmark command so it cannot rot (figures come from full-size runs)."""

import json
from argparse import Namespace

import pytest

from devtools.bench import OVERHEAD_METHOD, _wanted, fresh, run_bench, stages_of

REQUIRED = {"versions", "baseline_csv_s", "cold_csv_s", "cold_jsonl_s", "incremental_s", "cold_csv_peak_rss_mb",
            "cold_csv_stages_s", "cold_jsonl_stages_s", "dagster_overhead_csv_s", "publish_unchanged_s"}


@pytest.mark.slow
def test_bench_smoke(tmp_path, capsys):
    """Every measurement but the JSONL run (the same Dagster run on another reader; the readers
    have their own tests): that keeps the suite short."""
    out = tmp_path / "bench.json"
    args = Namespace(versions=2000, workdir=tmp_path / "work", out=out, seed=3, measure="cold_csv,night,publish")
    assert run_bench(args) == 0
    result = json.loads(out.read_text())
    assert set(result) >= REQUIRED
    assert result["cold_jsonl_s"] is None  # not asked for
    # After the night's own publish nothing has changed: the publish rewrites nothing.
    assert result["publish_unchanged_s"] > 0 and result["publish_unchanged_rewrote"] is False
    assert result["versions"] == 2000 and result["incremental_rows"] > 0
    # The stages are the declared jobs' own steps by asset group: no hand-wired copy of the work.
    stages = result["cold_csv_stages_s"]
    assert {"raw", "core", "mart", "publish", "report", "checks"} <= set(stages)
    assert abs(sum(stages.values()) - result["cold_csv_dagster_steps_s"]) < 1e-6
    steps = result["cold_csv_dagster_step_s"]
    assert {"raw__export_files", "core__cases", "mart__unit_period_stats", "publish__analytics_database"} <= set(steps)
    # Measured inside the Dagster run (its wall minus its own steps), so never negative.
    assert result["dagster_overhead_method"] == OVERHEAD_METHOD
    assert 0 <= result["dagster_overhead_csv_s"] < result["cold_csv_s"]
    assert 0 < result["cold_csv_dagster_steps_s"] < result["cold_csv_s"]
    # Its parts: importing, inside the runs between steps, the command's work outside the runs.
    parts = result["dagster_overhead_csv_parts_s"]
    assert set(parts) == {"imports", "between_steps", "outside_runs"} and min(parts.values()) >= 0
    assert sum(parts.values()) == pytest.approx(result["dagster_overhead_csv_s"], abs=1e-6)
    assert result["dagster_runs_csv"] >= 2  # landing, then the marts and publish
    # The night's time by Dagster step, longest first (where a night's time goes).
    night = result["incremental_step_s"]
    assert any(key.startswith("mart") for key in night) and list(night.values()) == sorted(night.values(), reverse=True)
    assert sum(night.values()) <= result["incremental_s"]
    out = capsys.readouterr().out
    assert "x baseline" in out and OVERHEAD_METHOD in out
    assert "wall − steps, cold CSV (s): imports" in out and "wall − steps, night (s): imports" in out
    assert "longest Dagster steps, night (s):" in out
    assert "publish with nothing changed:" in out


def test_fresh_removes_the_database_its_wal_and_spill_folder_and_nothing_else(tmp_path):
    for name in ("x.duckdb", "x.duckdb.wal", "x.analytics.duckdb", "xy.duckdb", "x.csv"):
        (tmp_path / name).write_text("stale")
    spill = tmp_path / "x.duckdb.tmp"
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_text("spilled")
    parquet_set = tmp_path / ".x.analytics_parquet.123"
    parquet_set.mkdir()
    (tmp_path / "x.analytics_parquet").symlink_to(parquet_set.name)
    assert fresh(tmp_path, "x.duckdb") == tmp_path / "x.duckdb"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "xy.duckdb"]
    assert fresh(tmp_path / "missing", "x.duckdb") == tmp_path / "missing" / "x.duckdb"


def test_stages_group_steps_by_asset_group_and_checks():
    steps = {"raw__export_files": 3.0, "core__cases": 1.0, "mart__unit_period_stats": 2.0, "mart_drilldown": 4.0,
             "mart__unit_period_stats_identities_check": 0.5, "publish__analytics_database": 1.5}
    assert stages_of(steps) == {"mart": 6.0, "raw": 3.0, "publish": 1.5, "core": 1.0, "checks": 0.5}


def test_bench_refuses_a_night_without_its_cold_run():
    with pytest.raises(SystemExit, match="cold_csv"):
        _wanted("night")
    with pytest.raises(SystemExit, match="cold_csv"):
        _wanted("publish")
    with pytest.raises(SystemExit, match="unknown"):
        _wanted("direct_csv")  # the hand-wired path is gone
