"""Reference lists as an input of the marts, like the cases (docs/definitions.md §4).

The marts depend on the lists through a few date-keyed functions: the unit calendar and the
crosswalk resolution as of a window's last day E (§4.2), the targets of a year (§4.4), the
procedure catalogue (every case's field and eligibility, §5) and the cut-off day (§1). A
snapshot of those, one row per item and span of days, is kept as last applied to the marts
(``mart.reference_applied``); the next run compares the lists of now with it and refreshes
exactly the windows whose numbers or names a change can move:

- calendar / crosswalk: every window whose last day falls on a day whose name, level, parent,
  province or resolved unit changed (so a rename shows in the rows that show the unit, a
  re-pointed crosswalk row re-attributes every window from its valid_from on);
- targets: every window of the target's year (and of every year a changed target unit, or a
  changed day inside the year, can move);
- procedures or the cut-off day: every window with data;
- any other edit of the files (a note, an extra column): the latest quarter with data, so
  core.* and the analyst copy show the new lists.

A refresh stores the snapshot it read as a candidate when it starts; it becomes the applied one
only when the refresh completes and covered everything pending (mart.refresh_log), so a failed
or killed run leaves the change pending.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline import config, periods
from pipeline.db import table_exists, transaction
from pipeline.ingest import reference
from pipeline.ingest.reference import FIRST_DAY, LAST_DAY

APPLIED_TABLE = "mart.reference_applied"
CANDIDATE_TABLE = "mart.reference_candidate"
FILES = ("units.csv", "unit_crosswalk.csv", "targets.csv", "procedures.csv")
# The lists whose items are functions of the day (E): a change moves the windows ending on it.
DAY_KEYED = ("calendar", "resolution")

_COLUMNS = (("list_name", pa.string()), ("item", pa.string()), ("from_day", pa.date32()),
            ("to_day", pa.date32()), ("value", pa.string()))
# (list_name, item, from_day, to_day, value)
SnapshotRow = tuple[str, str, date, date, str]


@dataclass(frozen=True)
class ReferenceChange:
    """What changed in the lists since the marts were last built on them."""

    lists: tuple[str, ...] = ()  # changed lists, for the message (file names and settings)
    everything: bool = False  # every window with data (procedures, cut-off day, no record)
    days: tuple[tuple[date, date], ...] = ()  # spans of days E on which attribution/names changed
    target_years: frozenset[int] = field(default_factory=frozenset)

    @property
    def changed(self) -> bool:
        return bool(self.lists) or self.everything


def _raw_rows(path: Path) -> list[dict[str, str]]:
    return [r for _, r in reference._read(path, ())]


def snapshot(seeds_dir: Path | None = None, cutoff_day: int | None = None) -> list[SnapshotRow]:
    """The lists of now as snapshot rows (validated first: a bad list raises ReferenceDataError)."""
    folder = (seeds_dir or config.seeds_dir()).resolve()
    cutoff = cutoff_day or config.cutoff_day()
    ref = reference.validate_reference(folder, cutoff)
    rows: list[SnapshotRow] = [("settings", "cutoff_day", FIRST_DAY, LAST_DAY, str(cutoff))]
    for name in FILES:
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        rows.append(("file", name, FIRST_DAY, LAST_DAY, digest))
    for c in ref.calendar:
        value = json.dumps([c.unit_name, c.unit_level, c.parent_code, c.province_code], ensure_ascii=False)
        rows.append(("calendar", c.unit_code, c.from_day, c.to_day, value))
    for r in ref.resolution:
        rows.append(("resolution", r.unit_code, r.from_day, r.to_day, r.resolved_code))
    targets: dict[str, list[str]] = {}
    for raw in _raw_rows(folder / "targets.csv"):
        key = "|".join((raw.get("unit_code", ""), raw.get("year", ""), raw.get("metric", "")))
        targets.setdefault(key, []).append(json.dumps(raw, sort_keys=True, ensure_ascii=False))
    for key, values in targets.items():
        window = periods.parse_label(key.split("|")[1], cutoff)
        rows.append(("targets", key, window.start, window.end, json.dumps(sorted(values), ensure_ascii=False)))
    procedures: dict[str, list[str]] = {}
    for raw in _raw_rows(folder / "procedures.csv"):
        procedures.setdefault(raw.get("procedure_code", ""), []).append(
            json.dumps(raw, sort_keys=True, ensure_ascii=False))
    for code, values in procedures.items():
        rows.append(("procedures", code, FIRST_DAY, LAST_DAY, json.dumps(sorted(values), ensure_ascii=False)))
    return rows


def _value_changes(old: Sequence[SnapshotRow], new: Sequence[SnapshotRow]) -> list[tuple[date, date]]:
    """Spans of days on which one item's value (a piecewise function of the day) differs."""
    bounds = {FIRST_DAY}
    for _, _, start, end, _ in (*old, *new):
        bounds.add(start)
        if end < LAST_DAY:
            bounds.add(end + timedelta(days=1))
    starts = sorted(bounds)
    ends = [s - timedelta(days=1) for s in starts[1:]] + [LAST_DAY]

    def value_at(rows: Sequence[SnapshotRow], day: date) -> str | None:
        return next((r[4] for r in rows if r[2] <= day <= r[3]), None)

    spans: list[tuple[date, date]] = []
    for start, end in zip(starts, ends, strict=True):
        if value_at(old, start) != value_at(new, start):
            if spans and (start - spans[-1][1]).days == 1:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


