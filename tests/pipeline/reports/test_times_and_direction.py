"""Every time on an output is local time in Asia/Ho_Chi_Minh with the zone named, whatever the
server's clock zone; and a change for the worse (a rising backlog, a falling rate) is never
styled as an improvement."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline import periods
from pipeline.cycle import timeline
from pipeline.reports import dashboard


@pytest.fixture
def server_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_server_clock_times_are_shown_in_local_time_with_the_zone(server_in_utc):
    assert os.environ["TZ"] == "UTC"
    assert timeline.server_to_local(datetime(2025, 3, 20, 23, 30)) == datetime(2025, 3, 21, 6, 30)
    assert timeline.local_to_server(datetime(2025, 3, 21, 6, 30)) == datetime(2025, 3, 20, 23, 30)
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    assert abs(timeline.local_now() - now) < timedelta(minutes=1)
    assert abs(timeline.local_now() - datetime.now()) > timedelta(hours=6)  # not the server's clock
    assert timeline.vn_time(datetime(2025, 3, 21, 6, 30)) == "21/03/2025 06:30 (giờ Việt Nam, UTC+7)"
    q1 = periods.parse_label("2025-Q1")
    official = timeline.official_banner(q1, 1, datetime(2025, 3, 21, 6, 30), datetime(2025, 4, 20), "ab" * 32)
    assert "phát hành 21/03/2025 06:30 (giờ Việt Nam, UTC+7)" in official
    assert "số liệu tính đến 20/04/2025 00:00 (giờ Việt Nam, UTC+7)" in official


@pytest.mark.parametrize(
    ("key", "now", "before", "rate", "judgement"),
    [
        ("in_progress_total", 120, 100, False, "worse"),  # the backlog rising
        ("in_progress_total", 80, 100, False, "better"),
        ("resolved_total", 120, 100, False, "better"),
        ("received_total", 120, 100, False, "neutral"),  # demand: neither
        ("on_time_rate", 0.90, 0.95, True, "worse"),
        ("online_rate", 0.60, 0.50, True, "better"),
        ("in_progress_total", 100, 100, False, "neutral"),
    ],
)
def test_a_change_is_coloured_by_better_or_worse_not_by_direction(key, now, before, rate, judgement):
    text, delta, classes = dashboard._delta_text(key, now, before, rate=rate, title="Quý II/2025")
    assert judgement in classes.split() and text.endswith("so với Quý II/2025")
    assert ("xấu đi" in text) == (judgement == "worse")
    assert text.startswith({1: "▲", -1: "▼", 0: "="}[(delta > 0) - (delta < 0)])
    assert ".d.worse{color:#D55E00" in dashboard.CSS and ".d.up{" not in dashboard.CSS
