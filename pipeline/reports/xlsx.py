"""The official report workbook: "Tình hình, kết quả giải quyết TTHC" (Biểu II.06a/VPCP/KSTT).

One ``.xlsx`` per reporting period (any grain, 15th-to-14th or calendar) with three sheets:

- ``Biểu II.06a``: the official table. Units are rows, grouped by level (UBND tỉnh, sở/ban/
  ngành, cấp huyện, cấp xã); each group's heading row carries the level's subtotal from
  ``mart.level_period_stats`` and the last row is the province total (``province_total``).
  Columns follow the form: received (total / in the period online / in the period in person
  and postal / carried over), resolved (total / early / on time / late), in progress (total /
  within / overdue), numbered (1)..(13) like the printed form, plus the unit code.
- ``Tỷ lệ``: the headline rates per unit and level, each with its numerator and denominator.
- ``Chỉ tiêu``: ``mart.target_attainment`` for the year of the period.

Every number is read from the marts and written as a number; nothing is recomputed here (the
form's "in person + postal" column is summed by DuckDB in the query). A rate whose
denominator is 0 is NULL in the mart and an empty cell here, never 0 %.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import config, periods
from pipeline.reports.data import (
    HEADLINE_RATES,
    LEVEL_ORDER,
    PROVINCE_TOTAL,
    PROVINCE_TOTAL_NAME,
    RATE_TITLES,
    ROMAN,
    atomic_write,
    level_name,
    period_range_text,
    period_title,
    province_name,
    read_rates,
    read_targets,
    report_year,
    resolve_period,
    unit_and_level_rows,
    unit_label,
)
from pipeline.reports.stamp import prepend_banner

FORM_CODE = "Biểu số II.06a/VPCP/KSTT"
FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
SHEET_FORM, SHEET_RATES, SHEET_TARGETS = "Biểu II.06a", "Tỷ lệ", "Chỉ tiêu"

# The form's number columns: (key, SQL over a mart row). Order = columns (3)..(13).
FORM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("received_total", "received_total"),
    ("new_online", "new_online"),
    ("new_in_person_postal", "new_in_person + new_postal"),
    ("carried_over", "carried_over"),
    ("resolved_total", "resolved_total"),
    ("resolved_early", "resolved_early"),
    ("resolved_on_time", "resolved_on_time"),
    ("resolved_late", "resolved_late"),
    ("in_progress_total", "in_progress_total"),
    ("in_progress_within", "in_progress_within"),
    ("in_progress_overdue", "in_progress_overdue"),
)
FORM_KEYS: tuple[str, ...] = tuple(k for k, _ in FORM_COLUMNS)

# The form's header: (text, first row, first col, last row, last col), relative to the header's
# top-left cell (row 0 = first header row, col 0 = STT). Three rows, like the printed form.
FORM_HEADER: tuple[tuple[str, int, int, int, int], ...] = (
    ("STT", 0, 0, 2, 0),
    ("Đơn vị", 0, 1, 2, 1),
    ("Số hồ sơ nhận giải quyết", 0, 2, 0, 5),
    ("Kết quả giải quyết", 0, 6, 0, 12),
    ("Mã đơn vị", 0, 13, 2, 13),
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

_FONT = "Times New Roman"
_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
_COUNT_FORMAT = "#,##0"
_PERCENT_FORMAT = "0.00%"
_GAP_FORMAT = "+0.00%;-0.00%;0.00%"


# ---------------------------------------------------------------------------------------
# Reading and writing
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormData:
    units: list[dict]  # unit_level, unit_code, unit_name, FORM_KEYS
    levels: dict[str, dict]  # unit_level -> units, FORM_KEYS
    total: dict | None  # province_total row


def read_form(con: duckdb.DuckDBPyConnection, period: periods.Period) -> FormData:
    counts = ", ".join(f"{sql} AS {key}" for key, sql in FORM_COLUMNS)
    units, by_level = unit_and_level_rows(con, period, counts)
    total = by_level.pop(PROVINCE_TOTAL, None)
    return FormData(units, by_level, total)



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

    @property
    def rows(self) -> int:
        return self.unit_rows + self.level_rows


def _font(bold: bool = False, size: int = 11, italic: bool = False) -> Font:
    return Font(name=_FONT, bold=bold, size=size, italic=italic)


def _title_rows(ws: Worksheet, width: int, lines: list[tuple[str, bool, int]], left: str, right: str | None) -> int:
    """The form's title block; returns the next free row."""
    ws.cell(row=1, column=1, value=left).font = _font(bold=True)
    if right:
        cell = ws.cell(row=1, column=width, value=right)
        cell.font = _font(bold=True)
        cell.alignment = Alignment(horizontal="right")
    row = 2
    for text, bold, size in lines:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        cell = ws.cell(row=row, column=1, value=text)
        cell.font = _font(bold=bold, size=size, italic=not bold)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        row += 1
    return row


