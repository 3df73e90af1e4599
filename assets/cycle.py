"""The official reporting cycle in Dagster (docs/definitions.md §6, pipeline/cycle.py, pipeline/issue.py).

- ``mart/period_status`` and ``mart/restatements`` are rebuilt on every marts refresh (group
  ``marts``, so marts_job runs them; the report files read them for their status line).
- ``issued/period`` freezes one closed window per partition (partition = period LABEL, e.g.
  ``2025-Q3``), from the day after it closes through its due day or later: ``issue_job`` runs it,
  the daily schedule ``daily_issue`` requests every window due that day (or final) and never issued. Issuing an issued window again is a no-op that says so.
"""

from pathlib import Path

import dagster as dg

from assets.marts import level_period_stats, target_attainment, unit_period_stats
from assets.metadata import table_metadata
from assets.partitions import issue_periods, reporting_quarters
from assets.resources import RunSettings, WarehouseResource
from pipeline.cycle import issue, timeline
from pipeline.publish.analyst_copy import publish
from pipeline.reports.data import resolve_period
from pipeline.reports.issue_files import write_issue_files


@dg.asset(
    key=["mart", "period_status"],
    group_name="mart",
    kinds={"duckdb"},
    deps=[level_period_stats],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="mart.period_status: open / provisional / final and the due date of every window in the marts, "
    "as of the run's date (--as-of, DVC_AS_OF, else today in Asia/Ho_Chi_Minh). Rebuilt whole on every refresh.",
)
def period_status(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: RunSettings
) -> dg.MaterializeResult:
    today = settings.today()
    with warehouse.connect() as con:
        rows = timeline.refresh_period_status(con, today)
        by_status = dict(con.execute(
            "SELECT status, count(*) FROM mart.period_status WHERE period_grain = 'quarter' GROUP BY status"
        ).fetchall())
        table = table_metadata(con, "mart.period_status")
    context.log.info(f"mart.period_status: {rows} windows as of {today}; quarters {by_status}")
    return dg.MaterializeResult(metadata={"as_of": str(today), "windows": rows,
                                          "quarters_by_status": dg.MetadataValue.json(by_status)} | table)


@dg.asset(
    key=["mart", "restatements"],
    group_name="mart",
    kinds={"duckdb"},
    deps=[unit_period_stats, level_period_stats, target_attainment],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="mart.restatements: for every issued window (latest issue), the cells whose current value differs "
    "from the issued one. Rebuilt whole on every refresh.",
)
def restatements(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        cells = issue.refresh_restatements(con)
        moved = issue.moved_periods(con)
        table = table_metadata(con, "mart.restatements")
    if moved:
        context.log.warning(
            "issued periods whose numbers moved since their issue: "
            + ", ".join(f"{m.period_label} (issue {m.issue}: {m.cells} cells)" for m in moved)
        )
    return dg.MaterializeResult(metadata={
        "cells": cells,
        "periods_moved": len(moved),
        "moved": dg.MetadataValue.json({m.period_label: {"issue": m.issue, "cells": m.cells} for m in moved}),
    } | table)


class IssueConfig(dg.Config):
    """``reissue``: write a corrected issue when the numbers moved; ``as_of``: the run's "today"
    (YYYY-MM-DD; empty = DVC_AS_OF, else the local date); ``confirm_incomplete``: issue a window
    whose data does not reach its last day (recorded in issued.issues)."""

    reissue: bool = False
    confirm_incomplete: bool = False
    as_of: str = ""
    out_dir: str = ""


@dg.asset(
    key=["issued", "period"],
    group_name="issued",
    kinds={"duckdb", "excel", "html"},
    # Label partitions vs quarter-start partitions: an issue reads whatever the marts hold.
    deps=[dg.AssetDep(a, partition_mapping=dg.AllPartitionMapping())
          for a in (unit_period_stats, level_period_stats, target_attainment)],
    partitions_def=issue_periods,
    description="Freezes a final window (partition = its label): its mart rows copied into schema issued in one "
    "transaction (issue number, issued_at, data_as_of, content_hash), then bieu_II06a_<label>_issue<n>.xlsx and "
    "dashboard_<label>_issue<n>.html written once, read-only. Already issued: a no-op that says so.",
)
def issued_period(
    context: dg.AssetExecutionContext, config: IssueConfig, warehouse: WarehouseResource, settings: RunSettings
) -> dg.MaterializeResult:
    label = context.partition_key
    period = resolve_period(None, label)
    today = timeline.parse_day(config.as_of) if config.as_of else settings.today()
    out_dir = config.out_dir or str(settings.reports_folder(warehouse.path))

    with warehouse.connect() as con:
        outcome = issue.issue_period(con, period, as_of=today, reissue=config.reissue, out_dir=Path(out_dir),
                                     write_files=write_issue_files, confirm_incomplete=config.confirm_incomplete)
        if outcome.action == "issued":
            publish(con, warehouse.path)  # analysts see the new issue at once
    context.log.info(outcome.message)
    return dg.MaterializeResult(metadata={
        "period": label,
        "status": outcome.status,
        "as_of": str(today),
        "action": outcome.action,
        "issue": outcome.issue,
        "content_hash": outcome.content_hash,
        "message": outcome.message,
        "files": dg.MetadataValue.json([str(p) for p in outcome.files]),
    })
