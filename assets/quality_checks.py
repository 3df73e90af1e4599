"""Great Expectations suites (schemas/expectations/*.json) as Dagster asset checks.

Each check reads its suite's bounded rows from DuckDB (the mart checks: only the windows of
the run's reporting quarters), validates them with GX (pipeline/quality.py; GX is imported
there, only when a check runs) and records the validation in the GX Data Docs under the
warehouse's quality folder. A failed error-level expectation gives an ERROR result; the mart
checks are blocking, so a broken mart is not published. Warnings (freshness, quarantine
share, unknown unit codes) never stop a run.
"""

from collections.abc import Sequence

import dagster as dg

from assets.core_assets import core_cases
from assets.ingest import raw_export_files, raw_portal_pull
from assets.marts import level_period_stats, target_attainment, unit_period_stats
from assets.partitions import windows_for_quarter_keys
from assets.resources import WarehouseResource
from pipeline.quality import expectations

MAX_LISTED = 50


def run_windows(context: dg.AssetCheckExecutionContext) -> list[expectations.Window] | None:
    """(grain, label) of every window the run's reporting quarters recompute, or None when the
    run has no partitions (the check then reads the newest rows of the whole table)."""
    try:
        keys = list(context.partition_keys)
    except Exception:  # a run without partitions (e.g. the check launched on its own)
        return None
    if not keys:
        return None
    return expectations.windows_of(windows_for_quarter_keys(keys))


def check_result(result: expectations.SuiteResult, suite: expectations.Suite) -> dg.AssetCheckResult:
    """One Dagster check result: ERROR if an error-level expectation failed, else WARN."""
    if result.success:
        severity = dg.AssetCheckSeverity.ERROR if suite.has_error_expectations else dg.AssetCheckSeverity.WARN
    else:
        severity = dg.AssetCheckSeverity.ERROR if result.severity == "error" else dg.AssetCheckSeverity.WARN
    metadata: dict[str, object] = {
        "suite": f"schemas/expectations/{suite.name}.json",
        "rows_checked": result.rows,
        "bound": result.bound,
        "expectations": len(result.outcomes),
        "failed_expectations": len(result.failed),
        "failed": dg.MetadataValue.json([o.summary() for o in result.failed[:MAX_LISTED]]),
        "unexpected_counts": dg.MetadataValue.json(
            {o.name: o.unexpected_count for o in result.failed if o.unexpected_count is not None}
        ),
        "duration_s": result.seconds,
    }
    if result.parameters:
        shown = {k: v for k, v in result.parameters.items() if not isinstance(v, list)}
        if shown:
            metadata["parameters"] = dg.MetadataValue.json(shown)
    if result.data_docs_index is not None:
        metadata["data_docs"] = dg.MetadataValue.url(result.data_docs_index.as_uri())
    if result.validation_page is not None:
        metadata["validation_page"] = dg.MetadataValue.url(result.validation_page.as_uri())
    return dg.AssetCheckResult(
        passed=result.success,
        severity=severity,
        metadata=metadata,
        description=_describe(result),
    )


def _describe(result: expectations.SuiteResult) -> str:
    if result.success:
        return f"{len(result.outcomes)} expectations passed on {result.rows} rows ({result.bound})."
    names = ", ".join(result.failed_names[:5]) + (" …" if len(result.failed) > 5 else "")
    return f"{len(result.failed)} of {len(result.outcomes)} expectations failed on {result.rows} rows: {names}"


def _run(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    suite: expectations.Suite,
    windows: Sequence[expectations.Window] | None,
) -> expectations.SuiteResult:
    with warehouse.connect() as con:  # read, then let the warehouse go while GX works
        batch = expectations.read_batch(con, suite, windows=windows)
    result = expectations.validate_batch(batch, quality=expectations.quality_dir(warehouse.path), run_name=context.run.run_id)
    if result.validation_page is not None:
        context.log.debug(f"GX Data Docs for {suite.name}: {result.validation_page.as_uri()}")
    return result


def gx_check(asset, suite_name: str, *, blocking: bool = False, bounded_by_run: bool = False):
    """A check running one suite on ``asset``; ``bounded_by_run``: only the run's windows."""
    suite = expectations.load_suite(suite_name)

    @dg.asset_check(
        asset=asset,
        name=f"gx_{suite.name}",
        blocking=blocking,
        description=f"Great Expectations suite {suite.name}: {suite.notes}",
        metadata={"suite": f"schemas/expectations/{suite.name}.json"},
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        windows = run_windows(context) if bounded_by_run else None
        return check_result(_run(context, warehouse, suite, windows), suite)

    return _check


gx_unit_period_stats = gx_check(unit_period_stats, "mart_unit_period_stats", blocking=True, bounded_by_run=True)
gx_level_period_stats = gx_check(level_period_stats, "mart_level_period_stats", blocking=True, bounded_by_run=True)
gx_target_attainment = gx_check(target_attainment, "mart_target_attainment", blocking=True, bounded_by_run=True)
# Batches and quarantine: after a file landing, and after an API pull (the nightly path).
gx_raw_batches_files = gx_check(raw_export_files, "raw_batches")
gx_raw_batches_pull = gx_check(raw_portal_pull, "raw_batches")
gx_core_cases_sample = gx_check(core_cases, "core_cases_sample")
_unit_codes_suite = expectations.load_suite("core_unit_codes")


@dg.asset_check(
    asset=core_cases,
    name="gx_core_unit_codes",
    description=f"Great Expectations suite core_unit_codes: {_unit_codes_suite.notes}",
    metadata={"suite": "schemas/expectations/core_unit_codes.json"},
)
def gx_core_unit_codes(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    result = _run(context, warehouse, _unit_codes_suite, None)
    checked = check_result(result, _unit_codes_suite)
    unknown = [row for o in result.failed for row in o.unexpected_rows]
    metadata = dict(checked.metadata) | {
        "unknown_unit_codes": len(unknown),
        "unknown_codes": dg.MetadataValue.json(
            {str(r.get("unit_code")): {"cases": r.get("cases"), "name_sent": r.get("unit_name_source")} for r in unknown}
        ),
    }
    return dg.AssetCheckResult(
        passed=checked.passed, severity=checked.severity, metadata=metadata, description=checked.description
    )
