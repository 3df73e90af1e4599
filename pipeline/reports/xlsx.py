"""The official report workbook: "Tình hình, kết quả giải quyết TTHC" (Biểu II.06a/VPCP/KSTT).

One ``.xlsx`` per reporting period (any grain, 15th-to-14th or calendar), ready to print, sign
and submit:

- ``Biểu II.06a``: the form in its official layout, rows by field and level ("Lĩnh vực, công
  việc giải quyết theo cấp": fields under cấp tỉnh / cấp huyện / cấp xã, each level's subtotal
  from the level mart, then the province total) when the field mart exists; otherwise the
  by-unit table, with a line saying so. Columns (1)..(13) like the printed form.
- ``Phụ lục đơn vị`` (with the field layout): the same columns per unit, grouped by level.
- ``Tỷ lệ``: the headline rates per unit and level, each with its numerator and denominator.
- ``Chỉ tiêu``: the yearly targets judged for this period (targets.target_verdicts: year to date
  up to the period's last day; the year's own report gives the final verdict).

Each printed sheet has the header block (form code, reporting unit, receiving office, period,
generation date), the signature block, page numbers, landscape fit-to-width printing with the
header rows repeated, and Vietnamese text only: the technical codes (unit, level, field codes)
sit in a hidden last column for machine reading. Every text cell is written as text (a name
starting with "=" never becomes a formula). Every number is read from the marts and written as
a number; a rate whose denominator is 0 is an empty cell, never 0 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import periods
from pipeline.reports.data import (
    HEADLINE_RATES,
    LEVEL_ORDER,
    PROVINCE_TOTAL,
    PROVINCE_TOTAL_NAME,
    RATE_TITLES,
    ROMAN,
    ReportHeader,
    atomic_write,
    level_name,
    period_title,
    resolve_period,
    short_title,
    unit_label,
    vn_date,
)
from pipeline.reports.form_data import FORM_KEYS, FormData
from pipeline.reports.index766 import IndexView
from pipeline.reports.model import PeriodReport, build_report
from pipeline.reports.stamp import prepend_banner
from pipeline.reports.targets import (
    TARGET_RANK_RULE,
    Verdicts,
    small_sample_note,
    verdict_word,
)
from pipeline.reports.xlsx_style import (
    COUNT_FORMAT,
    FORM_CODE,
    GROUP_FILL,
    PERCENT_FORMAT,
    POINTS_FORMAT,
    TOTAL_FILL,
    box,
    fit_height,
    header_cell,
    hide_code_column,
    merged_text,
    page_setup,
    set_widths,
    signature_block,
    title_rows,
    write_row,
)

FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
ANNEX_TITLE = "PHỤ LỤC: TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC THEO TỪNG CƠ QUAN, ĐƠN VỊ"
SHEET_FORM, SHEET_UNITS, SHEET_RATES, SHEET_TARGETS = "Biểu II.06a", "Phụ lục đơn vị", "Tỷ lệ", "Chỉ tiêu"
SHEET_INDEX = "Chỉ số 766"

FORM_WIDTH = 14  # 13 printed columns + the hidden code column

# The official layout's levels ("theo cấp"): each a group of the mart's unit levels, whose
# roll-up rows add up to the group's subtotal.
FORM_LEVELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("cap_tinh", "Cấp tỉnh", ("province", "province_department")),
    ("cap_huyen", "Cấp huyện", ("district",)),
    ("cap_xa", "Cấp xã", ("commune",)),
    ("chua_danh_muc", "Đơn vị chưa có trong danh mục", ("unknown",)),
)


def form_header(first_label: str) -> tuple[tuple[str, int, int, int, int], ...]:
    """The form's header: (text, first row, first col, last row, last col), relative to the
    header's top-left cell (row 0 = first header row, col 0 = STT). Three rows, like the form."""
    return (
        ("STT", 0, 0, 2, 0),
        (first_label, 0, 1, 2, 1),
        ("Số hồ sơ nhận giải quyết", 0, 2, 0, 5),
        ("Kết quả giải quyết", 0, 6, 0, 12),
        ("Mã (dùng cho máy)", 0, 13, 2, 13),
        ("Tổng số", 1, 2, 2, 2),
        ("Trong kỳ", 1, 3, 1, 4),
        ("Từ kỳ trước chuyển qua", 1, 5, 2, 5),
        ("Số hồ sơ đã giải quyết", 1, 6, 1, 9),
        ("Số hồ sơ đang giải quyết", 1, 10, 1, 12),
        ("Trực tuyến", 2, 3, 2, 3),
        ("Trực tiếp và dịch vụ bưu chính công ích", 2, 4, 2, 4),
        ("Tổng số", 2, 6, 2, 6),
        ("Trước hạn", 2, 7, 2, 7),
        ("Đúng hạn", 2, 8, 2, 8),
        ("Quá hạn", 2, 9, 2, 9),
        ("Tổng số", 2, 10, 2, 10),
        ("Trong hạn", 2, 11, 2, 11),
        ("Quá hạn", 2, 12, 2, 12),
    )


