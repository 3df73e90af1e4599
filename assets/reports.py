"""The official report files per reporting quarter: Biểu II.06a workbook and the dashboard.

One file of each per quarter partition, in the reports folder (DVC_REPORTS_DIR, default
``reports/`` next to the warehouse), written atomically (temporary file, then rename). Any
other period (month, half, year, calendar windows) on demand: ``python -m pipeline report``.
"""

from pathlib import Path

import dagster as dg

from assets.marts import level_period_stats, target_attainment, unit_period_stats
from assets.partitions import quarter_label, reporting_quarters
from assets.resources import WarehouseResource
from pipeline import config
from pipeline.dashboard import dashboard_name, write_dashboard
from pipeline.official_report import resolve_period, write_quarter_report, xlsx_name


def _labels(context: dg.AssetExecutionContext) -> list[str]:
    return [quarter_label(k) for k in context.partition_keys]


def _metadata(folder: Path, files: dict[str, Path], rows: int) -> dict:
    sizes = sum(p.stat().st_size for p in files.values())
    only = next(iter(files.values())) if len(files) == 1 else None
    return {
        "path": dg.MetadataValue.path(str(only or folder)),
        "files": dg.MetadataValue.json({label: str(p) for label, p in files.items()}),
        "quarters": ", ".join(files),
        "rows": rows,
        "size_bytes": sizes,
    }


@dg.asset(
    key=["report", "quarter_xlsx"],
    group_name="reports",
    kinds={"excel"},
    deps=[unit_period_stats, level_period_stats, target_attainment],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Biểu II.06a/VPCP/KSTT 'Tình hình, kết quả giải quyết TTHC' per quarter "
    "(bieu_II06a_<quarter>.xlsx: the form by unit and level with the province total, the headline "
    "rates, the year's target attainment), numbers read from the marts.",
)
def quarter_xlsx(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    folder = config.reports_dir(warehouse.path)
    files: dict[str, Path] = {}
    rows = 0
    with warehouse.connect() as con:
        for label in _labels(context):
            period = resolve_period("quarter", label)
            result = write_quarter_report(con, "quarter", label, folder / xlsx_name(period))
            files[label] = result.path
            rows += result.rows
            context.log.info(f"{label}: {result.path} ({result.unit_rows} units)")
    return dg.MaterializeResult(metadata=_metadata(folder, files, rows))


@dg.asset(
    key=["report", "dashboard_html"],
    group_name="reports",
    kinds={"html"},
    deps=[unit_period_stats, level_period_stats, target_attainment],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Static HTML dashboard per quarter (dashboard_<quarter>.html, no server or network "
    "needed): units against their targets, ranking, trend of the headline rates, data quality.",
)
def dashboard_html(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    folder = config.reports_dir(warehouse.path)
    files: dict[str, Path] = {}
    rows = 0
    with warehouse.connect() as con:
        for label in _labels(context):
            period = resolve_period("quarter", label)
            result = write_dashboard(con, "quarter", label, folder / dashboard_name(period))
            files[label] = result.path
            rows += result.units
            context.log.info(f"{label}: {result.path} ({result.units} units)")
    return dg.MaterializeResult(metadata=_metadata(folder, files, rows))
