"""core.cases: one row per case, folded incrementally from landed batches."""


import dagster as dg

from assets.ingest import raw_export_files, raw_portal_pull
from assets.resources import WarehouseResource
from pipeline import checks
from pipeline.core import merge_pending_batches
from pipeline.reference import load_reference


@dg.asset(
    key=["core", "cases"],
    group_name="core",
    kinds={"duckdb"},
    deps=[
        raw_export_files,
        dg.AssetDep(raw_portal_pull, partition_mapping=dg.AllPartitionMapping()),
    ],
    description="core.cases: the newest valid version of every case (largest NgayCapNhat, ties -> later arrival). Also (re)loads the reference tables from seeds/.",
)
def core_cases(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        load_reference(con)
        merged = merge_pending_batches(con)
        total = con.execute("SELECT count(*) FROM core.cases").fetchone()[0]
        unknown = checks.unknown_unit_codes(con)
    context.log.info(
        f"core.cases: {merged.cases_changed} cases changed from {merged.batches} new batches; "
        f"{total} cases in all; touched days {merged.affected_from}..{merged.affected_to}"
    )
    return dg.MaterializeResult(
        metadata={
            "batches_merged": merged.batches,
            "cases_changed": merged.cases_changed,
            "cases_total": total,
            "affected_from": str(merged.affected_from),
            "affected_to": str(merged.affected_to),
            "unknown_unit_codes": len(unknown),
        }
    )


@dg.asset_check(asset=core_cases, description="Unit codes the reference list cannot place: unknown (missing from seeds/units.csv) or expired (no row in force on the case's reception day, no crosswalk); kept and counted under their code with level 'unknown'.")
def unknown_unit_codes_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        problems = checks.unit_code_problems(con)
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unknown_codes": sum(1 for _, kind, _ in problems if kind == "unknown"),
            "expired_codes": sum(1 for _, kind, _ in problems if kind == "expired"),
            "codes": dg.MetadataValue.json({code: {"problem": kind, "cases": n} for code, kind, n in problems[:50]}),
        },
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
