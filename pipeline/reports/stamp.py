"""What a report file says about its period's status (docs/definitions.md §6): the first line of every
sheet and the top of the dashboard ("SỐ LIỆU TẠM TÍNH — chưa chốt", final, official issue).
The «Thay đổi» sheet of a corrected issue is pipeline/reports/changes_sheet.py. Kept apart from
the workbook and dashboard layout so either can change without the other."""

from __future__ import annotations

import html

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.worksheet.worksheet import Worksheet

SHEET_CHANGES = "Thay đổi"
_BANNER_FILL = PatternFill("solid", fgColor="FFE699")
_OFFICIAL_FILL = PatternFill("solid", fgColor="C6EFCE")


def _is_official(text: str) -> bool:
    return text.startswith("BẢN CHÍNH THỨC")


def prepend_banner(ws: Worksheet, text: str) -> None:
    """Insert a first row carrying ``text`` (merged across the sheet), shifting the rest down,
    with its merged cells, row heights, frozen panes and print titles."""
    width = max(ws.max_column, 1)
    merged = [str(r) for r in ws.merged_cells.ranges]
    for ref in merged:
        ws.unmerge_cells(ref)
    heights = {r: d.height for r, d in ws.row_dimensions.items() if d.height is not None}
    ws.insert_rows(1)
    for ref in merged:
        ws.merge_cells(_shift(ref))
    for r in sorted(heights, reverse=True):
        ws.row_dimensions[r + 1].height = heights[r]
        ws.row_dimensions[r].height = None
    if ws.freeze_panes:
        ws.freeze_panes = _shift(ws.freeze_panes)
    if ws.print_title_rows:
        first, _, last = ws.print_title_rows.replace("$", "").partition(":")
        ws.print_title_rows = f"{int(first) + 1}:{int(last or first) + 1}"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    cell = ws.cell(row=1, column=1, value=text)
    cell.data_type = "s"  # text, never a formula
    cell.font = Font(name="Times New Roman", bold=True, size=12, color="9C0006" if not _is_official(text) else "006100")
    cell.fill = _OFFICIAL_FILL if _is_official(text) else _BANNER_FILL
    cell.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.row_dimensions[1].height = 32


def _shift(ref: str) -> str:
    """``A3:C4`` -> ``A4:C5``."""
    def one(coord: str) -> str:
        col, row = coordinate_from_string(coord)
        return f"{col}{row + 1}"

    return ":".join(one(part) for part in ref.split(":"))


def banner_html(text: str | None) -> str:
    """The dashboard's status block (one paragraph per line of ``text``), or nothing."""
    if not text:
        return ""
    kind = "official" if _is_official(text) else "provisional"
    colour = ("#c6efce", "#006100") if kind == "official" else ("#ffe699", "#9c0006")
    lines = "".join(f'<p style="margin:.2em 0">{html.escape(line)}</p>' for line in text.splitlines() if line)
    return (f'<div id="status-banner" class="banner {kind}" role="status" style="background:{colour[0]};'
            f'color:{colour[1]};font-weight:bold;padding:.6em 1em;border-bottom:2px solid {colour[1]}">{lines}</div>\n')
