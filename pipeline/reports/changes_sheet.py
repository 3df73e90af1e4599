"""The «Thay đổi» sheet of a corrected issue (docs/definitions.md §6): every cell that differs from the
previous issue, as a clerk reads and prints it — units, provinces, procedures and columns by
their Vietnamese names, values formatted as in the form (counts as counts, rates as %), A4
landscape fitted to the page width with the header row repeated, and a signature block.

Names come from the issue's own rows (the scratch database of pipeline/cycle/issue.py: the
issued unit, procedure and field rows carry their names) and the reference lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import duckdb
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import periods
from pipeline.cycle.timeline import vn_time
from pipeline.metrics import RATE_TITLES, RATES
from pipeline.reports import xlsx_style
from pipeline.reports.data import PROVINCE_TOTAL_NAME, level_name, report_header, table_exists
from pipeline.reports.stamp import SHEET_CHANGES

# The issued tables in the order the sheet lists them, with the clerk's name for each.
TABLE_LABELS: dict[str, str] = {
    "unit_period_stats": "Theo đơn vị",
    "level_period_stats": "Tổng hợp theo cấp",
    "target_attainment": "Chỉ tiêu năm",
    "procedure_period_stats": "Theo thủ tục",
    "field_period_stats": "Theo lĩnh vực",
    "late_cases": "Hồ sơ trễ hạn",
}
# Each table's key parts, in the order of its row_key (pipeline/cycle/issue.py ISSUED_TABLES).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "unit_period_stats": ("unit_code",),
    "level_period_stats": ("province_code", "unit_level"),
    "target_attainment": ("as_of_period", "unit_code", "metric"),
    "procedure_period_stats": ("unit_code", "procedure_code"),
    "field_period_stats": ("unit_code", "field_code"),
    "late_cases": ("case_id",),
}

# The Biểu II.06a columns and the other counts, in Vietnamese (the form's words where it has them).
COUNT_LABELS: dict[str, str] = {
    "received_total": "Tổng số hồ sơ nhận giải quyết",
    "carried_over": "Từ kỳ trước chuyển qua",
    "new_total": "Mới tiếp nhận trong kỳ",
    "new_online": "Mới tiếp nhận trực tuyến",
    "new_in_person": "Mới tiếp nhận trực tiếp",
    "new_postal": "Mới tiếp nhận qua dịch vụ bưu chính công ích",
    "resolved_total": "Số hồ sơ đã giải quyết",
    "resolved_early": "Đã giải quyết trước hạn",
    "resolved_on_time": "Đã giải quyết đúng hạn",
    "resolved_late": "Đã giải quyết quá hạn",
    "withdrawn_or_stopped": "Trong đó: rút hồ sơ, dừng xử lý",
    "in_progress_total": "Số hồ sơ đang giải quyết",
    "in_progress_within": "Đang giải quyết trong hạn",
    "in_progress_overdue": "Đang giải quyết quá hạn",
    "not_received": "Chưa tiếp nhận hoặc từ chối tiếp nhận",
    "new_full_process": "Mới tiếp nhận, dịch vụ công toàn trình",
    "new_online_full_process": "Mới tiếp nhận trực tuyến toàn trình",
    "new_with_fees": "Mới tiếp nhận có phí, lệ phí",
    "new_paid_online_portal": "Thanh toán trực tuyến qua Cổng DVCQG",
    "new_paid_online_any": "Thanh toán trực tuyến (mọi cổng thanh toán)",
    "new_digitised": "Có thành phần hồ sơ được số hóa",
    "resolved_with_result": "Đã giải quyết có kết quả",
    "resolved_electronic_result": "Có kết quả giải quyết điện tử",
    "resolved_rated": "Được đánh giá mức độ hài lòng",
    "resolved_satisfied": "Đánh giá hài lòng",
    "resolved_result_online": "Có kết quả, nộp trực tuyến",
    "days_online_sum": "Tổng số ngày giải quyết, nộp trực tuyến",
    "resolved_result_in_person": "Có kết quả, nộp trực tiếp",
    "days_in_person_sum": "Tổng số ngày giải quyết, nộp trực tiếp",
    "new_eligible": "Mới tiếp nhận, thủ tục đủ điều kiện toàn trình",
    "new_online_full_process_eligible": "Trực tuyến toàn trình, thủ tục đủ điều kiện",
}
RATE_LABELS: dict[str, str] = {
    **{name: title for name, title in RATE_TITLES.items() if title != name},
    "full_process_online_within_rate": "Tỷ lệ trực tuyến trong các thủ tục toàn trình",
    "online_payment_any_rate": "Tỷ lệ thanh toán trực tuyến (mọi cổng thanh toán)",
    "avg_days_online": "Số ngày giải quyết bình quân, nộp trực tuyến",
    "avg_days_in_person": "Số ngày giải quyết bình quân, nộp trực tiếp",
    "time_reduction_rate": "Tỷ lệ giảm thời gian giải quyết trực tuyến so với trực tiếp",
    "full_process_online_eligible_rate": "Tỷ lệ trực tuyến toàn trình trên thủ tục đủ điều kiện",
}
OTHER_LABELS: dict[str, str] = {
    "units": "Số đơn vị",
    "actual": "Thực hiện (lũy kế)",
    "numerator": "Tử số",
    "denominator": "Mẫu số",
    "target": "Kế hoạch",
    "gap": "Chênh lệch so với kế hoạch",
    "met": "Đạt chỉ tiêu",
    "applicable": "Chỉ tiêu áp dụng",
    "partial_window": "Đánh giá trên một phần kỳ",
    "rank_in_level": "Xếp hạng trong cấp",
    "units_in_level": "Số đơn vị xếp hạng",
    "days_late": "Số ngày trễ hạn",
    "due_changes": "Số lần thay đổi hạn trả",
    "supplement_requests": "Số lần yêu cầu bổ sung",
}
_RATIOS = {r.name for r in RATES if r.kind in ("ratio", "reduction")}
_MEANS = {r.name for r in RATES if r.kind == "mean"}
_BOOLEANS = {"met", "applicable", "partial_window"}
_PERCENT_DIFF = "+0.00%;-0.00%;0.00%"
_COUNT_DIFF = "+#,##0;-#,##0;0"
_DAYS = "#,##0.00"
_DAYS_DIFF = "+#,##0.00;-#,##0.00;0.00"
# Column order within a row: the form's columns first, then the rates as in pipeline/metrics.py.
_ORDER = [*COUNT_LABELS, *(x for r in RATES for x in (r.name, f"{r.name}_numerator", f"{r.name}_denominator")),
          *OTHER_LABELS]


def column_label(column: str) -> str:
    """The Vietnamese name of a compared column (its code when none is known)."""
    if column in COUNT_LABELS:
        return COUNT_LABELS[column]
    if column in RATE_LABELS:
        return RATE_LABELS[column]
    if column in OTHER_LABELS:
        return OTHER_LABELS[column]
    for suffix, word in (("_numerator", "tử số"), ("_denominator", "mẫu số")):
        if column.endswith(suffix) and column[: -len(suffix)] in RATE_LABELS:
            return f"{RATE_LABELS[column[: -len(suffix)]]} — {word}"
    return column


def value_kind(column: str) -> str:
    """count | percent | days | yesno: how the form writes the column's values."""
    if column in _BOOLEANS:
        return "yesno"
    if column in _RATIOS or column in ("actual", "target", "gap"):
        return "percent"
    mean_parts = {f"{m}_numerator" for m in _MEANS} | {"time_reduction_rate_numerator",
                                                         "time_reduction_rate_denominator"}
    if column in _MEANS or column in mean_parts or (column.startswith("days_") and column != "days_late"):
        return "days"  # fractional days (sums, means), never rounded to a count
    return "count"


