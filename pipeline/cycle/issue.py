"""Issuing a closed period: frozen rows in schema ``issued``, official files written once, and
``mart.restatements`` (docs/definitions.md §6). A period can be issued from the day after its window
closes through its due day (and later, once final); issuing makes it final.

Issuing copies the period's rows of the marts into ``issued.<table>`` (same columns + issue,
issued_at, data_as_of, content_hash) and registers the issue in ``issued.issues``, all in ONE
transaction: a crash half-way leaves no half issue. The official files
(``bieu_II06a_<label>_issue<n>.xlsx``, ``dashboard_<label>_issue<n>.html``) are then built FROM
THE ISSUED ROWS (a scratch in-memory database holding only them), so they can be rebuilt
identically from the warehouse; each is written once through a temporary file, made read-only
(0440) and linked into place without ever replacing an existing file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipeline import periods, tables
from pipeline.cycle import timeline
from pipeline.db import render_sql, sql_literal, table_columns, table_exists, transaction
from pipeline.output_modes import make_folders
from pipeline.province import province_name

log = logging.getLogger(__name__)

ISSUE_COLUMNS: dict[str, str] = {
    "issue": "Issue number (issued.issues): 1 for the first official issue, 2, 3 … for corrected issues.",
    "issued_at": "When the issue was committed (local time, Asia/Ho_Chi_Minh).",
    "data_as_of": "The data's as-of time when issued: the newest NgayCapNhat in core.cases.",
    "content_hash": "SHA-256 over the issue's rows of every issued table (same for every row of the issue).",
}
PERIOD_TAG_COLUMNS: dict[str, str] = {
    "period_grain": "Grain of the issued window this row belongs to.",
    "period_label": "Label of the issued window this row belongs to (the target rows of its report year).",
}
READ_ONLY_MODE = 0o440
# Writes an issue's official files (con, period, issue, folder) -> their paths.
IssueFileWriter = Callable[[duckdb.DuckDBPyConnection, periods.Period, int, Path], list[Path]]


@dataclass(frozen=True)
class IssuedTable:
    """A mart table whose rows of a period are frozen when it is issued."""

    source: str  # mart.<table>
    keys: tuple[str, ...]  # a row's key within one window
    optional: bool = False  # copied only when present (tables added after the cycle was built)

    @property
    def table(self) -> str:
        return self.source.split(".")[1]

    @property
    def issued(self) -> str:
        return f"issued.{self.table}"


# Each table's FULL row key within one window (docs/definitions.md §6: rows are matched on their
# full key), from the table registry. A partial key (e.g. the roll-up level without its province)
# pairs rows of different provinces and reports every cell of them as moved. Keys may be NULL (the
# roll-up of unknown codes has no province): they are matched with IS NOT DISTINCT FROM.
ISSUED_TABLES: tuple[IssuedTable, ...] = tuple(
    IssuedTable(t.name, t.window_key, optional=t.issued_optional) for t in tables.issued()
)
# A rate (or any floating value) moved only when it differs by more than rounding (docs/definitions.md
# §6: 1e-9); relative to the value's size above 1 (day sums), since summing the same cases in
# another order changes the last bits. Counts are compared exactly.
FLOAT_TOLERANCE = 1e-9


class IssueRefused(ValueError):
    """The period cannot be issued (not final yet, or no mart rows)."""


@dataclass(frozen=True)
class IssueOutcome:
    period: periods.Period
    action: str  # issued | already_issued | unchanged
    issue: int
    status: str
    content_hash: str
    message: str
    files: list[Path] = field(default_factory=list)
    cells_changed: int | None = None


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------
def _by_year(source_columns: list[str]) -> bool:
    """Target rows are per year (no window columns): tagged with the issued window."""
    return "period_label" not in source_columns


def present_tables(con: duckdb.DuckDBPyConnection) -> list[IssuedTable]:
    """The issued tables whose mart exists (a required one missing is an error)."""
    out = []
    for spec in ISSUED_TABLES:
        if table_exists(con, spec.source):
            out.append(spec)
        elif not spec.optional:
            raise IssueRefused(f"{spec.source} does not exist: refresh the marts first")
    return out


def ensure_issued_tables(con: duckdb.DuckDBPyConnection) -> None:
    """issued.<table> for every mart present, typed from the mart (+ issue columns), commented;
    columns a mart gained since are added (NULL in older issues)."""
    timeline.ensure_cycle_tables(con)
    for spec in ISSUED_TABLES:
        source = table_columns(con, spec.source)
        if not source:
            continue
        names = [c for c, _, _ in source]
        tag = PERIOD_TAG_COLUMNS if _by_year(names) else {}
        wanted = [(c, "VARCHAR", doc) for c, doc in tag.items()] + source + [
            (c, t, ISSUE_COLUMNS[c]) for c, t in
            (("issue", "INTEGER"), ("issued_at", "TIMESTAMP"), ("data_as_of", "TIMESTAMP"), ("content_hash", "VARCHAR"))
        ]
        have = {c for c, _, _ in table_columns(con, spec.issued)}
        if not have:
            cols = ", ".join(f'"{c}" {t}' for c, t, _ in wanted)
            con.execute(f"CREATE TABLE {spec.issued} ({cols})")
            table_doc = con.execute(
                "SELECT coalesce(comment, '') FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'mart' AND table_name = ?", [spec.table],
            ).fetchone()[0]
            con.execute(
                f"COMMENT ON TABLE {spec.issued} IS "
                + sql_literal(f"The rows of {spec.source} as officially issued, one set per (window, issue); never "
                       f"changed after the issue. {table_doc}".strip())
            )
        for column, dtype, doc in wanted:
            if column not in have:
                if have:
                    con.execute(f'ALTER TABLE {spec.issued} ADD COLUMN "{column}" {dtype}')
                if doc:
                    con.execute(f'COMMENT ON COLUMN {spec.issued}."{column}" IS {sql_literal(doc)}')


def _period_filter(spec_columns: list[str], period: periods.Period) -> tuple[str, list]:
    if _by_year(spec_columns):
        return "year = ?", [periods.report_year(period)]
    return "period_grain = ? AND period_label = ?", [period.grain, period.label]


def _source_select(con: duckdb.DuckDBPyConnection, spec: IssuedTable, period: periods.Period) -> tuple[str, list]:
    names = [c for c, _, _ in table_columns(con, spec.source)]
    where, params = _period_filter(names, period)
    cols = ", ".join(f'"{c}"' for c in names)
    order = ", ".join(f'"{k}"' for k in spec.keys)
    return f"SELECT {cols} FROM {spec.source} WHERE {where} ORDER BY {order}", params


def content_hash(con: duckdb.DuckDBPyConnection, period: periods.Period, tables: list[IssuedTable]) -> str:
    """SHA-256 over the period's rows of every table, row text sorted: equal hash = equal rows."""
    digest = hashlib.sha256()
    for spec in tables:
        select, params = _source_select(con, spec, period)
        part = con.execute(
            f"SELECT count(*), coalesce(sha256(string_agg(CAST(r AS VARCHAR), chr(10) ORDER BY CAST(r AS VARCHAR))), '') "
            f"FROM ({select}) r",
            params,
        ).fetchone()
        digest.update(f"{spec.table}:{part[0]}:{part[1]}\n".encode())
    return digest.hexdigest()


