"""The Dagster project: definitions load, partitions, schedule, sensors, single-run backfills."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from app.runner import materialize
from assets import partitions
from assets.definitions import defs


def test_definitions_load():
    repo = defs.get_repository_def()
    assert {"ingest_files_job", "portal_pull_job", "core_refresh_job", "marts_job"} <= {
        j.name for j in repo.get_all_jobs()
    }
    keys = {k.to_user_string() for k in repo.assets_defs_by_key}
    assert {"raw/export_files", "raw/portal_pull", "core/cases", "mart/unit_period_stats",
            "mart/level_period_stats", "mart/target_attainment"} <= keys
    assert repo.get_schedule_def("nightly_portal_pull")
    assert repo.get_sensor_def("inbox_sensor") and repo.get_sensor_def("refresh_after_ingest")


def test_reference_lists_are_an_asset_upstream_of_cases_and_marts_and_run_with_the_ingest_jobs():
    graph = defs.resolve_asset_graph()
    reference = dg.AssetKey(["core", "reference_lists"])
    assert reference in graph.get(dg.AssetKey(["core", "cases"])).parent_keys
    assert reference in graph.get(dg.AssetKey(["mart", "unit_period_stats"])).parent_keys
    repo = defs.get_repository_def()
    for job in ("ingest_files_job", "core_refresh_job"):
        selected = repo.get_job(job).asset_layer.selected_asset_keys
        assert reference in selected and dg.AssetKey(["core", "cases"]) in selected, job


def test_quarter_partitions_are_keyed_by_label_and_cover_the_15th_to_14th_windows():
    assert partitions.quarter_label("2024-12-15") == "2025-Q1"  # a day gives its quarter
    assert partitions.quarter_key("2025-Q1") == "2025-Q1"
    assert partitions.quarter_of_key("2025-Q3").start.isoformat() == "2025-06-15"
    first = partitions.quarter_of_key("2024-Q3")
    keys = partitions.quarter_labels_until(first, date(2025, 3, 15))
    assert keys == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]  # 15 March opens 2025-Q2: included
    assert partitions.quarter_labels_until(first, date(2025, 3, 14))[-1] == "2025-Q1"
    assert partitions.reporting_quarters.get_partition_keys()[0] == "2020-Q1"  # DVC_FIRST_PERIOD default
    with pytest.raises(ValueError):
        partitions.quarter_key("2025-03")


def test_nightly_schedule_pulls_yesterday_at_0130_local():
    schedule = defs.get_repository_def().get_schedule_def("nightly_portal_pull")
    assert schedule.cron_schedule == "30 1 * * *" and schedule.execution_timezone == "Asia/Ho_Chi_Minh"
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2025, 3, 15, 1, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    from assets.schedules import nightly_portal_pull

    request = nightly_portal_pull(context)
    assert request.partition_key == "2025-03-14"


def test_inbox_sensor_requests_each_file_once(tmp_path, fixtures, monkeypatch):
    from assets.sensors import inbox_sensor

    monkeypatch.setenv("DVC_INBOX", str(tmp_path))
    shutil.copy(fixtures / "cases_small.jsonl", tmp_path)
    context = dg.build_sensor_context(cursor=None)
    first = inbox_sensor(context)
    assert isinstance(first, dg.RunRequest)
    files = first.run_config["ops"]["raw__export_files"]["config"]["files"]
    assert [p.split("/")[-1] for p in files] == ["cases_small.jsonl"]
    again = inbox_sensor(dg.build_sensor_context(cursor=context.cursor))
    assert isinstance(again, dg.SkipReason)
    shutil.copy(fixtures / "api_page.json", tmp_path)
    third = inbox_sensor(dg.build_sensor_context(cursor=context.cursor))
    assert [p.split("/")[-1] for p in third.run_config["ops"]["raw__export_files"]["config"]["files"]] == ["api_page.json"]
    assert json.loads(context.cursor)


@pytest.fixture
def landed(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "metrics_cases.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    materialize([["raw", "export_files"], ["core", "reference_lists"], ["core", "cases"]], warehouse=warehouse, inbox=inbox, instance=instance)
    return warehouse, instance


@pytest.mark.slow
def test_backfill_over_many_quarters_is_one_run(landed):
    warehouse, instance = landed
    result = materialize(
        ("mart", "publish"),
        warehouse=warehouse,
        tags={"dagster/asset_partition_range_start": "2025-Q1", "dagster/asset_partition_range_end": "2025-Q2"},
        instance=instance,
    )
    assert result.success
    runs = instance.get_runs()
    assert len(runs) == 2  # ingest + one marts run for both quarters
    meta = result.asset_materializations_for_node("mart__unit_period_stats")[0].metadata
    assert meta["quarters"].value == "2025-Q1, 2025-Q2"
    checks = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert checks and all(e.event_specific_data.passed for e in checks)


def test_blocking_identity_check_stops_rollups(landed, monkeypatch):
    from app.errors import CommandError
    from pipeline.quality import checks

    warehouse, instance = landed
    monkeypatch.setattr(checks, "identity_violations",
                        lambda con: checks.CheckOutcome(False, 1, [("month", "2025-03", "U1")]))
    with pytest.raises(CommandError, match="unit_stats_identities"):
        materialize(
            ("mart", "publish"),
            warehouse=warehouse,
            tags={"dagster/asset_partition_range_start": "2025-Q1",
                  "dagster/asset_partition_range_end": "2025-Q1"},
            instance=instance,
        )
    materialized = {
        e.asset_key.to_user_string()
        for e in instance.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION))
        for e in [e.event_log_entry.dagster_event]
    }
    assert "mart/unit_period_stats" in materialized
    assert "mart/level_period_stats" not in materialized


def test_multi_day_pull_backfill_is_one_run_against_the_local_portal(tmp_path, monkeypatch):
    from devtools.portal_server import PortalServer
    from tests.pipeline.ingest.test_portal import records

    data = records(30, day=10) + records(20, day=25, prefix="L")
    instance = dg.DagsterInstance.ephemeral()
    with PortalServer(data, token="tok") as server:
        monkeypatch.setenv("DVC_PORTAL_URL", server.url)
        monkeypatch.setenv("DVC_PORTAL_TOKEN", "tok")
        result = materialize(
            [["raw", "portal_pull"]],
            warehouse=tmp_path / "w.duckdb",
            tags={"dagster/asset_partition_range_start": "2025-01-01",
                  "dagster/asset_partition_range_end": "2025-01-31"},
            instance=instance,
        )
    assert len(instance.get_runs()) == 1
    meta = result.asset_materializations_for_node("raw__portal_pull")[0].metadata
    assert meta["days"].value == 31 and meta["records_landed"].value == 50
    assert meta["window"].value == "[2025-01-01 00:00, 2025-02-01 00:00)"


@pytest.mark.slow
def test_pull_command_lands_and_refreshes(tmp_path, monkeypatch, capsys, fixtures):
    import duckdb

    from app.cli import main
    from devtools.portal_server import PortalServer
    from tests.pipeline.ingest.test_portal import records

    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    warehouse = tmp_path / "w.duckdb"
    with PortalServer(records(42), token="tok") as server:
        monkeypatch.setenv("DVC_PORTAL_URL", server.url)
        monkeypatch.setenv("DVC_PORTAL_TOKEN", "tok")
        assert main(["pull", "--from", "2025-01-01", "--to", "2025-02-01", "--warehouse", str(warehouse)]) == 0
        monkeypatch.setenv("DVC_PORTAL_TOKEN", "wrong")
        code = main(["pull", "--from", "2025-01-01", "--to", "2025-01-02", "--warehouse", str(warehouse)])
    err = capsys.readouterr().err
    assert code == 1 and "DVC_PORTAL_TOKEN" in err
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM core.cases").fetchone()[0] == 42
    assert con.execute("SELECT sum(new_total) FROM mart.unit_period_stats WHERE period_grain = 'month'").fetchone()[0] == 42
    con.close()


@pytest.mark.slow
def test_after_ingest_sensor_requests_only_the_touched_quarters(landed):
    from assets.sensors import marts_run_request

    warehouse, instance = landed
    request = marts_run_request(str(warehouse))
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-Q1"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-Q2"
    materialize(("mart", "publish"), warehouse=warehouse, tags={
        "dagster/asset_partition_range_start": "2025-Q1", "dagster/asset_partition_range_end": "2025-Q2"},
        instance=instance)
    assert isinstance(marts_run_request(str(warehouse)), dg.SkipReason)
