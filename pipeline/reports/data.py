"""What every report reads: periods and their Vietnamese titles, unit levels and names, the
headline rates, and the mart rows of a period (shared by the workbook, the dashboard and the
command line summary)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipeline import config, periods
from pipeline.db import table_columns, table_exists
from pipeline.metrics import HEADLINE_RATES, RATE_TITLES
from pipeline.output_modes import make_folders, restrict
from pipeline.province import ENV_PROVINCE_CODE, province_name, province_row
from schemas.case_record import REASONS

__all__ = ["HEADLINE_RATES", "RATE_TITLES"]

# Report settings (environment). The reporting unit and the receiving office print in the
# workbook's header block; the minimum sample flags units with too few cases for their rate to
# say much (the same flag in every report; target ranks follow docs/definitions.md §4.4 regardless).
ENV_PROVINCE_NAME = "DVC_PROVINCE_NAME"
ENV_REPORT_RECIPIENT = "DVC_REPORT_RECIPIENT"
ENV_MIN_SAMPLE = "DVC_MIN_SAMPLE"
DEFAULT_RECIPIENT = "Văn phòng Chính phủ (Cục Kiểm soát thủ tục hành chính)"
DEFAULT_MIN_SAMPLE = 20

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

# The yearly targets the reports chart and list first (any rate may carry a target).
TARGET_CHART_METRICS: tuple[str, ...] = ("full_process_online_rate", "online_payment_rate")

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


# ---------------------------------------------------------------------------------------
# Periods and names
# ---------------------------------------------------------------------------------------
def resolve_period(period_grain: str | None, period_label: str) -> periods.Period:
    """The window of a label (its grain comes from its shape); a given grain must match."""
    period = periods.parse_label(period_label, config.cutoff_day())
    if period_grain and period_grain != period.grain:
        raise ValueError(
            f"period {period_label!r} is a {period.grain} label, not a {period_grain} one"
        )
    return period


def period_title(period: periods.Period) -> str:
    """``Quý I năm 2025``, ``Tháng 3 năm 2025``, ``6 tháng đầu năm 2025``, ``Năm 2025``."""
    year = periods.report_year(period)
    grain = period.grain.removeprefix("cal_")
    number = int(re.search(r"(?:Q|H|-)([0-9]+)$", period.label).group(1)) if grain != "year" else 0
    if grain == "month":
        text = f"Tháng {number} năm {year}"
    elif grain == "quarter":
        text = f"Quý {ROMAN[number - 1]} năm {year}"
    elif grain == "half":
        text = f"6 tháng {'đầu' if number == 1 else 'cuối'} năm {year}"
    else:
        text = f"Năm {year}"
    return f"{text} (theo lịch dương)" if period.grain.startswith("cal_") else text


def vn_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def period_range_text(period: periods.Period) -> str:
    return f"từ ngày {vn_date(period.start)} đến ngày {vn_date(period.end)}"


def xlsx_name(period: periods.Period) -> str:
    return f"bieu_II06a_{period.label}.xlsx"


def level_name(level: str) -> str:
    return LEVEL_NAMES.get(level, level)


def short_title(period: periods.Period) -> str:
    """Axis label: ``Quý III/2025``, ``T3/2025``, ``6T đầu/2025``, ``Năm 2025`` (``… (DL)`` calendar)."""
    year = periods.report_year(period)
    grain = period.grain.removeprefix("cal_")
    number = int(re.search(r"(?:Q|H|-)([0-9]+)$", period.label).group(1)) if grain != "year" else 0
    text = {
        "month": f"T{number}/{year}",
        "quarter": f"Quý {ROMAN[number - 1]}/{year}" if grain == "quarter" else "",
        "half": f"6T {'đầu' if number == 1 else 'cuối'}/{year}",
        "year": f"Năm {year}",
    }[grain]
    return f"{text} (DL)" if period.grain.startswith("cal_") else text


def same_period_last_year(period: periods.Period) -> periods.Period | None:
    """The window of the same grain and number one year earlier (2025-Q3 -> 2024-Q3)."""
    year = periods.report_year(period)
    try:
        return periods.parse_label(period.label.replace(str(year), str(year - 1), 1), config.cutoff_day())
    except ValueError:
        return None


def comparison_periods(period: periods.Period) -> list[tuple[str, periods.Period]]:
    """What the headline cards compare with: the previous window and the same one a year
    earlier (one and the same window for a year)."""
    last_year = same_period_last_year(period)
    previous = periods.previous_period(period, config.cutoff_day())
    out = [("previous", previous)]
    if last_year is not None and last_year.label != previous.label:
        out.append(("last_year", last_year))
    return out


def unit_label(row: dict) -> str:
    """A unit's name, or its code when neither the reference list nor the source had a name."""
    return row.get("unit_name") or str(row["unit_code"])


