"""The per-period HTML dashboard for a leader: one self-contained static file, no server, no network.

Sections (Vietnamese labels):

- headline figures of the province for the period with their change against the previous
  period and the same period a year earlier, and the per-level rates;
- the yearly targets judged for the period (targets.target_verdicts: year to date up to the
  period's last day, the same verdict as the workbook and the command line summary), placed by
  the one ranking rule of mart.target_attainment (targets.TARGET_RANK_RULE: by actual, within the
  province and level); units with fewer than DVC_MIN_SAMPLE cases keep their rank and are
  flagged; abolished units ranked on their partial window, labelled with their successor;
- a ranking within each level by a chosen headline rate (same minimum-sample rule);
- overdue cases by unit, linked to the late-case list when the late-case mart exists;
- the trend of the province's headline rates (axis labels "Quý III/2025");
- data quality: batches, quarantine reasons in Vietnamese, cases not received.

The trend and ranking charts are drawn by a small inline script from a JSON block embedded in
the page; everything else is rendered here with every text escaped. The page's
Content-Security-Policy allows only that one script (by hash) and inline styles, so it cannot
load or send anything. Colours are the Okabe–Ito colour-blind-safe palette and every verdict is
also written in words. Only aggregates, unit names and case numbers: no personal data.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline import periods
from pipeline.cycle.timeline import local_now, server_to_local, vn_time
from pipeline.reports.dashboard_data import TREND_RATES, Quality
from pipeline.reports.data import (
    HEADLINE_RATES,
    LEVEL_ORDER,
    PROVINCE_TOTAL,
    RATE_TITLES,
    TARGET_CHART_METRICS,
    atomic_write,
    level_name,
    period_range_text,
    period_title,
    resolve_period,
    short_title,
    unit_label,
    vn_date,
)
from pipeline.reports.index766 import IndexView
from pipeline.reports.model import PeriodReport, build_report
from pipeline.reports.procedure_view import procedures_html
from pipeline.reports.stamp import banner_html
from pipeline.reports.targets import (
    Verdicts,
    gap_points,
    rank_targets,
    rank_units_by_rate,
    verdict_word,
)

RANKING_DEFAULT = "full_process_online_rate"
RATE_NAMES = dict(HEADLINE_RATES)
# Okabe–Ito: distinguishable with every common colour-vision deficiency.
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}
MET_COLOUR, MISSED_COLOUR, OTHER_COLOUR = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["grey"]
KPI_COUNTS: tuple[tuple[str, str], ...] = (
    ("received_total", "Hồ sơ nhận giải quyết"), ("resolved_total", "Đã giải quyết"),
    ("in_progress_total", "Đang giải quyết"),
)
COMPARE_WORDS = {"previous": "kỳ trước", "last_year": "cùng kỳ năm trước"}


def dashboard_name(period: periods.Period) -> str:
    return f"dashboard_{period.label}.html"


# ---------------------------------------------------------------------------------------
# Formatting (Vietnamese: 1.234 and 98,5 %)
# ---------------------------------------------------------------------------------------
def _n(value) -> str:
    return "—" if value is None else f"{int(value):,}".replace(",", ".")


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}".replace(".", ",") + "\u00a0%"


def _day(value) -> str:
    return "—" if value is None else f"{value:%d/%m/%Y}"


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _json_for_script(data) -> str:
    """JSON that is safe inside <script type="application/json">: no '<', '>', '&' or line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _ranking(units: list[dict], sample: int) -> dict[str, list[dict]]:
    return {rate: rank_units_by_rate(units, rate, sample) for rate, _ in HEADLINE_RATES}


