"""The data dictionary of the marts: every column's meaning (docs/definitions.md, word for word where it
has words) and every rate's numerator and denominator.

One source for three things: the rate expressions in the mart SQL, the DuckDB ``COMMENT``s
(so ``DESCRIBE``/``duckdb_columns()`` explain each column) and docs/data_dictionary.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# Identity/period columns.
KEY_COLUMNS: dict[str, str] = {
    "period_grain": "Window grain: month, quarter, half, year (15th-to-14th windows, docs/definitions.md §1) or cal_month, cal_quarter, cal_year (calendar).",
    "period_label": "Window label: 2025-03, 2025-Q1, 2025-H1, 2025 (15th-to-14th) or cal-2025-03, cal-2025-Q1, cal-2025 (calendar).",
    "period_start": "First day of the window (local date, inclusive).",
    "period_end": "Last day of the window (local date, inclusive).",
}
# Which unit a case counts under (docs/definitions.md §4.2), in words an analyst can follow.
ATTRIBUTION_RULE = (
    "A case counts, in each window, under exactly one unit, judged on the window's last day E: "
    "(1) the unit code (MaDonVi) the portal had recorded for the case by the end of day E (its newest "
    "version updated on or before E; if every version is later, its oldest version); "
    "(2) if the reorganisation crosswalk (seeds/unit_crosswalk.csv, primary rows) moved that unit's cases "
    "to another unit on or before E, the unit they were moved to, following chains of moves to the end; "
    "(3) that unit's name, level, parent and province as of E (seeds/units.csv). So each window shows the "
    "units in force on its last day with all of the window's cases, also when the window spans a "
    "reorganisation; a unit abolished before E has no row in that window; a case the portal moved to a "
    "new unit code later still counts under its earlier unit in windows that ended before the move. "
    "Everything else about a case (status, dates, channel) comes from its newest version."
)
UNIT_COLUMNS: dict[str, str] = {
    "unit_code": "Unit the window's cases count under (docs/definitions.md §4.2). " + ATTRIBUTION_RULE + " Codes missing from seeds/units.csv (or with no row in force on E) are kept as sent.",
    "unit_name": "Unit name from the row of seeds/units.csv in force on the window's last day; for codes with no such row the name the source system sent (DonViXuLy), else the code.",
    "unit_level": "province, province_department, district, commune (the row of seeds/units.csv in force on the window's last day), or unknown for codes with no row in force that day (unknown or expired codes).",
    "province_code": "Province of the unit on the window's last day: its ancestor of level province through parent_code (rows in force that day); a province is its own. NULL for unknown/expired codes.",
}
LEVEL_COLUMNS: dict[str, str] = {
    "province_code": "Province the roll-up belongs to (of each unit on the window's last day, see mart.unit_period_stats.province_code). NULL groups the codes with no row in force (unknown/expired), which roll up on their own: provinces never mix.",
    "unit_level": "Roll-up level: province, province_department, district, commune, unknown, or 'province_total' for the whole province (every unit of that province_code; distinct from a unit whose own level is province).",
    "units": "Number of units with a row in this window at this level.",
}

# Counts (docs/definitions.md §2, Biểu II.06a) — sums are meaningful across units.
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
    title_vi: str = ""  # the name reports print; set = a headline rate (workbook, dashboard)
    short: str = ""  # column heading of the command line's summary; set = shown there
    label_vi: str = ""  # the Vietnamese name of a rate that is not a headline (target sheets, lists)


RATES: tuple[Rate, ...] = (
    Rate("on_time_rate", "resolved_early + resolved_on_time", "resolved_total",
         "tỷ lệ đúng hạn — (early + on time) / resolved (target ≥ 99 %).", title_vi="Tỷ lệ giải quyết trước hạn, đúng hạn", short="on time"),
    Rate("online_rate", "new_online", "new_total",
         "tỷ lệ hồ sơ trực tuyến — new online / new.", title_vi="Tỷ lệ hồ sơ trực tuyến", short="online"),
    Rate("full_process_online_rate", "new_online_full_process", "new_total",
         "tỷ lệ hồ sơ trực tuyến toàn trình — new online with MucDo = toàn trình / new (the plans' headline rate).", title_vi="Tỷ lệ hồ sơ trực tuyến toàn trình", short="full-process online"),
    Rate("full_process_online_within_rate", "new_online_full_process", "new_full_process",
         "online rate within full-process procedures — new online with MucDo = toàn trình / new with MucDo = toàn trình.",
         label_vi="Tỷ lệ hồ sơ trực tuyến toàn trình trong số hồ sơ của thủ tục toàn trình"),
    Rate("online_payment_rate", "new_paid_online_portal", "new_with_fees",
         "tỷ lệ thanh toán trực tuyến qua Cổng DVCQG — new with fees > 0 and DuocThanhToanTrucTuyen = 1 / new with fees > 0.", title_vi="Tỷ lệ thanh toán trực tuyến qua Cổng DVCQG", short="paid online"),
    Rate("online_payment_any_rate", "new_paid_online_any", "new_with_fees",
         "online payment rate, any gateway — new with fees > 0 and DuocThanhToanTrucTuyen = 1 or 2 / new with fees > 0.",
         label_vi="Tỷ lệ thanh toán trực tuyến (mọi kênh thanh toán)"),
    Rate("digitised_components_rate", "new_digitised", "new_total",
         "số hóa thành phần hồ sơ — new with HoSoCoThanhPhanSoHoa = 1 / new.", title_vi="Tỷ lệ số hóa thành phần hồ sơ", short="digitised"),
    Rate("electronic_result_rate", "resolved_electronic_result", "resolved_with_result",
         "số hóa kết quả — resolved with status 9/10 and an electronic result / resolved with status 9/10.", title_vi="Tỷ lệ số hóa kết quả giải quyết"),
    Rate("satisfaction_rate", "resolved_satisfied", "resolved_rated",
         "satisfaction — rated 1 / rated 1–3, over cases resolved in the window.", title_vi="Tỷ lệ hài lòng", short="satisfied"),
    Rate("avg_days_online", "days_online_sum", "resolved_result_online",
         "Mean days from received to end, status 9/10 resolved in the window, channel online.", kind="mean",
         label_vi="Thời gian giải quyết bình quân hồ sơ trực tuyến (ngày)"),
    Rate("avg_days_in_person", "days_in_person_sum", "resolved_result_in_person",
         "Mean days from received to end, status 9/10 resolved in the window, channel in person.", kind="mean",
         label_vi="Thời gian giải quyết bình quân hồ sơ trực tiếp (ngày)"),
    Rate("time_reduction_rate", "avg_days_online", "avg_days_in_person",
         "Processing-time reduction = 1 − avg_days_online / avg_days_in_person (plans ask 20 % in 2025, 30 % in 2026). Numerator/denominator are the two averages.",
         kind="reduction", label_vi="Tỷ lệ cắt giảm thời gian giải quyết trực tuyến so với trực tiếp"),
    Rate("full_process_online_eligible_rate", "new_online_full_process_eligible", "new_eligible",
         "full-process online rate over eligible procedures (Hà Tĩnh: > 95 % of the cases of procedures eligible for full-process online service) — new online with MucDo = toàn trình whose procedure is eligible / new whose procedure is full_process_eligible (a procedure missing from the catalogue is not eligible).",
         label_vi="Tỷ lệ hồ sơ trực tuyến toàn trình của thủ tục đủ điều kiện toàn trình"),
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
    "mart.unit_period_stats": "One row per (period_grain, period_label, unit_code) with any activity: the Biểu II.06a counts and the rates of docs/definitions.md, each rate with its numerator and denominator.",
    "mart.level_period_stats": "Roll-up of mart.unit_period_stats per (period_grain, period_label, province_code, unit_level), plus unit_level = 'province_total' per province: counts are summed, then rates are computed from the sums (never averaged).",
    "mart.target_attainment": "Yearly (15th-to-14th) targets of seeds/targets.csv against actual rates, one row per (year, as_of_period, unit_code, metric): rows with as_of_period = the year's label are the verdict; the others judge the year to date up to that period's last day. actual, target, gap = actual − target, met, and rank among the units of the same province and level (1 = highest actual).",
    "mart.procedure_period_stats": "One row per (period_grain, period_label, unit_code, procedure_code) with any activity (docs/definitions.md §5): the counts, rates, numerators and denominators of mart.unit_period_stats, same names, per procedure (MaTTHC). A unit's rows add up exactly to its row in mart.unit_period_stats.",
    "mart.field_period_stats": "One row per (period_grain, period_label, unit_code, field_code) with any activity (docs/definitions.md §5): the counts and rates of mart.unit_period_stats per field (MaLinhVuc, else the procedure catalogue's field, else 'unknown'). A unit's rows add up exactly to its row in mart.unit_period_stats.",
    "mart.drill_counts": "Working table of the drill-down, not published: one row per (period_grain, period_label, unit_code, procedure_code, field_code) with any activity, the finest drill-down grain (docs/definitions.md §5). mart.procedure_period_stats and mart.field_period_stats are its roll-ups; it is kept so that a night recomputes only the groups its changed cases can move (pipeline/marts/drill_state.py).",
    "mart.procedure_province_stats": "Province roll-up of mart.procedure_period_stats per (period_grain, period_label, province_code, procedure_code): counts are summed, then rates are computed from the sums (never averaged).",
    "mart.index766_scores": "Decision 766/QĐ-TTg national index (docs/definitions.md §7), the part the case records determine (2.1, 3.6, 3.5b, 4.1, 4.3, 4.5b, 5.4: 44 of the 100 points): one row per (period_grain, period_label, unit_code, indicator) for the calendar windows (cal_month, cal_quarter, cal_year), and per province with unit_level = 'province_total' on the pooled counts of its units (never an average of unit scores; distinct procedures counted over the whole province). score = max_points × min(1, ratio / threshold), from seeds/index766.csv; the portal's formulas are reproduced, not published. The other indicators of the index are not computed and have no row.",
    "mart.index766_cases": "One row per (calendar window, case of the Decision 766 population: received in the window) under the unit it counts under (docs/definitions.md §4.2), with one flag per indicator it enters, so every lost point of mart.index766_scores can be traced to its cases. No personal data. Per unit and window the flags add up exactly to that table's numerators and denominators.",
    "mart.late_cases": "One row per (window, case) that is resolved late in the window (resolved_late) or in progress overdue at its end (in_progress_overdue), under the unit it counts under (docs/definitions.md §5). No personal data, no free text. Per unit and window its rows count exactly resolved_late + in_progress_overdue of mart.unit_period_stats.",
}

TARGET_COLUMNS: dict[str, str] = {
    "year": "Target year = the label of the yearly 15th-to-14th window (2025 = 15 Dec 2024 – 14 Dec 2025).",
    "as_of_grain": "Grain of as_of_period: month, quarter, half or year.",
    "as_of_period": "Reporting period whose report judges the target: year to date, from the year window's first day to this period's last day. The row with as_of_period = the year's label is the final verdict; the others are progress during the year, never a verdict.",
    "unit_code": "Unit code of the target (seeds/targets.csv).",
    "unit_name": "Unit name (seeds/units.csv row in force on window_end).",
    "province_code": "Province of the unit on window_end (its own last day of the window); ranks compare units of the same province and level.",
    "unit_level": "Unit level on window_end; ranks compare units of the same province and level.",
    "metric": "Rate column of mart.unit_period_stats the target is set on (e.g. full_process_online_rate, online_payment_rate, on_time_rate).",
    "window_start": "First day of the window the actual is computed on (the year window's first day).",
    "window_end": "Last day of that window, E in the attribution rule: the as-of period's last day, or the unit's last valid_to when the unit was abolished before it (partial window).",
    "partial_window": "TRUE when the unit was abolished inside the window (its last valid_to falls in it): the actual covers window_start..window_end only.",
    "actual": "The unit's rate over window_start..window_end, cases attributed as of window_end (as in mart.unit_period_stats); NULL when the denominator is 0.",
    "numerator": "Numerator of the actual rate (0 when the unit had no case in the window).",
    "denominator": "Denominator of the actual rate (0 when the unit had no case in the window).",
    "target": "Target rate (fraction) as given in the province's plan; empty or 0 means the target does not apply.",
    "applicable": "FALSE when the target is empty or 0 (not applicable to the unit, e.g. units that collect no fees): actual shown, gap/met/rank empty.",
    "gap": "actual − target (negative = below target); NULL when not applicable or actual is NULL.",
    "met": "actual ≥ target; NULL when not applicable or actual is NULL.",
    "rank_in_level": "Rank by actual (1 = highest) among the applicable targets with an actual of the same year, as_of_period, metric, province and level; ties share the better rank (SQL RANK). The one ranking rule of every report (workbook «Chỉ tiêu» sheet, dashboard, summary): no minimum sample (units with fewer than DVC_MIN_SAMPLE cases in the denominator keep their rank and are flagged «ít hồ sơ»); units judged on a partial window rank with the others.",
    "units_in_level": "Number of ranked targets in that group.",
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
    "province_code": "Province (docs/definitions.md §4.3) of the units, as in mart.unit_period_stats.province_code; NULL for codes with no row in force.",
    "units": "Number of units with a row for this procedure in this window and province.",
}
LATE_CASE_COLUMNS: dict[str, str] = {
    "period_grain": KEY_COLUMNS["period_grain"],
    "period_label": KEY_COLUMNS["period_label"],
    "unit_code": "Unit the case counts under in this window (as in mart.unit_period_stats).",
    "case_id": "Case id (MaHoSo).",
    "procedure_code": "Procedure code (MaTTHC).",
    "field_code": FIELD_COLUMNS["field_code"],
    "late_kind": "'resolved_late': status 9/10 resolved in the window with its end date after its due date; 'overdue': in progress at the window's end and not within deadline (docs/definitions.md §2).",
    "received_at": "Received (NgayTiepNhan), local time.",
    "due_at": "Due (NgayHenTra) of the newest version, local time.",
    "ended_at": "End of the case (docs/definitions.md §2) as known now: for an overdue case it may lie after the window's end, or be NULL.",
    "days_late": "Calendar days late: end date − due date (resolved_late); window's last day − due date (overdue).",
    "first_due_at": "The earliest non-empty NgayHenTra instant among the case's valid versions.",
    "due_changes": "Number of distinct NgayHenTra instants among the case's valid versions − 1, at least 0 (the same instant written in another date format is no change).",
    "supplement_requests": "Entries of DanhSachHoSoBoSung (supplement requests) in the newest version.",
}

INDEX766_ON_TIME_RULE = (
    "On time at the window's last instant e (docs/definitions.md §7; instants, not dates; no exception for withdrawn "
    "or stopped cases): ended by e (status 7-10) with no due instant or ended_at ≤ NgayHenTra; waiting for "
    "supplements (status 5) with no supplement request, or exactly one whose NgayYeuCau ≤ NgayHenTra (or no due "
    "instant; an unreadable NgayYeuCau is late), two or more requests are late; any other case not ended by e: "
    "no due instant or due date on or after the window's last day. Due, requests and status of the newest version."
)
INDEX766_CASE_COLUMNS: dict[str, str] = {
    **KEY_COLUMNS,
    "unit_code": "Unit the case counts under in this window (as in mart.unit_period_stats).",
    "case_id": "Case id (MaHoSo).",
    "procedure_code": "Procedure code (MaTTHC).",
    "status_code": "Status (TrangThaiHoSo) of the newest version.",
    "received_at": "Received (NgayTiepNhan), local time: inside the window.",
    "due_at": "Due (NgayHenTra) of the newest version, local time.",
    "ended_at": "End of the case (docs/definitions.md §2) as known now; it may lie after the window's end.",
    "supplement_requests": "Entries of DanhSachHoSoBoSung (supplement requests) in the newest version.",
    "on_time": "Counts in 2.1's numerator. " + INDEX766_ON_TIME_RULE,
    "payment_counted": "In 3.6's denominator: the procedure is fee_bearing in seeds/procedures.csv (a procedure missing from it is not), and DanhSachLePhi is not a non-empty list with every Gia = 0.",
    "paid_online": "In 3.6's numerator: payment_counted and DuocThanhToanTrucTuyen 1 (national portal) or 2 (ministry/provincial gateway).",
    "electronic_result": "In 4.1's numerator: resolved with status 9/10 by the window's end with an electronic result (a result document with a non-empty DuongDanTepTinKetQua).",
    "reused_digitised": "In 4.3's numerator: HoSoCoThanhPhanSoHoa = 1.",
    "vneid": "In 4.5b's numerator: TaiKhoanDuocXacThucVoiVNeID = 1.",
    "dissatisfied": "Rated dissatisfied (MucDoHaiLong = 3): an on-time case counts in 5.4's numerator only when this is FALSE.",
}
INDEX766_SCORE_COLUMNS: dict[str, str] = {
    **KEY_COLUMNS,
    "unit_code": "Unit (as in mart.unit_period_stats, any unit with a case received in the window); for unit_level = 'province_total' the province's code (NULL for codes with no row in force).",
    "unit_name": "Unit name on the window's last day; for 'province_total' the province's name.",
    "unit_level": "Level of the unit on the window's last day (province, province_department, district, commune, unknown), or 'province_total' for the whole province on pooled counts.",
    "province_code": UNIT_COLUMNS["province_code"],
    "indicator": "Indicator code of the index (seeds/index766.csv): 2.1, 3.6, 3.5b, 4.1, 4.3, 4.5b, 5.4.",
    "indicator_name": "Indicator name (seeds/index766.csv).",
    "indicator_group": "Group of the index (Tiến độ, Thanh toán, Số hóa, Hài lòng).",
    "numerator": "2.1: cases on time at e; 3.6: payment_counted cases paid online (DuocThanhToanTrucTuyen 1 or 2); 3.5b: distinct procedures with a case in 3.6's numerator; 4.1: cases resolved with status 9/10 by e with an electronic result; 4.3: cases with HoSoCoThanhPhanSoHoa = 1; 4.5b: cases with TaiKhoanDuocXacThucVoiVNeID = 1; 5.4: cases on time at e not rated dissatisfied. Flags in mart.index766_cases.",
    "denominator": "Cases received in the window (2.1, 4.1, 4.3, 4.5b, 5.4); 3.6: those of a fee_bearing procedure, less those whose fee list is non-empty with every Gia = 0; 3.5b: distinct procedures with a case in 3.6's denominator (for a province, distinct over the whole province).",
    "ratio": "numerator / denominator; NULL when the denominator is 0.",
    "max_points": "Points at full marks (seeds/index766.csv).",
    "threshold": "Ratio from which the full points are given (seeds/index766.csv; 1 = linear).",
    "score": "max_points × min(1, ratio / threshold); with a zero denominator the list's zero_denominator_score (NULL = not scored: 4.1, 4.3, 4.5b).",
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


def drill_counts_docs() -> dict[str, str]:
    return KEY_COLUMNS | {"unit_code": UNIT_COLUMNS["unit_code"], "procedure_code": PROCEDURE_COLUMNS["procedure_code"],
                          "field_code": FIELD_COLUMNS["field_code"],
                          "procedure_name_sent": "A procedure name the source sent (TenTTHC) for the group's cases.",
                          "field_name_sent": "A field name the source sent with MaLinhVuc (TenLinhVuc); NULL when none was."} \
        | COUNT_COLUMNS


def procedure_province_table_docs() -> dict[str, str]:
    return KEY_COLUMNS | PROVINCE_COLUMNS | PROCEDURE_COLUMNS | COUNT_COLUMNS | rate_column_docs()


FRACTION_RATES: tuple[str, ...] = tuple(r.name for r in RATES if r.kind == "ratio")
# The headline rates every report shows, in the form's order, with their Vietnamese names.
HEADLINE_RATES: tuple[tuple[str, str], ...] = tuple((r.name, r.title_vi) for r in RATES if r.title_vi)
# Every rate's Vietnamese name (a test checks none falls back to its column name).
RATE_TITLES: dict[str, str] = {r.name: r.title_vi or r.label_vi or r.name for r in RATES}
# The command line summary's columns: (rate, short English heading).
SUMMARY_RATES: tuple[tuple[str, str], ...] = tuple((r.name, r.short) for r in RATES if r.short)


# ---------------------------------------------------------------------------------------
# The rules every stats table obeys: written once here, generated into the blocking SQL
# check (pipeline/checks.py) and the Great Expectations mart suites (pipeline/mart_suites.py).
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """``total`` = the sum of ``parts`` (docs/definitions.md §2), exactly, for every row."""

    total: str
    parts: tuple[str, ...]
    derived: str  # the column name the GX suites give the sum of the parts
    words: str


IDENTITIES: tuple[Identity, ...] = (
    Identity("received_total", ("carried_over", "new_total"), "carried_over_plus_new",
             "received total = carried over + new"),
    Identity("received_total", ("resolved_total", "in_progress_total"), "resolved_plus_in_progress",
             "received total = resolved + in progress"),
    Identity("resolved_total", ("resolved_early", "resolved_on_time", "resolved_late"), "resolved_parts",
             "resolved = early + on time + late"),
    Identity("in_progress_total", ("in_progress_within", "in_progress_overdue"), "in_progress_parts",
             "in progress = within + overdue"),
    Identity("new_total", ("new_online", "new_in_person", "new_postal"), "new_parts",
             "new = online + in person + postal"),
)

# (whole, part, words): the part is counted among the whole, so it never exceeds it.
SUBSETS: tuple[tuple[str, str, str], ...] = (
    ("resolved_on_time", "withdrawn_or_stopped", "Withdrawn/stopped cases are counted within on time."),
    ("new_total", "new_full_process", "Full-process cases are among the new cases."),
    ("new_total", "new_with_fees", "Cases with fees are among the new cases."),
    ("new_total", "new_digitised", "Digitised cases are among the new cases."),
    ("resolved_total", "resolved_with_result", "Status 9/10 resolutions are among the resolved cases."),
    ("resolved_total", "resolved_rated", "Rated cases are among the resolved cases."),
)