def level_sort_sql(column: str = "unit_level") -> str:
    cases = " ".join(f"WHEN '{level}' THEN {i}" for i, level in enumerate(LEVEL_ORDER))
    return f"CASE {column} {cases} ELSE {len(LEVEL_ORDER)} END, {column}"


def has_column(con: duckdb.DuckDBPyConnection, qualified: str, column: str) -> bool:
    return column in {c for c, _, _ in table_columns(con, qualified)}


def report_province(con: duckdb.DuckDBPyConnection, period: periods.Period) -> str | None:
    """The province whose rows a report shows, when the marts are per province (docs/definitions.md
    §4.3: roll-ups never mix provinces); None when they are not (one province per warehouse)."""
    if not has_column(con, "mart.level_period_stats", "province_code"):
        return None
    row = province_row(con, period.end)
    return row[0] if row else None


def province_clause(con: duckdb.DuckDBPyConnection, table: str, province: str | None) -> tuple[str, list]:
    """`` AND province_code = ?`` for a per-province mart, else nothing."""
    if province is None or not has_column(con, table, "province_code"):
        return "", []
    return " AND province_code IS NOT DISTINCT FROM ?", [province]


@dataclass(frozen=True)
class ReportHeader:
    """The header and signature fields of an official report."""

    reporting_unit: str  # Đơn vị báo cáo
    recipient: str  # Đơn vị nhận báo cáo
    place: str  # "<place>, ngày … tháng … năm …"
    generated: date


def report_header(con: duckdb.DuckDBPyConnection, period: periods.Period, today: date | None = None) -> ReportHeader:
    """Reporting unit from DVC_PROVINCE_NAME, else "UBND " + the province's name in core.units;
    receiving office from DVC_REPORT_RECIPIENT, else the Government Office."""
    name = province_name(con, period.end) or province_name(con) or ""
    configured = os.environ.get(ENV_PROVINCE_NAME, "").strip()
    if configured:
        unit = configured
    elif name:
        unit = "UBND " + name[:1].lower() + name[1:] if name.lower().startswith(("tỉnh", "thành phố")) else name
    else:
        unit = "………………"
    place = re.sub(r"^(UBND\s+)?(tỉnh|thành phố)\s+", "", unit, flags=re.IGNORECASE) or "……"
    recipient = os.environ.get(ENV_REPORT_RECIPIENT, "").strip() or DEFAULT_RECIPIENT
    from pipeline.cycle.timeline import today_local

    return ReportHeader(unit, recipient, place, today or today_local())  # the local day, not the server's


def min_sample() -> int:
    """Cases a unit needs (the rate's denominator) to be ranked: DVC_MIN_SAMPLE, default 20."""
    raw = os.environ.get(ENV_MIN_SAMPLE, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_MIN_SAMPLE
    except ValueError as exc:
        raise ValueError(f"{ENV_MIN_SAMPLE} must be a whole number of cases, got {raw!r}") from exc


def period_has_rows(con: duckdb.DuckDBPyConnection, period: periods.Period) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?",
        [period.grain, period.label],
    ).fetchone()[0])


class NoReportData(ValueError):
    """The period has no case at all (e.g. a quarter before the data starts): no report."""


def ensure_reportable(con: duckdb.DuckDBPyConnection, period: periods.Period) -> None:
    """Refuse a period whose province total holds no case (received, or not received), instead
    of writing a report of zeros; the message says where the data starts and ends."""
    where, params = province_clause(con, "mart.level_period_stats", report_province(con, period))
    cases = con.execute(
        "SELECT coalesce(sum(received_total + not_received), 0) FROM mart.level_period_stats "
        f"WHERE period_grain = ? AND period_label = ? AND unit_level = ?{where}",
        [period.grain, period.label, PROVINCE_TOTAL, *params],
    ).fetchone()[0]
    if cases:
        return
    _refuse_hidden_cases(con, period)
    first, last = con.execute(
        "SELECT min(period_start), max(period_end) FROM mart.level_period_stats "
        "WHERE period_grain = ? AND unit_level = ? AND received_total + not_received > 0",
        [period.grain, PROVINCE_TOTAL],
    ).fetchone()
    if first is None:
        raise NoReportData(f"no report for {period.label}: the warehouse has no case in any {period.grain}")
    where_word = "before the data starts" if period.end < first else (
        "after the data ends" if period.start > last else "with no case")
    raise NoReportData(
        f"no report for {period.label} ({vn_date(period.start)}–{vn_date(period.end)}): it lies "
        f"{where_word}; the data covers {vn_date(first)}–{vn_date(last)}"
    )


