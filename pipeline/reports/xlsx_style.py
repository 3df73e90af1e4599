"""Cells, styles and page layout shared by the printed sheets (the Biểu II.06a workbook and the
issue's «Thay đổi» sheet): typed text cells, header and signature blocks, cached body styles,
borders, widths, the hidden code column and A4 landscape printing."""

from __future__ import annotations

import math
from collections.abc import Callable
from copy import copy
from typing import Any

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import periods
from pipeline.reports.data import ReportHeader, period_range_text, period_title, vn_date

FORM_CODE = "Biểu số II.06a/VPCP/KSTT"

FONT = "Times New Roman"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
COUNT_FORMAT = "#,##0"
PERCENT_FORMAT = "0.00%"
POINTS_FORMAT = "+0.00;-0.00;0.00"


def font(bold: bool = False, size: int = 11, italic: bool = False) -> Font:
    return Font(name=FONT, bold=bold, size=size, italic=italic)


def put_cell(ws: Worksheet, row: int, col: int, value: Any) -> Any:
    """A cell's value; text is typed as text, so "=…" from a unit name is never a formula."""
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def merged_text(ws: Worksheet, row: int, first: int, last: int, text: str, *, bold: bool = False,
                 italic: bool = False, size: int = 11, align: str = "center") -> None:
    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    cell = put_cell(ws, row, first, text)
    cell.font = font(bold=bold, italic=italic, size=size)
    cell.alignment = Alignment(horizontal=align, vertical="center", wrap_text=True)


def title_rows(ws: Worksheet, width: int, title: str, period: periods.Period, header: ReportHeader,
                left: str, note: str | None = None) -> int:
    """The header block of a printed sheet; returns the next free row. Row 1: form code;
    2: title; 3: period; 4: reporting unit | receiving office; 5: generation date | unit."""
    put_cell(ws, 1, 1, left).font = font(bold=True)
    merged_text(ws, 2, 1, width, title, bold=True, size=13)
    merged_text(ws, 3, 1, width, f"Kỳ báo cáo: {period_title(period)} ({period_range_text(period)})", italic=True)
    half = width // 2
    merged_text(ws, 4, 1, half, f"Đơn vị báo cáo: {header.reporting_unit}", align="left")
    merged_text(ws, 4, half + 1, width, f"Đơn vị nhận báo cáo: {header.recipient}", align="left")
    merged_text(ws, 5, 1, half, f"Ngày lập báo cáo: {vn_date(header.generated)}", italic=True, align="left")
    merged_text(ws, 5, half + 1, width, note or "", italic=True, align="right")
    return 6


def signature_block(ws: Worksheet, row: int, width: int, header: ReportHeader) -> int:
    """"<place>, ngày … tháng … năm …" and the two signatures; returns the last row used."""
    left, right = (1, max(2, width // 3)), (width - max(2, width // 3) + 1, width)
    merged_text(ws, row, *right, f"{header.place}, ngày …… tháng …… năm ……", italic=True)
    merged_text(ws, row + 1, *left, "NGƯỜI LẬP BIỂU", bold=True)
    merged_text(ws, row + 1, *right, "THỦ TRƯỞNG ĐƠN VỊ", bold=True)
    merged_text(ws, row + 2, *left, "(Ký, ghi rõ họ tên)", italic=True)
    merged_text(ws, row + 2, *right, "(Ký tên, đóng dấu)", italic=True)
    return row + 6


def header_cell(ws: Worksheet, row: int, col: int, text: str) -> None:
    cell = put_cell(ws, row, col, text)
    cell.font = font(bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    cell.fill = HEADER_FILL


# openpyxl registers a style object on every assignment (hashing it each time): ~40 µs per
# cell, seconds per sheet of 2,000 units. Each distinct body style is built once on a
# prototype cell and its index record copied to the other cells.
def cached_style(ws: Worksheet, key: tuple, build: Callable[[Any], None]) -> Any:
    cache = ws.parent.__dict__.setdefault("_dvc_style_cache", {})  # style indexes are per workbook
    style = cache.get(key)
    if style is None:
        prototype = ws.parent.create_sheet("_prototype").cell(row=1, column=1)
        build(prototype)
        style = copy(prototype._style)
        ws.parent.remove(prototype.parent)
        cache[key] = style
    return style


def box(ws: Worksheet, first_row: int, last_row: int, first_col: int, last_col: int) -> None:
    def build(cell: Any) -> None:
        cell.border = BORDER

    border_id = cached_style(ws, ("border",), build).borderId
    for row in ws.iter_rows(min_row=first_row, max_row=last_row, min_col=first_col, max_col=last_col):
        for cell in row:
            cell._style.borderId = border_id


def write_row(
    ws: Worksheet,
    row: int,
    values: list,
    *,
    number_cols: dict[int, str],
    bold: bool = False,
    fill: PatternFill | None = None,
) -> None:
    for col, value in enumerate(values, start=1):
        cell = put_cell(ws, row, col, value)
        number_format = number_cols.get(col)

        def build(proto: Any, number_format: str | None = number_format, col: int = col) -> None:
            proto.font = font(bold=bold)
            if number_format is not None:
                proto.number_format = number_format
                proto.alignment = Alignment(horizontal="right", vertical="center")
            elif col == 1:
                proto.alignment = Alignment(horizontal="center", vertical="center")
            else:
                proto.alignment = Alignment(wrap_text=True, vertical="center")
            if fill is not None:
                proto.fill = fill

        key = ("row", bold, number_format, col == 1 and number_format is None, id(fill) if fill is not None else None)
        cell._style = copy(cached_style(ws, key, build))


def fit_height(ws: Worksheet, row: int, cells: list[tuple[str | None, float]], line: float = 15.0) -> None:
    """Row height for wrapped text (Excel and LibreOffice do not grow rows written by
    openpyxl): enough lines for the longest of ``cells`` ((text, column width))."""
    lines = max((math.ceil(len(text) / max(1.0, width * 1.05)) for text, width in cells if text), default=1)
    if lines > 1:
        ws.row_dimensions[row].height = line * lines


def set_widths(ws: Worksheet, widths: list[float]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def hide_code_column(ws: Worksheet, col: int) -> None:
    """Technical codes stay in the file for machines but are neither shown nor printed."""
    ws.column_dimensions[get_column_letter(col)].hidden = True


def page_setup(ws: Worksheet, header_rows: str, last_row: int, last_col: int, header: ReportHeader) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = header_rows
    ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.left.text = f"Lập ngày {vn_date(header.generated)}"
    ws.oddFooter.center.text = "Trang &P/&N"
    ws.oddFooter.right.text = FORM_CODE
    for part in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right):
        part.size, part.font = 9, FONT
