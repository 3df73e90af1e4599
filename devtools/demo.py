"""The demo: a generated province, landed from files and from a local portal, end to end.

1. writes a realistic inbox (every file format) for Quảng Trị's units (seeds/),
2. starts the local export-API server (devtools/portal_server.py) on 127.0.0.1 over later
   changes of the same province, with the embedded demo token,
3. runs the declared jobs as the nightly path would: lands the files, pulls the API window,
   refreshes every touched window (marts, analyst database, reports), and prints the summary.
   Rerunning it starts from a clean demo folder.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from app.errors import CommandError
from app.runner import Runner
from assets.partitions import day_keys
from assets.resources import RunSettings

log = logging.getLogger(__name__)

DEMO_TOKEN = "demo-token"  # the local server's fixed token; a real portal's comes from DVC_PORTAL_TOKEN
FILES_START, FILES_END = date(2024, 12, 15), date(2025, 11, 14)
API_START, API_END = date(2025, 11, 15), date(2025, 12, 14)


def run_demo(workdir: Path, *, versions: int = 60_000) -> int:
    from devtools import demo_data
    from devtools.portal_server import PortalServer
    from pipeline.reports.summary import print_summary

    workdir = workdir.resolve()
    inbox = workdir / "inbox"
    warehouse = workdir / "warehouse.duckdb"
    for stale in (inbox, workdir / "reports", workdir / "quality"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in workdir.glob("warehouse*.duckdb*"):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    workdir.mkdir(parents=True, exist_ok=True)

    file_versions = int(versions * 0.85)
    log.info("demo: writing an inbox of %d case versions in every export format to %s", file_versions, inbox)
    files = demo_data.write_demo_inbox(inbox, n_versions=file_versions, seed=7)
    log.info("demo: %d files: %s", len(files), ", ".join(p.name for p in files))

    api_records = demo_data.generate_cases(
        versions - file_versions, seed=11, start=API_START, end=API_END
    ).to_dicts()

    dagster_home = _fresh_dagster_home(workdir / "dagster_home")
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    runner = Runner(warehouse, inbox=inbox, command="demo", instance=instance)
    runner.run("ingest_files_job")
    with PortalServer(api_records, token=DEMO_TOKEN) as server:
        log.info("demo: local portal at %s serving %d records", server.url, len(api_records))
        # The local portal's address and token reach the pull as the run's settings.
        portal = RunSettings(portal_url=server.url, portal_token=DEMO_TOKEN)
        keys = day_keys(API_START, API_END + timedelta(days=1))
        Runner(warehouse, command="demo", instance=instance, settings=portal).run(
            "portal_pull_job", partition_range=(keys[0], keys[-1])
        )
    runner.run("core_refresh_job")
    if runner.refresh_pending_marts() is None:
        raise CommandError("demo: no windows were refreshed (no data landed?)")
    print_summary(warehouse)
    print(f"\nDemo folder: {workdir} (inbox, warehouse, published analyst database, reports)")
    print("Browse its runs, assets, checks and partitions in Dagster's UI (http://127.0.0.1:3000):")
    print(f"  DAGSTER_HOME={dagster_home} DVC_WAREHOUSE={warehouse} DVC_FIRST_PERIOD="
          f"{os.environ.get('DVC_FIRST_PERIOD', '')} .venv/bin/dagster dev -w workspace.yaml")
    return 0


# Dagster instance settings of the demo: local storage, no usage statistics sent anywhere.
DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def _fresh_dagster_home(home: Path) -> Path:
    """A new Dagster instance folder for this demo run, so the UI (DAGSTER_HOME=<it>) shows
    exactly the demo's runs."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    return home