FORM_HEADER = form_header("Đơn vị")



def form_level_subtotals(levels: dict[str, dict]) -> list[tuple[str, str, dict, tuple[str, ...]]]:
    """(key, name, subtotal, mart levels) per official level that has rows: the sums of its
    mart roll-up rows (unknown mart levels get a group of their own)."""
    out = []
    groups = list(FORM_LEVELS) + [(lv, level_name(lv), (lv,)) for lv in sorted(levels)
                                  if not any(lv in g[2] for g in FORM_LEVELS)]
    for key, name, members in groups:
        rows = [levels[lv] for lv in members if lv in levels]
        if rows:
            subtotal = {k: sum(r[k] for r in rows) for k in (*FORM_KEYS, "units")}
            out.append((key, name, subtotal, members))
    return out


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkbookResult:
    path: Path
    period: periods.Period
    unit_rows: int
    level_rows: int
    target_rows: int
    layout: str = "unit"  # "field" (official layout by field and level) or "unit"
    sheets: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return self.unit_rows + self.level_rows


def _grouped(units: list[dict], levels: dict[str, dict]) -> list[tuple[str, list[dict]]]:
    """Units grouped by level, in the form's level order (levels with a roll-up row only)."""
    order = [lv for lv in LEVEL_ORDER if lv in levels] + sorted(set(levels) - set(LEVEL_ORDER))
    return [(lv, [u for u in units if u["unit_level"] == lv]) for lv in order]


def _numbered(index: int) -> str:
    return ROMAN[index] if index < len(ROMAN) else str(index + 1)



def _form_table_header(ws: Worksheet, top: int, first_label: str) -> int:
    """The three header rows and the (1)..(13) numbers row; returns the first body row."""
    for text, r0, c0, r1, c1 in form_header(first_label):
        if (r0, c0) != (r1, c1):
            ws.merge_cells(start_row=top + r0, start_column=c0 + 1, end_row=top + r1, end_column=c1 + 1)
        header_cell(ws, top + r0, c0 + 1, text)
    numbers_row = top + 3
    for col in range(1, FORM_WIDTH + 1):
        header_cell(ws, numbers_row, col, f"({col})" if col < FORM_WIDTH else "")
    box(ws, top, numbers_row, 1, FORM_WIDTH)
    ws.row_dimensions[top + 2].height = 48
    return numbers_row + 1


def _finish_form_sheet(ws: Worksheet, top: int, first_data: int, row: int, header: ReportHeader,
                       notes: tuple[str, ...]) -> None:
    box(ws, first_data, row - 1, 1, FORM_WIDTH)
    for note in notes:
        row += 1
        merged_text(ws, row, 1, FORM_WIDTH - 1, note, italic=True, size=10, align="left")
    last = signature_block(ws, row + 2, FORM_WIDTH - 1, header)
    set_widths(ws, [6, 46] + [11.5] * len(FORM_KEYS) + [17])
    hide_code_column(ws, FORM_WIDTH)
    ws.freeze_panes = f"C{first_data}"
    page_setup(ws, f"{top}:{top + 3}", last, FORM_WIDTH - 1, header)


