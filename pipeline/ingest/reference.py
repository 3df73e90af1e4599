"""Reference data: units, crosswalk, targets and procedures, loaded from seeds/ (or DVC_SEEDS_DIR).

Loading validates the files first (docs/definitions.md §4.1) and fails with a ReferenceDataError that
names the file, the row (header = row 1) and the problem. It then derives two small date-keyed
tables that the marts' attribution step (docs/definitions.md §4.2) joins on a period's last day E:

- core.unit_calendar: per unit code and span of days, the row in force (name, level, parent)
  and the unit's province (ancestor of level ``province`` through the rows in force);
- core.unit_resolution: per unit code and span of days, the unit its cases count under after
  following the primary crosswalk chain as of that day (only codes that move).

Both are pure functions of the reference rows (``unit_calendar`` / ``crosswalk_resolution``).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline import config, periods
from pipeline.db import render_sql, transaction
from pipeline.index766 import COMPUTED_INDICATORS, Rule
from pipeline.metrics import FRACTION_RATES

# Open ends of the derived tables (so joins need no NULL handling).
FIRST_DAY = date(1, 1, 1)
LAST_DAY = date(9999, 12, 31)
UNIT_LEVELS = ("province", "province_department", "district", "commune")
# Besides the unit mart's fraction rates, the §5 eligible-procedure rate the drill-down adds.
EXTRA_TARGET_METRICS = ("full_process_online_eligible_rate",)


class ReferenceDataError(ValueError):
    """A reference file is inconsistent; the message names the file, row(s) and problem."""


@dataclass(frozen=True)
class UnitRow:
    row: int  # line in units.csv (header = 1)
    unit_code: str
    unit_name: str
    unit_level: str
    parent_code: str | None
    valid_from: date | None
    valid_to: date | None

    def in_force(self, day: date) -> bool:
        return (self.valid_from or FIRST_DAY) <= day <= (self.valid_to or LAST_DAY)


@dataclass(frozen=True)
class CrosswalkRow:
    row: int
    old_unit_code: str
    new_unit_code: str
    valid_from: date
    is_primary: bool


@dataclass(frozen=True)
class TargetRow:
    row: int
    unit_code: str
    year: int
    metric: str
    target_rate: float | None


@dataclass(frozen=True)
class CalendarRow:
    """Unit ``unit_code`` is described by these values on every day from_day..to_day."""

    unit_code: str
    from_day: date
    to_day: date
    unit_name: str
    unit_level: str
    parent_code: str | None
    province_code: str | None


@dataclass(frozen=True)
class ResolutionRow:
    """On every day E in from_day..to_day, cases recorded under unit_code count under resolved_code."""

    unit_code: str
    from_day: date
    to_day: date
    resolved_code: str


# ---------------------------------------------------------------------------------------
# Reading and validating the CSV files
# ---------------------------------------------------------------------------------------
def _read(path: Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    if not path.exists():
        raise ReferenceDataError(f"{path.name}: file not found in {path.parent}")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceDataError(f"{path.name}: missing column(s) {', '.join(missing)}")
        return [(i, {k: (v or "").strip() for k, v in r.items() if k is not None})
                for i, r in enumerate(reader, start=2)]


def _date(file: str, row: int, column: str, raw: str, *, required: bool = False) -> date | None:
    if not raw:
        if required:
            raise ReferenceDataError(f"{file} row {row}: {column} is empty")
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad_date(file, row, column, raw)
    except ValueError:
        return _bad_date(file, row, column, raw)


def _bad_date(file: str, row: int, column: str, raw: str) -> date:
    raise ReferenceDataError(f"{file} row {row}: unparseable date in {column}: {raw!r} (expected yyyy-mm-dd)")


def _flag(file: str, row: int, column: str, raw: str, default: bool | None = None) -> bool:
    value = raw.lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    if value == "" and default is not None:
        return default
    raise ReferenceDataError(f"{file} row {row}: {column} must be 1/0 (or true/false), got {raw!r}")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def read_units(path: Path) -> list[UnitRow]:
    rows = []
    for i, r in _read(path, ("unit_code", "unit_name", "unit_level", "parent_code", "valid_from", "valid_to")):
        if not r["unit_code"]:
            raise ReferenceDataError(f"units.csv row {i}: unit_code is empty")
        u = UnitRow(i, _nfc(r["unit_code"]), _nfc(r["unit_name"]), r["unit_level"], _nfc(r["parent_code"]) or None,
                    _date("units.csv", i, "valid_from", r["valid_from"]),
                    _date("units.csv", i, "valid_to", r["valid_to"]))
        if u.unit_level not in UNIT_LEVELS:
            raise ReferenceDataError(
                f"units.csv row {i}: unit_level {u.unit_level!r} is not one of {', '.join(UNIT_LEVELS)}")
        if u.valid_from and u.valid_to and u.valid_to < u.valid_from:
            raise ReferenceDataError(f"units.csv row {i}: valid_to {u.valid_to} is before valid_from {u.valid_from}")
        rows.append(u)
    by_code: dict[str, list[UnitRow]] = {}
    for u in rows:
        by_code.setdefault(u.unit_code, []).append(u)
    for code, same in by_code.items():
        same.sort(key=lambda u: u.valid_from or FIRST_DAY)
        for a, b in zip(same, same[1:], strict=False):
            if (a.valid_to or LAST_DAY) >= (b.valid_from or FIRST_DAY):
                raise ReferenceDataError(
                    f"units.csv rows {a.row} and {b.row}: overlapping validity for unit {code} "
                    f"({a.valid_from or 'open'}..{a.valid_to or 'open'} and {b.valid_from or 'open'}..{b.valid_to or 'open'})")
    return rows


def read_crosswalk(path: Path, unit_codes: set[str]) -> list[CrosswalkRow]:
    rows = []
    for i, r in _read(path, ("old_unit_code", "new_unit_code", "valid_from", "is_primary")):
        x = CrosswalkRow(i, r["old_unit_code"], r["new_unit_code"],
                         _date("unit_crosswalk.csv", i, "valid_from", r["valid_from"]) or FIRST_DAY,
                         _flag("unit_crosswalk.csv", i, "is_primary", r["is_primary"]))
        if not x.old_unit_code or not x.new_unit_code:
            raise ReferenceDataError(f"unit_crosswalk.csv row {i}: old_unit_code and new_unit_code are required")
        if x.is_primary and x.new_unit_code not in unit_codes:
            raise ReferenceDataError(
                f"unit_crosswalk.csv row {i}: primary successor {x.new_unit_code} of {x.old_unit_code} "
                f"is missing from units.csv")
        rows.append(x)
    seen: dict[tuple[str, date], int] = {}
    for x in rows:
        if x.is_primary:
            key = (x.old_unit_code, x.valid_from)
            if key in seen:
                raise ReferenceDataError(
                    f"unit_crosswalk.csv rows {seen[key]} and {x.row}: two primary successors of "
                    f"{x.old_unit_code} from {x.valid_from}")
            seen[key] = x.row
    return rows


def target_metrics() -> tuple[str, ...]:
    """Rate columns a target may name: the fraction rates (targets are fractions in [0, 1])."""
    return FRACTION_RATES + tuple(m for m in EXTRA_TARGET_METRICS if m not in FRACTION_RATES)


def read_targets(path: Path, units: list[UnitRow], cutoff_day: int) -> list[TargetRow]:
    metrics = target_metrics()
    rows = []
    for i, r in _read(path, ("unit_code", "year", "metric", "target_rate")):
        try:
            year = int(r["year"])
        except ValueError:
            raise ReferenceDataError(f"targets.csv row {i}: year {r['year']!r} is not a year") from None
        if r["metric"] not in metrics:
            raise ReferenceDataError(
                f"targets.csv row {i}: metric {r['metric']!r} is not a rate column "
                f"(one of {', '.join(metrics)})")
        try:
            rate = float(r["target_rate"]) if r["target_rate"] else None
        except ValueError:
            raise ReferenceDataError(f"targets.csv row {i}: target_rate {r['target_rate']!r} is not a number") from None
        window = periods.parse_label(str(year), cutoff_day)
        if not any(u.unit_code == r["unit_code"] and (u.valid_from or FIRST_DAY) <= window.end
                   and (u.valid_to or LAST_DAY) >= window.start for u in units):
            raise ReferenceDataError(
                f"targets.csv row {i}: unit {r['unit_code']} is in force on no day of the {year} window "
                f"({window.start}..{window.end}) in units.csv")
        rows.append(TargetRow(i, r["unit_code"], year, r["metric"], rate))
    return rows


def read_procedures(path: Path) -> None:
    for i, r in _read(path, ("procedure_code", "service_level", "full_process_eligible", "fee_bearing")):
        for column in ("full_process_eligible", "fee_bearing"):
            _flag("procedures.csv", i, column, r[column], default=False)


INDEX766_FILE = "index766.csv"


def _number(file: str, row: int, column: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ReferenceDataError(f"{file} row {row}: {column} {raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ReferenceDataError(f"{file} row {row}: {column} {raw!r} is not a finite number")
    return value


def read_index766(path: Path) -> dict[str, Rule]:
    """seeds/index766.csv (docs/definitions.md §7): each computed indicator's name, group, maximum,
    threshold and zero-denominator score, once each; the scores follow the file."""
    file = path.name
    rules: dict[str, Rule] = {}
    rows: dict[str, int] = {}
    columns = ("indicator", "name", "group", "max_points", "threshold", "zero_denominator_score")
    for i, r in _read(path, columns):
        code = r["indicator"]
        if code not in COMPUTED_INDICATORS:
            raise ReferenceDataError(
                f"{file} row {i}: indicator {code!r} is not one the cases determine "
                f"(one of {', '.join(COMPUTED_INDICATORS)})")
        if code in rows:
            raise ReferenceDataError(f"{file} rows {rows[code]} and {i}: indicator {code} is listed twice")
        if not r["name"]:
            raise ReferenceDataError(f"{file} row {i}: name is empty")
        max_points = _number(file, i, "max_points", r["max_points"])
        if max_points < 0:
            raise ReferenceDataError(f"{file} row {i}: max_points {r['max_points']!r} is negative")
        threshold = _number(file, i, "threshold", r["threshold"])
        if not 0 < threshold <= 1:
            raise ReferenceDataError(
                f"{file} row {i}: threshold {r['threshold']!r} must be a fraction in (0, 1] (0.8 = full points at 80 %)")
        zero = None
        if r["zero_denominator_score"]:
            zero = _number(file, i, "zero_denominator_score", r["zero_denominator_score"])
            if not 0 <= zero <= max_points:
                raise ReferenceDataError(
                    f"{file} row {i}: zero_denominator_score {r['zero_denominator_score']!r} is outside 0..max_points")
        rows[code] = i
        rules[code] = Rule(code, _nfc(r["name"]), _nfc(r["group"]), max_points, threshold, zero)
    missing = [c for c in COMPUTED_INDICATORS if c not in rules]
    if missing:
        raise ReferenceDataError(f"{file}: indicator(s) {', '.join(missing)} missing (each computed indicator needs a row)")
    return {c: rules[c] for c in COMPUTED_INDICATORS}


def index766_path(seeds_dir: Path) -> Path:
    """The seeds folder's index766.csv, else the project's own (a province's folder made
    before the index existed keeps loading; the project list holds §7's values)."""
    own = seeds_dir / INDEX766_FILE
    return own if own.exists() else config.SEEDS_DIR / INDEX766_FILE


# ---------------------------------------------------------------------------------------
# Derived, date-keyed tables (pure)
# ---------------------------------------------------------------------------------------
def _spans(bounds: set[date]) -> list[tuple[date, date]]:
    """Consecutive day spans FIRST_DAY..LAST_DAY cut at each bound (a bound starts a span)."""
    starts = sorted({FIRST_DAY} | {b for b in bounds if b > FIRST_DAY})
    ends = [s - timedelta(days=1) for s in starts[1:]] + [LAST_DAY]
    return list(zip(starts, ends, strict=True))


def unit_calendar(units: list[UnitRow]) -> list[CalendarRow]:
    """Per unit: spans of days with the same row in force and the same province."""
    bounds: set[date] = set()
    for u in units:
        if u.valid_from:
            bounds.add(u.valid_from)
        if u.valid_to and u.valid_to < LAST_DAY:
            bounds.add(u.valid_to + timedelta(days=1))
    out: dict[str, list[CalendarRow]] = {}
    for start, end in _spans(bounds):
        in_force = {u.unit_code: u for u in units if u.in_force(start)}
        for code, u in in_force.items():
            province, seen, cur = None, set(), u
            while cur is not None and cur.unit_code not in seen:
                if cur.unit_level == "province":
                    province = cur.unit_code
                    break
                seen.add(cur.unit_code)
                cur = in_force.get(cur.parent_code) if cur.parent_code else None
            row = CalendarRow(code, start, end, u.unit_name, u.unit_level, u.parent_code, province)
            spans = out.setdefault(code, [])
            last = spans[-1] if spans else None
            if last and last.to_day + timedelta(days=1) == start and (
                    last.unit_name, last.unit_level, last.parent_code, last.province_code) == (
                    row.unit_name, row.unit_level, row.parent_code, row.province_code):
                spans[-1] = CalendarRow(code, last.from_day, end, u.unit_name, u.unit_level, u.parent_code, province)
            else:
                spans.append(row)
    return [r for spans in out.values() for r in spans]


def crosswalk_resolution(crosswalk: list[CrosswalkRow]) -> list[ResolutionRow]:
    """Per code that moves: spans of days E with the unit its cases count under as of E.

    As of E each old code follows its primary row with the latest valid_from ≤ E; chains are
    followed to the end. A cycle raises ReferenceDataError naming the codes.
    """
    primary = [x for x in crosswalk if x.is_primary]
    out: dict[str, list[ResolutionRow]] = {}
    for start, end in _spans({x.valid_from for x in primary}):
        step: dict[str, CrosswalkRow] = {}
        for x in primary:
            if x.valid_from <= start and (x.old_unit_code not in step or x.valid_from > step[x.old_unit_code].valid_from):
                step[x.old_unit_code] = x
        for code in step:
            path = [code]
            while path[-1] in step:
                nxt = step[path[-1]].new_unit_code
                if nxt in path:
                    cycle = path[path.index(nxt):] + [nxt]
                    rows = sorted(step[c].row for c in cycle[:-1])
                    raise ReferenceDataError(
                        f"unit_crosswalk.csv rows {', '.join(map(str, rows))}: crosswalk cycle "
                        f"{' -> '.join(cycle)} (as of {start})")
                path.append(nxt)
            spans = out.setdefault(code, [])
            last = spans[-1] if spans else None
            if last and last.resolved_code == path[-1] and last.to_day + timedelta(days=1) == start:
                spans[-1] = ResolutionRow(code, last.from_day, end, path[-1])
            else:
                spans.append(ResolutionRow(code, start, end, path[-1]))
    return [r for spans in out.values() for r in spans]


_CALENDAR_SCHEMA = pa.schema([
    ("unit_code", pa.string()), ("from_day", pa.date32()), ("to_day", pa.date32()), ("unit_name", pa.string()),
    ("unit_level", pa.string()), ("parent_code", pa.string()), ("province_code", pa.string()),
])
_RESOLUTION_SCHEMA = pa.schema([
    ("unit_code", pa.string()), ("from_day", pa.date32()), ("to_day", pa.date32()), ("resolved_code", pa.string()),
])


@dataclass(frozen=True)
class Reference:
    units: list[UnitRow]
    crosswalk: list[CrosswalkRow]
    targets: list[TargetRow]
    calendar: list[CalendarRow]
    resolution: list[ResolutionRow]
    index766: dict[str, Rule] = field(default_factory=dict)


def validate_reference(seeds_dir: Path, cutoff_day: int | None = None) -> Reference:
    """Read and check the four files; raise ReferenceDataError on the first problem."""
    cutoff = cutoff_day or config.cutoff_day()
    units = read_units(seeds_dir / "units.csv")
    crosswalk = read_crosswalk(seeds_dir / "unit_crosswalk.csv", {u.unit_code for u in units})
    targets = read_targets(seeds_dir / "targets.csv", units, cutoff)
    read_procedures(seeds_dir / "procedures.csv")
    index766 = read_index766(index766_path(seeds_dir))
    return Reference(units, crosswalk, targets, unit_calendar(units), crosswalk_resolution(crosswalk), index766)


def load_reference(con: duckdb.DuckDBPyConnection, seeds_dir: Path | None = None) -> Reference:
    """Validate, then (re)load units, crosswalk, targets and procedures from seeds/ and derive
    core.unit_calendar and core.unit_resolution."""
    folder = (seeds_dir or config.seeds_dir()).resolve()
    ref = validate_reference(folder)
    # One transaction: a commit per statement costs ~20-50 ms on a file database.
    with transaction(con):
        _write_reference(con, ref, folder)
    return ref


def _write_reference(con: duckdb.DuckDBPyConnection, ref: Reference, folder: Path) -> None:
    con.execute(render_sql("reference.sql", seeds=folder.as_posix().replace("'", "''")))
    # One INSERT per table from Arrow (executemany costs ~5 ms a row in DuckDB).
    calendar = pa.Table.from_pylist([vars(r) for r in ref.calendar], schema=_CALENDAR_SCHEMA)
    resolution = pa.Table.from_pylist([vars(r) for r in ref.resolution], schema=_RESOLUTION_SCHEMA)
    _write_index766(con, ref.index766)
    con.register("_unit_calendar_rows", calendar)
    con.register("_unit_resolution_rows", resolution)
    try:
        con.execute("INSERT INTO core.unit_calendar SELECT * FROM _unit_calendar_rows")
        con.execute("INSERT INTO core.unit_resolution SELECT * FROM _unit_resolution_rows")
    finally:
        con.unregister("_unit_calendar_rows")
        con.unregister("_unit_resolution_rows")


_INDEX766_SCHEMA = pa.schema([
    ("indicator", pa.string()), ("name", pa.string()), ("indicator_group", pa.string()),
    ("max_points", pa.float64()), ("threshold", pa.float64()), ("zero_denominator_score", pa.float64()),
    ("sort_order", pa.int32()),
])


def _write_index766(con: duckdb.DuckDBPyConnection, rules: dict[str, Rule]) -> None:
    """core.index766 from the validated rows (reference.sql creates it)."""
    rows = pa.Table.from_pylist(
        [{"indicator": r.indicator, "name": r.name, "indicator_group": r.group, "max_points": r.max_points,
          "threshold": r.threshold, "zero_denominator_score": r.zero_denominator_score, "sort_order": i}
         for i, r in enumerate(rules.values(), start=1)],
        schema=_INDEX766_SCHEMA,
    )
    con.register("_index766_rows", rows)
    try:
        con.execute("INSERT INTO core.index766 SELECT * FROM _index766_rows")
    finally:
        con.unregister("_index766_rows")
