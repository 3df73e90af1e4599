"""What every report reads: periods and their Vietnamese titles, unit levels and names, the
headline rates, and the mart rows of a period (shared by the workbook, the dashboard and the
command line summary)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pipeline import config, periods
from pipeline.db import table_columns, table_exists
from pipeline.metrics import HEADLINE_RATES, RATE_TITLES
from pipeline.output_modes import make_folders, restrict
from schemas.case_record import REASONS

__all__ = ["HEADLINE_RATES", "RATE_TITLES"]

# Report settings (environment). The reporting unit and the receiving office print in the
# workbook's header block; the minimum sample flags units with too few cases for their rate to
# say much (the same flag in every report; target ranks follow METRICS.md §4.4 regardless).
ENV_PROVINCE_NAME = "DVC_PROVINCE_NAME"
ENV_PROVINCE_CODE = "DVC_PROVINCE_CODE"
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
    year = report_year(period)
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
    year = report_year(period)
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


def _province_row(con: duckdb.DuckDBPyConnection, day: date | None = None) -> tuple[str, str] | None:
    """(code, name) of the province unit in force on ``day`` (any, when no day is given): the
    one still in force today first (a province merged into it later is not the reporter),
    DVC_PROVINCE_CODE picks one when the warehouse holds several."""
    if not table_exists(con, "core.units"):
        return None
    wanted = os.environ.get(ENV_PROVINCE_CODE, "").strip() or None
    row = con.execute(
        """
        SELECT unit_code, unit_name FROM core.units
        WHERE unit_level = 'province' AND (? IS NULL OR unit_code = ?)
          AND (CAST(? AS DATE) IS NULL OR ((valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to >= ?)))
        ORDER BY valid_to IS NULL DESC, valid_to DESC, unit_code LIMIT 1
        """,
        [wanted, wanted, day, day, day],
    ).fetchone()
    return (row[0], row[1]) if row else None


def province_name(con: duckdb.DuckDBPyConnection, day: date | None = None) -> str | None:
    """The root unit's name (seeds/units.csv level 'province'), e.g. Tỉnh Quảng Trị."""
    row = _province_row(con, day)
    return row[1] if row else None


def report_province(con: duckdb.DuckDBPyConnection, period: periods.Period) -> str | None:
    """The province whose rows a report shows, when the marts are per province (METRICS.md
    §4.3: roll-ups never mix provinces); None when they are not (one province per warehouse)."""
    if not has_column(con, "mart.level_period_stats", "province_code"):
        return None
    row = _province_row(con, period.end)
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
    list): per-province marts roll them up on their own (METRICS.md §4.3), so a province's
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
# Target verdicts (METRICS.md §4.4): one reading for the workbook, the dashboard and summary
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdicts:
    """The target rows a period's report judges, and on what they are judged."""

    rows: list[dict]
    year: int
    as_of_end: date | None  # the last day of data the verdict uses (None: no verdict)
    basis: str  # "as_of" (year to date), "year" (the year's final row), "none"
    note: str  # one Vietnamese sentence saying which data the verdict uses


def _metric_order_sql(column: str = "metric") -> str:
    cases = " ".join(f"WHEN '{m}' THEN {i}" for i, m in enumerate(TARGET_CHART_METRICS))
    return f"CASE {column} {cases} ELSE 99 END, {column}"