def _copy_table(
    con: duckdb.DuckDBPyConnection, spec: IssuedTable, period: periods.Period, meta: dict
) -> int:
    """Insert the period's rows of one mart into its issued table (inside the caller's transaction)."""
    select, params = _source_select(con, spec, period)
    tag = ""
    if _by_year([c for c, _, _ in table_columns(con, spec.source)]):
        tag = f"{sql_literal(period.grain)} AS period_grain, {sql_literal(period.label)} AS period_label, "
    con.execute(
        f"INSERT INTO {spec.issued} BY NAME SELECT {tag}s.*, ? AS issue, ? AS issued_at, ? AS data_as_of, "
        f"? AS content_hash FROM ({select}) s",
        [meta["issue"], meta["issued_at"], meta["data_as_of"], meta["content_hash"], *params],
    )
    return con.execute(
        f"SELECT count(*) FROM {spec.issued} WHERE period_grain = ? AND period_label = ? AND issue = ?",
        [period.grain, period.label, meta["issue"]],
    ).fetchone()[0]


# ---------------------------------------------------------------------------------------
# Restatements
# ---------------------------------------------------------------------------------------
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "BOOLEAN")
_FLOATING = ("FLOAT", "DOUBLE", "REAL")


def _value_columns(columns: list[tuple[str, str, str]], keys: tuple[str, ...]) -> list[str]:
    skip = set(keys) | {"issue", "year"}
    return [c for c, t, _ in columns if c not in skip and (t in _NUMERIC or t.startswith("DECIMAL"))]


