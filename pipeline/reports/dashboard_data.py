"""The dashboard's own readers: the period's level and unit rates, the comparison windows, the
trend of the province's headline rates and the warehouse's data quality. Called once per period
by reports.model.build_report; the page (reports.dashboard) renders what they return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from pipeline import periods
from pipeline.db import table_exists
from pipeline.reports.data import (
    HEADLINE_RATES,
    PROVINCE_TOTAL,
    comparison_periods,
    dicts,
    level_rows,
    level_sort_sql,
    period_title,
    province_clause,
    reason_vi,
    report_province,
    short_title,
    unit_label,
)

TREND_RATES: tuple[str, ...] = ("on_time_rate", "online_rate", "full_process_online_rate", "online_payment_rate")
TREND_SERIES: tuple[tuple[str, str, int], ...] = (("month", "Theo tháng", 24), ("quarter", "Theo quý", 12))


def _rate_cols(prefix: str = "") -> str:
    return ", ".join(
        f"{prefix}{r}, {prefix}{r}_numerator, {prefix}{r}_denominator" for r, _ in HEADLINE_RATES
    )


_LEVEL_COLS = ("received_total, new_total, carried_over, resolved_total, resolved_late, in_progress_total, "
               "in_progress_overdue, not_received, ")


def read_levels(con, period: periods.Period) -> dict[str, dict]:
    return level_rows(con, period, _LEVEL_COLS + _rate_cols())


def read_units(con, period: periods.Period) -> list[dict]:
    where, params = province_clause(con, "mart.unit_period_stats", report_province(con, period))
    rows = dicts(con.execute(
        f"""
        SELECT unit_code, unit_name, unit_level, {_rate_cols()}
        FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ?{where}
        ORDER BY {level_sort_sql()}, unit_code
        """,
        [period.grain, period.label, *params],
    ))
    return [
        {
            "code": r["unit_code"], "name": unit_label(r), "level": r["unit_level"],
            "rates": {k: r[k] for k, _ in HEADLINE_RATES},
            "num": {k: r[f"{k}_numerator"] for k, _ in HEADLINE_RATES},
            "den": {k: r[f"{k}_denominator"] for k, _ in HEADLINE_RATES},
        }
        for r in rows
    ]


def read_comparisons(con, period: periods.Period) -> list[dict]:
    """The province totals the headline cards compare with (missing = no data then)."""
    out = []
    for key, other in comparison_periods(period):
        total = read_levels(con, other).get(PROVINCE_TOTAL) if table_exists(con, "mart.level_period_stats") else None
        out.append({"key": key, "label": other.label, "title": short_title(other), "total": total})
    return out



def read_trend(con, period: periods.Period) -> list[dict]:
    calendar = period.grain.startswith("cal_")
    province = report_province(con, period)
    where, params = province_clause(con, "mart.level_period_stats", province)
    out = []
    for grain, title, limit in TREND_SERIES:
        grain = f"cal_{grain}" if calendar else grain
        rows = dicts(con.execute(
            f"""
            SELECT period_label, period_start, period_end, {", ".join(TREND_RATES)}
            FROM mart.level_period_stats
            WHERE unit_level = ? AND period_grain = ? AND period_end <= ?{where}
            ORDER BY period_start DESC LIMIT ?
            """,
            [PROVINCE_TOTAL, grain, period.end, *params, limit],
        ))
        rows.reverse()
        points = []
        for r in rows:
            p = periods.Period(grain, r["period_label"], r["period_start"], r["period_end"])
            points.append({
                "label": r["period_label"], "title": period_title(p), "short": short_title(p),
                "current": r["period_label"] == period.label,
                "rates": {k: r[k] for k in TREND_RATES},
            })
        out.append({"grain": grain, "title": title, "points": points})
    return out


@dataclass(frozen=True)
class Quality:
    batches: int
    read: int
    landed: int
    quarantined: int
    failed_sources: int | None
    last_batch: datetime | None
    last_refresh: datetime | None
    reasons: list[tuple[str, int]] | None


def read_quality(con) -> Quality:
    batches_table = next((t for t in ("raw.batches", "quality.batches") if table_exists(con, t)), None)
    batches = read = landed = quarantined = 0
    last_batch = None
    if batches_table:
        batches, read, landed, quarantined, last_batch = con.execute(
            f"SELECT count(*), coalesce(sum(records_read), 0), coalesce(sum(records_landed), 0), "
            f"coalesce(sum(records_quarantined), 0), max(finished_at) FROM {batches_table}"
        ).fetchone()
    failed = (
        con.execute("SELECT count(*) FROM raw.batch_failures").fetchone()[0]
        if table_exists(con, "raw.batch_failures") else None
    )
    reasons = None
    source = ("raw.quarantine" if table_exists(con, "raw.quarantine")
              else "quality.quarantine_reasons" if table_exists(con, "quality.quarantine_reasons") else None)
    if source is not None:
        # The rule's wording only: quoted values (what the record sent) are masked, then the
        # rule is put in Vietnamese and counted again (one rule, one line).
        sql = ("SELECT regexp_replace(reason, ?, ?, 'g') AS rule, count(*) AS n FROM "
               "(SELECT unnest(reasons) AS reason FROM raw.quarantine) GROUP BY rule"
               if source == "raw.quarantine" else
               "SELECT regexp_replace(reason, ?, ?, 'g') AS rule, sum(records) AS n FROM quality.quarantine_reasons GROUP BY rule")
        try:
            found = con.execute(sql, ["'[^']*'", "'…'"]).fetchall()
        except duckdb.Error:  # a published copy with other columns: no detail rather than no page
            found = None
        if found is not None:
            counted: dict[str, int] = {}
            for rule, n in found:
                counted[reason_vi(rule)] = counted.get(reason_vi(rule), 0) + int(n)
            reasons = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    last_refresh = (
        con.execute("SELECT max(refreshed_at) FROM mart.refresh_log").fetchone()[0]
        if table_exists(con, "mart.refresh_log") else None
    )
    return Quality(batches, read, landed, quarantined, failed, last_batch, last_refresh, reasons)
