"""The reporting cycle in Dagster: status and restatements refresh with the marts; issued/period is
partitioned by period label, run by issue_job, requested by the daily schedule (stopped by default)."""

from __future__ import annotations

import shutil
from datetime import date

import dagster as dg
import pytest

from app.runner import Runner, step_metadata
from assets.definitions import defs
from assets.schedules import issue_run_requests
from pipeline import periods
from pipeline.cycle import issue
from pipeline.reports.issue_files import write_issue_files
from pipeline.warehouse import open_warehouse


@pytest.fixture
def warehouse(tmp_path, fixtures, monkeypatch, metrics_cases_template):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    monkeypatch.setenv("DVC_REPORTS_DIR", str(tmp_path / "reports"))
    path = tmp_path / "w.duckdb"
    shutil.copy(metrics_cases_template, path)  # metrics_cases.jsonl landed and refreshed (conftest)
    return path


def test_cycle_assets_job_and_schedule_are_declared():
    repo = defs.get_repository_def()
    marts_job = repo.get_job("marts_job")
    assert {"mart__period_status", "mart__restatements"} <= set(marts_job.graph.node_dict)
    issued = repo.assets_defs_by_key[dg.AssetKey(["issued", "period"])]
    keys = issued.partitions_def.get_partition_keys()
    assert {"2025-Q3", "2025-H2", "2025"} <= set(keys) and "2025-09" not in keys
    assert set(repo.get_job("issue_job").graph.node_dict) == {"issued__period"}
    schedule = repo.get_schedule_def("daily_issue")
    assert schedule.cron_schedule == "0 6 * * *" and schedule.execution_timezone == "Asia/Ho_Chi_Minh"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    # The reports read the status and the restatements: they run after them.
    xlsx = repo.assets_defs_by_key[dg.AssetKey(["report", "quarter_xlsx"])]
    assert {dg.AssetKey(["mart", "period_status"]), dg.AssetKey(["mart", "restatements"])} <= xlsx.dependency_keys


def test_schedule_requests_final_unissued_periods_and_issuing_twice_is_a_noop(warehouse):
    assert isinstance(issue_run_requests(str(warehouse), date(2025, 3, 18)), dg.SkipReason)
    requests = issue_run_requests(str(warehouse), date(2025, 3, 21))
    assert [(r.partition_key, r.run_key) for r in requests] == [("2025-Q1", "issue-2025-Q1")]
    config = requests[0].run_config

    runner = Runner(warehouse, instance=dg.DagsterInstance.ephemeral(), command="issue")
    first = step_metadata(runner.run("issue_job", run_config=config, tags={"dagster/partition": "2025-Q1"}),
                          "issued__period")
    assert (first["status"], first["issue"], first["action"]) == ("final", 1, "issued")
    assert len(first["content_hash"]) == 64
    second = step_metadata(runner.run("issue_job", run_config=config, tags={"dagster/partition": "2025-Q1"}),
                           "issued__period")
    assert (second["action"], second["issue"]) == ("already_issued", 1)
    assert "already issued" in second["message"] and second["content_hash"] == first["content_hash"]
    assert isinstance(issue_run_requests(str(warehouse), date(2025, 3, 22)), dg.SkipReason)


def test_daily_schedule_judges_the_local_day_of_its_tick(warehouse, monkeypatch):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from assets.schedules import daily_issue

    monkeypatch.setenv("DVC_WAREHOUSE", str(warehouse))
    # 06:00 on the due day in Hà Nội is still the 19th in UTC: the report is issued by its due day.
    tick = datetime(2025, 3, 20, 6, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    requests = daily_issue(dg.build_schedule_context(scheduled_execution_time=tick))
    assert [r.partition_key for r in requests] == ["2025-Q1"]
    assert requests[0].run_config["ops"]["issued__period"]["config"]["as_of"] == "2025-03-20"
    day_before = datetime(2025, 3, 19, 6, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert isinstance(daily_issue(dg.build_schedule_context(scheduled_execution_time=day_before)), dg.SkipReason)


def test_schedule_leaves_incomplete_windows_to_a_clerks_confirmation(warehouse):
    """The fixture's data reaches 20/04/2025: on 21/06 the 2025-Q2 and 2025-H1 reports are due
    but incomplete (docs/definitions.md §6): only the complete 2025-Q1 is requested."""
    requests = issue_run_requests(str(warehouse), date(2025, 6, 21))
    assert [r.partition_key for r in requests] == ["2025-Q1"]
    with open_warehouse(warehouse) as con:
        issue.issue_period(con, periods.parse_label("2025-Q1"), write_files=write_issue_files, as_of=date(2025, 6, 21),
                           out_dir=warehouse.parent / "reports")
    held = issue_run_requests(str(warehouse), date(2025, 6, 21))
    assert isinstance(held, dg.SkipReason) and "2025-H1, 2025-Q2" in held.skip_message
    assert "--confirm-incomplete" in held.skip_message