def target_verdicts(con: duckdb.DuckDBPyConnection, period: periods.Period) -> Verdicts:
    """The §4.4 rows of mart.target_attainment that judge ``period``: ``as_of_period`` = the
    period's label (year to date up to its last day; for the year itself the final verdict).
    Without an ``as_of_period`` column (older marts) only a year period has a verdict (its
    yearly row); any other period gets none rather than a verdict built on later data."""
    year = report_year(period)
    year_window = periods.parse_label(str(year), config.cutoff_day())
    if period.grain.startswith("cal_"):
        return Verdicts([], year, None, "none", (
            f"Chỉ tiêu năm {year} được đánh giá theo các kỳ báo cáo 15–14; kỳ theo lịch dương không có đánh giá chỉ tiêu."))
    if not table_exists(con, "mart.target_attainment"):
        return Verdicts([], year, None, "none", "Chưa có bảng đánh giá chỉ tiêu.")
    cols = {c for c, _, _ in table_columns(con, "mart.target_attainment")}
    optional = {
        "province_code": "NULL", "partial_window": "FALSE", "window_start": "CAST(NULL AS DATE)",
        "window_end": "CAST(NULL AS DATE)",
        "applicable": "coalesce(target, 0) <> 0",
    }
    select = ", ".join(["year", "metric", "unit_code", "unit_name", "unit_level", "actual", "numerator",
                        "denominator", "target", "gap", "met", "rank_in_level", "units_in_level"]
                       + [c if c in cols else f"{expr} AS {c}" for c, expr in optional.items()])
    if "as_of_period" in cols:
        where, params, basis = "year = ? AND as_of_period = ?", [year, period.label], "as_of"
    elif period.grain == "year":
        where, params, basis = "year = ?", [year], "year"
    else:
        return Verdicts([], year, None, "none", (
            f"Chưa có đánh giá chỉ tiêu năm {year} lũy kế đến hết kỳ này (cần cập nhật mart chỉ tiêu); "
            "không dùng số liệu sau kỳ báo cáo."))
    rows = dicts(con.execute(
        f"SELECT {select} FROM mart.target_attainment WHERE {where} "
        f"ORDER BY {_metric_order_sql()}, {level_sort_sql()}, gap DESC NULLS LAST, unit_name, unit_code",
        params,
    ))
    in_force = units_in_force(con, period.end)
    for r in rows:
        if not r["applicable"]:  # §4.4: a target of 0/empty does not apply: no gap, met or rank
            r["gap"] = r["met"] = r["rank_in_level"] = None
        r["window_start"] = r["window_start"] or year_window.start
        r["window_end"] = r["window_end"] or min(period.end, year_window.end)
        abolished = bool(r["partial_window"]) or (in_force is not None and r["unit_code"] not in in_force
                                                   and r["unit_code"] in known_units(con))
        r["in_force"] = not abolished
        r["abolished_note"] = successor_note(con, r["unit_code"], period.end) if abolished else None
    as_of_end = min(period.end, year_window.end)
    if basis == "year" or period.grain == "year":
        note = (f"Kết quả năm {year}: số liệu cả kỳ năm ({period_range_text(year_window)}).")
    else:
        note = (f"Đánh giá chỉ tiêu năm {year} theo số liệu lũy kế từ ngày {vn_date(year_window.start)} "
                f"đến hết ngày {vn_date(as_of_end)} (hết kỳ báo cáo); không dùng số liệu sau kỳ báo cáo.")
    if not rows:
        note += " Chưa có dòng đánh giá nào cho kỳ này."
    return Verdicts(rows, year, as_of_end, basis, note)


def known_units(con: duckdb.DuckDBPyConnection) -> set[str]:
    if not table_exists(con, "core.units"):
        return set()
    return {c for (c,) in con.execute("SELECT DISTINCT unit_code FROM core.units").fetchall()}


def units_in_force(con: duckdb.DuckDBPyConnection, day: date) -> set[str] | None:
    """Codes with a core.units row in force on ``day`` (METRICS.md §4.1); None without the table."""
    if not table_exists(con, "core.units"):
        return None
    return {c for (c,) in con.execute(
        "SELECT DISTINCT unit_code FROM core.units WHERE (valid_from IS NULL OR valid_from <= ?) "
        "AND (valid_to IS NULL OR valid_to >= ?)", [day, day]).fetchall()}


