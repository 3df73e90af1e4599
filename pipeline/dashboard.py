"""The per-period HTML dashboard: one self-contained static file, no server, no network.

Sections (Vietnamese labels):

- headline figures of the province for the period (``mart.level_period_stats``,
  ``province_total``) and the per-level rates;
- units against their yearly targets (``mart.target_attainment`` targets; bars = the unit's
  rate in the period from ``mart.unit_period_stats``, a marker = its target), for the
  full-process online rate and the online payment rate, sorted (= ranked);
- a ranking of every unit by a chosen headline rate;
- the trend of the province's headline rates over the months and quarters up to the period;
- data quality: batches read / landed / quarantined, sources that failed, top quarantine
  reasons (rule wording only, the quoted values are masked), cases not received in the period.

Charts are inline SVG drawn by a small inline script from a JSON block embedded in the page;
everything else is rendered here with every text escaped. The page's Content-Security-Policy
allows only that one script (by hash), inline styles and data: images, so it cannot load or
send anything. Only aggregates and unit names are embedded: no personal data.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline import periods
from pipeline.official_report import (
    HEADLINE_RATES,
    LEVEL_ORDER,
    PROVINCE_TOTAL,
    TARGET_METRICS,
    atomic_write,
    level_name,
    level_sort_sql,
    period_range_text,
    period_title,
    province_name,
    report_year,
    resolve_period,
    table_exists,
    unit_label,
)

TREND_RATES: tuple[str, ...] = ("on_time_rate", "online_rate", "full_process_online_rate", "online_payment_rate")
TREND_SERIES: tuple[tuple[str, str, int], ...] = (("month", "Theo tháng", 24), ("quarter", "Theo quý", 12))
RANKING_DEFAULT = "full_process_online_rate"
RATE_NAMES = dict(HEADLINE_RATES)


def dashboard_name(period: periods.Period) -> str:
    return f"dashboard_{period.label}.html"


# ---------------------------------------------------------------------------------------
# Formatting (Vietnamese: 1.234 and 98,5 %)
# ---------------------------------------------------------------------------------------
def _n(value) -> str:
    return "—" if value is None else f"{int(value):,}".replace(",", ".")


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}".replace(".", ",") + " %"


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _json_for_script(data) -> str:
    """JSON that is safe inside <script type="application/json">: no '<', '>', '&' or line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------
def _rate_cols(prefix: str = "") -> str:
    return ", ".join(
        f"{prefix}{r}, {prefix}{r}_numerator, {prefix}{r}_denominator" for r, _ in HEADLINE_RATES
    )


# Roll-ups are per province (METRICS.md §4.3); until the dashboard is per province it shows the
# province still in force (first by code), whose rows carry the merged-in units after a merger.
_MAIN_PROVINCE = ("province_code IS NOT DISTINCT FROM (SELECT min(unit_code) FROM core.units "
                  "WHERE unit_level = 'province' AND valid_to IS NULL)")


def _levels(con, period: periods.Period) -> dict[str, dict]:
    rows = _dicts(con.execute(
        f"""
        SELECT unit_level, units, received_total, new_total, carried_over, resolved_total,
               in_progress_total, in_progress_overdue, not_received, {_rate_cols()}
        FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ? AND {_MAIN_PROVINCE}
        ORDER BY {level_sort_sql()}
        """,
        [period.grain, period.label],
    ))
    return {r["unit_level"]: r for r in rows}