def _restatement_select(con: duckdb.DuckDBPyConnection, spec: IssuedTable) -> str | None:
    current = table_columns(con, spec.source)
    issued = {c for c, _, _ in table_columns(con, spec.issued)}
    if not current or not issued:
        return None
    names = [c for c, _, _ in current]
    types = {c: t for c, t, _ in current}
    values = [c for c in _value_columns(current, spec.keys) if c in issued]
    if not values or not all(k in issued and k in types for k in spec.keys):
        return None
    cells = "[" + ", ".join(
        f"{{'column': {sql_literal(c)}, 'issued': i.\"{c}\"::DOUBLE, 'current': c.\"{c}\"::DOUBLE, "
        f"'tolerance': {FLOAT_TOLERANCE if types[c] in _FLOATING else 0.0}::DOUBLE}}"
        for c in values
    ) + "]"
    # The key as the clerk reads it; an empty key part (no province) shows as "—".
    key_text = "concat_ws(' / ', " + ", ".join(
        f"coalesce(i.\"{k}\", c.\"{k}\")::VARCHAR" if k != "province_code"
        else f"coalesce(i.\"{k}\", c.\"{k}\", '—')::VARCHAR" for k in spec.keys
    ) + ")"
    join = " AND ".join(
        ["i.period_grain = c.issue_grain", "i.period_label = c.issue_label"]
        + [f'i."{k}" IS NOT DISTINCT FROM c."{k}"' for k in spec.keys]
    )
    by_year = _by_year(names)
    if by_year:
        window = "m.year = CAST(regexp_extract(l.period_label, '[0-9]{4}') AS INTEGER)"
        # A report shows the target rows judged as of its own period (year to date; the year's
        # own row is the verdict): those are compared. The year's other as-of rows move by
        # design while the year runs and are not part of this issue's numbers.
        compared = "x.as_of_period = x.period_label"
        compared_current = "m.as_of_period = l.period_label"
    else:
        window = "m.period_grain = l.period_grain AND m.period_label = l.period_label"
        compared = compared_current = "TRUE"

    def either(column: str) -> str:
        return f'coalesce(i."{column}", c."{column}")' if column in names else "NULL::VARCHAR"

    return render_sql(
        "cycle/restatement_cells.sql",
        issued=spec.issued, current=spec.source, join=join, window=window,
        compared_current=compared_current, compared=compared, key_text=key_text,
        unit_code=either("unit_code"), unit_level=either("unit_level"),
        province_code=either("province_code"), cells=cells, table_name=spec.table,
    )


