"""The report assets: materialising quarter partitions writes one workbook and one dashboard per
quarter into the reports folder; `run`, `pull`, `backfill` and the demo produce them (MART_GROUPS)."""

from __future__ import annotations

import dagster as dg
from openpyxl import load_workbook

from app.runner import MART_GROUPS, materialize
from assets.definitions import defs


def test_report_assets_are_defined_and_in_the_marts_job():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.assets_defs_by_key}
    assert {"report/quarter_xlsx", "report/dashboard_html"} <= keys
    assert "report" in MART_GROUPS
    job = repo.get_job("marts_job")
    assert {"report__quarter_xlsx", "report__dashboard_html"} <= set(job.graph.node_dict)
    for key in (["report", "quarter_xlsx"], ["report", "dashboard_html"]):
        assets_def = repo.assets_defs_by_key[dg.AssetKey(key)]
        assert assets_def.partitions_def is not None
        assert dg.AssetKey(["mart", "level_period_stats"]) in assets_def.dependency_keys


def test_materialising_quarters_writes_both_files(tmp_path, fixtures, monkeypatch, capsys):
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.reports.summary import print_summary
    from pipeline.warehouse import open_warehouse

    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    out = tmp_path / "out"
    monkeypatch.setenv("DVC_REPORTS_DIR", str(out))
    warehouse = tmp_path / "w.duckdb"
    with open_warehouse(warehouse) as con:  # built directly: only the report assets run in Dagster
        land_file(con, fixtures / "metrics_cases.jsonl")
        merge_pending_batches(con)
        marts.refresh_all(con)
    instance = dg.DagsterInstance.ephemeral()

    result = materialize(
        ("report",),
        warehouse=warehouse,
        tags={"dagster/asset_partition_range_start": "2025-Q1",
              "dagster/asset_partition_range_end": "2025-Q2"},
        instance=instance,
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "bieu_II06a_2025-Q1.xlsx", "bieu_II06a_2025-Q2.xlsx", "dashboard_2025-Q1.html", "dashboard_2025-Q2.html"]
    meta = result.asset_materializations_for_node("report__quarter_xlsx")[0].metadata
    assert meta["quarters"].value == "2025-Q1, 2025-Q2" and meta["rows"].value > 0
    assert meta["files"].value["2025-Q1"] == str(out / "bieu_II06a_2025-Q1.xlsx")
    assert meta["size_bytes"].value > 0
    assert load_workbook(out / "bieu_II06a_2025-Q1.xlsx").sheetnames == ["Biểu II.06a", "Phụ lục đơn vị", "Tỷ lệ", "Chỉ tiêu", "Chỉ số 766"]

    single = materialize(
        [["report", "dashboard_html"]],
        warehouse=warehouse,
        tags={"dagster/asset_partition_range_start": "2025-Q2",
              "dagster/asset_partition_range_end": "2025-Q2"},
        instance=instance,
    )
    meta = single.asset_materializations_for_node("report__dashboard_html")[0].metadata
    assert meta["path"].value == str(out / "dashboard_2025-Q2.html")
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]

    capsys.readouterr()
    print_summary(warehouse)  # the closing summary of `run` and the demo says where they are
    assert f"Official reports (Biểu II.06a .xlsx + dashboard .html; 2 workbooks): {out.resolve()}" in capsys.readouterr().out