_FORMATS = {"count": (xlsx_style.COUNT_FORMAT, _COUNT_DIFF), "percent": (xlsx_style.PERCENT_FORMAT, _PERCENT_DIFF),
            "days": (_DAYS, _DAYS_DIFF)}


class _Names:
    """Names of units, provinces, procedures and fields for the sheet (issue rows first)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, day) -> None:
        self.units: dict[str, str] = {}
        self.procedures: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        if table_exists(con, "core.units"):
            cols = {c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'units'").fetchall()}
            order = "ORDER BY valid_to NULLS LAST" if "valid_to" in cols else ""
            for code, name in con.execute(f"SELECT unit_code, unit_name FROM core.units {order}").fetchall():
                self.units[code] = name  # the latest row's name wins
        for table, target, code, name in (("mart.unit_period_stats", self.units, "unit_code", "unit_name"),
                                          ("mart.procedure_period_stats", self.procedures, "procedure_code",
                                           "procedure_name"),
                                          ("mart.field_period_stats", self.fields, "field_code", "field_name")):
            if table_exists(con, table):
                target.update({c: n for c, n in con.execute(
                    f"SELECT DISTINCT {code}, {name} FROM {table} WHERE {name} IS NOT NULL").fetchall()})

    def unit(self, code: str | None) -> str:
        if not code:
            return "—"
        name = self.units.get(code)
        return f"{name} ({code})" if name and name != code else code

    def province(self, code: str | None) -> str:
        return self.units.get(code) or code if code else "đơn vị chưa có trong danh mục"


def _row_label(table: str, parts: dict[str, str | None], names: _Names) -> tuple[str, str]:
    """(the row in words, its level in words)."""
    level = parts.get("unit_level")
    if table == "level_period_stats":
        what = (PROVINCE_TOTAL_NAME if level == "province_total" else level_name(level or "unknown"))
        return f"{what} — {names.province(parts.get('province_code'))}", \
            "Toàn tỉnh" if level == "province_total" else level_name(level or "unknown")
    unit = names.unit(parts.get("unit_code"))
    if table == "target_attainment":
        metric = parts.get("metric") or ""
        return f"{unit}: {RATE_LABELS.get(metric, metric)}, lũy kế đến hết kỳ {parts.get('as_of_period')}", ""
    if table == "procedure_period_stats":
        code = parts.get("procedure_code")
        return f"{unit}: thủ tục {names.procedures.get(code) or code} ({code})", ""
    if table == "field_period_stats":
        code = parts.get("field_code")
        return f"{unit}: lĩnh vực {names.fields.get(code) or code}", ""
    if table == "late_cases":
        return f"Hồ sơ {parts.get('case_id')}", ""
    return unit, ""


def _cell_value(kind: str, value: float | None):
    if value is None:
        return "—"
    if kind == "yesno":
        return "Có" if value else "Không"
    if kind == "count":
        return int(round(value))
    return value


def change_entries(rows: Iterable[dict], names: _Names, levels: dict[str, str]) -> list[dict]:
    """The sheet's lines, sorted: table order, row label, the form's column order."""
    out = []
    for r in rows:
        table = r["table_name"]
        keys = TABLE_KEYS.get(table, ())
        values = (r["row_key"] or "").split(" / ")
        parts = dict(zip(keys, values, strict=False)) if len(values) == len(keys) else {}
        parts = {k: (None if v == "—" else v) for k, v in parts.items()}
        parts.setdefault("unit_code", r.get("unit_code"))
        parts.setdefault("unit_level", r.get("unit_level"))
        label, level = _row_label(table, parts, names)
        unit_level = parts.get("unit_level") or levels.get(parts.get("unit_code") or "")
        if not level and unit_level:
            level = level_name(unit_level)
        out.append({**r, "label": label, "level": level, "kind": value_kind(r["column_name"])})
    table_order = list(TABLE_LABELS)
    out.sort(key=lambda e: (table_order.index(e["table_name"]) if e["table_name"] in table_order else 99,
                            e["label"], _ORDER.index(e["column_name"]) if e["column_name"] in _ORDER else 999,
                            e["column_name"]))
    return out


HEADERS = ("STT", "Bảng số liệu", "Đơn vị, dòng số liệu", "Cấp", "Chỉ tiêu (cột)",
           "Lần phát hành trước", "Lần phát hành này", "Chênh lệch (tỷ lệ: điểm %)", "Mã dòng (dùng cho máy)")
WIDTHS = [6, 15, 46, 24, 40, 14, 14, 14, 30]
WIDTH = 8  # printed columns (the 9th, the row's codes, is hidden)


def add_changes_sheet(wb: Workbook, con: duckdb.DuckDBPyConnection, period: periods.Period, issue: int,
                      previous_issued_at: datetime | None, rows: list[dict]) -> Worksheet:
    """«Thay đổi»: why this is a new issue and every cell that differs from the previous one.
    ``con``: the issue's scratch database (names); ``rows``: issued.changes as dicts."""
    ws = wb.create_sheet(SHEET_CHANGES)
    header = report_header(con, period)
    names = _Names(con, period.end)
    levels = {}
    if table_exists(con, "mart.unit_period_stats"):
        levels = dict(con.execute("SELECT unit_code, unit_level FROM mart.unit_period_stats").fetchall())
    entries = change_entries(rows, names, levels)
    top = xlsx_style.title_rows(ws, WIDTH, f"THAY ĐỔI SO VỚI LẦN PHÁT HÀNH {issue - 1}", period, header,
                           f"Kèm theo {xlsx_style.FORM_CODE}, lần phát hành {issue}")
    xlsx_style.merged_text(ws, top, 1, WIDTH, (
        f"Lần phát hành {issue} thay thế lần phát hành {issue - 1} (phát hành {vn_time(previous_issued_at)}), "
        f"phát hành lại theo yêu cầu: {len(rows)} ô số liệu thay đổi."), italic=True, size=10, align="left")
    xlsx_style.merged_text(ws, top + 1, 1, WIDTH, (
        f"Lý do phát hành lại: số liệu của kỳ đã chốt thay đổi do hồ sơ được đồng bộ muộn; lần phát hành "
        f"{issue - 1} được giữ nguyên. Bảng dưới liệt kê {len(entries)} ô số liệu khác lần phát hành {issue - 1} "
        "(số hồ sơ: khác nhau dù chỉ 1 hồ sơ; tỷ lệ: khác nhau quá sai số làm tròn)."),
        italic=True, size=10, align="left")
    ws.row_dimensions[top].height = ws.row_dimensions[top + 1].height = 30
    head = top + 3
    titles = list(HEADERS)
    titles[5], titles[6] = f"Lần phát hành {issue - 1}", f"Lần phát hành {issue}"
    for col, text in enumerate(titles, start=1):
        xlsx_style.header_cell(ws, head, col, text)
    ws.row_dimensions[head].height = 32
    row = head + 1
    for number, e in enumerate(entries, start=1):
        kind = e["kind"]
        value_format, diff_format = _FORMATS.get(kind, (None, None))
        before, after = _cell_value(kind, e["previous_value"]), _cell_value(kind, e["new_value"])
        diff = None if e["difference"] is None or kind == "yesno" else _cell_value(kind, e["difference"])
        # Value columns right-aligned as numbers (also "—" and Có/Không), in the form's formats.
        formats = {6: value_format or "@", 7: value_format or "@", 8: diff_format or "@"}
        xlsx_style.write_row(ws, row, [number, TABLE_LABELS.get(e["table_name"], e["table_name"]), e["label"], e["level"],
                            column_label(e["column_name"]), before, after, "—" if diff is None else diff,
                            f"{e['table_name']}: {e['row_key']} · {e['column_name']}"], number_cols=formats)
        xlsx_style.fit_height(ws, row, [(e["label"], WIDTHS[2]), (e["level"], WIDTHS[3]),
                                   (column_label(e["column_name"]), WIDTHS[4])])
        row += 1
    if entries:
        xlsx_style.box(ws, head, row - 1, 1, WIDTH)
    else:
        xlsx_style.merged_text(ws, row, 1, WIDTH, "Không có ô số liệu nào thay đổi.", italic=True)
        row += 1
    last = xlsx_style.signature_block(ws, row + 1, WIDTH, header)
    xlsx_style.set_widths(ws, WIDTHS)
    xlsx_style.hide_code_column(ws, WIDTH + 1)
    ws.freeze_panes = f"A{head + 1}"
    xlsx_style.page_setup(ws, f"{head}:{head}", last, WIDTH, header)
    return ws
