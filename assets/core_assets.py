"""The core layer: the reference lists (seeds/) and core.cases, one row per case, folded
incrementally from landed batches."""


import dagster as dg

from assets.ingest import raw_export_files, raw_portal_pull
from assets.metadata import OWNERS, table_metadata
from assets.resources import WarehouseResource
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.reference import load_reference
from pipeline.quality import checks


@dg.asset(
    key=["core", "reference_lists"],
    group_name="core",
    owners=OWNERS,
    kinds={"duckdb", "csv"},
    description="The reference lists of seeds/ (or DVC_SEEDS_DIR), validated (file, row and problem named) and "
    "loaded into core.units, core.unit_crosswalk, core.targets, core.procedures, core.index766, with the "
    "derived core.unit_calendar and core.unit_resolution. Upstream of core.cases and every mart.",
)
def reference_lists(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        ref = load_reference(con)
        table = table_metadata(con, "core.units")
    counts = {"units": len(ref.units), "crosswalk_rows": len(ref.crosswalk), "targets": len(ref.targets),
              "index766_indicators": len(ref.index766)}
    context.log.debug(f"reference lists loaded: {counts}")
    return dg.MaterializeResult(metadata=table | counts)


@dg.asset(
    key=["core", "cases"],
    group_name="core",
    owners=OWNERS,
    kinds={"duckdb"},
    deps=[
        reference_lists,
        raw_export_files,
        dg.AssetDep(raw_portal_pull, partition_mapping=dg.AllPartitionMapping()),
    ],
    description="core.cases: the newest valid version of every case (largest NgayCapNhat, ties -> later arrival). Unit codes missing from the reference lists (core/reference_lists) are reported by the gx_core_unit_codes check.",
)
def core_cases(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        merged = merge_pending_batches(con)
        total = con.execute("SELECT count(*) FROM core.cases").fetchone()[0]
        table = table_metadata(con, "core.cases")
    context.log.debug(
        f"core.cases: {merged.cases_changed} cases changed from {merged.batches} new batches; "
        f"{total} cases in all; touched days {merged.affected_from}..{merged.affected_to}"
    )
    return dg.MaterializeResult(
        metadata=table | {
            "batches_merged": merged.batches,
            "cases_changed": merged.cases_changed,
            "cases_total": total,
            "affected_from": str(merged.affected_from),
            "affected_to": str(merged.affected_to),
        }
    )


@dg.asset_check(asset=core_cases, blocking=True, description="One row per case in core.cases, and every batch reconciles (read = landed + quarantined).")
def core_integrity_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        dupes = checks.duplicate_case_rows(con)
        recon = checks.batch_reconciliation(con)
    return dg.AssetCheckResult(
        passed=dupes.passed and recon.passed,
        metadata={"duplicate_cases": dupes.violations, "unreconciled_batches": recon.violations},
    )
