"""The official reporting cycle (docs/definitions.md §6): period status, due dates, what a file's face says.

A period is **open** until its last day has passed, **provisional** from the next day until it is
issued or its report is due (the due day included: the report may still be sent that day), and
**final** afterwards. It can be issued on any day from the day after its window closes up to and
including its due day (and later, once final): issuing makes it final. Due = the window's last
day + ``DVC_REPORT_DUE_DAYS`` (default 6: the 14th + 6 = the 20th of the window's last month).
The same rule applies to every grain.

"Today" is injectable so tests and backfills are reproducible: an explicit date (``--as-of``),
else ``DVC_AS_OF``, else the local date in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from pipeline import config, periods
from pipeline.db import read_sql, table_exists, transaction

OPEN, PROVISIONAL, FINAL = "open", "provisional", "final"
STATUSES: tuple[str, ...] = (OPEN, PROVISIONAL, FINAL)
PROVISIONAL_MARK = "SỐ LIỆU TẠM TÍNH — chưa chốt"
FINAL_MARK = "SỐ LIỆU ĐÃ CHỐT"
OFFICIAL_MARK = "BẢN CHÍNH THỨC"
# A closed window whose newest case data is older than its last day (docs/definitions.md §6): never
# stamped final; every output says how far its data reaches.
INCOMPLETE_MARK = "SỐ LIỆU CHƯA ĐỦ KỲ"
STATUS_TABLE = "mart.period_status"


def due_date(period: periods.Period, due_days: int | None = None) -> date:
    """The day the period's report is due: its last day + ``due_days`` (configuration)."""
    days = config.report_due_days() if due_days is None else due_days
    return period.end + timedelta(days=days)


def period_status(period: periods.Period, today: date, due_days: int | None = None) -> str:
    """``open`` while today <= last day; ``provisional`` until the due day (inclusive); then ``final``."""
    if today <= period.end:
        return OPEN
    if today <= due_date(period, due_days):
        return PROVISIONAL
    return FINAL


def final_from(period: periods.Period, due_days: int | None = None) -> date:
    """The first day on which the period is final without an issue."""
    return due_date(period, due_days) + timedelta(days=1)


def issuable_from(period: periods.Period) -> date:
    """The first day the period can be issued: the day after its window closes (docs/definitions.md §6)."""
    return period.end + timedelta(days=1)


def issued_status(status: str, issued: bool) -> str:
    """The status of a period that has (or has not) been issued: issuing makes it final."""
    return FINAL if issued and status == PROVISIONAL else status


def issue_refusal(period: periods.Period, today: date, due_days: int | None = None) -> str | None:
    """Why ``period`` cannot be issued on ``today``, in one line; None when it can (closed: from
    the day after its window, through its due day while provisional, and later once final)."""
    if period_status(period, today, due_days) != OPEN:
        return None
    return (f"{period.label} is open on {today} (window {period.start} – {period.end}): a period can be issued "
            f"from the day after its window closes, {issuable_from(period)}, through its due day "
            f"{due_date(period, due_days)} (and later, once final)")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None


# Every time printed on an output is local time in Asia/Ho_Chi_Minh, and says so.
LOCAL_ZONE = ZoneInfo(config.LOCAL_TIMEZONE)
ZONE_NOTE = "giờ Việt Nam, UTC+7"


def local_now() -> datetime:
    """Now, as a naive local time in Asia/Ho_Chi_Minh (whatever the server's clock zone)."""
    return datetime.now(LOCAL_ZONE).replace(tzinfo=None, microsecond=0)


def server_to_local(value: datetime | None) -> datetime | None:
    """A naive time written by the server's clock (Python ``datetime.now()``, DuckDB ``now()``,
    e.g. raw.batches.finished_at, mart.refresh_log.refreshed_at) as naive local time."""
    if value is None:
        return None
    return value.astimezone(LOCAL_ZONE).replace(tzinfo=None)


def local_to_server(value: datetime) -> datetime:
    """The inverse of server_to_local: a naive local time on the server's clock."""
    return value.replace(tzinfo=LOCAL_ZONE).astimezone().replace(tzinfo=None)