def _write_unit_sheet(ws: Worksheet, period: periods.Period, data: FormData, header: ReportHeader,
                      *, title: str, left: str, line: str | None = None) -> None:
    """The form's columns per unit, grouped by level with each level's subtotal, and the total."""
    top = title_rows(ws, FORM_WIDTH - 1, title, period, header, left, "Đơn vị tính: Số hồ sơ TTHC")
    if line:
        merged_text(ws, top, 1, FORM_WIDTH - 1, line, italic=True, size=10, align="left")
    top += 1
    first_data = row = _form_table_header(ws, top, "Đơn vị")
    counts = {col: COUNT_FORMAT for col in range(3, 3 + len(FORM_KEYS))}
    for index, (level, units) in enumerate(_grouped(data.units, data.levels)):
        subtotal = data.levels[level]
        label = f"{level_name(level)} ({subtotal['units']} đơn vị)"
        write_row(ws, row, [_numbered(index), label, *(subtotal[k] for k in FORM_KEYS), level],
             number_cols=counts, bold=True, fill=GROUP_FILL)
        row += 1
        for number, unit in enumerate(units, start=1):
            write_row(ws, row, [number, unit_label(unit), *(unit[k] for k in FORM_KEYS), unit["unit_code"]],
                 number_cols=counts)
            fit_height(ws, row, [(unit_label(unit), 46)])
            row += 1
    row = _total_row(ws, row, data, counts)
    _finish_form_sheet(ws, top, first_data, row, header, data.notes())


def _total_row(ws: Worksheet, row: int, data: FormData, counts: dict[int, str]) -> int:
    if data.total is not None:
        write_row(ws, row, ["", PROVINCE_TOTAL_NAME, *(data.total[k] for k in FORM_KEYS), PROVINCE_TOTAL],
             number_cols=counts, bold=True, fill=TOTAL_FILL)
    else:
        merged_text(ws, row, 1, FORM_WIDTH - 1, "Không có hồ sơ trong kỳ báo cáo.", italic=True)
    return row + 1


def _write_field_sheet(ws: Worksheet, period: periods.Period, data: FormData, header: ReportHeader) -> None:
    """The official layout: per level (cấp tỉnh, cấp huyện, cấp xã) its subtotal, then its
    fields (lĩnh vực); the hidden column holds ``<level key>`` or ``<level key>:<field code>``."""
    top = title_rows(ws, FORM_WIDTH - 1, FORM_TITLE, period, header, FORM_CODE, "Đơn vị tính: Số hồ sơ TTHC")
    top += 1
    first_data = row = _form_table_header(ws, top, "Lĩnh vực, công việc giải quyết theo cấp")
    counts = {col: COUNT_FORMAT for col in range(3, 3 + len(FORM_KEYS))}
    fields = data.fields or []
    for index, (key, name, subtotal, members) in enumerate(form_level_subtotals(data.levels)):
        write_row(ws, row, [_numbered(index), name, *(subtotal[k] for k in FORM_KEYS), key],
             number_cols=counts, bold=True, fill=GROUP_FILL)
        row += 1
        merged: dict[str, dict] = {}  # a field handled at two mart levels of one group: one row
        for f in fields:
            if f["unit_level"] in members:
                target = merged.setdefault(f["field_code"], {"field_name": f["field_name"], **dict.fromkeys(FORM_KEYS, 0)})
                for k in FORM_KEYS:
                    target[k] += f[k]
        for number, (code, f) in enumerate(merged.items(), start=1):
            name_text = f["field_name"] if code != "unknown" else "Lĩnh vực chưa xác định"
            write_row(ws, row, [number, name_text, *(f[k] for k in FORM_KEYS), f"{key}:{code}"], number_cols=counts)
            row += 1
    row = _total_row(ws, row, data, counts)
    notes = (*data.notes(), "Chi tiết theo từng cơ quan, đơn vị: xem Phụ lục đơn vị.")
    _finish_form_sheet(ws, top, first_data, row, header, notes)


