"""Smoke run of the benchmark command so it cannot rot (figures come from full-size runs)."""

import json
from argparse import Namespace

from devtools.bench import run_bench

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
    assert "x baseline" in capsys.readouterr().out