def vn_time(value: datetime | None) -> str:
    """``dd/mm/yyyy HH:MM (giờ Việt Nam, UTC+7)`` for a naive local time."""
    return "—" if value is None else f"{value:%d/%m/%Y %H:%M} ({ZONE_NOTE})"


def today_local(explicit: date | None = None) -> date:
    """The run's "today": ``explicit``, else DVC_AS_OF, else the local date in Asia/Ho_Chi_Minh."""
    if explicit is not None:
        return explicit
    injected = config.as_of_override()
    if injected:
        try:
            return parse_day(injected)
        except ValueError:
            raise ValueError(f"{config.ENV_AS_OF} must be a date YYYY-MM-DD, got {injected!r}") from None
    return datetime.now(ZoneInfo(config.LOCAL_TIMEZONE)).date()


@dataclass(frozen=True)
class PeriodState:
    period: periods.Period
    status: str
    due: date
    as_of: date

    @property
    def final_from(self) -> date:
        return self.due + timedelta(days=1)


def period_state(period: periods.Period, today: date, due_days: int | None = None) -> PeriodState:
    return PeriodState(period, period_status(period, today, due_days), due_date(period, due_days), today)


def status_rows(
    windows: Iterable[periods.Period], today: date, due_days: int | None = None
) -> list[tuple[str, str, date, date, date, str, date]]:
    """(grain, label, start, end, due_date, status, as_of) per window: the rows of mart.period_status."""
    out = []
    for w in sorted(set(windows)):
        state = period_state(w, today, due_days)
        out.append((w.grain, w.label, w.start, w.end, state.due, state.status, today))
    return out


# ---------------------------------------------------------------------------------------
# Incomplete windows (docs/definitions.md §6)
# ---------------------------------------------------------------------------------------
def is_incomplete(period: periods.Period, data_as_of: datetime | date | None) -> bool:
    """The window's newest case data (the newest NgayCapNhat) is older than its last day: e.g.
    only January pulled for a quarter ending 14 March. No data at all is incomplete too."""
    if data_as_of is None:
        return True
    day = data_as_of.date() if isinstance(data_as_of, datetime) else data_as_of
    return day < period.end


def reach_text(data_as_of: datetime | date | None) -> str:
    """"số liệu đến ngày dd/mm/yyyy": how far the data reaches, as every output of an
    incomplete window says it."""
    day = data_as_of.date() if isinstance(data_as_of, datetime) else data_as_of
    return f"số liệu đến ngày {_vn(day)}"


def incomplete_refusal(period: periods.Period, data_as_of: datetime | date | None) -> str | None:
    """Why an incomplete window needs an explicit confirmation to be issued; None when complete."""
    if not is_incomplete(period, data_as_of):
        return None
    reach = "no case data" if data_as_of is None else f"the newest case data is of {_iso(data_as_of)}"
    return (f"{period.label} is incomplete: {reach}, the window ends {period.end} ({reach_text(data_as_of)}); "
            "pull the missing data, or issue it as it is with --confirm-incomplete")


def _iso(value: datetime | date) -> str:
    return (value.date() if isinstance(value, datetime) else value).isoformat()


# ---------------------------------------------------------------------------------------
# What a file's first line says
# ---------------------------------------------------------------------------------------
def _vn(day: date | datetime | None) -> str:
    if day is None:
        return "—"
    return vn_time(day) if isinstance(day, datetime) else day.strftime("%d/%m/%Y")


