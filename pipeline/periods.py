"""Reporting windows (docs/definitions.md §1): pure functions, no I/O, stdlib only.

Provinces cut their periodic reports on the 14th, so the default windows run from the 15th to
the 14th. With cut-off day c (default 15; configuration, not a constant) the window of label
month M starts on day c of month M-1 and ends on day c-1 of month M:

- month ``2025-03`` = 15 Feb 2025 – 14 Mar 2025 (``2025-01`` = 15 Dec 2024 – 14 Jan 2025);
- quarter ``2025-Q1`` = 15 Dec 2024 – 14 Mar 2025, Q2 15 Mar – 14 Jun, and so on;
- half ``2025-H1`` = 15 Dec 2024 – 14 Jun 2025, ``2025-H2`` = 15 Jun – 14 Dec 2025;
- year ``2025`` = 15 Dec 2024 – 14 Dec 2025.

The national portal's index uses calendar windows, labelled ``cal-2025-03``, ``cal-2025-Q1``,
``cal-2025``. Windows are whole local days (Asia/Ho_Chi_Minh), both ends included, and tile time
without gaps or overlaps. Datetimes are naive local time.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

GRAINS: tuple[str, ...] = (
    "month",
    "quarter",
    "half",
    "year",
    "cal_month",
    "cal_quarter",
    "cal_year",
)
DEFAULT_CUTOFF_DAY = 15

_ONE_DAY = timedelta(days=1)
# Label months per window, per grain.
_SPAN = {"month": 1, "quarter": 3, "half": 6, "year": 12, "cal_month": 1, "cal_quarter": 3, "cal_year": 12}
_ORDER = {grain: i for i, grain in enumerate(GRAINS)}
# Label shapes; ASCII digits only (``\d`` would accept e.g. Arabic-Indic digits).
_LABELS = [
    (re.compile(r"cal-([0-9]{4})-([0-9]{2})"), "cal_month"),
    (re.compile(r"cal-([0-9]{4})-Q([0-9])"), "cal_quarter"),
    (re.compile(r"cal-([0-9]{4})"), "cal_year"),
    (re.compile(r"([0-9]{4})-([0-9]{2})"), "month"),
    (re.compile(r"([0-9]{4})-Q([0-9])"), "quarter"),
    (re.compile(r"([0-9]{4})-H([0-9])"), "half"),
    (re.compile(r"([0-9]{4})"), "year"),
]
_LABEL_HELP = "expected e.g. 2025-03, 2025-Q1, 2025-H1, 2025, cal-2025-03, cal-2025-Q1, cal-2025"


@dataclass(frozen=True, order=True)
class Period:
    """One reporting window: whole local days ``start``..``end``, both included."""

    grain: str
    label: str
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def start_ts(self) -> datetime:
        """Naive local midnight at the start: the window's first instant."""
        return datetime.combine(self.start, time())

    @property
    def end_exclusive_ts(self) -> datetime:
        """Naive local midnight after the last day, so instant filters can use ``< end``."""
        return datetime.combine(self.end + _ONE_DAY, time())

    def contains(self, when: date | datetime) -> bool:
        """Whether a local day or naive local instant falls in the window."""
        return self.start <= _local_day(when) <= self.end


def report_year(period: Period) -> int:
    """The target year of a window: the year in its label (2025-Q1, cal-2025-03 -> 2025)."""
    return int(re.search(r"[0-9]{4}", period.label).group(0))


def _local_day(when: date | datetime) -> date:
    """The local day of a date or naive local datetime (aware ones are ambiguous: rejected)."""
    if isinstance(when, datetime):
        if when.tzinfo is not None and when.utcoffset() is not None:
            raise ValueError(
                f"expected a naive local (Asia/Ho_Chi_Minh) datetime, got an aware one: {when!r}; "
                "convert it to local time and drop the tzinfo first"
            )
        return when.date()
    if isinstance(when, date):
        return when
    raise TypeError(f"expected a date or datetime, got {type(when).__name__}: {when!r}")


def _check_cutoff(cutoff_day: int) -> None:
    """Reject cut-off days that would not give 12 distinct, non-calendar windows a year."""
    if isinstance(cutoff_day, bool) or not isinstance(cutoff_day, int) or not 2 <= cutoff_day <= 28:
        raise ValueError(
            f"cut-off day must be an integer 2..28 (got {cutoff_day!r}): day 1 would make the "
            "reporting windows identical to the calendar ones, and days after 28 do not exist "
            "in every month"
        )


def _check_grain(grain: str) -> None:
    if grain not in _SPAN:
        raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def _month_index(year: int, month: int) -> int:
    """Months since year 0, so month arithmetic is integer arithmetic."""
    return year * 12 + (month - 1)


def _from_index(index: int) -> tuple[int, int]:
    return index // 12, index % 12 + 1


def _label(grain: str, year: int, number: int) -> str:
    """Label of window ``number`` (month 1-12, quarter 1-4, half 1-2, year 1) of ``year``."""
    if grain in ("month", "cal_month"):
        body = f"{year:04d}-{number:02d}"
    elif grain in ("quarter", "cal_quarter"):
        body = f"{year:04d}-Q{number}"
    elif grain == "half":
        body = f"{year:04d}-H{number}"
    else:
        body = f"{year:04d}"
    return f"cal-{body}" if grain.startswith("cal_") else body


