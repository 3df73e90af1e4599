"""The numbers of the Biểu II.06a form for one period: per unit, per level roll-up, the
province total and (with the field mart) per field and level; read once by
reports.model.build_report, laid out by reports.xlsx."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipeline import periods
from pipeline.reports.data import (
    PROVINCE_TOTAL,
    field_level_rows,
    unit_and_level_rows,
    units_outside_province,
)

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

FORM_NOTES = (
    "Ghi chú: (3) = (4) + (5) + (6) = (7) + (11); (7) = (8) + (9) + (10); (11) = (12) + (13).",
    "Cột (9) gồm cả hồ sơ rút hoặc dừng giải quyết. Kỳ báo cáo tính theo ngày, từ ngày 15 tháng "
    "trước đến hết ngày 14 tháng cuối kỳ; số liệu tổng hợp từ hồ sơ trên Cổng Dịch vụ công.",
)


@dataclass(frozen=True)
class FormData:
    units: list[dict]  # unit_level, unit_code, unit_name, FORM_KEYS
    levels: dict[str, dict]  # unit_level -> units, FORM_KEYS
    total: dict | None  # province_total row
    fields: list[dict] | None  # unit_level, field_code, field_name, FORM_KEYS; None = no field mart
    outside: tuple[int, int] = (0, 0)  # (codes, cases) with no province: not in this province's form

    def notes(self) -> tuple[str, ...]:
        codes, cases = self.outside
        if not codes:
            return FORM_NOTES
        count = f"{cases:,}".replace(",", ".")
        return (*FORM_NOTES, f"Không tính vào biểu: {codes} mã đơn vị chưa có trong danh mục đơn vị của tỉnh, "
                             f"với {count} hồ sơ tiếp nhận trong kỳ.")


def read_form(con: duckdb.DuckDBPyConnection, period: periods.Period) -> FormData:
    counts = ", ".join(f"{sql} AS {key}" for key, sql in FORM_COLUMNS)
    units, by_level = unit_and_level_rows(con, period, counts)
    total = by_level.pop(PROVINCE_TOTAL, None)
    return FormData(units, by_level, total, field_level_rows(con, period, FORM_COLUMNS),
                    units_outside_province(con, period))