def working_banner(
    state: PeriodState,
    data_as_of: datetime | None,
    *,
    latest_issue: int | None = None,
    issue_file: str | None = None,
    moved_cells: int = 0,
) -> str:
    """The first line of a refreshed (not official) report file of the period. A window whose
    data does not reach its last day says how far it reaches and is never stamped final."""
    p = state.period
    incomplete = is_incomplete(p, data_as_of)
    reach = f"{reach_text(data_as_of)} (chưa đủ kỳ, kỳ đến hết {_vn(p.end)}) · " if incomplete else ""
    if state.status == OPEN:
        return (f"{PROVISIONAL_MARK} · kỳ báo cáo chưa kết thúc (đến hết {_vn(p.end)}) · {reach}"
                f"số liệu tính đến {_vn(data_as_of)} · hạn báo cáo {_vn(state.due)} · trạng thái ngày {_vn(state.as_of)}")
    if state.status == PROVISIONAL:
        return (f"{PROVISIONAL_MARK} · kỳ đã kết thúc, chờ đến hạn báo cáo {_vn(state.due)} · {reach}"
                f"số liệu tính đến {_vn(data_as_of)} · trạng thái ngày {_vn(state.as_of)}")
    if incomplete:
        issued = (f"bản chính thức: lần phát hành {latest_issue}{f' ({issue_file})' if issue_file else ''}"
                  if latest_issue is not None else
                  f"chưa phát hành bản chính thức (cần xác nhận: python -m pipeline issue --period {p.label} "
                  "--confirm-incomplete)")
        return (f"{INCOMPLETE_MARK} — {reach}đã qua hạn báo cáo {_vn(state.due)} · {issued} · "
                f"số liệu tính đến {_vn(data_as_of)}")
    if latest_issue is None:
        return (f"{FINAL_MARK} — kỳ báo cáo đã qua hạn báo cáo {_vn(state.due)}, chưa phát hành bản chính thức "
                f"(python -m pipeline issue --period {p.label}) · số liệu tính đến {_vn(data_as_of)}")
    moved = (f"{moved_cells} ô khác bản chính thức (xem mart.restatements)" if moved_cells
             else "không khác bản chính thức")
    return (f"{FINAL_MARK} — số liệu hiện tại, KHÔNG phải bản chính thức; bản chính thức: lần phát hành "
            f"{latest_issue}{f' ({issue_file})' if issue_file else ''} · {moved} · số liệu tính đến {_vn(data_as_of)}")


def official_banner(
    period: periods.Period, issue: int, issued_at: datetime, data_as_of: datetime | None, content_hash: str
) -> str:
    """The first line of an issued (official, frozen) file; an issue of an incomplete window
    (made with a confirmation) says how far its data reached."""
    replaces = f" · thay thế lần phát hành {issue - 1}, xem trang «Thay đổi»" if issue > 1 else ""
    incomplete = (f" · {INCOMPLETE_MARK}: {reach_text(data_as_of)}, kỳ đến hết {_vn(period.end)} "
                  "(phát hành có xác nhận)" if is_incomplete(period, data_as_of) else "")
    return (f"{OFFICIAL_MARK} — {period.label} — LẦN PHÁT HÀNH {issue} · phát hành {_vn(issued_at)} · "
            f"số liệu tính đến {_vn(data_as_of)}{incomplete} · mã kiểm tra {content_hash[:16]}{replaces}")


# ---------------------------------------------------------------------------------------
# mart.period_status
# ---------------------------------------------------------------------------------------
def ensure_cycle_tables(con: duckdb.DuckDBPyConnection) -> None:
    """mart.period_status, mart.restatements, issued.issues, issued.changes (with COMMENTs)."""
    con.execute(read_sql("ddl/cycle.sql"))


def mart_windows(con: duckdb.DuckDBPyConnection) -> list[periods.Period]:
    """Every window with rows in the marts (any grain)."""
    if not table_exists(con, "mart.level_period_stats"):
        return []
    rows = con.execute(
        "SELECT DISTINCT period_grain, period_label, period_start, period_end FROM mart.level_period_stats"
    ).fetchall()
    return [periods.Period(*r) for r in rows]


def refresh_period_status(con: duckdb.DuckDBPyConnection, today: date, due_days: int | None = None) -> int:
    """Rebuild mart.period_status for every window in the marts, as of ``today`` (one transaction)."""
    ensure_cycle_tables(con)
    rows = status_rows(mart_windows(con), today, due_days)
    with transaction(con):
        con.execute(f"DELETE FROM {STATUS_TABLE}")
        if rows:
            con.executemany(
                f"INSERT INTO {STATUS_TABLE} (period_grain, period_label, period_start, period_end, "
                "due_date, status, as_of) VALUES (?, ?, ?, ?, ?, ?, ?)", rows,
            )
        con.execute(read_sql("cycle/period_status_issues.sql"))
    return len(rows)


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The data's as-of time: the newest NgayCapNhat in core.cases."""
    if not table_exists(con, "core.cases"):
        return None
    return con.execute("SELECT max(updated_at) FROM core.cases").fetchone()[0]