def _write_rates_sheet(
    ws: Worksheet, period: periods.Period, units: list[dict], levels: dict[str, dict], header: ReportHeader
) -> None:
    width = 2 + 3 * len(HEADLINE_RATES) + 1
    top = title_rows(ws, width - 1, "CÁC TỶ LỆ CHỦ YẾU VỀ GIẢI QUYẾT TTHC", period, header,
                      FORM_CODE + " — phụ lục tỷ lệ") + 1
    for text, col in (("STT", 1), ("Đơn vị", 2), ("Mã (dùng cho máy)", width)):
        ws.merge_cells(start_row=top, start_column=col, end_row=top + 1, end_column=col)
        header_cell(ws, top, col, text)
    for i, (_, name) in enumerate(HEADLINE_RATES):
        col = 3 + 3 * i
        ws.merge_cells(start_row=top, start_column=col, end_row=top, end_column=col + 2)
        header_cell(ws, top, col, name)
        for j, sub in enumerate(("Tỷ lệ", "Tử số", "Mẫu số")):
            header_cell(ws, top + 1, col + j, sub)
    box(ws, top, top + 1, 1, width)
    formats: dict[int, str] = {}
    for i in range(len(HEADLINE_RATES)):
        col = 3 + 3 * i
        formats |= {col: PERCENT_FORMAT, col + 1: COUNT_FORMAT, col + 2: COUNT_FORMAT}

    def values(r: dict) -> list:
        out: list = []
        for rate, _ in HEADLINE_RATES:
            out += [r[rate], r[f"{rate}_numerator"], r[f"{rate}_denominator"]]
        return out

    row = top + 2
    first_data = row
    total = levels.get(PROVINCE_TOTAL)
    rolled = {k: v for k, v in levels.items() if k != PROVINCE_TOTAL}
    for index, (level, members) in enumerate(_grouped(units, rolled)):
        write_row(ws, row, [_numbered(index), f"{level_name(level)} ({rolled[level]['units']} đơn vị)",
                       *values(rolled[level]), level],
             number_cols=formats, bold=True, fill=GROUP_FILL)
        row += 1
        for number, unit in enumerate(members, start=1):
            write_row(ws, row, [number, unit_label(unit), *values(unit), unit["unit_code"]], number_cols=formats)
            fit_height(ws, row, [(unit_label(unit), 40)])
            row += 1
    if total is not None:
        write_row(ws, row, ["", PROVINCE_TOTAL_NAME, *values(total), PROVINCE_TOTAL],
             number_cols=formats, bold=True, fill=TOTAL_FILL)
        row += 1
    if row > first_data:
        box(ws, first_data, row - 1, 1, width)
    row += 1
    merged_text(ws, row, 1, width - 1, (
        "Ghi chú: Tỷ lệ = Tử số / Mẫu số; ô trống khi mẫu số bằng 0. Tỷ lệ của cấp và toàn tỉnh "
        "tính từ tổng tử số / tổng mẫu số, không lấy bình quân."), italic=True, size=10, align="left")
    last = signature_block(ws, row + 2, width - 1, header)
    set_widths(ws, [6, 40] + [9.5, 8, 8] * len(HEADLINE_RATES) + [17])
    hide_code_column(ws, width)
    ws.row_dimensions[top].height = 45
    ws.freeze_panes = f"C{first_data}"
    page_setup(ws, f"{top}:{top + 1}", last, width - 1, header)


TARGET_HEADERS: tuple[str, ...] = (
    "STT", "Đơn vị", "Cấp", "Chỉ tiêu", "Thực hiện (lũy kế)", "Tử số", "Mẫu số", "Kế hoạch",
    "Chênh lệch (điểm %)", "Đánh giá", "Xếp hạng trong cấp", "Số đơn vị xếp hạng", "Mã đơn vị",
    "Số liệu từ ngày … đến ngày …",
)
TARGET_CODE_COL = 13
TARGET_WIDTHS = [6, 50, 24, 30, 11, 9, 9, 10, 11, 14, 10, 10, 17, 23]


