"""One report model per period: everything the workbook, the dashboard and the summary show,
read from the warehouse in one pass (build_report). The renderers (reports.xlsx.render_workbook,
reports.dashboard.render_dashboard) take the model and never touch a connection, so one
period's files are read once and always agree with each other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from pipeline import periods
from pipeline.province import province_name
from pipeline.reports.dashboard_data import (
    Quality,
    read_comparisons,
    read_levels,
    read_quality,
    read_trend,
    read_units,
)
from pipeline.reports.data import (
    ReportHeader,
    ensure_reportable,
    min_sample,
    read_rates,
    report_header,
)
from pipeline.reports.form_data import FormData, read_form
from pipeline.reports.index766 import IndexView, read_index
from pipeline.reports.late import late_cases, overdue_by_unit
from pipeline.reports.procedure_view import LevelProcedures, procedure_late_cases, procedure_levels
from pipeline.reports.targets import Verdicts, target_verdicts


@dataclass(frozen=True)
class PeriodReport:
    """The read data of one period's report (workbook + dashboard)."""

    period: periods.Period
    banner: str | None  # the period's status line(s), put on every sheet and atop the page
    header: ReportHeader  # reporting unit, recipient, place, generation day
    sample: int  # DVC_MIN_SAMPLE, read once so every part ranks with the same rule
    form: FormData  # Biểu II.06a: per unit, per level, province total, per field
    rate_units: list[dict]  # the Tỷ lệ sheet: headline rates per unit ...
    rate_levels: dict[str, dict]  # ... and per level (with province_total)
    verdicts: Verdicts  # the yearly targets judged for the period
    index: IndexView | None  # Decision 766 index of the period's calendar window
    levels: dict[str, dict]  # the dashboard's level rows (counts and rates)
    province: str | None  # the province's name (dashboard header)
    units: list[dict]  # the dashboard's unit rates (code, name, level, rates, num, den)
    comparisons: list[dict]  # previous period and same period a year earlier: province totals
    trend: list[dict]  # the province's headline rates by month and quarter up to the period
    overdue: list[dict]  # overdue cases by unit
    late: list[dict] | None  # the late-case list (None without the late-case mart)
    procedures: list[LevelProcedures] | None  # by procedure within each level (None: no mart)
    procedure_cases: dict[tuple[str, str], list[dict]]  # late cases of the listed procedures
    quality: Quality  # batches, quarantine, last refresh

    @property
    def total(self) -> dict | None:
        """The province total row of the dashboard's levels."""
        return self.levels.get("province_total")


def build_report(
    con: duckdb.DuckDBPyConnection,
    period: periods.Period,
    *,
    banner: str | None = None,
    today: date | None = None,
) -> PeriodReport:
    """Read everything one period's report shows. Raises data.NoReportData for a period
    without any case (nothing is read further). ``today``: the generation day in the header
    (default: today in Asia/Ho_Chi_Minh)."""
    ensure_reportable(con, period)
    sample = min_sample()
    rate_units, rate_levels = read_rates(con, period)
    procedures = procedure_levels(con, period, sample)
    most_late = [(b.level, r["procedure_code"]) for b in procedures or [] for r in b.most_late]
    return PeriodReport(
        period=period,
        banner=banner,
        header=report_header(con, period, today),
        sample=sample,
        form=read_form(con, period),
        rate_units=rate_units,
        rate_levels=rate_levels,
        verdicts=target_verdicts(con, period),
        index=read_index(con, period),
        levels=read_levels(con, period),
        province=province_name(con, period.end) or province_name(con),
        units=read_units(con, period),
        comparisons=read_comparisons(con, period),
        trend=read_trend(con, period),
        overdue=overdue_by_unit(con, period),
        late=late_cases(con, period),
        procedures=procedures,
        procedure_cases=procedure_late_cases(con, period, most_late),
        quality=read_quality(con),
    )
