"""The end of a mart refresh: recorded as complete only once everything it feeds is written.

``mart.unit_period_stats`` opens a refresh record when it starts; this asset, downstream of every
other output of marts_job (roll-ups, targets, their blocking checks, the analyst database and the
report files), closes it. A kill, a failed check or a locked file anywhere in between leaves the
record open, so the changes stay pending and the next run (or the sensor) refreshes them again.
"""

import dagster as dg

from assets.metadata import table_metadata
from assets.partitions import quarter_label, reporting_quarters
from assets.publish import analytics_database
from assets.reports import dashboard_html, quarter_xlsx
from assets.resources import WarehouseResource
from pipeline import marts


@dg.asset(
    key=["mart", "refresh_log"],
    group_name="mart",
    kinds={"duckdb"},
    deps=[analytics_database, quarter_xlsx, dashboard_html],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="mart.refresh_log: marks this run's refresh complete (its core changes are no longer "
    "pending) after the marts, checks, analyst database and reports are all written.",
)
def refresh_log(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        covered = marts.complete_refresh(con, context.run_id)
        table = table_metadata(con, "mart.refresh_log")
    quarters = [quarter_label(k) for k in context.partition_keys]
    context.log.info(
        f"refresh of {quarters[0]}..{quarters[-1]} complete"
        + ("" if covered else " (some changes lie outside these quarters and stay pending)")
    )
    return dg.MaterializeResult(
        metadata={"covered_pending_changes": covered, "quarters": ", ".join(quarters)} | table
    )