def successor_note(con: duckdb.DuckDBPyConnection, unit_code: str, day: date) -> str:
    """``(đã hợp nhất vào Sở Tài chính từ 01/03/2025)`` for a unit abolished by ``day``: its
    primary crosswalk row (the latest in force), else its last day in core.units."""
    if table_exists(con, "core.unit_crosswalk"):
        row = con.execute(
            """
            SELECT coalesce(
                       (SELECT arg_max(u.unit_name, coalesce(u.valid_from, DATE '0001-01-01'))
                        FROM core.units u WHERE u.unit_code = c.new_unit_code), c.new_unit_code),
                   c.valid_from
            FROM core.unit_crosswalk c
            WHERE c.old_unit_code = ? AND c.is_primary AND c.valid_from <= ?
            ORDER BY c.valid_from DESC LIMIT 1
            """,
            [unit_code, day],
        ).fetchone()
        if row:
            return f"(đã hợp nhất vào {row[0]} từ {vn_date(row[1])})"
    last = con.execute(
        "SELECT max(valid_to) FROM core.units WHERE unit_code = ?", [unit_code]
    ).fetchone()[0] if table_exists(con, "core.units") else None
    return f"(đã giải thể từ {vn_date(last + timedelta(days=1))})" if last else "(không còn hoạt động)"


def verdict_word(row: dict) -> str:
    """Đạt / Chưa đạt / Không áp dụng / Chưa có số liệu — the same words in every report."""
    if not row.get("applicable", True):
        return "Không áp dụng"
    if row["met"] is None:
        return "Chưa có số liệu"
    return "Đạt" if row["met"] else "Chưa đạt"


def gap_points(gap: float | None) -> str:
    """A gap in percentage points, Vietnamese style: ``−3,2 điểm``, ``+0,4 điểm``."""
    if gap is None:
        return "—"
    points = round(100 * gap, 1)
    sign = "+" if points > 0 else ("−" if points < 0 else "±")
    return f"{sign}{abs(points):.1f}".replace(".", ",") + " điểm"


# The one ranking rule for targets (METRICS.md §4.4), the same in mart.target_attainment, the
# workbook, the dashboard and the command line summary: rank_in_level of the mart = position by
# actual (highest first, ties share the better place, SQL RANK) among the applicable targets
# with an actual of the same year, as-of period, metric, province and level; units judged on a
# partial window rank with the others. No minimum sample: a unit with fewer than DVC_MIN_SAMPLE
# cases in the denominator keeps its rank and is flagged «ít hồ sơ» in every report.
TARGET_RANK_RULE = (
    "Xếp hạng theo tỷ lệ đạt được (cao nhất = 1, bằng nhau cùng hạng) trong các đơn vị cùng cấp, "
    "cùng tỉnh có chỉ tiêu áp dụng và có số liệu; đơn vị có ít hơn {sample} hồ sơ vẫn được xếp hạng "
    "và được đánh dấu «ít hồ sơ»."
)


def small_sample(row: dict, sample: int) -> bool:
    """A target row whose rate rests on fewer than ``sample`` cases (flagged, still ranked)."""
    return row.get("actual") is not None and (row.get("denominator") or 0) < sample


def small_sample_note(row: dict, sample: int) -> str | None:
    """«ít hồ sơ: 18 < 20» for a small-sample row, the same words in every report."""
    if not small_sample(row, sample):
        return None
    return f"ít hồ sơ: {int(row.get('denominator') or 0)} < {sample}"


def rank_targets(rows: list[dict], sample: int) -> list[dict]:
    """One metric's verdict rows in display order within each level, with ``place`` = the
    mart's rank_in_level (TARGET_RANK_RULE; None = not ranked), ``ranked_units`` = the mart's
    units_in_level and ``status``: ranked, small (ranked, fewer than ``sample`` cases),
    abolished (ranked on its partial window), no_data, not_applicable. Returns copies."""
    out: list[dict] = []
    levels = [lv for lv in LEVEL_ORDER if any(r["unit_level"] == lv for r in rows)]
    levels += sorted({r["unit_level"] for r in rows} - set(levels))
    for level in levels:
        members = [dict(r) for r in rows if r["unit_level"] == level]
        for r in members:
            r["place"] = r.get("rank_in_level") if r["applicable"] and r["actual"] is not None else None
            if not r["applicable"]:
                r["status"] = "not_applicable"
            elif r["place"] is None:
                r["status"] = "no_data"
            elif not r["in_force"]:
                r["status"] = "abolished"
            elif small_sample(r, sample):
                r["status"] = "small"
            else:
                r["status"] = "ranked"
        ranked = [r for r in members if r["place"] is not None]
        order = {"no_data": 1, "not_applicable": 2}
        members.sort(key=lambda r: (order.get(r["status"], 0), r["place"] if r["place"] is not None else 0,
                                    unit_label(r), r["unit_code"]))
        for r in members:
            r["ranked_units"] = max((r2.get("units_in_level") or 0 for r2 in ranked), default=0) or len(ranked)
        out += members
    return out