def _target_blocks(verdicts: Verdicts, units: list[dict], sample: int) -> list[dict]:
    """Per metric: the verdict rows within each level, placed by the mart's rank (targets.rank_targets)."""
    period_rates = {u["code"]: u["rates"] for u in units}
    metrics = list(dict.fromkeys(r["metric"] for r in verdicts.rows))
    metrics.sort(key=lambda m: (TARGET_CHART_METRICS.index(m) if m in TARGET_CHART_METRICS else 99, m))
    blocks = []
    for metric in metrics:
        rows = rank_targets([r for r in verdicts.rows if r["metric"] == metric], sample)
        blocks.append({"metric": metric, "name": RATE_TITLES.get(metric, metric), "rows": [
            {"code": r["unit_code"], "name": unit_label(r), "level": r["unit_level"], "status": r["status"],
             "place": r["place"], "rankedUnits": r["ranked_units"], "actual": r["actual"], "num": r["numerator"],
             "den": r["denominator"], "target": r["target"], "gap": r["gap"], "met": r["met"],
             "verdict": verdict_word(r), "note": r["abolished_note"],
             "windowStart": r["window_start"], "windowEnd": r["window_end"],
             "periodRate": period_rates.get(r["unit_code"], {}).get(metric)}
            for r in rows
        ]})
    return blocks


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------
# The page's style and its one script are package files, inlined into every page.
CSS = (Path(__file__).with_name("dashboard.css")).read_text(encoding="utf-8")
SCRIPT = (Path(__file__).with_name("dashboard.js")).read_text(encoding="utf-8")


def _script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


# Which way is better for each headline figure: the colour of a change says better or worse,
# never just up or down (a rising backlog is not an improvement). Rates: higher is better.
KPI_POLARITY: dict[str, int] = {
    "received_total": 0,  # more cases received is demand, neither better nor worse
    "resolved_total": 1,
    "in_progress_total": -1,  # the backlog
    "in_progress_overdue": -1,
    "resolved_late": -1,
}


def _judgement(key: str, delta: float, rate: bool) -> str:
    """better / worse / neutral for a change of ``key`` by ``delta``."""
    polarity = 1 if rate and key not in KPI_POLARITY else KPI_POLARITY.get(key, 0)
    if not delta or not polarity:
        return "neutral"
    return "better" if delta * polarity > 0 else "worse"


def _delta_text(key: str, value, other, *, rate: bool, title: str) -> tuple[str, float | None, str]:
    """(text, delta, classes) of one comparison: points for a rate, cases (and %) for a count;
    classes = the arrow's direction and whether the change is better, worse or neutral."""
    if value is None or other is None:
        return f"{title}: chưa có số liệu", None, "none"
    delta = value - other
    direction = "up" if delta > 0 else ("down" if delta < 0 else "same")
    arrow = {"up": "▲", "down": "▼", "same": "="}[direction]
    if rate:
        text = f"{arrow} {gap_points(delta)} so với {title}"
    else:
        share = f" ({'+' if delta > 0 else '−' if delta < 0 else '±'}{abs(100 * delta / other):.1f}".replace(".", ",") + " %)" if other else ""
        sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
        text = f"{arrow} {sign}{_n(abs(delta))}{share} so với {title}"
    judgement = _judgement(key, delta, rate)
    if judgement == "worse":  # said in words too (printed in black and white)
        text = text.replace(f"{arrow} ", f"{arrow} xấu đi: ", 1)
    return text, delta, f"{direction} {judgement}"


def _card(key: str, name: str, value: str, sub: str = "", deltas: list[tuple[str, str, float | None, str]] = ()) -> str:
    parts = [f'<div class="card" data-kpi="{_e(key)}"']
    parts += [f' data-delta-{_e(k)}="{"" if d is None else _e(repr(d))}"' for k, _, d, _ in deltas]
    parts.append(f'><div class="k">{_e(name)}</div><div class="v">{_e(value)}</div>')
    if sub:
        parts.append(f'<div class="s">{_e(sub)}</div>')
    for k, text, _, direction in deltas:
        parts.append(f'<div class="d {direction}" data-compare="{_e(k)}">{_e(text)}</div>')
    parts.append("</div>")
    return "".join(parts)


def _rate_sub(row: dict | None, rate: str) -> str:
    if row is None or row[f"{rate}_denominator"] in (None, 0):
        return "không có mẫu số"
    return f"{_n(row[f'{rate}_numerator'])} / {_n(row[f'{rate}_denominator'])} hồ sơ"