def refresh_restatements(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild mart.restatements: every moved cell of every issued window's latest issue."""
    ensure_issued_tables(con)
    selects = [s for s in (_restatement_select(con, spec) for spec in ISSUED_TABLES) if s]
    with transaction(con):
        con.execute("DELETE FROM mart.restatements")
        for select in selects:
            con.execute(f"INSERT INTO mart.restatements BY NAME {select}")
    return con.execute("SELECT count(*) FROM mart.restatements").fetchone()[0]


@dataclass(frozen=True)
class Moved:
    period_grain: str
    period_label: str
    issue: int
    cells: int


def moved_periods(con: duckdb.DuckDBPyConnection) -> list[Moved]:
    """Issued windows whose numbers moved since their latest issue, with the cell counts."""
    if not table_exists(con, "mart.restatements"):
        return []
    return [Moved(*r) for r in con.execute(
        "SELECT period_grain, period_label, issue, count(*) FROM mart.restatements "
        "GROUP BY period_grain, period_label, issue ORDER BY period_grain, period_label"
    ).fetchall()]


# ---------------------------------------------------------------------------------------
# Issues
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssueRecord:
    issue: int
    issued_at: datetime
    data_as_of: datetime | None
    content_hash: str
    xlsx_file: str
    dashboard_file: str
    province_name: str | None
    cells_changed: int | None
    reason: str


def issue_record(con: duckdb.DuckDBPyConnection, period: periods.Period, issue: int | None = None) -> IssueRecord | None:
    """The given issue of a window, or its latest; None when never issued."""
    if not table_exists(con, "issued.issues"):
        return None
    row = con.execute(
        "SELECT issue, issued_at, data_as_of, content_hash, xlsx_file, dashboard_file, province_name, "
        "cells_changed, reason FROM issued.issues WHERE period_grain = ? AND period_label = ? "
        "AND (? IS NULL OR issue = ?) ORDER BY issue DESC LIMIT 1",
        [period.grain, period.label, issue, issue],
    ).fetchone()
    return IssueRecord(*row) if row else None


def issued_file_names(period: periods.Period, issue: int) -> tuple[str, str]:
    return f"bieu_II06a_{period.label}_issue{issue}.xlsx", f"dashboard_{period.label}_issue{issue}.html"


def issue_period(
    con: duckdb.DuckDBPyConnection,
    period: periods.Period,
    *,
    now: datetime | None = None,
    as_of: date | None = None,
    reissue: bool = False,
    out_dir: Path,
    write_files: IssueFileWriter,
    due_days: int | None = None,
    confirm_incomplete: bool = False,
) -> IssueOutcome:
    """Issue a closed window (see the module doc): provisional (from the day after its window
    closes through its due day; issuing makes it final) or final. ``as_of`` is the run's
    "today"; ``now`` the issue time (default: the clock). A window whose data does not reach
    its last day is issued only with ``confirm_incomplete`` (recorded in issued.issues).
    ``write_files``: writes the issue's official files from its issued rows and returns their
    paths (reports.issue_files.write_issue_files; passed in, the cycle does not import reports)."""
    as_of = as_of or timeline.today_local()
    state = timeline.period_state(period, as_of, due_days)
    refusal = timeline.issue_refusal(period, as_of, due_days)
    if refusal:
        raise IssueRefused(refusal)
    tables = present_tables(con)
    has_rows = con.execute(
        "SELECT count(*) FROM mart.level_period_stats WHERE period_grain = ? AND period_label = ?",
        [period.grain, period.label],
    ).fetchone()[0]
    if not has_rows:
        raise IssueRefused(f"the marts have no rows for {period.label}: refresh them before issuing")
    ensure_issued_tables(con)
    latest = issue_record(con, period)
    if latest is not None and not reissue:
        files = write_files(con, period, latest.issue, out_dir)
        return IssueOutcome(period, "already_issued", latest.issue, timeline.FINAL, latest.content_hash,
                            f"{period.label} is already issued (issue {latest.issue}, {latest.issued_at:%Y-%m-%d %H:%M}); "
                            "nothing written (use --reissue for a corrected issue)", files)
    digest = content_hash(con, period, tables)
    changed = None
    if latest is not None:
        # A corrected issue only when cells moved (mart.restatements, the same rule analysts see:
        # a quarter's year-to-date target figures move by design and do not count).
        refresh_restatements(con)
        changed = con.execute(
            "SELECT count(*) FROM mart.restatements WHERE period_grain = ? AND period_label = ? AND issue = ?",
            [period.grain, period.label, latest.issue],
        ).fetchone()[0]
        if not changed:
            files = write_files(con, period, latest.issue, out_dir)
            return IssueOutcome(period, "unchanged", latest.issue, timeline.FINAL, latest.content_hash,
                                f"{period.label}: no cell moved since issue {latest.issue} (mart.restatements is "
                                "empty for it); no new issue", files, 0)
    as_of_data = timeline.data_as_of(con)
    incomplete = timeline.incomplete_refusal(period, as_of_data)
    if incomplete and not confirm_incomplete:
        raise IssueRefused(incomplete)
    number = latest.issue + 1 if latest else 1
    issued_at = (now or timeline.local_now()).replace(microsecond=0)  # local time, as every output shows
    xlsx_file, html_file = issued_file_names(period, number)
    meta = {"issue": number, "issued_at": issued_at, "data_as_of": as_of_data, "content_hash": digest}
    if latest is None:
        reason = (f"first official issue of {period.label} (final since {state.final_from})"
                  if state.status == timeline.FINAL else
                  f"first official issue of {period.label}, on {as_of} (report due {state.due}): final from this issue")
    else:
        reason = (f"corrected issue on request: data that arrived after issue {latest.issue} "
                  f"({latest.issued_at:%Y-%m-%d %H:%M}) changed {changed} cells")
    if incomplete:
        reason += f"; issued incomplete on confirmation ({timeline.reach_text(as_of_data)})"
    with transaction(con):
        for spec in tables:
            _copy_table(con, spec, period, meta)
        if latest is not None:
            con.execute(
                "INSERT INTO issued.changes BY NAME SELECT period_grain, period_label, ? AS issue, "
                "issue AS previous_issue, table_name, row_key, unit_code, unit_level, province_code, column_name, "
                "issued_value AS previous_value, current_value AS new_value, difference "
                "FROM mart.restatements WHERE period_grain = ? AND period_label = ? AND issue = ?",
                [number, period.grain, period.label, latest.issue],
            )
        con.execute(
            "INSERT INTO issued.issues (period_grain, period_label, period_start, period_end, issue, issued_at, "
            "data_as_of, as_of, due_date, content_hash, previous_issue, cells_changed, reason, province_name, "
            "xlsx_file, dashboard_file, confirmed_incomplete) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [period.grain, period.label, period.start, period.end, number, issued_at, as_of_data, as_of,
             state.due, digest, latest.issue if latest else None, changed, reason, province_name(con),
             xlsx_file, html_file, bool(incomplete)],
        )
    log.info("issued %s issue %d (%s)", period.label, number, digest[:16])
    files = write_files(con, period, number, out_dir)
    refresh_restatements(con)
    timeline.refresh_period_status(con, as_of, due_days)
    return IssueOutcome(period, "issued", number, timeline.FINAL, digest,
                        f"{period.label}: issue {number} written ({reason})", files, changed)


