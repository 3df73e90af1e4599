"""The dashboard in a real headless Chromium (Debian's ``chromium``): the page loads offline,
the headline cards show the change against the previous period and the same period a year
earlier, the targets are the period's verdict (mart.target_attainment as of the period) placed
by the mart's rank (one rule) with small samples flagged, the ranking is within levels, no
console errors, no horizontal scrolling at 390 px, no wrapped number when printed; screenshots
(desktop, 390 px) and a PDF print are saved to var/test-artifacts/ (DVC_TEST_ARTIFACTS overrides)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
from pathlib import Path

import duckdb
import pytest

from pipeline import config
from pipeline.reports import dashboard
from pipeline.reports.dashboard import write_dashboard
from pipeline.warehouse import connect
from tests.browser import CHROMIUM, Chromium

ARTIFACTS = Path(os.environ.get("DVC_TEST_ARTIFACTS", config.REPO_ROOT / "var" / "test-artifacts"))
PERIOD = ("quarter", "2025-Q3")
PROVINCE = "000.00.00.H48"
MIN_SAMPLE = 20
TARGET_METRICS = ("full_process_online_rate", "online_payment_rate")
TREND_RATES = ("on_time_rate", "online_rate", "full_process_online_rate", "online_payment_rate")
KPIS = ("received_total", "resolved_total", "in_progress_total", *TREND_RATES)
WORDS = {True: "Đạt", False: "Chưa đạt", None: "Chưa có số liệu"}

PROBE = """(() => {
  const count = (root, sel) => root.querySelectorAll(sel).length;
  const all = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  return {
    rendered: document.body.dataset.rendered || null,
    title: document.title,
    kpis: all('#kpis .card').map(c => ({key: c.dataset.kpi, previous: c.dataset.deltaPrevious,
      lastYear: c.dataset.deltaLast_year, texts: all('.d', c).map(d => d.textContent)})),
    targets: all('#targets .tblock').map(b => ({metric: b.dataset.metric, rows: all('.trow', b).map(r => ({
      unit: r.dataset.unit, status: r.dataset.status, place: r.dataset.place, verdict: r.dataset.verdict,
      level: r.closest('.tlevel').dataset.level, name: r.querySelector('.name').textContent,
      flag: r.querySelector('.flag') ? r.querySelector('.flag').textContent : null,
      value: r.querySelector('.val').textContent}))})),
    ranking: all('#ranking .row').map(r => ({unit: r.dataset.unit, place: r.dataset.place,
      small: r.classList.contains('small'), level: r.closest('.rlevel').dataset.level})),
    rankingBars: count(document, '#ranking .bar'),
    trend: all('#trend svg[data-grain]').map(s => ({
      grain: s.dataset.grain, points: count(s, 'circle.pt'), lines: count(s, 'path.line'),
      current: count(s, 'rect.current'), labels: all('text.xlabel', s).map(t => t.textContent)})),
    overdueLinks: all('#overdue a').map(a => a.getAttribute('href')),
    lateTargets: all('#late-cases h4[id]').map(h => '#' + h.id),
    reasons: all('#quarantine-reasons tbody td.l').map(t => t.textContent),
  };
})()"""

# Every number (values, percentages, gaps, verdicts) must sit on one line.
WRAPPED = """(() => Array.from(document.querySelectorAll('.num, .row .val, .card .v, td:not(.l), .verdict, .place'))
  .filter(e => e.offsetParent !== null && e.textContent.trim())
  .filter(e => {
    // lines = text boxes whose tops differ by more than most of a line (a smaller font's
    // baseline shift is not a new line)
    const r = document.createRange(); r.selectNodeContents(e);
    const tops = Array.from(r.getClientRects()).map(x => x.top).sort((a, b) => a - b);
    const step = 0.8 * parseFloat(getComputedStyle(e).fontSize);
    return tops.some((t, i) => i > 0 && t - tops[i - 1] > step);
  })
  .map(e => e.textContent.trim()).slice(0, 10))()"""


# Nothing sticks out of the page or its section (a verdict clipped when printed).
OVERFLOW = """(() => {
  const doc = document.documentElement;
  const out = doc.scrollWidth > doc.clientWidth ? ['page ' + doc.scrollWidth + ' > ' + doc.clientWidth] : [];
  return out.concat(Array.from(document.querySelectorAll('.trow > *, .row > *, .card'))
    .filter(e => e.getBoundingClientRect().right > e.closest('section').getBoundingClientRect().right + 1)
    .map(e => e.textContent.trim())).slice(0, 10);
})()"""


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
        totals = {}
        for other in ("2025-Q3", "2025-Q2"):
            row = con.execute(f"SELECT {', '.join(KPIS)} FROM mart.level_period_stats WHERE period_grain = 'quarter' "
                              "AND period_label = ? AND unit_level = 'province_total' AND province_code = ?",
                              [other, PROVINCE]).fetchone()
            totals[other] = dict(zip(KPIS, row, strict=True))
        targets = {}
        for metric in TARGET_METRICS:
            targets[metric] = con.execute(
                "SELECT unit_code, unit_level, met, gap, applicable, partial_window, denominator, actual, rank_in_level "
                "FROM mart.target_attainment WHERE year = 2025 AND as_of_period = ? AND metric = ?",
                [label, metric]).fetchall()
        ranking = con.execute(
            "SELECT count(full_process_online_rate), count(on_time_rate) FROM mart.unit_period_stats "
            "WHERE period_grain = ? AND period_label = ? AND province_code = ?", [grain, label, PROVINCE]).fetchone()
        fp = con.execute(
            "SELECT unit_code, full_process_online_rate_denominator FROM mart.unit_period_stats "
            "WHERE period_grain = ? AND period_label = ? AND full_process_online_rate IS NOT NULL", [grain, label]).fetchall()
        end = con.execute("SELECT max(period_end) FROM mart.level_period_stats WHERE period_grain = ? "
                          "AND period_label = ?", [grain, label]).fetchone()[0]
        trend = {}
        for series, limit in (("month", 24), ("quarter", 12)):
            nonnull = " + ".join(f"({r} IS NOT NULL)::INT" for r in TREND_RATES)
            trend[series] = con.execute(
                f"""SELECT sum(n) FROM (SELECT {nonnull} AS n FROM mart.level_period_stats
                    WHERE unit_level = 'province_total' AND period_grain = ? AND period_end <= ? AND province_code = ?
                    ORDER BY period_start DESC LIMIT ?)""", [series, end, PROVINCE, limit]).fetchone()[0]
    finally:
        con.close()
    return {"totals": totals, "targets": targets, "ranking": ranking, "fp_den": dict(fp), "trend": trend}


def _check_png(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_dashboard_renders_in_chromium(new_warehouse, tmp_path, browser):
    page = _write(new_warehouse, tmp_path / "dashboard_2025-Q3.html")
    expected = _expected(new_warehouse)
    report = browser.load(page, probe=PROBE)
    got = report.value

    assert report.console_errors == []
    assert report.requests == [page.resolve().as_uri()]  # nothing but the file itself
    assert got["rendered"] == "1" and "Quý III năm 2025" in got["title"]

    # Headline cards: change against Q2 (numbers from the marts); no 2024-Q3 data: said so.
    now, before = expected["totals"]["2025-Q3"], expected["totals"]["2025-Q2"]
    assert [k["key"] for k in got["kpis"]] == list(KPIS)
    for card in got["kpis"]:
        key = card["key"]
        assert float(card["previous"]) == pytest.approx(now[key] - before[key], abs=1e-12), key
        assert card["lastYear"] == "" and card["texts"][1] == "Quý III/2024: chưa có số liệu"
        assert card["texts"][0].endswith("so với Quý II/2025")
    for card in got["kpis"]:  # the arrow says which way the figure moved
        delta = float(card["previous"])
        if delta:
            assert card["texts"][0].startswith("▲" if delta > 0 else "▼"), card

    # Targets: the period's verdict, placed by the mart's rank (one rule), small samples flagged.
    blocks = {b["metric"]: b["rows"] for b in got["targets"]}
    assert set(blocks) == set(TARGET_METRICS)
    for metric, rows in expected["targets"].items():
        shown = {r["unit"]: r for r in blocks[metric]}
        assert set(shown) == {r[0] for r in rows}  # every unit with a target, once
        for code, level, met, _gap, applicable, partial, den, actual, rank in rows:
            r = shown[code]
            assert r["verdict"] == (WORDS[met] if applicable else "Không áp dụng"), code
            assert r["level"] == level
            assert r["place"] == ("" if rank is None else str(rank)), code  # the mart's rank, always
            if partial and rank is not None:
                assert r["status"] == "abolished"
                assert re.search(r"\((đã hợp nhất vào .+|đã giải thể) từ [0-9]{2}/[0-9]{2}/2025\)", r["name"])
            elif applicable and actual is not None and den < MIN_SAMPLE:
                assert r["status"] == "small" and f"ít hồ sơ: {int(den)} < {MIN_SAMPLE}" in r["flag"]
        for level in {r[1] for r in rows}:
            ranked = sorted((r for r in rows if r[1] == level and r[8] is not None), key=lambda r: r[8])
            order = [r for r in blocks[metric] if r["level"] == level and r["place"] != ""]
            assert [int(r["place"]) for r in order] == [r[8] for r in ranked], (metric, level)
            first_other = next((i for i, r in enumerate(b for b in blocks[metric] if b["level"] == level)
                                if r["place"] == ""), None)
            assert first_other is None or first_other == len(order)  # ranked first, then the rest
        assert any(r["status"] == "small" for r in blocks[metric])
        assert any(r["status"] == "abolished" for r in blocks[metric])
        assert all("điểm" in r["value"] for r in blocks[metric] if r["status"] == "ranked")  # YTD and gap written out

    # Ranking within levels by the period's rate: every unit with a value, small ones flagged.
    assert len(got["ranking"]) == got["rankingBars"] == expected["ranking"][0]
    for r in got["ranking"]:
        assert r["small"] == (expected["fp_den"][r["unit"]] < MIN_SAMPLE) and r["small"] == (r["place"] == "")
    levels = list(dict.fromkeys(r["level"] for r in got["ranking"]))
    for level in levels:
        members = [r for r in got["ranking"] if r["level"] == level]
        places = [int(r["place"]) for r in members if not r["small"]]
        assert places == sorted(places) and members[: len(places)] == [r for r in members if not r["small"]]
    assert "X99.OTHER" not in {r["unit"] for r in got["ranking"]}  # another province's unit

    trend = {t["grain"]: t for t in got["trend"]}
    assert trend["month"]["points"] == expected["trend"]["month"] > 20
    assert trend["quarter"]["points"] == expected["trend"]["quarter"] > 2
    assert trend["month"]["lines"] == 4 and trend["quarter"]["current"] == 1
    assert trend["quarter"]["labels"][-1] == "Quý III/2025"
    assert all(re.fullmatch(r"(T[0-9]{1,2}|Quý [IV]+)/20[0-9]{2}", t) for s in trend.values() for t in s["labels"])

    assert got["overdueLinks"] and set(got["overdueLinks"]) <= set(got["lateTargets"])
    assert got["reasons"] and not any(re.search(r"required|unparseable|malformed|not a ", t) for t in got["reasons"])

    # The ranking follows the chosen rate.
    browser.evaluate("(() => { const s = document.getElementById('ranking-metric'); s.value = 'on_time_rate';"
                     " s.dispatchEvent(new Event('change')); })()")
    assert browser.evaluate("document.querySelectorAll('#ranking .bar').length") == expected["ranking"][1]
    browser.evaluate("(() => { const s = document.getElementById('ranking-metric'); s.value = 'full_process_online_rate';"
                     " s.dispatchEvent(new Event('change')); })()")

    width, height = _check_png(report.screenshot)
    assert width >= 1200 and height > 2000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "dashboard.png").write_bytes(report.screenshot)
    shutil.copy(page, ARTIFACTS / "dashboard.html")
    assert report.seconds < 15

    # Printed: no wrapped number; the PDF is kept for a look.
    browser.send("Emulation.setEmulatedMedia", {"media": "print"})
    browser.send("Emulation.setDeviceMetricsOverride", {"width": 718, "height": 1000, "deviceScaleFactor": 1,
                                                        "mobile": False})  # A4 portrait minus margins
    assert browser.evaluate(WRAPPED) == []
    assert browser.evaluate(OVERFLOW) == []
    browser.send("Emulation.clearDeviceMetricsOverride")
    pdf = browser.send("Page.printToPDF", {"landscape": False, "printBackground": True, "preferCSSPageSize": True})
    (ARTIFACTS / "dashboard.pdf").write_bytes(base64.b64decode(pdf["data"]))
    browser.send("Emulation.setEmulatedMedia", {"media": ""})


def test_dashboard_at_phone_width(new_warehouse, tmp_path, browser):
    page = _write(new_warehouse, tmp_path / "dashboard_2025-Q3.html")
    browser.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    report = browser.load(page, probe="""(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        rows: document.querySelectorAll('#targets .trow').length,
        narrowest: Math.min(...Array.from(document.querySelectorAll('.trow .track')).map(t => t.getBoundingClientRect().width))
      }))()""")
    assert report.console_errors == []
    assert report.value["scrollWidth"] <= 390  # the page itself never scrolls sideways
    assert report.value["rows"] > 50 and report.value["narrowest"] > 200  # bars stay readable
    assert browser.evaluate(WRAPPED) == []
    width, _ = _check_png(report.screenshot)
    assert width == 390
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "dashboard-390.png").write_bytes(report.screenshot)


def test_without_the_new_marts_the_page_says_what_is_missing(legacy_warehouse, tmp_path):
    # Older marts: no year-to-date rows, no late-case list; the page says so, no verdict.
    text = _write(legacy_warehouse, tmp_path / "d.html").read_text(encoding="utf-8")
    assert "Chưa có đánh giá chỉ tiêu năm 2025 lũy kế đến hết kỳ này" in text
    assert 'class="trow' not in text
    assert "Danh sách từng hồ sơ trễ hạn chưa có trong kho dữ liệu." in text


def test_console_errors_fail_the_check(demo_warehouse, tmp_path, browser, monkeypatch):
    # Proves the check can fail: a deliberate error after the charts are drawn.
    monkeypatch.setattr(dashboard, "SCRIPT", dashboard.SCRIPT + "\ndeliberateDashboardError();\n")
    page = _write(demo_warehouse, tmp_path / "broken.html")
    report = browser.load(page, probe="document.body.dataset.rendered || null")
    assert report.value == "1"
    assert any("ReferenceError: deliberateDashboardError is not defined" in e
               for e in report.console_errors), report.console_errors


def test_unit_names_are_escaped(new_warehouse, tmp_path, browser):
    evil = '<img src=x onerror="window.pwned=1"></script><script>window.pwned=2</script>&amp;'
    copy = tmp_path / "w.duckdb"
    shutil.copy(new_warehouse, copy)
    con = duckdb.connect(str(copy))
    code = con.execute(
        "SELECT unit_code FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ? "
        "AND full_process_online_rate IS NOT NULL AND unit_code IN (SELECT unit_code FROM mart.target_attainment) "
        "ORDER BY unit_code LIMIT 1", list(PERIOD)).fetchone()[0]
    for table in ("mart.unit_period_stats", "mart.target_attainment"):
        con.execute(f"UPDATE {table} SET unit_name = ? WHERE unit_code = ?", [evil, code])
    con.close()
    page = _write(copy, tmp_path / "evil.html")
    text = page.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "<script>window.pwned" not in text
    report = browser.load(page, probe=f"""(() => ({{
        pwned: window.pwned || null,
        label: Array.from(document.querySelectorAll('#ranking .row[data-unit="{code}"]')).map(t => t.title),
        target: Array.from(document.querySelectorAll('#targets .trow[data-unit="{code}"] .name')).map(t => t.textContent)
      }}))()""")
    assert report.console_errors == [] and report.requests == [page.resolve().as_uri()]
    assert report.value["pwned"] is None
    assert report.value["label"] and report.value["label"][0].startswith(evil)  # shown as text
    assert report.value["target"] and all(t.startswith(evil) for t in report.value["target"])


def test_page_is_self_contained(demo_warehouse, tmp_path):
    text = _write(demo_warehouse, tmp_path / "d.html", "month", "2025-05").read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"')]+", text)) <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert '<html lang="vi">' in text and "Tháng 5 năm 2025" in text