def rank_units_by_rate(units: list[dict], rate: str, sample: int) -> list[dict]:
    """Units with a value of ``rate`` ranked within their level (highest first, ties share),
    those with fewer than ``sample`` cases in its denominator flagged and listed after them
    unranked. Each unit dict has code, name, level, rates, num, den."""
    out: list[dict] = []
    levels = [lv for lv in LEVEL_ORDER if any(u["level"] == lv for u in units)]
    levels += sorted({u["level"] for u in units} - set(levels))
    for level in levels:
        valued = [u for u in units if u["level"] == level and u["rates"][rate] is not None]
        big = sorted((u for u in valued if (u["den"][rate] or 0) >= sample),
                     key=lambda u: (-u["rates"][rate], u["name"]))
        small = sorted((u for u in valued if (u["den"][rate] or 0) < sample),
                       key=lambda u: (-u["rates"][rate], u["name"]))
        place = 0
        for i, u in enumerate(big):
            place = place if i and u["rates"][rate] == big[i - 1]["rates"][rate] else i + 1
            out.append({"code": u["code"], "level": level, "place": place, "small": False, "ranked": len(big)})
        out += [{"code": u["code"], "level": level, "place": None, "small": True, "ranked": len(big)} for u in small]
    return out


# ---------------------------------------------------------------------------------------
# What a leader acts on: overdue and late cases, data-quality reasons in Vietnamese
# ---------------------------------------------------------------------------------------
def overdue_by_unit(con: duckdb.DuckDBPyConnection, period: periods.Period, limit: int = 25) -> list[dict]:
    """Units with cases in progress overdue at the period's end or resolved late in it, most first."""
    where, params = province_clause(con, "mart.unit_period_stats", report_province(con, period))
    return dicts(con.execute(
        f"""
        SELECT unit_code, unit_name, unit_level, in_progress_overdue, in_progress_total,
               resolved_late, resolved_total
        FROM mart.unit_period_stats
        WHERE period_grain = ? AND period_label = ?{where} AND in_progress_overdue + resolved_late > 0
        ORDER BY in_progress_overdue DESC, resolved_late DESC, unit_code LIMIT ?
        """,
        [period.grain, period.label, *params, limit],
    ))


def late_cases(con: duckdb.DuckDBPyConnection, period: periods.Period, per_unit: int = 10) -> list[dict] | None:
    """The period's late-case list (mart.late_cases, METRICS.md §5): per unit the ``per_unit``
    cases most days late; None when that mart does not exist (yet)."""
    if not table_exists(con, "mart.late_cases"):
        return None
    procedures = "core.procedures" if table_exists(con, "core.procedures") else None
    proc_join = (f"LEFT JOIN (SELECT procedure_code, any_value(procedure_name) AS procedure_name "
                 f"FROM {procedures} GROUP BY procedure_code) p ON p.procedure_code = l.procedure_code"
                 if procedures else "")
    proc_name = "p.procedure_name" if procedures else "NULL"
    return dicts(con.execute(
        f"""
        SELECT l.unit_code, coalesce(u.unit_name, l.unit_code) AS unit_name, l.case_id,
               l.procedure_code, {proc_name} AS procedure_name, l.late_kind, l.received_at,
               l.due_at, l.ended_at, l.days_late
        FROM mart.late_cases l
        LEFT JOIN mart.unit_period_stats u
          ON u.period_grain = l.period_grain AND u.period_label = l.period_label AND u.unit_code = l.unit_code
        {proc_join}
        WHERE l.period_grain = ? AND l.period_label = ?
        QUALIFY row_number() OVER (PARTITION BY l.unit_code ORDER BY l.days_late DESC NULLS LAST, l.case_id) <= ?
        ORDER BY l.unit_code, l.days_late DESC NULLS LAST, l.case_id
        """,
        [period.grain, period.label, per_unit],
    ))


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
