"""Partitions: reporting quarters for the marts, local days for the API pull.

Quarter partitions are keyed by their labels (``2025-Q1``: the 15th-to-14th window 15 Dec 2024
- 14 Mar 2025, cut-off day DVC_CUTOFF_DAY), from DVC_FIRST_PERIOD to the open quarter. This
module is the one place that turns keys into periods and back; the period rules live in
pipeline/periods.py.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline import config, periods

TIMEZONE = "Asia/Ho_Chi_Minh"
_CUTOFF_AT_LOAD = config.cutoff_day()  # a cron schedule is fixed when the definitions load


def _first_quarter() -> periods.Period:
    label = config.first_period_label()
    try:
        period = periods.parse_label(label, _CUTOFF_AT_LOAD)
    except ValueError as exc:
        raise ValueError(f"DVC_FIRST_PERIOD: {exc}") from None
    if period.grain != "quarter":
        raise ValueError(f"DVC_FIRST_PERIOD must be a quarter label like 2024-Q1, not {label!r}")
    return period


FIRST_QUARTER_START = _first_quarter().start  # DVC_FIRST_PERIOD, default 2020-Q1

def quarter_labels_until(first: periods.Period, today: date) -> list[str]:
    """Every quarter label from ``first`` to the open quarter of ``today`` (included)."""
    last = periods.period_of(today, "quarter", _CUTOFF_AT_LOAD)
    labels, quarter = [], first
    while quarter.start <= last.start:
        labels.append(quarter.label)
        quarter = periods.next_period(quarter, _CUTOFF_AT_LOAD)
    return labels


# Keys are the labels people say (2025-Q4), from DVC_FIRST_PERIOD to the open quarter when the
# definitions load (a code reload adds the next quarter once it opens).
reporting_quarters = dg.StaticPartitionsDefinition(
    quarter_labels_until(_first_quarter(), datetime.now(ZoneInfo(TIMEZONE)).date())
)

# Official issues (docs/definitions.md §6) are keyed by period LABEL: quarters, halves and years from
# 2020 to 2035 (a static list: labels do not depend on the cut-off day).
ISSUE_YEARS = range(2020, 2036)
issue_periods = dg.StaticPartitionsDefinition(
    [f"{y}-Q{q}" for y in ISSUE_YEARS for q in range(1, 5)]
    + [f"{y}-H{h}" for y in ISSUE_YEARS for h in (1, 2)]
    + [str(y) for y in ISSUE_YEARS]
)

portal_days = dg.DailyPartitionsDefinition(
    start_date=FIRST_QUARTER_START.isoformat(), timezone=TIMEZONE, end_offset=0
)


def quarter_of_key(key: str) -> periods.Period:
    """``2025-Q1`` (a partition key; also any day of the quarter, e.g. ``2024-12-15``) -> its window."""
    try:
        return periods.period_of(date.fromisoformat(key), "quarter", config.cutoff_day())
    except ValueError:
        period = periods.parse_label(key, config.cutoff_day())
        if period.grain != "quarter":
            raise ValueError(f"{key!r} is not a quarter label like 2025-Q1") from None
        return period


def quarter_label(key: str) -> str:
    """A quarter partition key is its label; a day (``2024-12-15``) gives its quarter's label."""
    return quarter_of_key(key).label


def quarter_key(label_or_key: str) -> str:
    """The partition key of a quarter label (``2025-Q1``), checked."""
    return quarter_of_key(label_or_key).label


def quarter_keys(quarters: Iterable[periods.Period]) -> list[str]:
    return [q.label for q in quarters]


def existing_quarter_keys(quarters: Sequence[periods.Period]) -> tuple[list[str], list[periods.Period]]:
    """The partition keys of ``quarters`` that exist (first period .. open quarter), and the
    quarters that have none."""
    existing = set(reporting_quarters.get_partition_keys())
    keys = [k for k in quarter_keys(quarters) if k in existing]
    return keys, [q for q in quarters if q.label not in existing]


def windows_for_quarter_keys(keys: Sequence[str]) -> list[periods.Period]:
    """Every window of every grain that overlaps the given quarters (recomputed together)."""
    return periods.windows_of_quarters([quarter_of_key(k) for k in keys], config.cutoff_day())


def day_keys(first: date, last_exclusive: date) -> list[str]:
    return [d.isoformat() for d in periods.days_between(first, last_exclusive)]
