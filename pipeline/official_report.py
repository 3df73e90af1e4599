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

import os
import re
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import config, periods

FORM_CODE = "Biểu số II.06a/VPCP/KSTT"
FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT TTHC TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT TTHC"
SHEET_FORM, SHEET_RATES, SHEET_TARGETS = "Biểu II.06a", "Tỷ lệ", "Chỉ tiêu"

# Roll-up levels in the order of the form, with their group headings.
LEVEL_ORDER: tuple[str, ...] = ("province", "province_department", "district", "commune", "unknown")
LEVEL_NAMES: dict[str, str] = {
    "province": "UBND tỉnh",
    "province_department": "Sở, ban, ngành cấp tỉnh",
    "district": "Cấp huyện (huyện, thị xã, thành phố)",
    "commune": "Cấp xã (xã, phường, thị trấn)",
    "unknown": "Đơn vị chưa có trong danh mục",
}
PROVINCE_TOTAL = "province_total"
PROVINCE_TOTAL_NAME = "Tổng cộng toàn tỉnh"

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

# Headline rates (pipeline/metrics.py RATES) with their Vietnamese names.
HEADLINE_RATES: tuple[tuple[str, str], ...] = (
    ("on_time_rate", "Tỷ lệ giải quyết trước hạn, đúng hạn"),
    ("online_rate", "Tỷ lệ hồ sơ trực tuyến"),
    ("full_process_online_rate", "Tỷ lệ hồ sơ trực tuyến toàn trình"),
    ("online_payment_rate", "Tỷ lệ thanh toán trực tuyến qua Cổng DVCQG"),
    ("digitised_components_rate", "Tỷ lệ số hóa thành phần hồ sơ"),
    ("electronic_result_rate", "Tỷ lệ số hóa kết quả giải quyết"),
    ("satisfaction_rate", "Tỷ lệ hài lòng"),
)
TARGET_METRICS: dict[str, str] = {
    "full_process_online_rate": "Tỷ lệ hồ sơ trực tuyến toàn trình",
    "online_payment_rate": "Tỷ lệ thanh toán trực tuyến qua Cổng DVCQG",
}

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
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
# Periods and names shared with the dashboard
# ---------------------------------------------------------------------------------------
def resolve_period(period_grain: str | None, period_label: str) -> periods.Period:
    """The window of a label (its grain comes from its shape); a given grain must match."""
    period = periods.parse_label(period_label, config.cutoff_day())
    if period_grain and period_grain != period.grain:
        raise ValueError(
            f"period {period_label!r} is a {period.grain} label, not a {period_grain} one"
        )
    return period


def report_year(period: periods.Period) -> int:
    """The target year of a window: the year in its label (2025-Q1, cal-2025-03 -> 2025)."""
    return int(re.search(r"[0-9]{4}", period.label).group(0))


def period_title(period: periods.Period) -> str:
    """``Quý I năm 2025``, ``Tháng 3 năm 2025``, ``6 tháng đầu năm 2025``, ``Năm 2025``."""
    year = report_year(period)
    grain = period.grain.removeprefix("cal_")
    number = int(re.search(r"(?:Q|H|-)([0-9]+)$", period.label).group(1)) if grain != "year" else 0
    if grain == "month":
        text = f"Tháng {number} năm {year}"
    elif grain == "quarter":
        text = f"Quý {_ROMAN[number - 1]} năm {year}"
    elif grain == "half":
        text = f"6 tháng {'đầu' if number == 1 else 'cuối'} năm {year}"
    else:
        text = f"Năm {year}"
    return f"{text} (theo lịch dương)" if period.grain.startswith("cal_") else text


def _vn_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def period_range_text(period: periods.Period) -> str:
    return f"từ ngày {_vn_date(period.start)} đến ngày {_vn_date(period.end)}"


def xlsx_name(period: periods.Period) -> str:
    return f"bieu_II06a_{period.label}.xlsx"


def level_name(level: str) -> str:
    return LEVEL_NAMES.get(level, level)


def unit_label(row: dict) -> str:
    """A unit's name, or its code when neither the reference list nor the source had a name."""
    return row.get("unit_name") or str(row["unit_code"])