# ---------------------------------------------------------------------------------------
# Files, from the issued rows
# ---------------------------------------------------------------------------------------
def write_once(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file, make it read-only and link it into place; an existing
    file is never replaced (FileExistsError)."""
    make_folders(path.parent)
    if path.exists():
        raise FileExistsError(f"{path} exists: issued files are never overwritten")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.chmod(tmp, READ_ONLY_MODE)
        os.link(tmp, path)  # atomic, and fails if the name exists (no silent replace)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _copy_into(scratch: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, table: str, sql: str,
               params: list) -> None:
    reader = con.cursor()  # its own result set: the caller's connection may hold an unfinished one
    try:
        data = reader.sql(sql, params=params).to_arrow_table()
    finally:
        reader.close()
    scratch.register("incoming", data)
    try:
        scratch.execute(f"CREATE TABLE {table} AS SELECT * FROM incoming")
    finally:
        scratch.unregister("incoming")


def issue_scratch(con: duckdb.DuckDBPyConnection, period: periods.Period, issue: int) -> duckdb.DuckDBPyConnection:
    """An in-memory database whose mart tables hold only issued rows: the issue's own rows, and
    for the dashboard's trend the other windows' issues made before it."""
    record = issue_record(con, period, issue)
    if record is None:
        raise IssueRefused(f"{period.label} has no issue {issue}")
    scratch = duckdb.connect(":memory:")
    for schema in ("mart", "core", "quality"):
        scratch.execute(f"CREATE SCHEMA {schema}")
    this = "period_grain = ? AND period_label = ? AND issue = ?"
    key = [period.grain, period.label, issue]
    _copy_into(scratch, con, "mart.unit_period_stats", f"SELECT * FROM issued.unit_period_stats WHERE {this}", key)
    _copy_into(scratch, con, "mart.target_attainment", f"SELECT * FROM issued.target_attainment WHERE {this}", key)
    _copy_into(
        scratch, con, "mart.level_period_stats",
        """
        SELECT s.* FROM issued.level_period_stats s
        WHERE (s.period_grain = ? AND s.period_label = ? AND s.issue = ?)
           OR (NOT (s.period_grain = ? AND s.period_label = ?)
               AND s.issue = (SELECT max(j.issue) FROM issued.issues j
                              WHERE j.period_grain = s.period_grain AND j.period_label = s.period_label
                                AND j.issued_at <= ?))
        """,
        [*key, period.grain, period.label, record.issued_at],
    )
    if table_exists(con, "raw.batches"):
        _copy_into(scratch, con, "quality.batches",
                   "SELECT * FROM raw.batches WHERE finished_at <= ?",  # the server's clock
                   [timeline.local_to_server(record.issued_at)])
    for spec in ISSUED_TABLES:  # the drill-down rows of the issue, when it has them
        if spec.optional and table_exists(con, spec.issued):
            _copy_into(scratch, con, spec.source, f"SELECT * FROM {spec.issued} WHERE {this}", key)
    # Names, levels and reorganisations: the reference lists as loaded (not numbers of the issue).
    for table in ("core.units", "core.unit_crosswalk", "core.procedures"):
        if table_exists(con, table):
            _copy_into(scratch, con, table, f"SELECT * FROM {table}", [])
    if not table_exists(scratch, "core.units"):
        scratch.execute("CREATE TABLE core.units (unit_code VARCHAR, unit_name VARCHAR, unit_level VARCHAR)")
        if record.province_name:
            scratch.execute("INSERT INTO core.units VALUES ('province', ?, 'province')", [record.province_name])
    return scratch


def change_rows(con: duckdb.DuckDBPyConnection, period: periods.Period, issue: int) -> list[dict]:
    """The cells issue ``issue`` changed (issued.changes), as dicts."""
    cur = con.execute(
        "SELECT table_name, row_key, unit_code, unit_level, province_code, column_name, previous_value, "
        "new_value, difference FROM issued.changes WHERE period_grain = ? AND period_label = ? AND issue = ? "
        "ORDER BY table_name, row_key, column_name",
        [period.grain, period.label, issue],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


# ---------------------------------------------------------------------------------------
# What the schedule issues, and what a refreshed (not official) file says
# ---------------------------------------------------------------------------------------
ISSUE_GRAINS: tuple[str, ...] = ("quarter", "half", "year")


def periods_to_issue(
    con: duckdb.DuckDBPyConnection, today: date, grains: tuple[str, ...] = ISSUE_GRAINS, due_days: int | None = None
) -> list[periods.Period]:
    """Windows in the marts (of ``grains``) that were never issued and are due on ``today`` or
    final: the schedule issues each report on its due day at the latest (docs/definitions.md §6)."""
    issued = set()
    if table_exists(con, "issued.issues"):
        issued = {tuple(r) for r in con.execute("SELECT DISTINCT period_grain, period_label FROM issued.issues").fetchall()}
    return [
        w for w in sorted(timeline.mart_windows(con))
        if w.grain in grains and (w.grain, w.label) not in issued
        and today >= timeline.due_date(w, due_days)
    ]


def working_banner(con: duckdb.DuckDBPyConnection, period: periods.Period, today: date) -> str:
    """The status line of a refreshed report of ``period`` (provisional, final, or final with an
    official issue elsewhere and how many cells moved since)."""
    state = timeline.period_state(period, today)
    latest = issue_record(con, period) if state.status != timeline.OPEN else None
    if latest is not None:  # issued before its due day: final from that issue
        state = replace(state, status=timeline.FINAL)
    moved = 0
    if latest is not None:
        moved = next((m.cells for m in moved_periods(con)
                      if (m.period_grain, m.period_label) == (period.grain, period.label)), 0)
    text = timeline.working_banner(
        state, timeline.data_as_of(con),
        latest_issue=latest.issue if latest else None,
        issue_file=latest.xlsx_file if latest else None,
        moved_cells=moved,
    )
    others = [m for m in moved_periods(con) if (m.period_grain, m.period_label) != (period.grain, period.label)]
    if others:
        listed = ", ".join(f"{m.period_label} ({m.cells} ô)" for m in others[:6])
        text += f"\n{len(others)} kỳ đã phát hành khác có số liệu thay đổi so với bản chính thức: {listed}"
    return text
