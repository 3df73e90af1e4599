"""Partitions: reporting quarters for the marts, local days for the API pull.

Quarter partitions are Dagster time windows on the 15th-to-14th rule (cut-off day from
DVC_CUTOFF_DAY). Their keys are window starts (``2024-12-15`` is 2025-Q1); everything a person
reads (run metadata, logs, the CLI) uses the label, via ``quarter_label``/``quarter_key``.
"""


from datetime import date, timedelta

import dagster as dg

from pipeline import config, periods

TIMEZONE = "Asia/Ho_Chi_Minh"
CUTOFF_DAY = config.cutoff_day()
FIRST_QUARTER_START = date(2019, 12, CUTOFF_DAY)  # 2020-Q1

reporting_quarters = dg.TimeWindowPartitionsDefinition(
    cron_schedule=f"0 0 {CUTOFF_DAY} 3,6,9,12 *",
    fmt="%Y-%m-%d",
    timezone=TIMEZONE,
    start=FIRST_QUARTER_START.isoformat(),
    end_offset=1,  # the open quarter is a partition too
)

portal_days = dg.DailyPartitionsDefinition(start_date="2020-01-01", timezone=TIMEZONE, end_offset=0)


def quarter_label(key: str) -> str:
    """``2024-12-15`` -> ``2025-Q1``."""
    return periods.period_of(date.fromisoformat(key), "quarter", CUTOFF_DAY).label


def quarter_key(label_or_key: str) -> str:
    """``2025-Q1`` (or an existing key) -> ``2024-12-15``."""
    try:
        return date.fromisoformat(label_or_key).isoformat()
    except ValueError:
        period = periods.parse_label(label_or_key, CUTOFF_DAY)
        if period.grain != "quarter":
            raise ValueError(f"{label_or_key!r} is not a quarter label like 2025-Q1") from None
        return period.start.isoformat()


def quarter_keys_for_days(first: date, last: date) -> list[str]:
    """Keys of every quarter overlapping [first, last]."""
    return [p.start.isoformat() for p in periods.periods_overlapping(first, last, ["quarter"], CUTOFF_DAY)]


def windows_for_quarter_keys(keys: list[str]) -> list[periods.Period]:
    """Every window of every grain that overlaps the given quarters (recomputed together)."""
    windows: set[periods.Period] = set()
    for key in keys:
        quarter = periods.period_of(date.fromisoformat(key), "quarter", CUTOFF_DAY)
        windows.update(periods.periods_within(quarter, cutoff_day=CUTOFF_DAY))
    return sorted(windows)


def day_keys(first: date, last_exclusive: date) -> list[str]:
    days = (last_exclusive - first).days
    return [(first + timedelta(days=i)).isoformat() for i in range(days)]