def _kpis(total: dict | None, comparisons: list[dict]) -> str:
    if total is None:
        return '<p class="note">Không có hồ sơ trong kỳ báo cáo.</p>'

    def deltas(key: str, rate: bool) -> list[tuple[str, str, float | None, str]]:
        out = []
        for c in comparisons:
            other = None if c["total"] is None else c["total"][key]
            text, delta, direction = _delta_text(key, total[key], other, rate=rate, title=c["title"])
            out.append((c["key"], text, delta, direction))
        return out

    cards = [
        _card("received_total", "Hồ sơ nhận giải quyết", _n(total["received_total"]),
              f"mới {_n(total['new_total'])}, kỳ trước chuyển qua {_n(total['carried_over'])}",
              deltas("received_total", False)),
        _card("resolved_total", "Đã giải quyết", _n(total["resolved_total"]),
              f"quá hạn {_n(total['resolved_late'])}", deltas("resolved_total", False)),
        _card("in_progress_total", "Đang giải quyết", _n(total["in_progress_total"]),
              f"quá hạn {_n(total['in_progress_overdue'])}", deltas("in_progress_total", False)),
    ]
    for rate in TREND_RATES:
        cards.append(_card(rate, RATE_NAMES[rate], _pct(total[rate]), _rate_sub(total, rate), deltas(rate, True)))
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
    return (f'<div class="scroll"><table id="levels"><thead><tr><th class="l">Cấp</th><th>Số đơn vị</th>{head}'
            f'</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


_STATUS_WORDS = {
    "small": "ít hồ sơ",
    "no_data": "chưa có số liệu",
    "not_applicable": "không áp dụng chỉ tiêu",
    "abolished": "đánh giá đến ngày cuối hoạt động",
}


def _target_row(r: dict, sample: int) -> str:
    """One unit against its target: place, name, a bar of the year-to-date rate with the
    target marker, and the value, gap and verdict written out (no hovering needed)."""
    status = r["status"]
    place = str(r["place"]) if r["place"] is not None else "–"
    colour = MET_COLOUR if r["met"] else (MISSED_COLOUR if r["met"] is False else OTHER_COLOUR)
    bar = ""
    if r["actual"] is not None:
        bar += f'<span class="bar" style="width:{min(100.0, 100 * r["actual"]):.2f}%;background:{colour}"></span>'
    if r["target"]:
        bar += f'<span class="mark" style="left:{min(100.0, 100 * r["target"]):.2f}%"></span>'
    flags = []
    if status in _STATUS_WORDS and status != "small":
        flags.append(f'<span class="flag">{_e(_STATUS_WORDS[status])}</span>')
    if r["actual"] is not None and (r["den"] or 0) < sample:  # ranked all the same (TARGET_RANK_RULE)
        flags.append(f'<span class="flag">ít hồ sơ: {_e(_n(r["den"]))} &lt; {_e(sample)}</span>')
    note = f' <span class="merged">{_e(r["note"])}</span>' if r["note"] else ""
    window = f"{vn_date(r['windowStart'])}–{vn_date(r['windowEnd'])}" if status == "abolished" else ""
    parts = [f'<span class="num">{_e(_pct(r["actual"]))} <small>({_e(_n(r["num"]))}/{_e(_n(r["den"]))})</small></span>',
             f'<span class="num">chỉ tiêu {_e(_pct(r["target"]) if r["target"] else "—")}</span>',
             f'<b class="num gap">{_e(gap_points(r["gap"]))}</b>']
    if r["periodRate"] is not None:
        parts.append(f'<small class="num">trong kỳ {_e(_pct(r["periodRate"]))}</small>')
    if window:
        parts.append(f'<small class="num">số liệu {_e(window)}</small>')
    detail = " · ".join(parts)  # a line may break between the parts, never inside a number
    verdict_class = {"Đạt": "met", "Chưa đạt": "missed"}.get(r["verdict"], "other")
    return (
        f'<div class="trow {status}" data-unit="{_e(r["code"])}" data-status="{_e(status)}" '
        f'data-place="{_e("" if r["place"] is None else r["place"])}" data-verdict="{_e(r["verdict"])}" '
        f'data-gap="{_e("" if r["gap"] is None else repr(r["gap"]))}">'
        f'<span class="place">{_e(place)}</span>'
        f'<span class="name">{_e(r["name"])}{note} {"".join(flags)}</span>'
        f'<span class="track">{bar}</span>'
        f'<span class="val">{detail}</span>'
        f'<span class="verdict {verdict_class}">{_e(r["verdict"])}</span></div>'
    )


def _targets_html(blocks: list[dict], verdicts: Verdicts, sample: int) -> str:
    if not blocks:
        return f'<p class="note">{_e(verdicts.note)}</p>'
    parts = [f'<p class="basis">{_e(verdicts.note)}</p>']
    for b in blocks:
        parts.append(f'<div class="tblock" data-metric="{_e(b["metric"])}"><h3>{_e(b["name"])}</h3>')
        levels = list(dict.fromkeys(r["level"] for r in b["rows"]))
        for level in levels:
            rows = [r for r in b["rows"] if r["level"] == level]
            ranked = rows[0]["rankedUnits"]
            how = (f"xếp hạng {ranked} đơn vị theo tỷ lệ đạt được (đơn vị dưới {sample} hồ sơ được đánh dấu)"
                   if ranked else "không xếp hạng: không có đơn vị có số liệu")
            parts.append(f'<div class="tlevel" data-level="{_e(level)}"><h4>{_e(level_name(level))} '
                         f'<small>— {_e(how)}</small></h4>')
            parts += [_target_row(r, sample) for r in rows]
            parts.append("</div>")
        parts.append("</div>")
    return "".join(parts)


def _overdue_html(rows: list[dict], late: list[dict] | None) -> tuple[str, str]:
    """The overdue-by-unit table and the late-case list section (empty without the mart)."""
    if not rows:
        return '<p class="note">Không có hồ sơ quá hạn trong kỳ.</p>', ""
    by_unit: dict[str, list[dict]] = {}
    for case in late or []:
        by_unit.setdefault(case["unit_code"], []).append(case)
    body = []
    for i, r in enumerate(rows):
        link = (f'<a href="#late-{i}">{_e(_n(r["in_progress_overdue"] + r["resolved_late"]))} hồ sơ</a>'
                if r["unit_code"] in by_unit else "")
        body.append(
            f'<tr data-unit="{_e(r["unit_code"])}"><td class="l">{_e(unit_label(r))}</td>'
            f'<td class="l lv">{_e(level_name(r["unit_level"]))}</td><td>{_e(_n(r["in_progress_overdue"]))}</td>'
            f'<td>{_e(_n(r["in_progress_total"]))}</td><td>{_e(_n(r["resolved_late"]))}</td>'
            f'<td>{_e(_n(r["resolved_total"]))}</td>' + (f"<td>{link}</td>" if late is not None else "") + "</tr>")
    table = ('<div class="scroll"><table id="overdue-table"><thead><tr><th class="l">Đơn vị</th><th class="l lv">Cấp</th>'
             '<th>Đang giải quyết quá hạn</th><th>Đang giải quyết</th><th>Đã giải quyết quá hạn</th>'
             '<th>Đã giải quyết</th>' + ("<th>Danh sách</th>" if late is not None else "")
             + f'</tr></thead><tbody>{"".join(body)}</tbody></table></div>')
    if late is None:
        return table + '<p class="note">Danh sách từng hồ sơ trễ hạn chưa có trong kho dữ liệu.</p>', ""
    kinds = {"resolved_late": "đã giải quyết quá hạn", "overdue": "đang giải quyết quá hạn"}
    parts = []
    for i, r in enumerate(rows):
        cases = by_unit.get(r["unit_code"])
        if not cases:
            continue
        shown, count = cases, r["in_progress_overdue"] + r["resolved_late"]
        lines = "".join(
            f'<tr><td class="l">{_e(c["case_id"])}</td><td class="l">{_e(c["procedure_name"] or c["procedure_code"])}</td>'
            f'<td class="l">{_e(kinds.get(c["late_kind"], c["late_kind"]))}</td>'
            f'<td>{_e(_day(c["received_at"]))}</td><td>{_e(_day(c["due_at"]))}</td>'
            f'<td>{_e(_n(c["days_late"]))}</td></tr>' for c in shown)
        more = f'<p class="note">… và {_e(_n(count - len(shown)))} hồ sơ khác.</p>' if count > len(shown) else ""
        parts.append(
            f'<h4 id="late-{i}">{_e(unit_label(r))}</h4><div class="scroll"><table class="late"><thead><tr>'
            '<th class="l">Mã hồ sơ</th><th class="l">Thủ tục</th><th class="l">Tình trạng</th><th>Tiếp nhận</th>'
            f'<th>Hẹn trả</th><th>Số ngày trễ</th></tr></thead><tbody>{lines}</tbody></table></div>{more}')
    section = ('<section id="late-cases"><h2>Danh sách hồ sơ trễ hạn</h2>'
               '<p class="note">Theo đơn vị, hồ sơ trễ nhiều ngày nhất trước (tối đa 10 hồ sơ mỗi đơn vị).</p>'
               + "".join(parts) + "</section>")
    return table, section


def _points(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _g(value: float) -> str:
    return f"{value:g}"


def _index766_html(view: IndexView | None, period: periods.Period) -> str:
    """The Decision 766 section: the case-computable part of the index for the period's calendar
    month/quarter, per unit (rank within level, change from the previous window) and the cases
    that cost the units with the fewest points the most."""
    if view is None:
        return ('<section id="index766"><h2>Chỉ số 766 (phần tính từ hồ sơ)</h2><p class="note">Chưa có số liệu '
                f"Chỉ số 766 theo tháng/quý dương lịch cho {_e(period_title(period))}.</p></section>")
    heads = "".join(f'<th title="{_e(r["name"])}">{_e(r["indicator"])} <small>({_e(_g(r["max_points"]))})</small></th>'
                    for r in view.rules)

    def cells(u: dict) -> str:
        change = u["change"]
        arrow = "" if change is None else ("▲ " if change > 0 else "▼ " if change < 0 else "")
        cls = "" if not change else (' class="up"' if change > 0 else ' class="down"')
        return ("".join(f'<td>{_e(_points(u["scores"].get(r["indicator"])))}</td>' for r in view.rules)
                + f'<td><b>{_e(_points(u["total"]))}</b></td>'
                + f'<td>{_e(u.get("rank_in_level") or "")}{"/" + _e(u["units_in_level"]) if u.get("rank_in_level") else ""}</td>'
                + f"<td{cls}>{_e(arrow)}{_e(_points(change).replace('-', '−'))}</td>")

    body = []
    if view.province is not None:
        body.append(f'<tr class="total" data-unit="{PROVINCE_TOTAL}"><td class="l"><b>{_e(view.province["unit_name"])}'
                    f'</b></td><td class="l lv">Toàn tỉnh (số liệu gộp)</td>{cells(view.province)}</tr>')
    ordered = sorted(view.units, key=lambda u: (LEVEL_ORDER.index(u["unit_level"]) if u["unit_level"] in LEVEL_ORDER
                                                 else len(LEVEL_ORDER), u.get("rank_in_level") or 10**9, u["unit_code"]))
    body += [f'<tr data-unit="{_e(u["unit_code"])}"><td class="l">{_e(unit_label(u))}</td>'
             f'<td class="l lv">{_e(level_name(u["unit_level"]))}</td>{cells(u)}</tr>' for u in ordered]
    table = ('<div class="scroll tall"><table id="index766-table"><thead><tr><th class="l">Đơn vị</th>'
             f'<th class="l lv">Cấp</th>{heads}<th>Tổng ({_e(_g(view.computable_max))})</th><th>Hạng trong cấp</th>'
             f'<th>So với {_e(short_title(view.previous))}</th></tr></thead><tbody>{"".join(body)}</tbody></table></div>')
    worst = []
    for u in view.worst:
        lines = "".join(
            f'<tr><td class="l">{_e(c["case_id"])}</td><td class="l">{_e(c["procedure_name"] or c["procedure_code"])}</td>'
            f'<td>{_e(_day(c["received_at"]))}</td><td>{_e(_day(c["due_at"]))}</td>'
            f'<td>{_e(_points(c["points_lost"], 3))}</td><td class="l">{_e("; ".join(c["reasons"]))}</td></tr>'
            for c in u["cases"])
        worst.append(
            f'<h4>{_e(unit_label(u))} — {_e(_points(u["total"]))} điểm</h4>'
            + (f'<div class="scroll"><table class="late index766-cases"><thead><tr><th class="l">Mã hồ sơ</th>'
               '<th class="l">Thủ tục</th><th>Tiếp nhận</th><th>Hẹn trả</th><th>Điểm mất</th><th class="l">Lý do</th>'
               f'</tr></thead><tbody>{lines}</tbody></table></div>' if lines
               else '<p class="note">Không có hồ sơ làm mất điểm tính được theo từng hồ sơ.</p>'))
    return (f'<section id="index766"><h2>Chỉ số 766: {_e(period_title(view.window))} (phần tính từ hồ sơ, '
            f'{_e(_g(view.computable_max))}/100 điểm)</h2><p class="note">{_e(view.caption)}</p>{table}'
            '<p class="note">Điểm toàn tỉnh tính trên số liệu gộp của mọi đơn vị, không lấy bình quân; hạng so với các '
            'đơn vị cùng cấp theo tổng điểm phần tính được.</p>'
            '<h3>Hồ sơ làm mất nhiều điểm nhất ở các đơn vị ít điểm nhất</h3>'
            '<p class="note">Điểm mất = số điểm đơn vị được thêm nếu hồ sơ đạt yêu cầu (0 khi chỉ tiêu đã đạt ngưỡng); '
            f'tối đa 10 hồ sơ mỗi đơn vị.</p>{"".join(worst)}</section>')


def _quality_html(q: Quality, total: dict | None) -> str:
    share = f"{_pct(q.quarantined / q.read)} số bản ghi đọc" if q.read else ""
    cards = [
        _card("batches", "Lô dữ liệu đã nạp", _n(q.batches), f"lô gần nhất {vn_time(server_to_local(q.last_batch))}" if q.last_batch else ""),
        _card("read", "Bản ghi đã đọc", _n(q.read)),
        _card("landed", "Bản ghi hợp lệ", _n(q.landed)),
        _card("quarantined", "Bản ghi bị cách ly", _n(q.quarantined), share),
    ]
    if q.failed_sources is not None:
        cards.append(_card("failed", "Tệp/nguồn không nạp được", _n(q.failed_sources)))
    if total is not None:
        cards.append(_card("not_received", "Hồ sơ chưa tiếp nhận / từ chối tiếp nhận trong kỳ", _n(total["not_received"]),
                           "không tính vào biểu"))
    parts = [f'<div class="cards" id="quality-cards">{"".join(cards)}</div>']
    if q.reasons is None:
        parts.append('<p class="note">Chi tiết lý do cách ly không có trong bản dữ liệu phân tích.</p>')
    elif q.reasons:
        rows = "".join(f'<tr><td class="l">{_e(r)}</td><td>{_e(_n(n))}</td></tr>' for r, n in q.reasons)
        parts.append(
            '<h3>Lý do cách ly thường gặp nhất</h3><div class="scroll"><table id="quarantine-reasons"><thead><tr>'
            '<th class="l">Lỗi của bản ghi (giá trị gốc không hiển thị)</th><th>Số lần</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    else:
        parts.append('<p class="note">Không có bản ghi nào bị cách ly.</p>')
    refreshed = (f"; số liệu tổng hợp cập nhật lần cuối {vn_time(server_to_local(q.last_refresh))}"
                 if q.last_refresh else "")
    parts.append(f'<p class="note">Số liệu chất lượng tính trên toàn bộ kho dữ liệu tại thời điểm lập báo cáo{_e(refreshed)}.</p>')
    return "".join(parts)


def render_dashboard(report: PeriodReport) -> tuple[str, dict]:
    """The page and the data embedded in it, from the period's report model (no query);
    ``report.banner`` = the period's status line(s) at the top."""
    period, levels, total, province = report.period, report.levels, report.total, report.province
    sample, units, verdicts = report.sample, report.units, report.verdicts
    blocks = _target_blocks(verdicts, units, sample)
    data = {
        "period": {"grain": period.grain, "label": period.label, "title": period_title(period),
                   "start": period.start.isoformat(), "end": period.end.isoformat()},
        "year": verdicts.year,
        "minSample": sample,
        "rateNames": RATE_NAMES,
        "levelNames": {lv: level_name(lv) for lv in LEVEL_ORDER},
        "trendRates": list(TREND_RATES),
        "rankingDefault": RANKING_DEFAULT,
        "targets": blocks,
        "units": units,
        "ranking": _ranking(units, sample),
        "trend": report.trend,
    }
    comparisons = report.comparisons
    data["comparisons"] = [{"key": c["key"], "label": c["label"], "title": c["title"]} for c in comparisons]
    overdue_table, late_section = _overdue_html(report.overdue, report.late)
    procedure_section = procedures_html(report.procedures, report.procedure_cases, sample)
    quality = report.quality
    title = f"Tình hình, kết quả giải quyết TTHC — {period_title(period)}"
    options = "".join(f'<option value="{_e(k)}">{_e(v)}</option>' for k, v in HEADLINE_RATES)
    trend_blocks = "".join(
        f'<div><h3>{_e(s["title"])}</h3><div class="chart" id="trend-{_e(s["grain"].removeprefix("cal_"))}"></div></div>'
        for s in data["trend"]
    )
    compare_words = " và ".join(f"{COMPARE_WORDS[c['key']]} ({c['title']})" for c in comparisons)
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
{banner_html(report.banner)}<header>
<h1>{_e(title)}</h1>
<p>{_e(province or "")}{" — " if province else ""}Kỳ báo cáo {_e(period_range_text(period))} · Biểu II.06a/VPCP/KSTT</p>
</header>
<main>
<section id="headline"><h2>Số liệu chính toàn tỉnh</h2>{_kpis(total, comparisons)}
<p class="note">Mũi tên: thay đổi so với {_e(compare_words)}; tỷ lệ tính bằng điểm phần trăm.</p>
<h3>Tỷ lệ theo cấp</h3>{_level_table(levels)}
<p class="note">Tỷ lệ của cấp và toàn tỉnh = tổng tử số / tổng mẫu số (không lấy bình quân); “—” khi mẫu số bằng 0.</p></section>
<section id="targets"><h2>Chỉ tiêu năm {_e(verdicts.year)}: kết quả lũy kế đến hết kỳ</h2>
<div class="legend"><span><i class="sw" style="background:{MET_COLOUR}"></i>Đạt</span><span><i class="sw" style="background:{MISSED_COLOUR}"></i>Chưa đạt</span><span><i class="sw mk"></i>Chỉ tiêu năm</span></div>
{_targets_html(blocks, verdicts, sample)}
<p class="note">Xếp hạng trong từng cấp theo khoảng cách đến chỉ tiêu (điểm phần trăm), chỉ gồm đơn vị đang hoạt động có từ {_e(sample)} hồ sơ trở lên; đơn vị ít hồ sơ hơn được đánh dấu, không xếp hạng.</p></section>
<section id="ranking-section"><h2>Xếp hạng đơn vị trong từng cấp</h2>
<label>Tỷ lệ: <select id="ranking-metric">{options}</select></label>
<div class="legend" id="ranking-legend"></div>
<div id="ranking"></div>
<p class="note">Tỷ lệ trong kỳ báo cáo; đơn vị có dưới {_e(sample)} hồ sơ ở mẫu số được đánh dấu, không xếp hạng.</p></section>
{_index766_html(report.index, period)}
<section id="overdue"><h2>Hồ sơ quá hạn theo đơn vị</h2>{overdue_table}</section>
{late_section}
<section id="procedures"><h2>Theo thủ tục hành chính: trễ hạn và tỷ lệ thấp nhất trong từng cấp</h2>{procedure_section}</section>
<section id="trend"><h2>Xu hướng các tỷ lệ chính toàn tỉnh</h2>
<div class="legend" id="trend-legend"></div>
<div class="grid2">{trend_blocks}</div>
<p class="note">Các kỳ đến hết kỳ báo cáo; kỳ báo cáo được tô nền.</p></section>
<section id="quality"><h2>Chất lượng dữ liệu</h2>{_quality_html(quality, total)}</section>
</main>
<footer>Lập lúc {vn_time(local_now())}. Chỉ gồm số liệu tổng hợp, không có dữ liệu cá nhân.</footer>
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


def save_dashboard(report: PeriodReport, out_path: Path | str) -> DashboardResult:
    """Render the model's dashboard to ``out_path``, atomically."""
    page, data = render_dashboard(report)
    body = page.encode("utf-8")
    path = atomic_write(Path(out_path), lambda tmp: tmp.write_bytes(body))
    return DashboardResult(path, report.period, len(data["units"]), len(body))


def write_dashboard(
    con: duckdb.DuckDBPyConnection,
    period_grain: str | None,
    period_label: str,
    out_path: Path | str,
    *,
    banner: str | None = None,
) -> DashboardResult:
    """Write the dashboard of one period (any grain) to ``out_path``, atomically. Raises
    data.NoReportData for a period without any case (nothing is written)."""
    report = build_report(con, resolve_period(period_grain, period_label), banner=banner)
    return save_dashboard(report, out_path)