def _refuse_hidden_cases(con: duckdb.DuckDBPyConnection, period: periods.Period) -> None:
    """A period whose province shows no case although the window has cases: say where they are
    (codes missing from the unit list, or another province) rather than "no case"."""
    from pipeline.reports.unit_gaps import period_missing_units

    window = f"{period.label} ({vn_date(period.start)}–{vn_date(period.end)})"
    province = report_province(con, period)
    codes, cases, largest = period_missing_units(con, period.grain, period.label)
    if codes:
        shown = ", ".join(f"{code} {name or ''} ({n:,})".replace("  ", " ") for code, name, n in largest)
        raise NoReportData(
            f"no report for {window}: its {cases:,} cases lie under {codes} unit code(s) missing from the unit "
            f"list units.csv ({shown}{', …' if codes > len(largest) else ''}), so province "
            f"{province or '(none)'} shows none of them; add the units (see the warning of python -m pipeline "
            f"summary)"
        )
    if province is not None:
        others = con.execute(
            "SELECT province_code, sum(received_total + not_received) AS cases FROM mart.level_period_stats "
            "WHERE period_grain = ? AND period_label = ? AND unit_level = ? AND province_code IS DISTINCT FROM ? "
            "AND province_code IS NOT NULL GROUP BY province_code HAVING sum(received_total + not_received) > 0 "
            "ORDER BY cases DESC, province_code",
            [period.grain, period.label, PROVINCE_TOTAL, province],
        ).fetchall()
        if others:
            listed = ", ".join(f"{code} ({int(n):,} cases)" for code, n in others)
            raise NoReportData(
                f"no report for {window} of province {province}: its cases lie in province(s) {listed}; "
                f"set {ENV_PROVINCE_CODE} to report one of them"
            )


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename it over ``path``."""
    path = Path(path)
    make_folders(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        restrict(tmp)  # DVC_OUTPUT_MODE (0640), before anyone can see it under its name
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------------------
# Reading the marts
# ---------------------------------------------------------------------------------------
def dicts(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def unit_and_level_rows(
    con: duckdb.DuckDBPyConnection, period: periods.Period, columns: str
) -> tuple[list[dict], dict[str, dict]]:
    """The period's unit rows (in form order) and its roll-up rows by level, with ``columns``
    (the report's province only, when the marts are per province)."""
    province = report_province(con, period)
    unit_where, unit_params = province_clause(con, "mart.unit_period_stats", province)
    level_where, level_params = province_clause(con, "mart.level_period_stats", province)
    units = dicts(con.execute(
        f"""
        SELECT unit_level, unit_code, unit_name, {columns}
        FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ?{unit_where}
        ORDER BY {level_sort_sql()}, unit_code
        """,
        [period.grain, period.label, *unit_params],
    ))
    levels = dicts(con.execute(
        f"""
        SELECT unit_level, units, {columns}
        FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?{level_where}
        """,
        [period.grain, period.label, *level_params],
    ))
    return units, {r["unit_level"]: r for r in levels}


def level_rows(con: duckdb.DuckDBPyConnection, period: periods.Period, columns: str) -> dict[str, dict]:
    """Roll-up rows by level (with ``province_total``) of the report's province, or {}."""
    level_where, params = province_clause(con, "mart.level_period_stats", report_province(con, period))
    rows = dicts(con.execute(
        f"""
        SELECT unit_level, units, {columns}
        FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?{level_where}
        """,
        [period.grain, period.label, *params],
    ))
    return {r["unit_level"]: r for r in rows}


def units_outside_province(con: duckdb.DuckDBPyConnection, period: periods.Period) -> tuple[int, int]:
    """(units, cases received) of the period's codes with no province (not in the reference
    list): per-province marts roll them up on their own (docs/definitions.md §4.3), so a province's
    report leaves them out and says how many there are."""
    if report_province(con, period) is None or not has_column(con, "mart.unit_period_stats", "province_code"):
        return 0, 0
    units, cases = con.execute(
        "SELECT count(*), coalesce(sum(received_total), 0) FROM mart.unit_period_stats "
        "WHERE period_grain = ? AND period_label = ? AND province_code IS NULL",
        [period.grain, period.label],
    ).fetchone()
    return int(units), int(cases)


def read_rates(con: duckdb.DuckDBPyConnection, period: periods.Period) -> tuple[list[dict], dict[str, dict]]:
    cols = ", ".join(f"{r}, {r}_numerator, {r}_denominator" for r, _ in HEADLINE_RATES)
    return unit_and_level_rows(con, period, cols)


def field_level_rows(
    con: duckdb.DuckDBPyConnection, period: periods.Period, columns: Iterable[tuple[str, str]]
) -> list[dict] | None:
    """The official layout's rows: per (unit level, field) the sums of ``columns`` ((key, SQL
    over a mart row)) over the units of the report's province, from mart.field_period_stats;
    None when that mart does not exist (yet)."""
    if not table_exists(con, "mart.field_period_stats"):
        return None
    where, params = province_clause(con, "mart.unit_period_stats", report_province(con, period))
    sums = ", ".join(f"sum({_qualify(sql, 'f')}) AS {key}"
                     for key, sql in columns)
    return dicts(con.execute(
        f"""
        SELECT u.unit_level, f.field_code, coalesce(max(f.field_name), f.field_code) AS field_name,
               count(DISTINCT f.unit_code) AS units, {sums}
        FROM mart.field_period_stats f
        JOIN (SELECT unit_code, unit_level FROM mart.unit_period_stats
              WHERE period_grain = ? AND period_label = ?{where}) u ON u.unit_code = f.unit_code
        WHERE f.period_grain = ? AND f.period_label = ?
        GROUP BY u.unit_level, f.field_code
        ORDER BY {level_sort_sql("u.unit_level")}, f.field_code = 'unknown', field_name, f.field_code
        """,
        [period.grain, period.label, *params, period.grain, period.label],
    ))


def _qualify(sql: str, alias: str) -> str:
    """``new_in_person + new_postal`` -> ``f.new_in_person + f.new_postal``."""
    return re.sub(r"\b([a-z_][a-z0-9_]*)\b", lambda m: f"{alias}.{m.group(1)}", sql)


# ---------------------------------------------------------------------------------------
# Data-quality reasons in Vietnamese
# ---------------------------------------------------------------------------------------
# The quarantine rules of schemas/case_record.py REASONS, in Vietnamese for the dashboard.
REASONS_VI: dict[str, str] = {
    "malformed_json": "Dòng dữ liệu lỗi định dạng JSON, không đọc được",
    "not_object": "Dòng dữ liệu không phải một hồ sơ (đối tượng JSON)",
    "missing": "Thiếu trường bắt buộc {field}",
    "bad_date": "Ngày không hợp lệ ở trường {field}",
    "bad_list": "Trường {field} không phải danh sách",
    "bad_status": "Mã trạng thái hồ sơ (TrangThaiHoSo) không thuộc 1–10",
    "bad_channel": "Mã kênh thực hiện (KenhThucHien) không hợp lệ",
    "received_required": "Thiếu ngày tiếp nhận (NgayTiepNhan) dù hồ sơ đã được tiếp nhận",
    "no_end": "Hồ sơ trạng thái {value} không có ngày kết thúc",
    "end_before_received": "Ngày kết thúc trước ngày tiếp nhận",
    "line_too_long": "Dòng dữ liệu quá dài (vượt giới hạn DVC_MAX_LINE_MB)",
    "implausible_date": "Ngày ở trường {field} nằm ngoài khoảng hợp lý",
    "bad_fee": "Lệ phí ở trường {field} không phải số tiền hợp lệ (VND, không âm)",
}


def _reason_pattern(template: str) -> re.Pattern:
    text = re.escape(template)
    text = text.replace(re.escape("{field}"), r"(?P<field>[^:]+?)").replace(re.escape("{value}"), r"(?P<value>.*?)")
    # Any other placeholder (sizes, limits, date bounds) is matched and never shown.
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", lambda _: r".*?", text))


_REASON_PATTERNS = [(key, _reason_pattern(t)) for key, t in REASONS.items()]


def reason_vi(reason: str) -> str:
    """A quarantine reason in Vietnamese (values sent by the record are never shown)."""
    for key, pattern in _REASON_PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            fields = match.groupdict()
            value = fields.get("value", "")
            if "'" in (value or "") or "…" in (value or ""):
                value = ""
            return REASONS_VI[key].format(field=fields.get("field", ""), value=value or "").replace("  ", " ")
    return f"Lỗi khác: {reason}"
