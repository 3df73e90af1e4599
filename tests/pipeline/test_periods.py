"""Reporting windows (docs/definitions.md §1): tiling, boundaries, labels, cut-off day, look-ups."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.periods import (
    DEFAULT_CUTOFF_DAY,
    GRAINS,
    Period,
    latest_closed,
    next_period,
    parse_label,
    period_of,
    periods_overlapping,
    periods_table_rows,
    periods_within,
    previous_period,
)

ONE_DAY = timedelta(days=1)
ONE_MICROSECOND = timedelta(microseconds=1)
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
CUTOFF_GRAINS = ("month", "quarter", "half", "year")
CALENDAR_GRAINS = ("cal_month", "cal_quarter", "cal_year")
WINDOWS_PER_YEAR = {"month": 12, "quarter": 4, "half": 2, "year": 1}


def _walk(grain: str, first: date, last: date, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> list[Period]:
    """Windows of ``grain`` from the one holding ``first`` through the one holding ``last``."""
    windows = [period_of(first, grain, cutoff_day)]
    while windows[-1].end < last:
        following = next_period(windows[-1], cutoff_day)
        # Guard against a stuck walk (an endless loop instead of a failure) on broken code.
        assert following.start > windows[-1].start, f"next_period did not move past {windows[-1]}"
        assert following.start <= following.end, f"empty window {following}"
        windows.append(following)
    return windows


def test_public_constants():
    assert GRAINS == ("month", "quarter", "half", "year", "cal_month", "cal_quarter", "cal_year")
    assert DEFAULT_CUTOFF_DAY == 15


# --- tiling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cutoff_day", [DEFAULT_CUTOFF_DAY, 2, 28])
@pytest.mark.parametrize("grain", GRAINS)
def test_windows_tile_2000_to_2100_without_gap_or_overlap(grain, cutoff_day):
    windows = _walk(grain, FIRST_DAY, LAST_DAY, cutoff_day)
    assert windows[0].start <= FIRST_DAY and windows[-1].end >= LAST_DAY
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.start == before.end + ONE_DAY  # no gap, no overlap
        assert previous_period(after, cutoff_day) == before
        assert before.label < after.label  # labels sort chronologically
    labels = set()
    for window in windows:
        assert window.grain == grain and window.start <= window.end
        assert period_of(window.start, grain, cutoff_day) == window
        assert period_of(window.end, grain, cutoff_day) == window
        assert parse_label(window.label, cutoff_day) == window
        labels.add(window.label)
    assert len(labels) == len(windows)
    per_year = WINDOWS_PER_YEAR[grain.removeprefix("cal_")]
    # The cut-off window holding 31 Dec 2100 already carries a 2101 label: one extra window.
    extra = 0 if grain.startswith("cal_") else 1
    assert len(windows) == 101 * per_year + extra


@pytest.mark.parametrize("grain", GRAINS)
def test_every_day_2000_to_2100_is_in_exactly_one_window(grain):
    """Walk days and windows in lockstep: O(days), each day checked against period_of."""
    windows = iter(_walk(grain, FIRST_DAY, LAST_DAY))
    current = next(windows)
    day = FIRST_DAY
    while day <= LAST_DAY:
        if day > current.end:
            following = next(windows)
            assert not current.contains(day) and not following.contains(current.end)
            current = following
        assert current.contains(day)
        assert period_of(day, grain) == current
        day += ONE_DAY


@pytest.mark.parametrize(
    ("coarse", "fine", "count"),
    [("quarter", "month", 3), ("half", "quarter", 2), ("year", "half", 2), ("year", "month", 12),
     ("cal_quarter", "cal_month", 3), ("cal_year", "cal_quarter", 4)],
)
def test_coarser_windows_are_unions_of_finer_ones(coarse, fine, count):
    for outer in _walk(coarse, date(2020, 1, 1), date(2030, 12, 31)):
        inner = periods_within(outer, [fine])
        assert len(inner) == count
        assert inner[0].start == outer.start and inner[-1].end == outer.end
        assert all(p.label.removeprefix("cal-")[:4] == outer.label.removeprefix("cal-")[:4] for p in inner)


# --- exact windows from docs/definitions.md ----------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "grain", "start", "end"),
    [
        ("2025-03", "month", date(2025, 2, 15), date(2025, 3, 14)),
        ("2025-01", "month", date(2024, 12, 15), date(2025, 1, 14)),
        ("2025-12", "month", date(2025, 11, 15), date(2025, 12, 14)),
        ("2024-03", "month", date(2024, 2, 15), date(2024, 3, 14)),  # spans 29 Feb
        ("2025-Q1", "quarter", date(2024, 12, 15), date(2025, 3, 14)),
        ("2025-Q2", "quarter", date(2025, 3, 15), date(2025, 6, 14)),
        ("2025-Q3", "quarter", date(2025, 6, 15), date(2025, 9, 14)),
        ("2025-Q4", "quarter", date(2025, 9, 15), date(2025, 12, 14)),
        ("2025-H1", "half", date(2024, 12, 15), date(2025, 6, 14)),
        ("2025-H2", "half", date(2025, 6, 15), date(2025, 12, 14)),
        ("2025", "year", date(2024, 12, 15), date(2025, 12, 14)),
        ("cal-2025-03", "cal_month", date(2025, 3, 1), date(2025, 3, 31)),
        ("cal-2025-02", "cal_month", date(2025, 2, 1), date(2025, 2, 28)),
        ("cal-2024-02", "cal_month", date(2024, 2, 1), date(2024, 2, 29)),
        ("cal-2025-12", "cal_month", date(2025, 12, 1), date(2025, 12, 31)),
        ("cal-2025-Q1", "cal_quarter", date(2025, 1, 1), date(2025, 3, 31)),
        ("cal-2025-Q4", "cal_quarter", date(2025, 10, 1), date(2025, 12, 31)),
        ("cal-2025", "cal_year", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_windows_of_metrics_md(label, grain, start, end):
    window = parse_label(label)
    assert window == Period(grain, label, start, end)
    assert period_of(start, grain) == window and period_of(end, grain) == window
    assert period_of(start - ONE_DAY, grain) != window and period_of(end + ONE_DAY, grain) != window


def test_labels_of_one_year_per_grain():
    def labels(grain: str) -> list[str]:
        return [p.label for p in periods_overlapping(date(2025, 1, 1), date(2025, 12, 31), [grain])]

    assert labels("month") == [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    assert labels("quarter") == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    assert labels("half") == ["2025-H1", "2025-H2", "2026-H1"]
    assert labels("year") == ["2025", "2026"]
    assert labels("cal_month") == [f"cal-2025-{m:02d}" for m in range(1, 13)]
    assert labels("cal_quarter") == ["cal-2025-Q1", "cal-2025-Q2", "cal-2025-Q3", "cal-2025-Q4"]
    assert labels("cal_year") == ["cal-2025"]


# --- boundary instants ----------------------------------------------------------------------


@pytest.mark.parametrize("grain", GRAINS)
def test_last_instant_and_next_midnight_of_each_2025_window(grain):
    for window in periods_overlapping(date(2025, 1, 1), date(2025, 12, 31), [grain]):
        last_instant = window.end_exclusive_ts - ONE_MICROSECOND
        assert last_instant == datetime.combine(window.end, datetime.max.time())
        assert period_of(last_instant, grain) == window and window.contains(last_instant)
        assert period_of(window.start_ts, grain) == window and window.contains(window.start_ts)
        assert not window.contains(window.end_exclusive_ts)
        assert not window.contains(window.start_ts - ONE_MICROSECOND)
        assert period_of(window.end_exclusive_ts, grain) == next_period(window)


@pytest.mark.parametrize(
    ("grain", "before", "after"),
    [
        ("month", "2025-03", "2025-04"),
        ("quarter", "2025-Q1", "2025-Q2"),
    ],
)
def test_14th_235959_versus_15th_midnight(grain, before, after):
    assert period_of(datetime(2025, 3, 14, 23, 59, 59), grain).label == before
    assert period_of(datetime(2025, 3, 14, 23, 59, 59, 999999), grain).label == before
    assert period_of(datetime(2025, 3, 15, 0, 0, 0), grain).label == after
    assert period_of(date(2025, 3, 14), grain).label == before
    assert period_of(date(2025, 3, 15), grain).label == after


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2025, 6, 14, 23, 59, 59), {"month": "2025-06", "quarter": "2025-Q2", "half": "2025-H1"}),
        (datetime(2025, 6, 15), {"month": "2025-07", "quarter": "2025-Q3", "half": "2025-H2"}),
        (datetime(2025, 9, 14, 23, 59, 59), {"quarter": "2025-Q3"}),
        (datetime(2025, 9, 15), {"quarter": "2025-Q4"}),
    ],
)
def test_mid_year_boundaries(when, expected):
    assert {grain: period_of(when, grain).label for grain in expected} == expected


def test_december_15th_belongs_to_next_years_labels():
    before, after = datetime(2024, 12, 14, 23, 59, 59, 999999), datetime(2024, 12, 15)
    assert [period_of(before, g).label for g in CUTOFF_GRAINS] == ["2024-12", "2024-Q4", "2024-H2", "2024"]
    assert [period_of(after, g).label for g in CUTOFF_GRAINS] == ["2025-01", "2025-Q1", "2025-H1", "2025"]
    assert [period_of(date(2024, 12, 31), g).label for g in CUTOFF_GRAINS] == [
        "2025-01", "2025-Q1", "2025-H1", "2025"]
    # ... while the calendar grains still put late December in the old year.
    assert [period_of(after, g).label for g in CALENDAR_GRAINS] == ["cal-2024-12", "cal-2024-Q4", "cal-2024"]


def test_calendar_boundaries():
    assert period_of(datetime(2025, 3, 31, 23, 59, 59, 999999), "cal_month").label == "cal-2025-03"
    assert period_of(datetime(2025, 4, 1), "cal_month").label == "cal-2025-04"
    assert period_of(datetime(2025, 3, 31, 23, 59, 59), "cal_quarter").label == "cal-2025-Q1"
    assert period_of(datetime(2025, 4, 1), "cal_quarter").label == "cal-2025-Q2"
    assert period_of(datetime(2024, 12, 31, 23, 59, 59), "cal_year").label == "cal-2024"
    assert period_of(datetime(2025, 1, 1), "cal_year").label == "cal-2025"
    assert period_of(date(2024, 2, 29), "cal_month").label == "cal-2024-02"
    assert period_of(date(2025, 3, 15), "cal_month").label == "cal-2025-03"  # no cut-off shift


def test_timestamps_are_naive_local_midnights():
    window = parse_label("2025-Q1")
    assert window.start_ts == datetime(2024, 12, 15) and window.start_ts.tzinfo is None
    assert window.end_exclusive_ts == datetime(2025, 3, 15) and window.end_exclusive_ts.tzinfo is None
    assert parse_label("cal-2025").end_exclusive_ts == datetime(2026, 1, 1)


def test_aware_datetimes_are_rejected_not_silently_misread():
    aware = datetime(2025, 3, 14, 20, tzinfo=UTC)  # 15 Mar 03:00 in Hanoi
    with pytest.raises(ValueError, match="naive local"):
        period_of(aware, "month")
    with pytest.raises(ValueError, match="naive local"):
        parse_label("2025-03").contains(aware)


# --- labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("grain", GRAINS)
def test_labels_round_trip(grain):
    for window in periods_overlapping(date(1999, 12, 1), date(2001, 2, 1), [grain]):
        assert parse_label(window.label) == window
        assert parse_label(window.label).grain == grain


@pytest.mark.parametrize(
    "bad",
    ["2025-13", "2025-00", "2025-Q0", "2025-Q5", "2025-H0", "2025-H3", "cal-2025-13", "cal-2025-00",
     "cal-2025-Q5", "cal-2025-H1", "Q1-2025", "2025Q1", "2025-q1", "2025-h1", "2025-3", "2025-003",
     "25-03", "20251", "", " ", " 2025-03", "2025-03 ", "2025-03\n", "cal-", "cal_2025", "CAL-2025",
     "2025-01-01", "0000",
     # Non-ASCII digits that int() would accept: Arabic-Indic and full-width.
     "\u0662\u0660\u0662\u0665", "\u0662\u0660\u0662\u0665-\u0660\u0663", "\uff12\uff10\uff12\uff15-Q1",
     "cal-\uff12\uff10\uff12\uff15"],
)
def test_bad_labels_raise_value_error(bad):
    with pytest.raises(ValueError, match="not a period label"):
        parse_label(bad)


@pytest.mark.parametrize("bad", [None, 2025, date(2025, 1, 1)])
def test_non_string_labels_raise_value_error(bad):
    with pytest.raises(ValueError, match="not a period label"):
        parse_label(bad)


def test_labels_outside_the_date_range_raise_value_error():
    with pytest.raises(ValueError, match="outside the supported dates"):
        parse_label("0001-01")  # would start in December of year 0
    with pytest.raises(ValueError, match="outside the supported dates"):
        period_of(date(9999, 12, 20), "month")
    assert parse_label("cal-0001-01").start == date(1, 1, 1)
    # The last supported windows are still usable up to their last day.
    assert periods_overlapping(date(9999, 12, 1), date(9999, 12, 14), ["month", "cal_year"]) == [
        parse_label("9999-12"), parse_label("cal-9999")]


# --- cut-off day ----------------------------------------------------------------------------


def test_cutoff_day_is_configuration():
    assert parse_label("2025-03", cutoff_day=20) == Period("month", "2025-03", date(2025, 2, 20), date(2025, 3, 19))
    assert parse_label("2025-01", cutoff_day=20).start == date(2024, 12, 20)
    assert parse_label("2025-Q1", cutoff_day=20) == Period("quarter", "2025-Q1", date(2024, 12, 20),
                                                           date(2025, 3, 19))
    assert parse_label("2025-H2", cutoff_day=20) == Period("half", "2025-H2", date(2025, 6, 20),
                                                           date(2025, 12, 19))
    assert parse_label("2025", cutoff_day=20) == Period("year", "2025", date(2024, 12, 20), date(2025, 12, 19))
    assert parse_label("2025-03", cutoff_day=2) == Period("month", "2025-03", date(2025, 2, 2), date(2025, 3, 1))
    assert parse_label("2025-03", cutoff_day=28) == Period("month", "2025-03", date(2025, 2, 28),
                                                           date(2025, 3, 27))
    assert period_of(datetime(2025, 3, 19, 23, 59, 59), "month", cutoff_day=20).label == "2025-03"
    assert period_of(datetime(2025, 3, 20), "month", cutoff_day=20).label == "2025-04"
    assert period_of(date(2025, 3, 17), "month", cutoff_day=20).label == "2025-03"  # 2025-04 with c=15
    assert period_of(date(2025, 3, 17), "month").label == "2025-04"


@pytest.mark.parametrize("cutoff_day", [2, 20, 28])
def test_calendar_grains_ignore_the_cutoff_day(cutoff_day):
    for label in ("cal-2025-03", "cal-2025-Q1", "cal-2025"):
        assert parse_label(label, cutoff_day) == parse_label(label)
    assert period_of(date(2025, 3, 31), "cal_month", cutoff_day).label == "cal-2025-03"


@pytest.mark.parametrize("cutoff_day", [1, 0, -15, 29, 31, True, False, 15.0, "15", None])
def test_invalid_cutoff_day_is_rejected(cutoff_day):
    with pytest.raises(ValueError, match="cut-off day"):
        period_of(date(2025, 1, 1), "month", cutoff_day=cutoff_day)
    with pytest.raises(ValueError, match="cut-off day"):
        parse_label("2025-01", cutoff_day=cutoff_day)
    with pytest.raises(ValueError, match="cut-off day"):
        next_period(parse_label("2025-01"), cutoff_day=cutoff_day)
    with pytest.raises(ValueError, match="cut-off day"):
        periods_overlapping(date(2025, 1, 1), date(2025, 2, 1), cutoff_day=cutoff_day)
    with pytest.raises(ValueError, match="cut-off day"):
        latest_closed("cal_month", date(2025, 1, 1), cutoff_day=cutoff_day)


def test_cutoff_day_one_is_rejected_because_it_equals_the_calendar():
    with pytest.raises(ValueError, match="calendar"):
        period_of(date(2025, 1, 1), "month", cutoff_day=1)


def test_unknown_grain_is_rejected():
    with pytest.raises(ValueError, match="unknown grain"):
        period_of(date(2025, 1, 1), "week")
    with pytest.raises(ValueError, match="unknown grain"):
        periods_overlapping(date(2025, 1, 1), date(2025, 1, 2), ["month", "week"])
    with pytest.raises(ValueError, match="unknown grain"):
        latest_closed("Month", date(2025, 1, 1))


# --- navigation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "following"),
    [("2025-12", "2026-01"), ("2025-01", "2025-02"), ("2025-Q4", "2026-Q1"), ("2025-H1", "2025-H2"),
     ("2025-H2", "2026-H1"), ("2025", "2026"), ("cal-2025-12", "cal-2026-01"), ("cal-2025-Q4", "cal-2026-Q1"),
     ("cal-2025", "cal-2026")],
)
def test_next_and_previous_are_inverses(label, following):
    window = parse_label(label)
    assert next_period(window).label == following
    assert previous_period(next_period(window)) == window
    assert next_period(previous_period(window)) == window
    assert previous_period(parse_label(following)) == window


def test_navigation_uses_the_given_cutoff_day():
    window = parse_label("2025-03", cutoff_day=20)
    assert next_period(window, cutoff_day=20) == parse_label("2025-04", cutoff_day=20)
    assert previous_period(window, cutoff_day=20) == parse_label("2025-02", cutoff_day=20)


# --- overlapping / within -------------------------------------------------------------------


def test_periods_overlapping_returns_contiguous_covering_windows():
    first, last = date(2024, 11, 3), date(2026, 2, 20)
    found = periods_overlapping(first, last)
    assert [p.grain for p in found] == sorted((p.grain for p in found), key=GRAINS.index)
    for grain in GRAINS:
        windows = [p for p in found if p.grain == grain]
        assert windows == sorted(windows, key=lambda p: p.start)
        assert windows[0].contains(first) and windows[-1].contains(last)
        for before, after in zip(windows, windows[1:], strict=False):
            assert after.start == before.end + ONE_DAY
        assert all(p.start <= last and p.end >= first for p in windows)
    assert [p.label for p in found if p.grain == "year"] == ["2024", "2025", "2026"]
    assert [p.label for p in found if p.grain == "cal_year"] == ["cal-2024", "cal-2025", "cal-2026"]


def test_periods_overlapping_a_single_day_gives_one_window_per_grain():
    found = periods_overlapping(date(2025, 3, 15), date(2025, 3, 15))
    assert [p.label for p in found] == ["2025-04", "2025-Q2", "2025-H1", "2025", "cal-2025-03", "cal-2025-Q1",
                                        "cal-2025"]


def test_periods_overlapping_orders_and_dedupes_grains():
    found = periods_overlapping(date(2025, 1, 1), date(2025, 1, 31), ["cal_year", "month", "month"])
    assert [p.label for p in found] == ["2025-01", "2025-02", "cal-2025"]
    assert periods_overlapping(date(2025, 1, 1), date(2025, 1, 1), "quarter") == [parse_label("2025-Q1")]
    assert periods_overlapping(date(2025, 1, 1), date(2025, 1, 1), []) == []


def test_periods_overlapping_accepts_datetimes_and_rejects_empty_ranges():
    found = periods_overlapping(datetime(2025, 3, 14, 23, 59), datetime(2025, 3, 15, 0, 1), ["month"])
    assert [p.label for p in found] == ["2025-03", "2025-04"]
    with pytest.raises(ValueError, match="empty day range"):
        periods_overlapping(date(2025, 2, 1), date(2025, 1, 31))


def test_periods_within_a_quarter():
    found = periods_within(parse_label("2025-Q1"))
    assert [p.label for p in found] == [
        "2025-01", "2025-02", "2025-03",
        "2025-Q1",
        "2025-H1",
        "2025",
        "cal-2024-12", "cal-2025-01", "cal-2025-02", "cal-2025-03",
        "cal-2024-Q4", "cal-2025-Q1",
        "cal-2024", "cal-2025",
    ]


def test_periods_within_other_windows():
    assert [p.label for p in periods_within(parse_label("2025-03"))] == [
        "2025-03", "2025-Q1", "2025-H1", "2025", "cal-2025-02", "cal-2025-03", "cal-2025-Q1", "cal-2025"]
    assert [p.label for p in periods_within(parse_label("cal-2025-Q1"), ["month", "quarter"])] == [
        "2025-01", "2025-02", "2025-03", "2025-04", "2025-Q1", "2025-Q2"]
    assert [p.label for p in periods_within(parse_label("2025", cutoff_day=20), ["half"], cutoff_day=20)] == [
        "2025-H1", "2025-H2"]


# --- latest closed --------------------------------------------------------------------------


def test_latest_closed_examples():
    assert latest_closed("quarter", date(2025, 3, 15)).label == "2025-Q1"
    assert latest_closed("quarter", date(2025, 3, 14)).label == "2024-Q4"
    assert latest_closed("month", date(2025, 1, 1)).label == "2024-12"
    assert latest_closed("year", date(2024, 12, 15)).label == "2024"
    assert latest_closed("year", date(2024, 12, 14)).label == "2023"
    assert latest_closed("cal_month", date(2025, 4, 1)).label == "cal-2025-03"
    assert latest_closed("cal_year", date(2025, 12, 31)).label == "cal-2024"
    assert latest_closed("month", date(2025, 3, 20), cutoff_day=20).label == "2025-03"


@pytest.mark.parametrize("grain", GRAINS)
def test_latest_closed_is_the_last_window_ending_before_today(grain):
    today = date(2024, 12, 1)
    while today <= date(2025, 2, 1):
        closed = latest_closed(grain, today)
        assert closed.end < today <= next_period(closed).end
        today += ONE_DAY


# --- the dataclass and table rows -----------------------------------------------------------


def test_period_is_frozen_and_hashable():
    window = parse_label("2025-03")
    with pytest.raises(FrozenInstanceError):
        window.label = "2025-04"  # type: ignore[misc]
    assert len({window, parse_label("2025-03"), parse_label("2025-04")}) == 2
    assert sorted([parse_label("2025-04"), window]) == [window, parse_label("2025-04")]


def test_periods_table_rows():
    rows = periods_table_rows(periods_within(parse_label("2025-03"), ["month", "cal_year"]))
    assert rows == [("month", "2025-03", date(2025, 2, 15), date(2025, 3, 14)),
                    ("cal_year", "cal-2025", date(2025, 1, 1), date(2025, 12, 31))]
    assert all(type(row) is tuple for row in rows)
    assert periods_table_rows([]) == []


def test_periods_table_rows_load_into_duckdb():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("CREATE TABLE periods (grain VARCHAR, label VARCHAR, period_start DATE, period_end DATE)")
    con.executemany("INSERT INTO periods VALUES (?, ?, ?, ?)",
                    periods_table_rows(periods_overlapping(date(2025, 1, 1), date(2025, 12, 31))))
    found = con.execute(
        "SELECT grain, label FROM periods WHERE DATE '2025-03-15' BETWEEN period_start AND period_end "
        "ORDER BY grain"
    ).fetchall()
    assert dict(found) == {p.grain: p.label for p in periods_overlapping(date(2025, 3, 15), date(2025, 3, 15))}