def _write_targets_sheet(ws: Worksheet, period: periods.Period, verdicts: Verdicts, header: ReportHeader,
                         sample: int) -> None:
    """The targets judged for this period: year to date up to its last day (target_verdicts)."""
    rows = verdicts.rows
    width = len(TARGET_HEADERS)
    top = title_rows(ws, width, f"KẾT QUẢ THỰC HIỆN CHỈ TIÊU NĂM {verdicts.year}", period, header,
                      "Chỉ tiêu theo kế hoạch của tỉnh")
    merged_text(ws, top, 1, width, verdicts.note, italic=True, size=10, align="left")
    top += 2
    for col, text in enumerate(TARGET_HEADERS, start=1):
        header_cell(ws, top, col, text)
    box(ws, top, top, 1, width)
    formats = {5: PERCENT_FORMAT, 6: COUNT_FORMAT, 7: COUNT_FORMAT, 8: PERCENT_FORMAT,
               9: POINTS_FORMAT, 11: "0", 12: "0"}
    row = top + 1
    for number, r in enumerate(rows, start=1):
        small = small_sample_note(r, sample)  # flagged, ranked all the same (targets.TARGET_RANK_RULE)
        name = (unit_label(r) + (f" {r['abolished_note']}" if r["abolished_note"] else "")
                + (f" ({small})" if small else ""))
        gap = None if r["gap"] is None else 100 * r["gap"]  # points: the sheet shows −3.20
        write_row(ws, row, [
            number, name, level_name(r["unit_level"]), RATE_TITLES.get(r["metric"], r["metric"]),
            r["actual"], r["numerator"], r["denominator"], r["target"], gap,
            verdict_word(r), r["rank_in_level"], r["units_in_level"] if r["rank_in_level"] else None,
            r["unit_code"], f"{vn_date(r['window_start'])} – {vn_date(r['window_end'])}",
        ], number_cols=formats)
        fit_height(ws, row, [(name, TARGET_WIDTHS[1]), (level_name(r["unit_level"]), TARGET_WIDTHS[2]),
                              (RATE_TITLES.get(r["metric"], r["metric"]), TARGET_WIDTHS[3])])
        row += 1
    if rows:
        box(ws, top + 1, row - 1, 1, width)
    else:
        merged_text(ws, row, 1, width, f"Không có chỉ tiêu được đánh giá cho {period_title(period)}.", italic=True)
        row += 1
    row += 1
    merged_text(ws, row, 1, width - 1, (
        "Ghi chú: Thực hiện = tỷ lệ lũy kế của đơn vị từ đầu năm đến hết kỳ báo cáo (kết quả năm "
        "là kết quả cuối cùng); Chênh lệch = Thực hiện − Kế hoạch, tính bằng điểm phần trăm; "
        f"{TARGET_RANK_RULE.format(sample=sample)} Đơn vị đã hợp nhất, giải thể được "
        "đánh giá trên số liệu đến ngày cuối cùng hoạt động."), italic=True, size=10, align="left")
    ws.row_dimensions[row].height = 30
    last = signature_block(ws, row + 2, width, header)
    set_widths(ws, TARGET_WIDTHS)
    hide_code_column(ws, TARGET_CODE_COL)
    ws.row_dimensions[top].height = 45
    ws.freeze_panes = f"C{top + 1}"
    page_setup(ws, f"{top}:{top}", last, width, header)


def _write_index766_sheet(ws: Worksheet, period: periods.Period, view: IndexView | None, header: ReportHeader) -> None:
    """The Decision 766 index of the period's calendar window (reports.index766.read_index):
    points per indicator and in total of the case-computable part, rank within the level,
    change from the previous window. The cases that cost the most points are listed on the
    dashboard (their numbers carry unit codes, which printed sheets never show)."""
    rules = view.rules if view else []
    width = 3 + len(rules) + 5 + 1
    title = "CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP (QUYẾT ĐỊNH 766/QĐ-TTg) — PHẦN TÍNH TỪ HỒ SƠ"
    if view is None:
        top = title_rows(ws, 8, title, period, header, "Chỉ số 766")
        merged_text(ws, top + 1, 1, 8, f"Chưa có số liệu Chỉ số 766 (theo tháng/quý dương lịch) cho {period_title(period)}.",
                     italic=True, align="left")
        set_widths(ws, [6, 50] + [12] * 6)
        page_setup(ws, f"{top}:{top}", top + 2, 8, header)
        return
    top = title_rows(ws, width - 1, title, period, header, "Chỉ số 766",
                      note=f"Chỉ số tính cho {period_title(view.window)}")
    merged_text(ws, top, 1, width - 1, view.caption, italic=True, size=10, align="left")
    ws.row_dimensions[top].height = 45
    top += 2
    heads = ["STT", "Đơn vị", "Cấp",
             *(f"{r['indicator']} {r['name']} ({r['max_points']:g})" for r in rules),
             f"Tổng ({view.computable_max:g})", "Xếp hạng trong cấp", "Số đơn vị xếp hạng",
             f"Tổng {short_title(view.previous)}", "Thay đổi", "Mã (dùng cho máy)"]
    for col, text in enumerate(heads, start=1):
        header_cell(ws, top, col, text)
    box(ws, top, top, 1, width)
    points = {c: "0.00" for c in range(4, 4 + len(rules) + 1)}
    formats = points | {4 + len(rules) + 1: "0", 4 + len(rules) + 2: "0", 4 + len(rules) + 3: "0.00",
                        4 + len(rules) + 4: POINTS_FORMAT}

    def values(u: dict) -> list:
        return [*(u["scores"].get(r["indicator"]) for r in rules), u["total"], u.get("rank_in_level"),
                u.get("units_in_level"), u["previous_total"], u["change"]]

    row = top + 1
    if view.province is not None:
        write_row(ws, row, ["", view.province["unit_name"], "Toàn tỉnh (số liệu gộp)", *values(view.province),
                       PROVINCE_TOTAL], number_cols=formats, bold=True, fill=TOTAL_FILL)
        row += 1
    ordered = sorted(view.units, key=lambda u: (LEVEL_ORDER.index(u["unit_level"]) if u["unit_level"] in LEVEL_ORDER
                                                 else len(LEVEL_ORDER), u.get("rank_in_level") or 10**9,
                                                 u["unit_code"]))
    for number, u in enumerate(ordered, start=1):
        write_row(ws, row, [number, unit_label(u), level_name(u["unit_level"]), *values(u), u["unit_code"]],
             number_cols=formats)
        fit_height(ws, row, [(unit_label(u), 40)])
        row += 1
    box(ws, top + 1, row - 1, 1, width)
    row += 1
    merged_text(ws, row, 1, width - 1, (
        "Ghi chú: điểm của toàn tỉnh tính trên số liệu gộp của mọi đơn vị (không lấy bình quân điểm đơn vị); "
        "xếp hạng so với các đơn vị cùng cấp theo tổng điểm phần tính được (1 = cao nhất). Danh sách hồ sơ làm "
        "mất nhiều điểm nhất của các đơn vị ít điểm nhất: xem trang tổng hợp (dashboard) cùng kỳ."),
        italic=True, size=10, align="left")
    ws.row_dimensions[row].height = 30
    last = signature_block(ws, row + 2, width - 1, header)
    set_widths(ws, [6, 40, 22] + [11] * len(rules) + [10, 10, 10, 11, 10, 17])
    hide_code_column(ws, width)
    ws.row_dimensions[top].height = 60
    ws.freeze_panes = f"D{top + 1}"
    page_setup(ws, f"{top}:{top}", last, width - 1, header)