def _build(grain: str, year: int, number: int, cutoff_day: int) -> Period:
    """Window ``number`` of label ``year`` for ``grain``."""
    span = _SPAN[grain]
    last_month = _month_index(year, number * span)  # the window's last label month
    first_month = last_month - span + 1
    label = _label(grain, year, number)
    try:
        if grain.startswith("cal_"):
            start = date(*_from_index(first_month), 1)
            end_year, end_month = _from_index(last_month)
            end = date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])
        else:
            # From the cut-off day of the month before the first label month to the day before
            # the cut-off day of the last label month.
            start = date(*_from_index(first_month - 1), cutoff_day)
            end = date(*_from_index(last_month), cutoff_day) - _ONE_DAY
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"window {label} ({grain}) falls outside the supported dates") from exc
    return Period(grain, label, start, end)


def period_of(when: date | datetime, grain: str, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """The window of ``grain`` containing a local day or naive local instant."""
    _check_grain(grain)
    _check_cutoff(cutoff_day)
    day = _local_day(when)
    index = _month_index(day.year, day.month)
    if not grain.startswith("cal_") and day.day >= cutoff_day:
        index += 1  # from the cut-off day on, a day belongs to the next label month
    year, month = _from_index(index)
    return _build(grain, year, (month - 1) // _SPAN[grain] + 1, cutoff_day)


def parse_label(label: str, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """``2025-Q1`` -> its window; the grain comes from the label's shape."""
    _check_cutoff(cutoff_day)
    if not isinstance(label, str):
        raise ValueError(f"not a period label: {label!r} ({_LABEL_HELP})")
    for pattern, grain in _LABELS:
        match = pattern.fullmatch(label)
        if match is None:
            continue
        year = int(match.group(1))
        number = int(match.group(2)) if pattern.groups > 1 else 1
        if year < 1 or not 1 <= number <= 12 // _SPAN[grain]:
            break
        return _build(grain, year, number, cutoff_day)
    raise ValueError(f"not a period label: {label!r} ({_LABEL_HELP})")


def next_period(p: Period, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """The window of the same grain starting the day after ``p`` ends."""
    return period_of(p.end + _ONE_DAY, p.grain, cutoff_day)


def previous_period(p: Period, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """The window of the same grain ending the day before ``p`` starts."""
    return period_of(p.start - _ONE_DAY, p.grain, cutoff_day)


def _grain_list(grains: Iterable[str]) -> list[str]:
    """Known grains, each once, in GRAINS order (a single grain name is accepted too)."""
    chosen = {grains} if isinstance(grains, str) else set(grains)
    for grain in chosen:
        _check_grain(grain)
    return sorted(chosen, key=_ORDER.__getitem__)


def periods_overlapping(
    first: date,
    last: date,
    grains: Iterable[str] = GRAINS,
    cutoff_day: int = DEFAULT_CUTOFF_DAY,
) -> list[Period]:
    """Every window of each grain overlapping days [first, last], by (grain order, start).

    This is what a refresh must recompute when data for those days changes.
    """
    _check_cutoff(cutoff_day)
    first, last = _local_day(first), _local_day(last)
    if last < first:
        raise ValueError(f"empty day range {first}..{last}")
    out: list[Period] = []
    for grain in _grain_list(grains):
        window = period_of(first, grain, cutoff_day)
        while window.start <= last:
            out.append(window)
            if window.end >= last:
                break  # avoid building a window past the last supported date
            following = next_period(window, cutoff_day)
            if following.start <= window.start or following.start != window.end + _ONE_DAY:
                # An endless loop would be worse than an error.
                raise RuntimeError(f"windows do not tile: {window} is followed by {following}")
            window = following
    return out


def periods_within(
    outer: Period, grains: Iterable[str] = GRAINS, cutoff_day: int = DEFAULT_CUTOFF_DAY
) -> list[Period]:
    """Every window of the given grains overlapping ``outer``'s window (outer included)."""
    return periods_overlapping(outer.start, outer.end, grains, cutoff_day)


def latest_closed(grain: str, today: date, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """The last window of ``grain`` whose end is before ``today``: the newest complete one."""
    return previous_period(period_of(today, grain, cutoff_day), cutoff_day)


def periods_table_rows(periods: Iterable[Period]) -> list[tuple[str, str, date, date]]:
    """(grain, label, start, end) rows, for loading a DuckDB periods table."""
    return [(p.grain, p.label, p.start, p.end) for p in periods]


def quarters_overlapping(first: date, last: date, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> list[Period]:
    """The quarter windows overlapping the days [first, last], in order."""
    return periods_overlapping(first, last, ["quarter"], cutoff_day)


def windows_of_quarters(quarters: Iterable[Period], cutoff_day: int = DEFAULT_CUTOFF_DAY) -> list[Period]:
    """Every window of every grain that overlaps the given quarters: what refreshing those
    quarters recomputes (their months, halves, years and the calendar windows they touch)."""
    windows: set[Period] = set()
    for quarter in quarters:
        windows.update(periods_within(quarter, cutoff_day=cutoff_day))
    return sorted(windows)


def days_between(first: date, last_exclusive: date) -> list[date]:
    """The local days of [first, last_exclusive)."""
    return [first + timedelta(days=i) for i in range((last_exclusive - first).days)]
