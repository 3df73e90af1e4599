"""The dashboard in a real headless Chromium (Debian's ``chromium``): the page loads offline,
every chart renders from the marts' numbers, no console errors, and a screenshot is saved
to var/test-artifacts/ (DVC_TEST_ARTIFACTS overrides)."""

from __future__ import annotations

import os
import re
import shutil
import struct
from pathlib import Path

import duckdb
import pytest

from pipeline import config, dashboard
from pipeline.dashboard import write_dashboard
from pipeline.warehouse import connect
from tests.browser import CHROMIUM, Chromium
from tests.report_data import build_demo_warehouse

ARTIFACTS = Path(os.environ.get("DVC_TEST_ARTIFACTS", config.REPO_ROOT / "var" / "test-artifacts"))
PERIOD = ("quarter", "2025-Q3")
TARGET_METRICS = ("full_process_online_rate", "online_payment_rate")
TREND_RATES = ("on_time_rate", "online_rate", "full_process_online_rate", "online_payment_rate")

PROBE = """(() => {
  const count = (root, sel) => root.querySelectorAll(sel).length;
  return {
    rendered: document.body.dataset.rendered || null,
    title: document.title,
    targets: Array.from(document.querySelectorAll('#targets svg[data-metric]')).map(s => ({
      metric: s.dataset.metric,
      rows: Array.from(s.querySelectorAll('g.row')).map(g => g.dataset.unit),
      bars: Array.from(s.querySelectorAll('g.row')).filter(g => g.querySelector('rect.bar')).map(g => g.dataset.unit),
      markers: count(s, 'line.target'),
    })),
    ranking: Array.from(document.querySelectorAll('#ranking g.row')).map(g => g.dataset.unit),
    rankingBars: count(document, '#ranking rect.bar'),
    trend: Array.from(document.querySelectorAll('#trend svg[data-grain]')).map(s => ({
      grain: s.dataset.grain, points: count(s, 'circle.pt'), lines: count(s, 'path.line'),
      current: count(s, 'rect.current')})),
    kpis: count(document, '#kpis .card'),
    reasons: count(document, '#quarantine-reasons tbody tr'),
  };
})()"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    return build_demo_warehouse(tmp_path_factory.mktemp("dashboard") / "w.duckdb")


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs Debian's chromium when it runs as root)")
    with Chromium(tmp_path / "profile") as chromium:
        yield chromium


def _write(warehouse: Path, out: Path, grain: str = PERIOD[0], label: str = PERIOD[1]) -> Path:
    con = connect(warehouse, read_only=True)
    try:
        return write_dashboard(con, grain, label, out).path
    finally:
        con.close()


def _expected(warehouse: Path) -> dict:
    grain, label = PERIOD
    con = connect(warehouse, read_only=True)
    try:
        targets = {}
        for metric in TARGET_METRICS:
            rows = con.execute(
                f"""SELECT t.unit_code, s.{metric} FROM mart.target_attainment t
                    LEFT JOIN mart.unit_period_stats s ON s.period_grain = ? AND s.period_label = ?
                     AND s.unit_code = t.unit_code
                    WHERE t.year = 2025 AND t.as_of_period = '2025' AND t.metric = ?""", [grain, label, metric]).fetchall()
            # Bars in descending order of the period's rate: the ranking.
            with_data = sorted((r for r in rows if r[1] is not None), key=lambda r: -r[1])
            targets[metric] = {"rows": {r[0] for r in rows}, "bars": [r[0] for r in with_data],
                               "values": [r[1] for r in with_data]}
        ranking = con.execute(
            "SELECT count(full_process_online_rate), count(on_time_rate) FROM mart.unit_period_stats "
            "WHERE period_grain = ? AND period_label = ?", [grain, label]).fetchone()
        end = con.execute("SELECT max(period_end) FROM mart.level_period_stats WHERE period_grain = ? "
                          "AND period_label = ?", [grain, label]).fetchone()[0]
        trend = {}
        for series, limit in (("month", 24), ("quarter", 12)):
            nonnull = " + ".join(f"({r} IS NOT NULL)::INT" for r in TREND_RATES)
            trend[series] = con.execute(
                f"""SELECT sum(n) FROM (SELECT {nonnull} AS n FROM mart.level_period_stats
                    WHERE unit_level = 'province_total' AND period_grain = ? AND period_end <= ?
                    AND province_code = '000.00.00.H48'
                    ORDER BY period_start DESC LIMIT ?)""", [series, end, limit]).fetchone()[0]
    finally:
        con.close()
    return {"targets": targets, "ranking": ranking, "trend": trend}


def _check_png(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_dashboard_renders_in_chromium(warehouse, tmp_path, browser):
    page = _write(warehouse, tmp_path / "dashboard_2025-Q3.html")
    expected = _expected(warehouse)
    report = browser.load(page, probe=PROBE)
    got = report.value

    assert report.console_errors == []
    assert report.requests == [page.resolve().as_uri()]  # nothing but the file itself
    assert got["rendered"] == "1" and "Quý III năm 2025" in got["title"]
    assert got["kpis"] == 7 and got["reasons"] > 0
    charts = {c["metric"]: c for c in got["targets"]}
    assert set(charts) == set(TARGET_METRICS)
    for metric in TARGET_METRICS:
        chart, want = charts[metric], expected["targets"][metric]
        assert set(chart["rows"]) == want["rows"]  # every unit with a target has a row ...
        assert chart["markers"] == len(want["rows"])  # ... and a target marker
        assert len(chart["bars"]) == len(want["bars"]) > 5  # one bar per unit with data
        assert set(chart["bars"]) == set(want["bars"])
        assert chart["rows"][: len(chart["bars"])] == chart["bars"]  # bars first, best first
    assert len(got["ranking"]) == got["rankingBars"] == expected["ranking"][0]
    trend = {t["grain"]: t for t in got["trend"]}
    assert trend["month"]["points"] == expected["trend"]["month"] > 20
    assert trend["quarter"]["points"] == expected["trend"]["quarter"] > 4
    assert trend["month"]["lines"] == 4 and trend["quarter"]["current"] == 1

    # The ranking follows the chosen rate.
    browser.evaluate("(() => { const s = document.getElementById('ranking-metric'); s.value = 'on_time_rate';"
                     " s.dispatchEvent(new Event('change')); })()")
    assert browser.evaluate("document.querySelectorAll('#ranking rect.bar').length") == expected["ranking"][1]

    width, height = _check_png(report.screenshot)
    assert width >= 1200 and height > 2000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "dashboard.png").write_bytes(report.screenshot)
    shutil.copy(page, ARTIFACTS / "dashboard.html")
    assert _check_png((ARTIFACTS / "dashboard.png").read_bytes()) == (width, height)
    assert report.seconds < 15


def test_console_errors_fail_the_check(warehouse, tmp_path, browser, monkeypatch):
    # Proves the check can fail: a deliberate error after the charts are drawn.
    monkeypatch.setattr(dashboard, "SCRIPT", dashboard.SCRIPT + "\ndeliberateDashboardError();\n")
    page = _write(warehouse, tmp_path / "broken.html")
    report = browser.load(page, probe="document.body.dataset.rendered || null")
    assert report.value == "1"
    assert any("ReferenceError: deliberateDashboardError is not defined" in e
               for e in report.console_errors), report.console_errors


def test_unit_names_are_escaped(warehouse, tmp_path, browser):
    evil = '<img src=x onerror="window.pwned=1"></script><script>window.pwned=2</script>&amp;'
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    code = con.execute(
        "SELECT unit_code FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ? "
        "AND full_process_online_rate IS NOT NULL ORDER BY unit_code LIMIT 1", list(PERIOD)).fetchone()[0]
    for table in ("mart.unit_period_stats", "mart.target_attainment"):
        con.execute(f"UPDATE {table} SET unit_name = ? WHERE unit_code = ?", [evil, code])
    con.close()
    page = _write(copy, tmp_path / "evil.html")
    text = page.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "<script>window.pwned" not in text
    report = browser.load(page, probe=f"""(() => ({{
        pwned: window.pwned || null,
        label: Array.from(document.querySelectorAll('#ranking g.row[data-unit="{code}"] title')).map(t => t.textContent)
      }}))()""")
    assert report.console_errors == [] and report.requests == [page.resolve().as_uri()]
    assert report.value["pwned"] is None
    assert report.value["label"] and report.value["label"][0].startswith(evil)  # shown as text


def test_page_is_self_contained(warehouse, tmp_path):
    text = _write(warehouse, tmp_path / "d.html", "month", "2025-05").read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"')]+", text)) <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert '<html lang="vi">' in text and "Tháng 5 năm 2025" in text
