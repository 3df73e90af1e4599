"""The data dictionary of the marts: every column's meaning (METRICS.md, word for word where it
has words) and every rate's numerator and denominator.

One source for three things: the rate expressions in the mart SQL, the DuckDB ``COMMENT``s
(so ``DESCRIBE``/``duckdb_columns()`` explain each column) and docs/data_dictionary.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# Identity/period columns.
KEY_COLUMNS: dict[str, str] = {
    "period_grain": "Window grain: month, quarter, half, year (15th-to-14th windows, METRICS.md §1) or cal_month, cal_quarter, cal_year (calendar).",
    "period_label": "Window label: 2025-03, 2025-Q1, 2025-H1, 2025 (15th-to-14th) or cal-2025-03, cal-2025-Q1, cal-2025 (calendar).",
    "period_start": "First day of the window (local date, inclusive).",
    "period_end": "Last day of the window (local date, inclusive).",
}
UNIT_COLUMNS: dict[str, str] = {
    "unit_code": "Unit code (MaDonVi). For windows starting on/after a reorganisation date, old codes are mapped to the new unit (seeds/unit_crosswalk.csv, primary target). Codes missing from seeds/units.csv are kept as sent.",
    "unit_name": "Unit name from seeds/units.csv; for unknown codes the name the source system sent (DonViXuLy).",
    "unit_level": "province_department, district, commune (seeds/units.csv), or unknown for codes missing from the reference list.",
    "province_code": "Province of the unit: its ancestor of level province in force on the window's last day (METRICS.md §4.1); NULL for codes with no row in force.",
}
LEVEL_COLUMNS: dict[str, str] = {
    "unit_level": "Roll-up level: province_department, district, commune, unknown, or 'province_total' for the whole province (every unit; distinct from a unit whose own level is province).",
    "units": "Number of units with a row in this window at this level.",
}

# Counts (METRICS.md §2, Biểu II.06a) — sums are meaningful across units.
COUNT_COLUMNS: dict[str, str] = {
    "carried_over": "từ kỳ trước — carried over: received before the window's first instant and not ended before it.",
    "new_online": "mới tiếp nhận trực tuyến — received in the window, channel 2 (online).",
    "new_in_person": "mới tiếp nhận trực tiếp — received in the window, channel 1 or empty (in person).",
    "new_postal": "mới tiếp nhận qua bưu chính công ích — received in the window, channel 3 (postal).",
    "new_total": "mới tiếp nhận — received in the window (online + in person + postal).",
    "received_total": "tổng tiếp nhận — received total = carried over + new.",
    "resolved_total": "đã giải quyết — ended in the window (statuses 9/10 and 7/8).",
    "resolved_early": "trước hạn — status 9/10 resolved in the window whose end date is before the due date.",
    "resolved_on_time": "đúng hạn — status 9/10 resolved in the window whose end date equals the due date or that has no due date; and every status 7/8 case resolved in the window.",
    "resolved_late": "quá hạn — status 9/10 resolved in the window whose end date is after the due date.",
    "withdrawn_or_stopped": "of which withdrawn/stopped — status 7/8 cases resolved in the window (included in resolved_on_time).",
    "in_progress_total": "đang giải quyết — received by the window's end and not ended by it.",
    "in_progress_within": "trong hạn — in progress with no due date, a due date on/after the window's last date, or currently waiting (status 5/6).",
    "in_progress_overdue": "quá hạn — in progress and not within deadline.",
    "not_received": "Status 1 (not yet received) or 3 (refused at reception), counted in the window of NgayNopHoSo, else NgayTiepNhan. Not part of any other count.",
    "new_full_process": "Received in the window with MucDo = toàn trình (4 / toan_trinh).",
    "new_online_full_process": "Received in the window online (channel 2) with MucDo = toàn trình.",
    "new_with_fees": "Received in the window with fees > 0 (DanhSachLePhi total, or the flattened fee column).",
    "new_paid_online_portal": "Received in the window with fees > 0 and DuocThanhToanTrucTuyen = 1 (paid on the national portal).",
    "new_paid_online_any": "Received in the window with fees > 0 and DuocThanhToanTrucTuyen = 1 or 2 (national portal or a ministry/provincial gateway).",
    "new_digitised": "Received in the window with HoSoCoThanhPhanSoHoa = 1.",
    "resolved_with_result": "Resolved in the window with status 9/10.",
    "resolved_electronic_result": "Resolved in the window with status 9/10 and an electronic result (non-empty DuongDanTepTinKetQua).",
    "resolved_rated": "Resolved in the window with a rating MucDoHaiLong 1-3.",
    "resolved_satisfied": "Resolved in the window with rating MucDoHaiLong = 1 (satisfied).",
    "resolved_result_online": "Status 9/10 resolved in the window, channel online.",
    "days_online_sum": "Sum of days from received to end over status 9/10 cases resolved in the window, channel online (fractional days from the timestamps).",
    "resolved_result_in_person": "Status 9/10 resolved in the window, channel in person (1 or empty).",
    "days_in_person_sum": "Sum of days from received to end over status 9/10 cases resolved in the window, channel in person.",
    "new_eligible": "Received in the window whose procedure (MaTTHC) is full_process_eligible = 1 in seeds/procedures.csv (a procedure missing from the catalogue is not eligible).",
    "new_online_full_process_eligible": "Received in the window online (channel 2) with MucDo = toàn trình and a procedure that is full_process_eligible in the catalogue.",
}


@dataclass(frozen=True)
class Rate:
    name: str
    numerator: str  # SQL over the count columns
    denominator: str
    doc: str
    kind: str = "ratio"  # ratio (a fraction in [0, 1]) | mean (days) | reduction


RATES: tuple[Rate, ...] = (
    Rate("on_time_rate", "resolved_early + resolved_on_time", "resolved_total",
         "tỷ lệ đúng hạn — (early + on time) / resolved (target ≥ 99 %)."),
    Rate("online_rate", "new_online", "new_total",
         "tỷ lệ hồ sơ trực tuyến — new online / new."),
    Rate("full_process_online_rate", "new_online_full_process", "new_total",
         "tỷ lệ hồ sơ trực tuyến toàn trình — new online with MucDo = toàn trình / new (the plans' headline rate)."),
    Rate("full_process_online_within_rate", "new_online_full_process", "new_full_process",
         "online rate within full-process procedures — new online with MucDo = toàn trình / new with MucDo = toàn trình."),
    Rate("online_payment_rate", "new_paid_online_portal", "new_with_fees",
         "tỷ lệ thanh toán trực tuyến qua Cổng DVCQG — new with fees > 0 and DuocThanhToanTrucTuyen = 1 / new with fees > 0."),
    Rate("online_payment_any_rate", "new_paid_online_any", "new_with_fees",
         "online payment rate, any gateway — new with fees > 0 and DuocThanhToanTrucTuyen = 1 or 2 / new with fees > 0."),
    Rate("digitised_components_rate", "new_digitised", "new_total",
         "số hóa thành phần hồ sơ — new with HoSoCoThanhPhanSoHoa = 1 / new."),
    Rate("electronic_result_rate", "resolved_electronic_result", "resolved_with_result",
         "số hóa kết quả — resolved with status 9/10 and an electronic result / resolved with status 9/10."),
    Rate("satisfaction_rate", "resolved_satisfied", "resolved_rated",
         "satisfaction — rated 1 / rated 1–3, over cases resolved in the window."),
    Rate("avg_days_online", "days_online_sum", "resolved_result_online",
         "Mean days from received to end, status 9/10 resolved in the window, channel online.", kind="mean"),
    Rate("avg_days_in_person", "days_in_person_sum", "resolved_result_in_person",
         "Mean days from received to end, status 9/10 resolved in the window, channel in person.", kind="mean"),
    Rate("time_reduction_rate", "avg_days_online", "avg_days_in_person",
         "Processing-time reduction = 1 − avg_days_online / avg_days_in_person (plans ask 20 % in 2025, 30 % in 2026). Numerator/denominator are the two averages.",
         kind="reduction"),
    Rate("full_process_online_eligible_rate", "new_online_full_process_eligible", "new_eligible",
         "full-process online rate over eligible procedures (Hà Tĩnh: > 95 % of the cases of procedures eligible for full-process online service) — new online with MucDo = toàn trình whose procedure is eligible / new whose procedure is full_process_eligible (a procedure missing from the catalogue is not eligible)."),
)


def rate_select(source_alias: str = "c") -> str:
    """SELECT list adding <rate>_numerator, <rate>_denominator and <rate> to the counts.

    Zero denominators give NULL, never 0 % or 100 %.
    """
    parts: list[str] = []
    computed: dict[str, str] = {}
    for rate in RATES:
        num = _expand(rate.numerator, computed, source_alias)
        den = _expand(rate.denominator, computed, source_alias)
        if rate.kind == "reduction":
            value = f"CASE WHEN ({den}) IS NULL OR ({den}) = 0 OR ({num}) IS NULL THEN NULL ELSE 1 - ({num}) / ({den}) END"
        else:
            value = f"CASE WHEN ({den}) = 0 THEN NULL ELSE CAST({num} AS DOUBLE) / ({den}) END"
        computed[rate.name] = value
        parts += [
            f"{num} AS {rate.name}_numerator",
            f"{den} AS {rate.name}_denominator",
            f"{value} AS {rate.name}",
        ]
    return ",\n    ".join(parts)


def _expand(expr: str, computed: dict[str, str], alias: str) -> str:
    """Qualify count columns and inline earlier rates (time_reduction uses the averages)."""
    tokens = []
    for token in expr.split():
        if token in computed:
            tokens.append(f"({computed[token]})")
        elif token.isidentifier():
            tokens.append(f"{alias}.{token}")
        else:
            tokens.append(token)
    return " ".join(tokens)


def rate_column_docs() -> dict[str, str]:
    docs: dict[str, str] = {}
    for rate in RATES:
        docs[f"{rate.name}_numerator"] = f"Numerator of {rate.name}: {rate.numerator}."
        docs[f"{rate.name}_denominator"] = f"Denominator of {rate.name}: {rate.denominator}."
        suffix = {
            "ratio": " A fraction in [0, 1]; NULL when the denominator is 0.",
            "mean": " NULL when no such case.",
            "reduction": " NULL when either average is missing or the in-person average is 0.",
        }[rate.kind]
        docs[rate.name] = rate.doc + suffix
    return docs


TABLE_DOCS: dict[str, str] = {
    "mart.unit_period_stats": "One row per (period_grain, period_label, unit_code) with any activity: the Biểu II.06a counts and the rates of METRICS.md, each rate with its numerator and denominator.",
    "mart.level_period_stats": "Roll-up of mart.unit_period_stats per unit level and for the whole province (unit_level = 'province_total'): counts are summed, then rates are computed from the sums (never averaged).",
    "mart.procedure_period_stats": "One row per (period_grain, period_label, unit_code, procedure_code) with any activity (METRICS.md §5): the counts, rates, numerators and denominators of mart.unit_period_stats, same names, per procedure (MaTTHC). A unit's rows add up exactly to its row in mart.unit_period_stats.",
    "mart.field_period_stats": "One row per (period_grain, period_label, unit_code, field_code) with any activity (METRICS.md §5): the counts and rates of mart.unit_period_stats per field (MaLinhVuc, else the procedure catalogue's field, else 'unknown'). A unit's rows add up exactly to its row in mart.unit_period_stats.",
    "mart.procedure_province_stats": "Province roll-up of mart.procedure_period_stats per (period_grain, period_label, province_code, procedure_code): counts are summed, then rates are computed from the sums (never averaged).",
    "mart.late_cases": "One row per (window, case) that is resolved late in the window (resolved_late) or in progress overdue at its end (in_progress_overdue), under the unit it counts under (METRICS.md §5). No personal data, no free text. Per unit and window its rows count exactly resolved_late + in_progress_overdue of mart.unit_period_stats.",
    "mart.target_attainment": "Yearly (15th-to-14th) actual rates against seeds/targets.csv: actual, target, gap = actual − target, met, and rank among units of the same level (1 = highest actual).",
}

TARGET_COLUMNS: dict[str, str] = {
    "year": "Target year = the label of the yearly 15th-to-14th window (2025 = 15 Dec 2024 – 14 Dec 2025).",
    "unit_code": "Unit code of the target (seeds/targets.csv, matched to seeds/units.csv by NFC-normalised name).",
    "unit_name": "Unit name.",
    "unit_level": "Unit level; ranks compare units of the same level.",
    "metric": "full_process_online_rate or online_payment_rate (see mart.unit_period_stats).",
    "actual": "The unit's rate in the yearly window; NULL when the unit had no denominator (no row, or zero).",
    "numerator": "Numerator of the actual rate.",
    "denominator": "Denominator of the actual rate.",
    "target": "Target rate (fraction) from the province's plan.",
    "gap": "actual − target (negative = below target); NULL when actual is NULL.",
    "met": "actual ≥ target; NULL when actual is NULL.",
    "rank_in_level": "Rank by actual (1 = best) among units of the same level with an actual, ties share a rank.",
    "units_in_level": "Number of ranked units of that level.",
}


PROCEDURE_COLUMNS: dict[str, str] = {
    "procedure_code": "Procedure code (MaTTHC) as sent; codes missing from seeds/procedures.csv are kept.",
    "procedure_name": "Procedure name from seeds/procedures.csv, else the name the source sent (TenTTHC).",
}
FIELD_COLUMNS: dict[str, str] = {
    "field_code": "Field of activity: MaLinhVuc as sent, else the procedure catalogue's field_code, else 'unknown'.",
    "field_name": "Field name from seeds/procedures.csv, else the name the source sent with that code (TenLinhVuc); NULL for 'unknown'.",
}
PROCEDURE_FIELD_COLUMN: dict[str, str] = {
    "field_code": "Field of most of the row's cases (MaLinhVuc, else the catalogue's field, else 'unknown'; ties: the smallest code). The field table counts each case under its own field.",
}
PROVINCE_COLUMNS: dict[str, str] = {
    "province_code": "Province (METRICS.md §4.3) of the units, as in mart.unit_period_stats.province_code; NULL for codes with no row in force.",
    "units": "Number of units with a row for this procedure in this window and province.",
}
LATE_CASE_COLUMNS: dict[str, str] = {
    "period_grain": KEY_COLUMNS["period_grain"],
    "period_label": KEY_COLUMNS["period_label"],
    "unit_code": "Unit the case counts under in this window (as in mart.unit_period_stats).",
    "case_id": "Case id (MaHoSo).",
    "procedure_code": "Procedure code (MaTTHC).",
    "field_code": FIELD_COLUMNS["field_code"],
    "late_kind": "'resolved_late': status 9/10 resolved in the window with its end date after its due date; 'overdue': in progress at the window's end and not within deadline (METRICS.md §2).",
    "received_at": "Received (NgayTiepNhan), local time.",
    "due_at": "Due (NgayHenTra) of the newest version, local time.",
    "ended_at": "End of the case (METRICS.md §2) as known now: for an overdue case it may lie after the window's end, or be NULL.",
    "days_late": "Calendar days late: end date − due date (resolved_late); window's last day − due date (overdue).",
    "first_due_at": "The earliest non-empty NgayHenTra instant among the case's valid versions.",
    "due_changes": "Number of distinct NgayHenTra instants among the case's valid versions − 1, at least 0 (the same instant written in another date format is no change).",
    "supplement_requests": "Entries of DanhSachHoSoBoSung (supplement requests) in the newest version.",
}


def unit_table_docs() -> dict[str, str]:
    return KEY_COLUMNS | UNIT_COLUMNS | COUNT_COLUMNS | rate_column_docs()


def level_table_docs() -> dict[str, str]:
    return KEY_COLUMNS | LEVEL_COLUMNS | COUNT_COLUMNS | rate_column_docs()


def procedure_table_docs() -> dict[str, str]:
    return KEY_COLUMNS | {"unit_code": UNIT_COLUMNS["unit_code"]} | PROCEDURE_COLUMNS | PROCEDURE_FIELD_COLUMN \
        | COUNT_COLUMNS | rate_column_docs()


def field_table_docs() -> dict[str, str]:
    return KEY_COLUMNS | {"unit_code": UNIT_COLUMNS["unit_code"]} | FIELD_COLUMNS | COUNT_COLUMNS | rate_column_docs()


def procedure_province_table_docs() -> dict[str, str]:
    return KEY_COLUMNS | PROVINCE_COLUMNS | PROCEDURE_COLUMNS | COUNT_COLUMNS | rate_column_docs()


FRACTION_RATES: tuple[str, ...] = tuple(r.name for r in RATES if r.kind == "ratio")