def level_sort_sql(column: str = "unit_level") -> str:
    cases = " ".join(f"WHEN '{level}' THEN {i}" for i, level in enumerate(LEVEL_ORDER))
    return f"CASE {column} {cases} ELSE {len(LEVEL_ORDER)} END, {column}"


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]
    ).fetchone()[0])


def province_name(con: duckdb.DuckDBPyConnection) -> str | None:
    """The root unit's name (seeds/units.csv level 'province'), e.g. Tỉnh Quảng Trị."""
    if not table_exists(con, "core.units"):
        return None
    row = con.execute(
        "SELECT unit_name FROM core.units WHERE unit_level = 'province' ORDER BY unit_code LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def period_has_rows(con: duckdb.DuckDBPyConnection, period: periods.Period) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?",
        [period.grain, period.label],
    ).fetchone()[0])


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------------------
# Reading the marts
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormData:
    units: list[dict]  # unit_level, unit_code, unit_name, FORM_KEYS
    levels: dict[str, dict]  # unit_level -> units, FORM_KEYS
    total: dict | None  # province_total row


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _unit_and_level_rows(
    con: duckdb.DuckDBPyConnection, period: periods.Period, columns: str
) -> tuple[list[dict], dict[str, dict]]:
    """The period's unit rows (in form order) and its roll-up rows by level, with ``columns``."""
    units = _dicts(con.execute(
        f"""
        SELECT unit_level, unit_code, unit_name, {columns}
        FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ?
        ORDER BY {level_sort_sql()}, unit_code
        """,
        [period.grain, period.label],
    ))
    levels = _dicts(con.execute(
        f"""
        SELECT unit_level, units, {columns}
        FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?
        """,
        [period.grain, period.label],
    ))
    return units, {r["unit_level"]: r for r in levels}


def read_form(con: duckdb.DuckDBPyConnection, period: periods.Period) -> FormData:
    counts = ", ".join(f"{sql} AS {key}" for key, sql in FORM_COLUMNS)
    units, by_level = _unit_and_level_rows(con, period, counts)
    total = by_level.pop(PROVINCE_TOTAL, None)
    return FormData(units, by_level, total)


def read_rates(con: duckdb.DuckDBPyConnection, period: periods.Period) -> tuple[list[dict], dict[str, dict]]:
    cols = ", ".join(f"{r}, {r}_numerator, {r}_denominator" for r, _ in HEADLINE_RATES)
    return _unit_and_level_rows(con, period, cols)


def read_targets(con: duckdb.DuckDBPyConnection, year: int) -> list[dict]:
    if not table_exists(con, "mart.target_attainment"):
        return []
    metric_order = " ".join(f"WHEN '{m}' THEN {i}" for i, m in enumerate(TARGET_METRICS))
    return _dicts(con.execute(
        f"""
        SELECT metric, unit_level, unit_code, unit_name, actual, numerator, denominator, target,
               gap, met, rank_in_level, units_in_level
        FROM mart.target_attainment WHERE year = ? AND as_of_period = CAST(year AS VARCHAR)
        ORDER BY CASE metric {metric_order} ELSE 99 END, metric, {level_sort_sql()},
                 rank_in_level NULLS LAST, unit_name, unit_code
        """,
        [year],
    ))


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
        _row(ws, row, [_ROMAN[index] if index < len(_ROMAN) else str(index + 1), label,
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
        _row(ws, row, [_ROMAN[index] if index < len(_ROMAN) else str(index + 1),
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
            TARGET_METRICS.get(r["metric"], r["metric"]),
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
    con: duckdb.DuckDBPyConnection, period_grain: str | None, period_label: str, out_path: Path | str
) -> WorkbookResult:
    """Write the Biểu II.06a workbook of one period (any grain) to ``out_path``, atomically."""
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
    wb.properties.title = f"{FORM_TITLE} — {period_title(period)}"
    wb.properties.creator = "dvc-metrics"
    path = atomic_write(Path(out_path), lambda tmp: wb.save(tmp))
    return WorkbookResult(path, period, len(data.units), len(data.levels) + (data.total is not None), len(targets))
