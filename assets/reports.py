"""The official report files per reporting quarter: Biểu II.06a workbook and the dashboard.

One file of each per quarter partition, in the reports folder (DVC_REPORTS_DIR, default
``reports/`` next to the warehouse), written atomically (temporary file, then rename). Any
other period (month, half, year, calendar windows) on demand: ``python -m pipeline report``.
"""

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from assets.cycle import period_status, restatements
from assets.marts import (
    INDEX766_SCORES_KEY,
    level_period_stats,
    target_attainment,
    unit_period_stats,
)
from assets.partitions import quarter_label, reporting_quarters
from assets.resources import RunSettings, WarehouseResource
from pipeline.cycle.issue import working_banner
from pipeline.reports.dashboard import dashboard_name, save_dashboard
from pipeline.reports.data import NoReportData, resolve_period, xlsx_name
from pipeline.reports.model import PeriodReport, build_report
from pipeline.reports.xlsx import render_workbook


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
    group_name="report",
    kinds={"excel"},
    deps=[unit_period_stats, level_period_stats, target_attainment, INDEX766_SCORES_KEY, period_status, restatements],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Biểu II.06a/VPCP/KSTT 'Tình hình, kết quả giải quyết TTHC' per quarter "
    "(bieu_II06a_<quarter>.xlsx: the form by unit and level with the province total, the headline "
    "rates, the year's target attainment), numbers read from the marts.",
)
def quarter_xlsx(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: RunSettings
) -> dg.MaterializeResult:
    return _write_per_quarter(context, warehouse, settings, _write_xlsx, xlsx_name)


@dg.asset(
    key=["report", "dashboard_html"],
    group_name="report",
    kinds={"html"},
    deps=[unit_period_stats, level_period_stats, target_attainment, INDEX766_SCORES_KEY, period_status, restatements],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Static HTML dashboard per quarter (dashboard_<quarter>.html, no server or network "
    "needed): units against their targets, ranking, trend of the headline rates, data quality.",
)
def dashboard_html(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: RunSettings
) -> dg.MaterializeResult:
    return _write_per_quarter(context, warehouse, settings, _write_html, dashboard_name)


def _report(con: Any, label: str, today: date) -> PeriodReport:
    """The quarter's report model (read once per quarter and asset), with its status line."""
    period = resolve_period("quarter", label)
    return build_report(con, period, banner=working_banner(con, period, today))


def _write_xlsx(con: Any, label: str, path: Path, today: date) -> tuple[Path, int]:
    result = render_workbook(_report(con, label, today), path)
    return result.path, result.rows


def _write_html(con: Any, label: str, path: Path, today: date) -> tuple[Path, int]:
    result = save_dashboard(_report(con, label, today), path)
    return result.path, result.units


def _write_per_quarter(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    settings: RunSettings,
    write: Callable[[Any, str, Path, date], tuple[Path, int]],
    file_name: Callable[[Any], str],
) -> dg.MaterializeResult:
    """One file per quarter partition of the run; ``write`` returns its path and row count."""
    folder = settings.reports_folder(warehouse.path)
    today = settings.today()
    files: dict[str, Path] = {}
    rows = 0
    with warehouse.connect() as con:
        for label in _labels(context):
            try:
                path, written = write(con, label, folder / file_name(resolve_period("quarter", label)), today)
            except NoReportData as exc:  # e.g. a quarter before the data starts: no file of zeros
                context.log.info(f"{label}: skipped, {exc}")
                continue
            files[label] = path
            rows += written
            context.log.info(f"report {label}: {path} ({written} rows)")
    return dg.MaterializeResult(metadata=_metadata(folder, files, rows))
