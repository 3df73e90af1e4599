"""Smoke run of the benchmark command so it cannot rot (figures come from full-size runs)."""

import json
from argparse import Namespace

import pytest

from devtools.bench import OVERHEAD_METHOD, _wanted, fresh, run_bench

REQUIRED = {"versions", "baseline_csv_s", "cold_csv_s", "cold_jsonl_s", "incremental_s", "cold_csv_peak_rss_mb",
            "cold_csv_stages_s", "cold_jsonl_stages_s", "dagster_overhead_csv_s"}


def test_bench_smoke(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run_bench(Namespace(versions=2000, workdir=tmp_path / "work", out=out, seed=3)) == 0
    result = json.loads(out.read_text())
    assert set(result) >= REQUIRED
    assert result["versions"] == 2000 and result["incremental_rows"] > 0
    stages = result["cold_csv_stages_s"]
    assert {"read", "validate", "land", "core", "aggregates", "checks"} <= set(stages)
    parts = {k: v for k, v in stages.items() if k.startswith("aggregates.")}
    assert set(parts) == {f"aggregates.{s}" for s in ("unit", "level", "target", "drilldown", "late_cases", "index766")}
    assert sum(parts.values()) <= stages["aggregates"]
    assert stages["procedure_rows"] > stages["unit_rows"] > 0
    # Measured inside the Dagster run (its wall minus its own steps), so never negative.
    assert result["dagster_overhead_method"] == OVERHEAD_METHOD
    assert 0 <= result["dagster_overhead_csv_s"] < result["cold_csv_s"]
    assert 0 < result["cold_csv_dagster_steps_s"] < result["cold_csv_s"]
    # The night's time by Dagster step, longest first (where a night's time goes).
    night = result["incremental_step_s"]
    assert any(key.startswith("mart") for key in night) and list(night.values()) == sorted(night.values(), reverse=True)
    assert sum(night.values()) <= result["incremental_s"]
    out = capsys.readouterr().out
    assert "x baseline" in out and OVERHEAD_METHOD in out
    assert "longest Dagster steps, night (s):" in out


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


def test_bench_measures_only_what_is_asked(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = Namespace(versions=1000, workdir=tmp_path / "work", out=out, seed=3, measure="direct_csv")
    assert run_bench(args) == 0
    result = json.loads(out.read_text())
    assert result["cold_csv_s"] is None and result["cold_jsonl_s"] is None and result["incremental_s"] is None
    assert result["cold_csv_direct_s"] > 0 and result["cold_csv_stages_s"]["aggregates"] > 0
    assert not (tmp_path / "work" / "jsonl" / "cases.jsonl").exists()  # not generated when not measured
    assert "cold CSV (direct)" in capsys.readouterr().out


def test_bench_refuses_a_night_without_its_cold_run():
    with pytest.raises(SystemExit, match="cold_csv"):
        _wanted("night")
    with pytest.raises(SystemExit, match="unknown"):
        _wanted("direct_csv,warm")
