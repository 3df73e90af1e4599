"""Smoke run of the publish benchmark so it cannot rot (figures come from full-size runs)."""

import json
import shutil

from devtools import bench_publish
from tests.conftest import FIXTURES


def test_bench_publish_times_a_night_and_an_unchanged_publish_on_a_copy(published_demo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
    source = published_demo / "var" / "demo" / "warehouse.duckdb"
    before = source.stat().st_mtime_ns
    night = tmp_path / "night.jsonl"
    shutil.copy(FIXTURES / "drill_cases.jsonl", night)
    scratch = tmp_path / "scratch"
    assert bench_publish.main(["--warehouse", str(source), "--night", str(night), "--scratch", str(scratch)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"first_publish_s", "night_s", "night_publish_s", "unchanged_publish_s"} <= set(result)
    assert source.stat().st_mtime_ns == before  # measured on a copy
    assert (scratch / "warehouse.analytics.duckdb").exists()
