"""Period status (docs/definitions.md §6): open until the last day has passed, provisional until the report
is due (the 20th of the window's last month by default), final afterwards; "today" injectable."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pipeline import periods
from pipeline.cycle import timeline

Q3 = periods.parse_label("2025-Q3")  # 15 Jun – 14 Sep 2025, due 20 Sep


@pytest.mark.parametrize(
    ("today", "status"),
    [
        (date(2025, 6, 15), "open"),
        (date(2025, 9, 14), "open"),  # the last day itself is still open
        (date(2025, 9, 15), "provisional"),
        (date(2025, 9, 20), "provisional"),  # due day: the report may still be sent
        (date(2025, 9, 21), "final"),
        (date(2026, 1, 1), "final"),
    ],
)
def test_quarter_status_by_day(today, status):
    assert timeline.period_status(Q3, today) == status


def test_default_due_date_is_the_20th_of_the_windows_last_month():
    assert timeline.due_date(Q3) == date(2025, 9, 20)
    assert timeline.final_from(Q3) == date(2025, 9, 21)


def test_every_grain_follows_the_same_rule():
    month, half, year = (periods.parse_label(x) for x in ("2025-03", "2025-H1", "2025"))
    assert timeline.due_date(month) == date(2025, 3, 20)
    assert timeline.due_date(half) == date(2025, 6, 20)
    assert timeline.due_date(year) == date(2025, 12, 20)
    assert timeline.period_status(year, date(2025, 12, 15)) == "provisional"
    cal = periods.parse_label("cal-2025-Q1")  # calendar quarter ends 31 Mar: due 6 Apr
    assert timeline.due_date(cal) == date(2025, 4, 6)


def test_due_days_is_configuration(monkeypatch):
    monkeypatch.setenv("DVC_REPORT_DUE_DAYS", "10")
    assert timeline.due_date(Q3) == date(2025, 9, 24)
    assert timeline.period_status(Q3, date(2025, 9, 22)) == "provisional"
    assert timeline.period_status(Q3, date(2025, 9, 22), due_days=6) == "final"
    monkeypatch.setenv("DVC_REPORT_DUE_DAYS", "soon")
    with pytest.raises(ValueError, match="DVC_REPORT_DUE_DAYS"):
        timeline.due_date(Q3)


def test_today_is_explicit_else_env_else_local_date(monkeypatch):
    monkeypatch.setenv("DVC_AS_OF", "2025-09-21")
    assert timeline.today_local() == date(2025, 9, 21)
    assert timeline.today_local(date(2025, 1, 2)) == date(2025, 1, 2)
    monkeypatch.setenv("DVC_AS_OF", "21/09/2025")
    with pytest.raises(ValueError, match="DVC_AS_OF must be a date"):
        timeline.today_local()
    monkeypatch.delenv("DVC_AS_OF")
    assert isinstance(timeline.today_local(), date)


def test_status_rows_carry_due_date_and_as_of():
    rows = timeline.status_rows([Q3, periods.parse_label("2025-09")], date(2025, 9, 16))
    assert rows == [
        ("month", "2025-09", date(2025, 8, 15), date(2025, 9, 14), date(2025, 9, 20), "provisional", date(2025, 9, 16)),
        ("quarter", "2025-Q3", date(2025, 6, 15), date(2025, 9, 14), date(2025, 9, 20), "provisional", date(2025, 9, 16)),
    ]


def test_banners_say_provisional_final_or_official():
    open_state = timeline.period_state(Q3, date(2025, 9, 1))
    assert timeline.working_banner(open_state, None).startswith("SỐ LIỆU TẠM TÍNH — chưa chốt")
    provisional = timeline.period_state(Q3, date(2025, 9, 16))
    assert timeline.working_banner(provisional, None).startswith("SỐ LIỆU TẠM TÍNH — chưa chốt")
    final = timeline.period_state(Q3, date(2025, 9, 21))
    complete = datetime(2025, 9, 20, 8, 0)  # the data reaches past the window's last day
    text = timeline.working_banner(final, complete)
    assert text.startswith("SỐ LIỆU ĐÃ CHỐT") and "chưa phát hành" in text and "TẠM TÍNH" not in text
    issued = timeline.working_banner(final, complete, latest_issue=1, issue_file="f.xlsx", moved_cells=3)
    assert "KHÔNG phải bản chính thức" in issued and "3 ô" in issued


Q4 = periods.parse_label("2025-Q4")  # 15 Sep – 14 Dec 2025, due 20 Dec


@pytest.mark.parametrize(
    ("today", "refused"),
    [
        (date(2025, 12, 1), True),
        (date(2025, 12, 14), True),  # the window's last day: still open
        (date(2025, 12, 15), False),  # the day after it closes
        (date(2025, 12, 20), False),  # the due day itself (the clerk's deadline)
        (date(2025, 12, 21), False),  # final
    ],
)
def test_a_period_can_be_issued_from_the_day_after_it_closes_through_its_due_day(today, refused):
    refusal = timeline.issue_refusal(Q4, today)
    assert (refusal is not None) == refused
    if refused:
        assert refusal == (f"2025-Q4 is open on {today} (window 2025-09-15 – 2025-12-14): a period can be issued "
                           "from the day after its window closes, 2025-12-15, through its due day 2025-12-20 "
                           "(and later, once final)")


def test_issuing_makes_a_provisional_period_final():
    assert timeline.issued_status("provisional", True) == "final"
    assert timeline.issued_status("provisional", False) == "provisional"
    assert timeline.issued_status("final", False) == "final"
    assert timeline.issued_status("open", True) == "open"