def render_workbook(
    report: PeriodReport,
    out_path: Path | str,
    *,
    extra: Callable[[Workbook], None] | None = None,
) -> WorkbookResult:
    """Write the Biểu II.06a workbook of the period's report model to ``out_path``, atomically
    (no query: everything comes from the model).

    ``report.banner``: the period's status line (provisional / final / official issue, docs/definitions.md
    §6), put on the first line of every sheet; ``extra`` adds sheets (an issue's change list)."""
    period, data, header, verdicts = report.period, report.form, report.header, report.verdicts
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_FORM
    if data.fields is not None:
        _write_field_sheet(ws, period, data, header)
        _write_unit_sheet(wb.create_sheet(SHEET_UNITS), period, data, header,
                          title=ANNEX_TITLE, left=f"{FORM_CODE} — Phụ lục")
    else:
        _write_unit_sheet(ws, period, data, header, title=FORM_TITLE, left=FORM_CODE,
                          line="Biểu trình bày theo cơ quan, đơn vị (chưa có số liệu tổng hợp theo lĩnh vực).")
    _write_rates_sheet(wb.create_sheet(SHEET_RATES), period, report.rate_units, report.rate_levels, header)
    _write_targets_sheet(wb.create_sheet(SHEET_TARGETS), period, verdicts, header, report.sample)
    _write_index766_sheet(wb.create_sheet(SHEET_INDEX), period, report.index, header)
    if extra is not None:
        extra(wb)
    if report.banner:
        for sheet in wb.worksheets:
            prepend_banner(sheet, report.banner)
    wb.properties.title = f"{FORM_TITLE} — {period_title(period)}"
    wb.properties.creator = "dvc-metrics"
    path = atomic_write(Path(out_path), lambda tmp: wb.save(tmp))
    return WorkbookResult(path, period, len(data.units), len(data.levels) + (data.total is not None),
                          len(verdicts.rows), "field" if data.fields is not None else "unit", tuple(wb.sheetnames))


def write_quarter_report(
    con: duckdb.DuckDBPyConnection,
    period_grain: str | None,
    period_label: str,
    out_path: Path | str,
    *,
    banner: str | None = None,
    extra: Callable[[Workbook], None] | None = None,
) -> WorkbookResult:
    """Write the Biểu II.06a workbook of one period (any grain) to ``out_path``, atomically:
    build the period's report model, then render it. Raises data.NoReportData for a period
    without any case (nothing is written)."""
    report = build_report(con, resolve_period(period_grain, period_label), banner=banner)
    return render_workbook(report, out_path, extra=extra)
