"""The analyst database: published after the marts, atomically (pipeline/publish.py)."""

import dagster as dg

from assets.marts import drilldown_stats, late_cases, level_period_stats, target_attainment
from assets.partitions import reporting_quarters
from assets.resources import WarehouseResource
from pipeline.publish import analytics_path, publish


@dg.asset(
    key=["publish", "analytics_database"],
    group_name="publish",
    kinds={"duckdb"},
    deps=[level_period_stats, target_attainment, drilldown_stats, late_cases],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Read-only copy of the analyst-facing tables (marts, reference, core.cases without free text) at <warehouse>.analytics.duckdb, swapped in atomically: analysts query it any time, even while the pipeline writes.",
)
def analytics_database(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = publish(con, warehouse.path)
    context.log.info(f"analysts: duckdb -readonly {path}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "size_mb": round(path.stat().st_size / 2**20, 2)}
    )


__all__ = ["analytics_database", "analytics_path"]