def _header_cell(ws: Worksheet, row: int, col: int, text: str) -> None:
    cell = ws.cell(row=row, column=col, value=text)
    cell.font = _font(bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    cell.fill = _HEADER_FILL


# openpyxl registers a style object on every assignment (hashing it each time): ~40 µs per
# cell, seconds per sheet of 2,000 units. Each distinct body style is built once on a
# prototype cell and its index record copied to the other cells.
def _cached_style(ws: Worksheet, key: tuple, build: Callable[[Any], None]) -> Any:
    cache = ws.parent.__dict__.setdefault("_dvc_style_cache", {})  # style indexes are per workbook
    style = cache.get(key)
    if style is None:
        prototype = ws.parent.create_sheet("_prototype").cell(row=1, column=1)
        build(prototype)
        style = copy(prototype._style)
        ws.parent.remove(prototype.parent)
        cache[key] = style
    return style


def _box(ws: Worksheet, first_row: int, last_row: int, first_col: int, last_col: int) -> None:
    def build(cell: Any) -> None:
        cell.border = _BORDER

    border_id = _cached_style(ws, ("border",), build).borderId
    for row in ws.iter_rows(min_row=first_row, max_row=last_row, min_col=first_col, max_col=last_col):
        for cell in row:
            cell._style.borderId = border_id


def _row(
    ws: Worksheet,
    row: int,
    values: list,
    *,
    number_cols: dict[int, str],
    bold: bool = False,
    fill: PatternFill | None = None,
) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col, value=value)
        number_format = number_cols.get(col)

        def build(proto: Any, number_format: str | None = number_format, col: int = col) -> None:
            proto.font = _font(bold=bold)
            if number_format is not None:
                proto.number_format = number_format
                proto.alignment = Alignment(horizontal="right")
            elif col == 1:
                proto.alignment = Alignment(horizontal="center")
            if fill is not None:
                proto.fill = fill

        key = ("row", bold, number_format, col == 1 and number_format is None, id(fill) if fill is not None else None)
        cell._style = copy(_cached_style(ws, key, build))


