"""The one Definitions entry point (workspace.yaml, `dagster dev`, the command line, tests)."""

import dagster as dg

from assets import core_assets, cycle, ingest, marts, publish, quality_checks, refresh, reports
from assets.jobs import (
    core_refresh_job,
    ingest_files_job,
    issue_job,
    marts_job,
    marts_publish_job,
    portal_pull_job,
)
from assets.loggers import LOGGERS
from assets.resources import InboxResource, RunSettings, WarehouseResource
from assets.schedules import daily_issue, nightly_portal_pull
from assets.sensors import inbox_sensor, reference_lists_sensor, refresh_after_ingest
from pipeline import config

ASSETS = dg.load_assets_from_modules([ingest, core_assets, marts, cycle, publish, reports, refresh])
ASSET_CHECKS = dg.load_asset_checks_from_modules([core_assets, marts, quality_checks])


def build_resources(
    warehouse_path: str | None = None, inbox_path: str | None = None, settings: RunSettings | None = None
) -> dict:
    return {
        "warehouse": WarehouseResource(path=warehouse_path or str(config.default_warehouse())),
        "inbox": InboxResource(path=inbox_path or str(config.default_inbox())),
        "settings": settings or RunSettings(),
    }


def build_definitions(
    warehouse_path: str | None = None, inbox_path: str | None = None, settings: RunSettings | None = None
) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[ingest_files_job, portal_pull_job, core_refresh_job, marts_job, marts_publish_job, issue_job],
        schedules=[nightly_portal_pull, daily_issue],
        sensors=[inbox_sensor, refresh_after_ingest, reference_lists_sensor],
        resources=build_resources(warehouse_path, inbox_path, settings),
        loggers=LOGGERS,
        # DuckDB has one writer process: run every step in the run's own process.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
