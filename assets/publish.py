"""The analyst database: published after the marts, atomically (pipeline/publish.py)."""

import dagster as dg

from assets.cycle import period_status, restatements
from assets.marts import (
    INDEX766_SCORES_KEY,
    drilldown_stats,
    late_cases,
    level_period_stats,
    target_attainment,
)
from assets.partitions import reporting_quarters
from assets.resources import WarehouseResource
from pipeline.publish.analyst_copy import analytics_path, parquet_path, publish


@dg.asset(
    key=["publish", "analytics_database"],
    group_name="publish",
    kinds={"duckdb"},
    deps=[level_period_stats, target_attainment, drilldown_stats, late_cases, INDEX766_SCORES_KEY, period_status,
          restatements],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Read-only copy of the analyst-facing tables (marts, reference, core.cases without free text) at <warehouse>.analytics.duckdb (DuckDB storage DVC_ANALYTICS_STORAGE_VERSION, default v1.0.0: DuckDB 1.x clients open it) and as Parquet with a data dictionary in <warehouse>.analytics_parquet/, both swapped in atomically: analysts query them any time, even while the pipeline writes.",
)
def analytics_database(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        path = publish(con, warehouse.path)
    folder = parquet_path(warehouse.path)
    context.log.debug(f"analysts: .venv/bin/duckdb -readonly {path}; Parquet and data dictionary in {folder}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "size_mb": round(path.stat().st_size / 2**20, 2),
            "parquet": dg.MetadataValue.path(str(folder)),
            "parquet_mb": round(sum(f.stat().st_size for f in folder.iterdir()) / 2**20, 2),
        }
    )


__all__ = ["analytics_database", "analytics_path"]