def _units(con, period: periods.Period) -> list[dict]:
    rows = _dicts(con.execute(
        f"""
        SELECT unit_code, unit_name, unit_level, {_rate_cols()}
        FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ?
        ORDER BY {level_sort_sql()}, unit_code
        """,
        [period.grain, period.label],
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


def _targets(con, period: periods.Period, year: int) -> list[dict]:
    if not table_exists(con, "mart.target_attainment"):
        return []
    out = []
    for metric, name in TARGET_METRICS.items():
        rows = _dicts(con.execute(
            f"""
            SELECT t.unit_code, t.unit_name, t.unit_level, t.target,
                   t.actual AS year_actual, t.met AS year_met,
                   s.{metric} AS actual, s.{metric}_numerator AS num, s.{metric}_denominator AS den
            FROM mart.target_attainment t
            LEFT JOIN mart.unit_period_stats s
              ON s.period_grain = ? AND s.period_label = ? AND s.unit_code = t.unit_code
            WHERE t.year = ? AND t.as_of_period = CAST(t.year AS VARCHAR) AND t.metric = ?
            ORDER BY s.{metric} DESC NULLS LAST, t.unit_name, t.unit_code
            """,
            [period.grain, period.label, year, metric],
        ))
        out.append({
            "metric": metric,
            "name": name,
            "rows": [
                {"code": r["unit_code"], "name": unit_label(r), "level": r["unit_level"],
                 "target": r["target"], "actual": r["actual"], "num": r["num"], "den": r["den"],
                 "yearActual": r["year_actual"], "yearMet": r["year_met"]}
                for r in rows
            ],
        })
    return out


def _trend(con, period: periods.Period) -> list[dict]:
    calendar = period.grain.startswith("cal_")
    out = []
    for grain, title, limit in TREND_SERIES:
        grain = f"cal_{grain}" if calendar else grain
        rows = _dicts(con.execute(
            f"""
            SELECT period_label, period_start, period_end, {", ".join(TREND_RATES)}
            FROM mart.level_period_stats
            WHERE unit_level = ? AND period_grain = ? AND period_end <= ? AND {_MAIN_PROVINCE}
            ORDER BY period_start DESC LIMIT ?
            """,
            [PROVINCE_TOTAL, grain, period.end, limit],
        ))
        rows.reverse()
        points = []
        for r in rows:
            p = periods.Period(grain, r["period_label"], r["period_start"], r["period_end"])
            points.append({
                "label": r["period_label"], "title": period_title(p),
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


def _quality(con) -> Quality:
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
    if table_exists(con, "raw.quarantine"):
        # The rule's wording only: quoted values (what the record sent) are masked.
        reasons = [
            (r, n) for r, n in con.execute(
                """
                SELECT regexp_replace(reason, ?, ?, 'g') AS rule, count(*) AS n
                FROM (SELECT unnest(reasons) AS reason FROM raw.quarantine)
                GROUP BY rule ORDER BY n DESC, rule LIMIT 10
                """,
                ["'[^']*'", "'…'"],
            ).fetchall()
        ]
    last_refresh = (
        con.execute("SELECT max(refreshed_at) FROM mart.refresh_log").fetchone()[0]
        if table_exists(con, "mart.refresh_log") else None
    )
    return Quality(batches, read, landed, quarantined, failed, last_batch, last_refresh, reasons)


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------
CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",Arial,sans-serif;color:#1c2833;background:#f4f6f8;font-size:14px}
header{background:#0b3d66;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.9}
main{padding:18px 28px;max-width:1400px;margin:0 auto}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 20px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 10px;color:#0b3d66}
h3{font-size:14px;margin:6px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.card{border:1px solid #dde3ea;border-radius:6px;padding:10px 12px;background:#fbfcfd}
.card .v{font-size:22px;font-weight:600}
.card .k{color:#52606d;font-size:12px}
.card .s{color:#52606d;font-size:12px;margin-top:2px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #dde3ea;padding:5px 8px;text-align:right}
th{background:#eaf1f8;text-align:center}
td.l,th.l{text-align:left}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:#52606d;margin:4px 0 8px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-2px}
.note{color:#52606d;font-size:12px;margin:6px 0 0}
.chart svg{width:100%;height:auto;display:block}
.chart text{font-size:11px;fill:#1c2833}
.chart .axis{stroke:#9aa5b1;stroke-width:1}
.chart .grid{stroke:#e4e7eb;stroke-width:1}
.chart .target{stroke:#111;stroke-width:2}
.chart .nodata{fill:#8a96a3;font-style:italic}
select{font:inherit;padding:3px 6px}
footer{color:#52606d;font-size:12px;padding:0 28px 24px;max-width:1400px;margin:0 auto}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var LEVEL_COLORS = {province: "#6a1b9a", province_department: "#1565c0", district: "#00897b",
                      commune: "#ef6c00", unknown: "#78909c"};
  var SERIES_COLORS = {on_time_rate: "#2e7d32", online_rate: "#1565c0",
                       full_process_online_rate: "#ef6c00", online_payment_rate: "#6a1b9a"};

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function txt(parent, x, y, s, attrs) {
    var node = el("text", Object.assign({x: x, y: y}, attrs || {}), parent);
    node.textContent = s;
    return node;
  }
  function tip(node, s) { el("title", {}, node).textContent = s; }
  function pct(v) {
    if (v === null || v === undefined) { return "—"; }
    return (100 * v).toFixed(1).replace(".", ",") + " %";
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function svg(container, width, height, label) {
    var root = el("svg", {viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": label});
    container.appendChild(root);
    return root;
  }
  function xAxis(root, x0, x1, y0, y1) {
    [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
      var x = x0 + t * (x1 - x0);
      el("line", {x1: x, x2: x, y1: y0, y2: y1, "class": "grid"}, root);
      txt(root, x, y0 - 6, (100 * t) + " %", {"text-anchor": "middle"});
    });
  }

  // Units against targets: one bar per unit with data, a marker per target, best first.
  function targetChart(container, block) {
    var rows = block.rows, rowH = 22, top = 26, left = 250, right = 70, width = 640;
    var height = top + rows.length * rowH + 10;
    var root = svg(container, width, height, block.name);
    root.setAttribute("data-metric", block.metric);
    var x0 = left, x1 = width - right;
    xAxis(root, x0, x1, top - 4, height - 8);
    var rank = 0;
    rows.forEach(function (r, i) {
      var y = top + i * rowH, g = el("g", {"class": "row", "data-unit": r.code}, root);
      var label = r.actual === null ? "" : String(++rank) + ". ";
      txt(g, left - 8, y + 15, clip(label + r.name, 38), {"text-anchor": "end"});
      tip(g, r.name + " — trong kỳ: " + pct(r.actual) + (r.den ? " (" + r.num + "/" + r.den + ")" : "") +
          "; chỉ tiêu: " + pct(r.target) + "; lũy kế năm: " + pct(r.yearActual));
      if (r.actual !== null) {
        var met = r.target === null || r.actual >= r.target;
        el("rect", {x: x0, y: y + 4, height: rowH - 8, width: Math.max(0.5, r.actual * (x1 - x0)),
                    fill: met ? "#2e7d32" : "#c62828", "class": "bar"}, g);
        txt(g, x1 + 6, y + 15, pct(r.actual));
      } else {
        txt(g, x0 + 4, y + 15, "chưa có số liệu trong kỳ", {"class": "nodata"});
      }
      if (r.target !== null) {
        var tx = x0 + r.target * (x1 - x0);
        el("line", {x1: tx, x2: tx, y1: y + 1, y2: y + rowH - 1, "class": "target"}, g);
      }
    });
  }

  function rankingChart(container, metric) {
    while (container.firstChild) { container.removeChild(container.firstChild); }
    var rows = data.units.filter(function (u) { return u.rates[metric] !== null; })
      .sort(function (a, b) { return b.rates[metric] - a.rates[metric] || a.name.localeCompare(b.name, "vi"); });
    if (!rows.length) {
      var p = document.createElement("p");
      p.className = "note";
      p.textContent = "Không có đơn vị nào có số liệu cho tỷ lệ này trong kỳ.";
      container.appendChild(p);
      return;
    }
    var rowH = 18, top = 24, left = 300, right = 150, width = 1200;
    var height = top + rows.length * rowH + 8;
    var root = svg(container, width, height, data.rateNames[metric]);
    var x0 = left, x1 = width - right;
    xAxis(root, x0, x1, top - 4, height - 6);
    rows.forEach(function (u, i) {
      var y = top + i * rowH, v = u.rates[metric], g = el("g", {"class": "row", "data-unit": u.code}, root);
      txt(g, left - 8, y + 13, clip((i + 1) + ". " + u.name, 46), {"text-anchor": "end"});
      el("rect", {x: x0, y: y + 3, height: rowH - 6, width: Math.max(0.5, v * (x1 - x0)),
                  fill: LEVEL_COLORS[u.level] || "#78909c", "class": "bar"}, g);
      txt(g, x1 + 6, y + 13, pct(v) + " (" + u.num[metric] + "/" + u.den[metric] + ")");
      tip(g, u.name + " — " + data.levelNames[u.level] + ": " + pct(v));
    });
  }

  function trendChart(container, series) {
    var pts = series.points, width = 620, height = 280, left = 44, right = 14, top = 14, bottom = 46;
    var root = svg(container, width, height, series.title);
    root.setAttribute("data-grain", series.grain);
    if (!pts.length) { txt(root, width / 2, height / 2, "Chưa có số liệu", {"text-anchor": "middle", "class": "nodata"}); return; }
    var x0 = left, x1 = width - right, y0 = height - bottom, y1 = top;
    var step = pts.length > 1 ? (x1 - x0) / (pts.length - 1) : 0;
    function X(i) { return pts.length > 1 ? x0 + i * step : (x0 + x1) / 2; }
    function Y(v) { return y0 - v * (y0 - y1); }
    [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
      el("line", {x1: x0, x2: x1, y1: Y(t), y2: Y(t), "class": "grid"}, root);
      txt(root, x0 - 6, Y(t) + 4, (100 * t) + "%", {"text-anchor": "end"});
    });
    el("line", {x1: x0, x2: x1, y1: y0, y2: y0, "class": "axis"}, root);
    var every = Math.ceil(pts.length / 12);
    pts.forEach(function (p, i) {
      if (p.current) {
        el("rect", {x: X(i) - Math.max(step, 16) / 2, y: y1, width: Math.max(step, 16), height: y0 - y1,
                    fill: "#fff3c4", "class": "current"}, root);
      }
      if (i % every === 0 || i === pts.length - 1) {
        txt(root, X(i), y0 + 14, p.label, {"text-anchor": "end", transform: "rotate(-35 " + X(i) + " " + (y0 + 14) + ")"});
      }
    });
    data.trendRates.forEach(function (rate) {
      var d = "", pen = false;
      pts.forEach(function (p, i) {
        var v = p.rates[rate];
        if (v === null) { pen = false; return; }
        d += (pen ? " L" : " M") + X(i).toFixed(1) + " " + Y(v).toFixed(1);
        pen = true;
      });
      if (d) { el("path", {d: d.trim(), fill: "none", stroke: SERIES_COLORS[rate], "stroke-width": 2, "class": "line"}, root); }
      pts.forEach(function (p, i) {
        var v = p.rates[rate];
        if (v === null) { return; }
        var c = el("circle", {cx: X(i), cy: Y(v), r: p.current ? 4.5 : 3, fill: SERIES_COLORS[rate],
                              "class": "pt", "data-rate": rate}, root);
        tip(c, p.title + " — " + data.rateNames[rate] + ": " + pct(v));
      });
    });
  }

  function legend(container, items) {
    items.forEach(function (it) {
      var span = document.createElement("span"), sw = document.createElement("i");
      sw.className = "sw";
      sw.style.background = it[1];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(it[0]));
      container.appendChild(span);
    });
  }

  data.targets.forEach(function (block) {
    var host = document.getElementById("target-" + block.metric);
    if (host) { targetChart(host, block); }
  });
  legend(document.getElementById("ranking-legend"), Object.keys(data.levelNames)
    .filter(function (lv) { return data.units.some(function (u) { return u.level === lv; }); })
    .map(function (lv) { return [data.levelNames[lv], LEVEL_COLORS[lv] || "#78909c"]; }));
  var select = document.getElementById("ranking-metric");
  select.value = data.rankingDefault;
  select.addEventListener("change", function () { rankingChart(document.getElementById("ranking"), select.value); });
  rankingChart(document.getElementById("ranking"), select.value);
  legend(document.getElementById("trend-legend"), data.trendRates.map(function (r) { return [data.rateNames[r], SERIES_COLORS[r]]; }));
  data.trend.forEach(function (series) {
    var host = document.getElementById("trend-" + series.grain.replace("cal_", ""));
    if (host) { trendChart(host, series); }
  });
  document.body.setAttribute("data-rendered", "1");
}());
"""


def _script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def _card(key: str, value: str, sub: str = "") -> str:
    return (f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>'
            + (f'<div class="s">{_e(sub)}</div>' if sub else "") + "</div>")


def _rate_sub(row: dict | None, rate: str) -> str:
    if row is None or row[f"{rate}_denominator"] in (None, 0):
        return "không có mẫu số"
    return f"{_n(row[f'{rate}_numerator'])} / {_n(row[f'{rate}_denominator'])} hồ sơ"


def _kpis(total: dict | None) -> str:
    if total is None:
        return '<p class="note">Không có hồ sơ trong kỳ báo cáo.</p>'
    cards = [
        _card("Hồ sơ nhận giải quyết", _n(total["received_total"]),
              f"mới {_n(total['new_total'])}, kỳ trước chuyển qua {_n(total['carried_over'])}"),
        _card("Đã giải quyết", _n(total["resolved_total"])),
        _card("Đang giải quyết", _n(total["in_progress_total"]), f"quá hạn {_n(total['in_progress_overdue'])}"),
    ]
    for rate in TREND_RATES:
        cards.append(_card(RATE_NAMES[rate], _pct(total[rate]), _rate_sub(total, rate)))
    return f'<div class="cards" id="kpis">{"".join(cards)}</div>'


def _level_table(levels: dict[str, dict]) -> str:
    order = [lv for lv in (*LEVEL_ORDER, PROVINCE_TOTAL) if lv in levels]
    head = "".join(f"<th>{_e(name)}</th>" for _, name in HEADLINE_RATES)
    body = []
    for lv in order:
        r = levels[lv]
        name = "Toàn tỉnh" if lv == PROVINCE_TOTAL else level_name(lv)
        cells = "".join(
            f'<td title="{_e(_rate_sub(r, rate))}">{_e(_pct(r[rate]))}</td>' for rate, _ in HEADLINE_RATES
        )
        tag = "th" if lv == PROVINCE_TOTAL else "td"
        body.append(f'<tr><{tag} class="l">{_e(name)}</{tag}><td>{_e(_n(r["units"]))}</td>{cells}</tr>')
    return (f'<table id="levels"><thead><tr><th class="l">Cấp</th><th>Số đơn vị</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _quality_html(q: Quality, total: dict | None) -> str:
    share = f"{_pct(q.quarantined / q.read)} số bản ghi đọc" if q.read else ""
    cards = [
        _card("Lô dữ liệu đã nạp", _n(q.batches), f"lô gần nhất {q.last_batch:%d/%m/%Y %H:%M}" if q.last_batch else ""),
        _card("Bản ghi đã đọc", _n(q.read)),
        _card("Bản ghi hợp lệ", _n(q.landed)),
        _card("Bản ghi bị cách ly", _n(q.quarantined), share),
    ]
    if q.failed_sources is not None:
        cards.append(_card("Nguồn không nạp được", _n(q.failed_sources), "xem raw.batch_failures"))
    if total is not None:
        cards.append(_card("Hồ sơ chưa tiếp nhận / từ chối tiếp nhận trong kỳ", _n(total["not_received"]),
                           "trạng thái 1 và 3, không tính vào biểu"))
    parts = [f'<div class="cards" id="quality-cards">{"".join(cards)}</div>']
    if q.reasons is None:
        parts.append('<p class="note">Chi tiết lý do cách ly không có trong bản dữ liệu phân tích.</p>')
    elif q.reasons:
        rows = "".join(f'<tr><td class="l">{_e(r)}</td><td>{_e(_n(n))}</td></tr>' for r, n in q.reasons)
        parts.append(
            '<h3>Lý do cách ly thường gặp nhất</h3><table id="quarantine-reasons"><thead><tr>'
            '<th class="l">Quy tắc bị vi phạm (giá trị gốc được che)</th><th>Số lần</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    else:
        parts.append('<p class="note">Không có bản ghi nào bị cách ly.</p>')
    refreshed = f"; mart cập nhật lần cuối {q.last_refresh:%d/%m/%Y %H:%M}" if q.last_refresh else ""
    parts.append(f'<p class="note">Số liệu chất lượng tính trên toàn bộ kho dữ liệu tại thời điểm lập báo cáo{_e(refreshed)}.</p>')
    return "".join(parts)


def render_dashboard(con: duckdb.DuckDBPyConnection, period: periods.Period) -> tuple[str, dict]:
    """The page and the data embedded in it."""
    levels = _levels(con, period)
    total = levels.get(PROVINCE_TOTAL)
    year = report_year(period)
    province = province_name(con)
    data = {
        "period": {"grain": period.grain, "label": period.label, "title": period_title(period),
                   "start": period.start.isoformat(), "end": period.end.isoformat()},
        "year": year,
        "rateNames": RATE_NAMES,
        "levelNames": {lv: level_name(lv) for lv in LEVEL_ORDER},
        "trendRates": list(TREND_RATES),
        "rankingDefault": RANKING_DEFAULT,
        "targets": _targets(con, period, year),
        "units": _units(con, period),
        "trend": _trend(con, period),
    }
    quality = _quality(con)
    title = f"Tình hình, kết quả giải quyết TTHC — {period_title(period)}"
    options = "".join(f'<option value="{_e(k)}">{_e(v)}</option>' for k, v in HEADLINE_RATES)
    target_blocks = "".join(
        f'<div><h3>{_e(b["name"])}</h3><div class="chart" id="target-{_e(b["metric"])}"></div></div>'
        for b in data["targets"]
    )
    if not any(b["rows"] for b in data["targets"]):
        target_blocks = f'<p class="note">Chưa có chỉ tiêu cho năm {year} trong mart.target_attainment.</p>'
    trend_blocks = "".join(
        f'<div><h3>{_e(s["title"])}</h3><div class="chart" id="trend-{_e(s["grain"].removeprefix("cal_"))}"></div></div>'
        for s in data["trend"]
    )
    page = f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src '{_script_hash(SCRIPT)}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body data-period="{_e(period.label)}">
<header>
<h1>{_e(title)}</h1>
<p>{_e(province or "")}{" — " if province else ""}Kỳ báo cáo {_e(period_range_text(period))} · Biểu II.06a/VPCP/KSTT</p>
</header>
<main>
<section id="headline"><h2>Số liệu chính toàn tỉnh</h2>{_kpis(total)}
<h3>Tỷ lệ theo cấp</h3>{_level_table(levels)}
<p class="note">Tỷ lệ của cấp và toàn tỉnh = tổng tử số / tổng mẫu số (không lấy bình quân); “—” khi mẫu số bằng 0.</p></section>
<section id="targets"><h2>Đơn vị so với chỉ tiêu năm {year}</h2>
<div class="legend"><span><i class="sw" style="background:#2e7d32"></i>đạt chỉ tiêu (tỷ lệ trong kỳ)</span><span><i class="sw" style="background:#c62828"></i>chưa đạt</span><span><i class="sw" style="background:#111;width:3px"></i>chỉ tiêu năm</span></div>
<div class="grid2">{target_blocks}</div>
<p class="note">Thanh = tỷ lệ của đơn vị trong kỳ; vạch đen = chỉ tiêu năm {year}; xếp theo tỷ lệ giảm dần. Di chuột để xem tử số/mẫu số và số lũy kế năm.</p></section>
<section id="ranking-section"><h2>Xếp hạng đơn vị</h2>
<label>Tỷ lệ: <select id="ranking-metric">{options}</select></label>
<div class="legend" id="ranking-legend"></div>
<div class="chart" id="ranking"></div></section>
<section id="trend"><h2>Xu hướng các tỷ lệ chính toàn tỉnh</h2>
<div class="legend" id="trend-legend"></div>
<div class="grid2">{trend_blocks}</div>
<p class="note">Các kỳ đến hết kỳ báo cáo; kỳ báo cáo được tô nền vàng.</p></section>
<section id="quality"><h2>Chất lượng dữ liệu</h2>{_quality_html(quality, total)}</section>
</main>
<footer>Lập lúc {datetime.now():%d/%m/%Y %H:%M} từ mart.unit_period_stats, mart.level_period_stats, mart.target_attainment. Chỉ gồm số liệu tổng hợp, không có dữ liệu cá nhân.</footer>
<script type="application/json" id="dashboard-data">{_json_for_script(data)}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
    return page, data


@dataclass(frozen=True)
class DashboardResult:
    path: Path
    period: periods.Period
    units: int
    bytes: int


def write_dashboard(
    con: duckdb.DuckDBPyConnection, period_grain: str | None, period_label: str, out_path: Path | str
) -> DashboardResult:
    """Write the dashboard of one period (any grain) to ``out_path``, atomically."""
    period = resolve_period(period_grain, period_label)
    page, data = render_dashboard(con, period)
    body = page.encode("utf-8")
    path = atomic_write(Path(out_path), lambda tmp: tmp.write_bytes(body))
    return DashboardResult(path, period, len(data["units"]), len(body))
