"""Partitions: reporting quarters for the marts, local days for the API pull.

Quarter partitions are Dagster time windows on the 15th-to-14th rule (cut-off day from
DVC_CUTOFF_DAY when the definitions load). Their keys are window starts (``2024-12-15`` is
2025-Q1); everything a person reads (run metadata, logs, the CLI) uses the label. This module is
the one place that turns keys into periods and back; the period rules live in pipeline/periods.py.
"""

from collections.abc import Iterable, Sequence
from datetime import date

import dagster as dg

from pipeline import config, periods

TIMEZONE = "Asia/Ho_Chi_Minh"
_CUTOFF_AT_LOAD = config.cutoff_day()  # a cron schedule is fixed when the definitions load
FIRST_QUARTER_START = date(2019, 12, _CUTOFF_AT_LOAD)  # 2020-Q1

reporting_quarters = dg.TimeWindowPartitionsDefinition(
    cron_schedule=f"0 0 {_CUTOFF_AT_LOAD} 3,6,9,12 *",
    fmt="%Y-%m-%d",
    timezone=TIMEZONE,
    start=FIRST_QUARTER_START.isoformat(),
    end_offset=1,  # the open quarter is a partition too
)

# Official issues (METRICS.md §6) are keyed by period LABEL: quarters, halves and years from
# 2020 to 2035 (a static list: labels do not depend on the cut-off day).
ISSUE_YEARS = range(2020, 2036)
issue_periods = dg.StaticPartitionsDefinition(
    [f"{y}-Q{q}" for y in ISSUE_YEARS for q in range(1, 5)]
    + [f"{y}-H{h}" for y in ISSUE_YEARS for h in (1, 2)]
    + [str(y) for y in ISSUE_YEARS]
)

portal_days = dg.DailyPartitionsDefinition(start_date="2020-01-01", timezone=TIMEZONE, end_offset=0)


def quarter_of_key(key: str) -> periods.Period:
    """``2024-12-15`` -> the 2025-Q1 window."""
    return periods.period_of(date.fromisoformat(key), "quarter", config.cutoff_day())


def quarter_label(key: str) -> str:
    """``2024-12-15`` -> ``2025-Q1``."""
    return quarter_of_key(key).label


def quarter_key(label_or_key: str) -> str:
    """``2025-Q1`` (or an existing key) -> ``2024-12-15``."""
    try:
        return date.fromisoformat(label_or_key).isoformat()
    except ValueError:
        period = periods.parse_label(label_or_key, config.cutoff_day())
        if period.grain != "quarter":
            raise ValueError(f"{label_or_key!r} is not a quarter label like 2025-Q1") from None
        return period.start.isoformat()


def quarter_keys(quarters: Iterable[periods.Period]) -> list[str]:
    return [q.start.isoformat() for q in quarters]


def windows_for_quarter_keys(keys: Sequence[str]) -> list[periods.Period]:
    """Every window of every grain that overlaps the given quarters (recomputed together)."""
    return periods.windows_of_quarters([quarter_of_key(k) for k in keys], config.cutoff_day())


def day_keys(first: date, last_exclusive: date) -> list[str]:
    return [d.isoformat() for d in periods.days_between(first, last_exclusive)]
