"""Ingest assets: export files from the inbox, and days pulled from the export API."""


import time
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg

from assets.metadata import OWNERS, table_metadata
from assets.partitions import portal_days
from assets.resources import InboxResource, RunSettings, WarehouseResource
from pipeline.ingest import readers
from pipeline.ingest.landing import BatchResult, land_file


class ExportFilesConfig(dg.Config):
    """Which files to land: every supported file in the inbox, or the listed ones (sensor)."""

    files: list[str] = []


def inbox_files(inbox: Path) -> list[Path]:
    """Supported export files, oldest first (arrival order breaks NgayCapNhat ties)."""
    if not inbox.is_dir():
        return []
    found = [p for p in inbox.iterdir() if p.is_file() and readers.file_format(p)]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def _reasons_markdown(results: list[BatchResult]) -> str:
    totals: dict[str, int] = {}
    for r in results:
        for reason, n in r.reasons_preview or []:
            totals[reason] = totals.get(reason, 0) + n
    if not totals:
        return "No record was quarantined."
    rows = sorted(totals.items(), key=lambda kv: -kv[1])[:10]
    return "| reason | records |\n|---|---|\n" + "\n".join(f"| {r} | {n} |" for r, n in rows)


@dg.asset(
    key=["raw", "export_files"],
    group_name="raw",
    owners=OWNERS,
    kinds={"duckdb", "python"},
    description="Lands every new export file of the inbox into raw.case_versions / raw.quarantine / raw.batches (one transaction per file; a file already landed is skipped by content hash).",
)
def raw_export_files(
    context: dg.AssetExecutionContext,
    config: ExportFilesConfig,
    warehouse: WarehouseResource,
    inbox: InboxResource,
) -> dg.MaterializeResult:
    started = time.perf_counter()
    paths = [Path(f) for f in config.files] if config.files else inbox_files(Path(inbox.path))
    context.log.info(f"{len(paths)} export file(s) to consider in {inbox.path}")
    results: list[BatchResult] = []
    with warehouse.connect() as con:
        for i, path in enumerate(paths, start=1):
            result = land_file(con, path)
            results.append(result)
            if result.status == "landed":
                context.log.info(
                    f"[{i}/{len(paths)}] {path.name}: {result.records_read} read = "
                    f"{result.records_landed} landed + {result.records_quarantined} quarantined"
                )
            elif result.status == "failed":
                context.log.error(f"[{i}/{len(paths)}] {path.name}: NOT landed: {result.error}")
            else:
                context.log.info(f"[{i}/{len(paths)}] {path.name}: already landed, skipped")
        table = table_metadata(con, "raw.case_versions")
    landed = [r for r in results if r.status == "landed"]
    failed = [r for r in results if r.status == "failed"]
    return dg.MaterializeResult(
        metadata=table | {
            "files_seen": len(results),
            "files_landed": len(landed),
            "files_skipped_already_landed": sum(r.status == "skipped_duplicate_file" for r in results),
            "files_failed": len(failed),
            "failed_files": dg.MetadataValue.json({r.source_name: r.error for r in failed}),
            "records_read": sum(r.records_read for r in landed),
            "records_landed": sum(r.records_landed for r in landed),
            "records_new_versions": sum(r.records_new_versions for r in landed),
            "records_quarantined": sum(r.records_quarantined for r in landed),
            "quarantine_reasons": dg.MetadataValue.md(_reasons_markdown(landed)),
            "duration_s": round(time.perf_counter() - started, 2),
        }
    )


class PortalPullConfig(dg.Config):
    chunk_records: int = 50_000


def partition_window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    """[first day 00:00, last day + 1 00:00) in local time for the run's day partitions."""
    keys = context.partition_keys
    first = date.fromisoformat(keys[0])
    last = date.fromisoformat(keys[-1])
    return datetime.combine(first, datetime.min.time()), datetime.combine(last + timedelta(days=1), datetime.min.time())


@dg.asset(
    key=["raw", "portal_pull"],
    group_name="raw",
    owners=OWNERS,
    kinds={"duckdb", "python"},
    partitions_def=portal_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Pulls the export API for the partition's local days (NgayCapNhat in [day, day + 1)) and lands the records through the same validation as files. A backfill over many days runs as one run and one window.",
)
def raw_portal_pull(
    context: dg.AssetExecutionContext, config: PortalPullConfig, warehouse: WarehouseResource, settings: RunSettings
) -> dg.MaterializeResult:
    from pipeline.ingest.pull import pull_window

    tu, den = partition_window(context)
    portal = settings.portal()
    context.log.info(f"pulling NgayCapNhat in [{tu:%Y-%m-%d %H:%M}, {den:%Y-%m-%d %H:%M}) from {portal.base_url}")
    # The path, not a connection: the warehouse is opened only to land each downloaded chunk,
    # so a slow portal never holds its write lock (summary and other runs keep working).
    result = pull_window(warehouse.path, portal, tu, den, chunk_records=config.chunk_records, log=context.log)
    with warehouse.connect() as con:
        table = table_metadata(con, "raw.case_versions")
    context.log.info(
        f"pulled {result.records_pulled} records in {result.pages} pages "
        f"({result.retries} retries, {result.repulls} re-pulls): "
        f"{result.records_landed} landed + {result.records_quarantined} quarantined"
    )
    return dg.MaterializeResult(
        metadata=table | {
            "window": f"[{tu:%Y-%m-%d %H:%M}, {den:%Y-%m-%d %H:%M})",
            "days": len(context.partition_keys),
            "pages": result.pages,
            "records_pulled": result.records_pulled,
            "records_landed": result.records_landed,
            "records_quarantined": result.records_quarantined,
            "records_new_versions": result.new_versions,
            "retries": result.retries,
            "repulls": result.repulls,
            "batches": result.batches,
            "duration_s": round(result.seconds, 2),
        }
    )