def _union(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if out and (start - out[-1][1]).days <= 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _by_item(rows: Iterable[SnapshotRow], list_name: str) -> dict[str, list[SnapshotRow]]:
    out: dict[str, list[SnapshotRow]] = {}
    for row in rows:
        if row[0] == list_name:
            out.setdefault(row[1], []).append(row)
    return out


def diff(applied: Sequence[SnapshotRow] | None, current: Sequence[SnapshotRow]) -> ReferenceChange:
    """What a change from ``applied`` (None: never recorded) to ``current`` can move (pure)."""
    if not applied:
        return ReferenceChange(lists=("no record of the lists the marts were built on",), everything=True)
    lists: list[str] = []
    old_files = {r[1]: r[4] for r in applied if r[0] == "file"}
    lists += [name for name in FILES if old_files.get(name) != next(r[4] for r in current if r[:2] == ("file", name))]
    settings = {r[1]: r[4] for r in applied if r[0] == "settings"} != {r[1]: r[4] for r in current if r[0] == "settings"}
    if settings:
        lists.append("DVC_CUTOFF_DAY")
    procedures = _by_item(applied, "procedures") != _by_item(current, "procedures")
    days: list[tuple[date, date]] = []
    changed_units: set[str] = set()
    for list_name in DAY_KEYED:
        old, new = _by_item(applied, list_name), _by_item(current, list_name)
        for item in sorted(set(old) | set(new)):
            spans = _value_changes(old.get(item, []), new.get(item, []))
            if spans:
                days += spans
                changed_units.add(item)
    old_targets, new_targets = _by_item(applied, "targets"), _by_item(current, "targets")
    target_years = {int(key.split("|")[1]) for key in set(old_targets) | set(new_targets)
                    if old_targets.get(key) != new_targets.get(key)}
    # A target unit's name/level/lifetime feeds every one of its years' rows (§4.4), and a
    # changed day inside a target year can be some unit's partial-window end there.
    for key in set(old_targets) | set(new_targets):
        unit, year, _ = key.split("|")
        window = periods.parse_label(year, next(int(r[4]) for r in current if r[:2] == ("settings", "cutoff_day")))
        if unit in changed_units or any(a <= window.end and b >= window.start for a, b in days):
            target_years.add(int(year))
    days = _union(days)
    if (days or target_years or procedures or settings) and not lists:
        lists.append("reference lists")
    return ReferenceChange(
        lists=tuple(lists), everything=procedures or settings, days=tuple(days), target_years=frozenset(target_years)
    )


def affected_quarters(
    change: ReferenceChange, data_quarters: Sequence[periods.Period], cutoff_day: int | None = None
) -> list[periods.Period]:
    """The quarters (of those with data) whose refresh applies ``change``: refreshing a quarter
    recomputes every window overlapping it (periods.windows_of_quarters)."""
    if not change.changed or not data_quarters:
        return []
    if change.everything:
        return list(data_quarters)
    cutoff = cutoff_day or config.cutoff_day()
    years = [periods.parse_label(str(y), cutoff) for y in sorted(change.target_years)]
    out = []
    for quarter in data_quarters:
        ends = [w.end for w in periods.windows_of_quarters([quarter], cutoff)]
        if (any(a <= e <= b for e in ends for a, b in change.days)
                or any(y.start <= quarter.end and y.end >= quarter.start for y in years)):
            out.append(quarter)
    # A change that moves no window (a note, an unused column): reload core.* and republish
    # the analyst copy with the latest quarter.
    return out or [data_quarters[-1]]


def applied_snapshot(con: duckdb.DuckDBPyConnection) -> list[SnapshotRow] | None:
    """The snapshot the marts were last completely built on (None: no record). Read-only safe."""
    if not table_exists(con, APPLIED_TABLE):
        return None
    rows = con.execute(f"SELECT list_name, item, from_day, to_day, value FROM {APPLIED_TABLE}").fetchall()
    return [tuple(r) for r in rows] or None


def pending_change(con: duckdb.DuckDBPyConnection) -> ReferenceChange:
    """The lists of now against those the marts were built on. Read-only safe."""
    return diff(applied_snapshot(con), snapshot())


def record_candidate(con: duckdb.DuckDBPyConnection, refresh_id: str) -> None:
    """The lists a refresh starting now reads (applied by ``apply_candidate`` once it completes)."""
    rows = snapshot()
    table = pa.table({
        "refresh_id": pa.array([refresh_id] * len(rows), pa.string()),
        **{name: pa.array([r[i] for r in rows], kind) for i, (name, kind) in enumerate(_COLUMNS)},
    })
    con.execute(f"DELETE FROM {CANDIDATE_TABLE}")  # one writer: older candidates were never completed
    con.register("_reference_candidate_rows", table)  # one INSERT (executemany costs ms a row)
    try:
        con.execute(f"INSERT INTO {CANDIDATE_TABLE} BY NAME SELECT * FROM _reference_candidate_rows")
    finally:
        con.unregister("_reference_candidate_rows")


def apply_candidate(con: duckdb.DuckDBPyConnection, refresh_id: str, *, covered: bool) -> None:
    """A refresh completed: when it covered every pending change, its lists are now the applied ones."""
    with transaction(con):
        if covered and con.execute(
            f"SELECT count(*) FROM {CANDIDATE_TABLE} WHERE refresh_id = ?", [refresh_id]
        ).fetchone()[0]:
            con.execute(f"DELETE FROM {APPLIED_TABLE}")
            con.execute(
                f"INSERT INTO {APPLIED_TABLE} SELECT list_name, item, from_day, to_day, value "
                f"FROM {CANDIDATE_TABLE} WHERE refresh_id = ?", [refresh_id]
            )
        con.execute(f"DELETE FROM {CANDIDATE_TABLE} WHERE refresh_id = ?", [refresh_id])
