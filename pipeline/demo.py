"""The demo: a generated province, landed from files and from a local portal, end to end.

1. writes a realistic inbox (every file format) for Quảng Trị's units (seeds/),
2. starts the local export-API server (pipeline/portal_server.py) on 127.0.0.1 over later
   changes of the same province, with the embedded demo token,
3. lands the files, pulls the API window, refreshes every touched window, publishes the
   analyst database, and prints the summary. Rerunning it starts from a clean demo folder.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

from pipeline.cli import CommandError, materialize, refresh_pending_marts

log = logging.getLogger(__name__)

DEMO_TOKEN = "demo-token"  # the local server's fixed token; a real portal's comes from DVC_PORTAL_TOKEN
FILES_START, FILES_END = date(2024, 12, 15), date(2025, 11, 14)
API_START, API_END = date(2025, 11, 15), date(2025, 12, 14)


def run_demo(workdir: Path, *, versions: int = 60_000) -> int:
    from pipeline import demo_data
    from pipeline.portal_server import PortalServer
    from pipeline.report import print_summary

    workdir = workdir.resolve()
    inbox = workdir / "inbox"
    warehouse = workdir / "warehouse.duckdb"
    for stale in (inbox, workdir / "reports", workdir / "quality"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in workdir.glob("warehouse*.duckdb*"):
        stale.unlink()
    workdir.mkdir(parents=True, exist_ok=True)

    file_versions = int(versions * 0.85)
    log.info("demo: writing an inbox of %d case versions in every export format to %s", file_versions, inbox)
    files = demo_data.write_demo_inbox(inbox, n_versions=file_versions, seed=7)
    log.info("demo: %d files: %s", len(files), ", ".join(p.name for p in files))

    api_records = demo_data.generate_cases(
        versions - file_versions, seed=11, start=API_START, end=API_END
    ).to_dicts()

    instance = None
    materialize([["raw", "export_files"], ["core", "cases"]], warehouse=warehouse, inbox=inbox, instance=instance)

    with PortalServer(api_records, token=DEMO_TOKEN) as server:
        log.info("demo: local portal at %s serving %d records", server.url, len(api_records))
        env = {"DVC_PORTAL_URL": server.url, "DVC_PORTAL_TOKEN": DEMO_TOKEN}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            first, last = API_START, API_END + timedelta(days=1)
            from assets.partitions import day_keys

            keys = day_keys(first, last)
            materialize(
                [["raw", "portal_pull"]],
                warehouse=warehouse,
                tags={"dagster/asset_partition_range_start": keys[0],
                      "dagster/asset_partition_range_end": keys[-1]},
            )
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    materialize([["core", "cases"]], warehouse=warehouse)
    if refresh_pending_marts(warehouse) is None:
        raise CommandError("demo: no windows were refreshed (no data landed?)")
    print_summary(warehouse)
    print(f"\nDemo folder: {workdir} (inbox, warehouse, published analyst database, reports)")
    return 0