def _widths(ws: Worksheet, widths: list[float]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _page_setup(ws: Worksheet, header_rows: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = header_rows


def _grouped(units: list[dict], levels: dict[str, dict]) -> list[tuple[str, list[dict]]]:
    """Units grouped by level, in the form's level order (levels with a roll-up row only)."""
    order = [lv for lv in LEVEL_ORDER if lv in levels] + sorted(set(levels) - set(LEVEL_ORDER))
    return [(lv, [u for u in units if u["unit_level"] == lv]) for lv in order]


def _write_form_sheet(ws: Worksheet, period: periods.Period, data: FormData, province: str | None) -> None:
    width = 14
    next_row = _title_rows(
        ws,
        width,
        [
            (FORM_TITLE, True, 13),
            (f"Kỳ báo cáo: {period_title(period)} ({period_range_text(period)})", False, 11),
        ],
        left=f"{FORM_CODE}",
        right=f"Đơn vị báo cáo: {province}" if province else None,
    )
    unit_row = next_row
    cell = ws.cell(row=unit_row, column=width, value="Đơn vị tính: Số hồ sơ TTHC")
    cell.font = _font(italic=True)
    cell.alignment = Alignment(horizontal="right")
    top = unit_row + 1
    for text, r0, c0, r1, c1 in FORM_HEADER:
        if (r0, c0) != (r1, c1):
            ws.merge_cells(start_row=top + r0, start_column=c0 + 1, end_row=top + r1, end_column=c1 + 1)
        _header_cell(ws, top + r0, c0 + 1, text)
    numbers_row = top + 3
    for col in range(1, width + 1):
        _header_cell(ws, numbers_row, col, f"({col})" if col < width else "")
    _box(ws, top, numbers_row, 1, width)

    counts = {col: _COUNT_FORMAT for col in range(3, 3 + len(FORM_KEYS))}
    row = numbers_row + 1
    first_data = row
    for index, (level, units) in enumerate(_grouped(data.units, data.levels)):
        subtotal = data.levels[level]
        label = f"{level_name(level)} ({subtotal['units']} đơn vị)"
        _row(ws, row, [ROMAN[index] if index < len(ROMAN) else str(index + 1), label,
                       *(subtotal[k] for k in FORM_KEYS), level],
             number_cols=counts, bold=True, fill=_GROUP_FILL)
        row += 1
        for number, unit in enumerate(units, start=1):
            _row(ws, row, [number, unit_label(unit), *(unit[k] for k in FORM_KEYS), unit["unit_code"]],
                 number_cols=counts)
            row += 1
    if data.total is not None:
        _row(ws, row, ["", PROVINCE_TOTAL_NAME, *(data.total[k] for k in FORM_KEYS), PROVINCE_TOTAL],
             number_cols=counts, bold=True, fill=_TOTAL_FILL)
        row += 1
    else:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        ws.cell(row=row, column=1, value="Không có hồ sơ trong kỳ báo cáo.").font = _font(italic=True)
        row += 1
    _box(ws, first_data, row - 1, 1, width)
    notes = [
        "Ghi chú: (3) = (4) + (5) + (6) = (7) + (11); (7) = (8) + (9) + (10); (11) = (12) + (13).",
        "Cột (9) gồm cả hồ sơ rút/dừng giải quyết (trạng thái 7/8). Số liệu đọc trực tiếp từ "
        "mart.unit_period_stats và mart.level_period_stats (METRICS.md §2).",
    ]
    for note in notes:
        row += 1
        ws.cell(row=row, column=2, value=note).font = _font(italic=True, size=10)
    _widths(ws, [6, 46] + [11.5] * len(FORM_KEYS) + [17])
    ws.row_dimensions[top + 2].height = 48
    ws.freeze_panes = f"C{first_data}"
    _page_setup(ws, f"{top}:{numbers_row}")


def _write_rates_sheet(
    ws: Worksheet, period: periods.Period, units: list[dict], levels: dict[str, dict]
) -> None:
    width = 2 + 3 * len(HEADLINE_RATES) + 1
    next_row = _title_rows(
        ws, width,
        [("CÁC TỶ LỆ CHỦ YẾU VỀ GIẢI QUYẾT TTHC", True, 13),
         (f"Kỳ báo cáo: {period_title(period)} ({period_range_text(period)})", False, 11)],
        left=FORM_CODE + " — phụ lục tỷ lệ", right=None,
    )
    top = next_row + 1
    for text, col in (("STT", 1), ("Đơn vị", 2), ("Mã đơn vị", width)):
        ws.merge_cells(start_row=top, start_column=col, end_row=top + 1, end_column=col)
        _header_cell(ws, top, col, text)
    for i, (_, name) in enumerate(HEADLINE_RATES):
        col = 3 + 3 * i
        ws.merge_cells(start_row=top, start_column=col, end_row=top, end_column=col + 2)
        _header_cell(ws, top, col, name)
        for j, sub in enumerate(("Tỷ lệ", "Tử số", "Mẫu số")):
            _header_cell(ws, top + 1, col + j, sub)
    _box(ws, top, top + 1, 1, width)
    formats: dict[int, str] = {}
    for i in range(len(HEADLINE_RATES)):
        col = 3 + 3 * i
        formats |= {col: _PERCENT_FORMAT, col + 1: _COUNT_FORMAT, col + 2: _COUNT_FORMAT}

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
        _row(ws, row, [ROMAN[index] if index < len(ROMAN) else str(index + 1),
                       f"{level_name(level)} ({rolled[level]['units']} đơn vị)", *values(rolled[level]), level],
             number_cols=formats, bold=True, fill=_GROUP_FILL)
        row += 1
        for number, unit in enumerate(members, start=1):
            _row(ws, row, [number, unit_label(unit), *values(unit), unit["unit_code"]], number_cols=formats)
            row += 1
    if total is not None:
        _row(ws, row, ["", PROVINCE_TOTAL_NAME, *values(total), PROVINCE_TOTAL],
             number_cols=formats, bold=True, fill=_TOTAL_FILL)
        row += 1
    if row > first_data:
        _box(ws, first_data, row - 1, 1, width)
    for note in (
        "Ghi chú: Tỷ lệ = Tử số / Mẫu số (METRICS.md §3); ô trống khi mẫu số bằng 0. "
        "Tỷ lệ của cấp và toàn tỉnh tính từ tổng tử số / tổng mẫu số, không lấy bình quân.",
    ):
        row += 1
        ws.cell(row=row, column=2, value=note).font = _font(italic=True, size=10)
    _widths(ws, [6, 46] + [9.5, 9, 9] * len(HEADLINE_RATES) + [17])
    ws.row_dimensions[top].height = 45
    ws.freeze_panes = f"C{first_data}"
    _page_setup(ws, f"{top}:{top + 1}")


TARGET_HEADERS: tuple[str, ...] = (
    "STT", "Đơn vị", "Cấp", "Chỉ tiêu", "Thực hiện", "Tử số", "Mẫu số", "Kế hoạch",
    "Chênh lệch", "Đánh giá", "Xếp hạng trong cấp", "Số đơn vị xếp hạng", "Mã đơn vị",
)


def _verdict(met: bool | None) -> str:
    return "Chưa có số liệu" if met is None else ("Đạt" if met else "Chưa đạt")


def _write_targets_sheet(ws: Worksheet, year: int, rows: list[dict]) -> None:
    width = len(TARGET_HEADERS)
    year_window = periods.parse_label(str(year), config.cutoff_day())
    next_row = _title_rows(
        ws, width,
        [(f"KẾT QUẢ THỰC HIỆN CHỈ TIÊU NĂM {year}", True, 13),
         (f"Kỳ năm {year}: {period_range_text(year_window)}; thực hiện lũy kế theo số liệu hiện có", False, 11)],
        left="Chỉ tiêu theo kế hoạch của tỉnh (seeds/targets.csv)", right=None,
    )
    top = next_row + 1
    for col, text in enumerate(TARGET_HEADERS, start=1):
        _header_cell(ws, top, col, text)
    _box(ws, top, top, 1, width)
    formats = {5: _PERCENT_FORMAT, 6: _COUNT_FORMAT, 7: _COUNT_FORMAT, 8: _PERCENT_FORMAT,
               9: _GAP_FORMAT, 11: "0", 12: "0"}
    row = top + 1
    for number, r in enumerate(rows, start=1):
        _row(ws, row, [
            number, unit_label(r), level_name(r["unit_level"]),
            RATE_TITLES.get(r["metric"], r["metric"]),
            r["actual"], r["numerator"], r["denominator"], r["target"], r["gap"],
            _verdict(r["met"]), r["rank_in_level"], r["units_in_level"], r["unit_code"],
        ], number_cols=formats)
        row += 1
    if rows:
        _box(ws, top + 1, row - 1, 1, width)
    else:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        ws.cell(row=row, column=1, value=f"Chưa có số liệu chỉ tiêu cho năm {year}.").font = _font(italic=True)
        row += 1
    row += 1
    ws.cell(row=row, column=2, value=(
        "Ghi chú: Thực hiện = tỷ lệ của đơn vị trong kỳ năm (mart.target_attainment); "
        "Chênh lệch = Thực hiện − Kế hoạch; xếp hạng so với các đơn vị cùng cấp (1 = cao nhất)."
    )).font = _font(italic=True, size=10)
    _widths(ws, [6, 42, 24, 34, 11, 10, 10, 11, 11, 14, 11, 11, 17])
    ws.row_dimensions[top].height = 32
    ws.freeze_panes = f"C{top + 1}"
    _page_setup(ws, f"{top}:{top}")


def write_quarter_report(
    con: duckdb.DuckDBPyConnection,
    period_grain: str | None,
    period_label: str,
    out_path: Path | str,
    *,
    banner: str | None = None,
    extra: Callable[[Workbook], None] | None = None,
) -> WorkbookResult:
    """Write the Biểu II.06a workbook of one period (any grain) to ``out_path``, atomically.

    ``banner``: the period's status line (provisional / final / official issue, METRICS.md §6),
    put on the first line of every sheet; ``extra`` adds sheets (an issue's change list)."""
    period = resolve_period(period_grain, period_label)
    data = read_form(con, period)
    rate_units, rate_levels = read_rates(con, period)
    year = report_year(period)
    targets = read_targets(con, year)
    province = province_name(con)

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_FORM
    _write_form_sheet(ws, period, data, province)
    _write_rates_sheet(wb.create_sheet(SHEET_RATES), period, rate_units, rate_levels)
    _write_targets_sheet(wb.create_sheet(SHEET_TARGETS), year, targets)
    if extra is not None:
        extra(wb)
    if banner:
        for sheet in wb.worksheets:
            prepend_banner(sheet, banner)
    wb.properties.title = f"{FORM_TITLE} — {period_title(period)}"
    wb.properties.creator = "dvc-metrics"
    path = atomic_write(Path(out_path), lambda tmp: wb.save(tmp))
    return WorkbookResult(path, period, len(data.units), len(data.levels) + (data.total is not None), len(targets))
