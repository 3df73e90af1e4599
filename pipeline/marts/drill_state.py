"""Delta maintenance of the drill-down marts (issue 24: work proportional to what changed).

Every row of mart.procedure_period_stats, mart.field_period_stats and
mart.procedure_province_stats is a sum over the cases of its groups at the finest drill-down
grain, (window, unit, procedure, field), kept in mart.drill_counts. A window already computed
on the same reference lists (``reference_digest``) only needs the groups that the cases merged
since then (``merged_through``) were or are in: those (unit, procedure) pairs are recomputed
from all their cases (sql/marts/drill_delta.sql), and the three tables' rows over them rolled
up again from mart.drill_counts. Every other window (new, never computed, computed by Spark,
reference lists changed, or most cases changed) takes the full path: recomputed from all its
cases. Both paths write the same rows; tests/pipeline/marts/test_drill_delta.py checks it.

mart.drill_state (sql/ddl/marts.sql) records, per window, the merges and the reference lists its rows reflect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from pipeline import config, periods
from pipeline.db import table_exists
from pipeline.marts.statements import DRILL_TABLES

log = logging.getLogger(__name__)

STATE_TABLE = "mart.drill_state"
COUNTS_TABLE = "mart.drill_counts"
# Above this share of changed cases the delta path costs about what the full one does.
MAX_CHANGED_SHARE = 0.2
# The reference tables the drill-down reads (attribution, names, the catalogue's fields and
# eligibility); core.case_unit_history is derived from the versions and moves with the cases.
_REFERENCE_TABLES = ("core.unit_resolution", "core.unit_calendar", "core.procedures")

# A NULL code in a pair key (the pairs are compared as tuples, where NULL matches nothing).
NULL_KEY = "'\u2205'"


def pair_key(alias: str) -> str:
    """The (unit, procedure) key of a row of ``alias``, comparable with drill_affected_pairs."""
    return (f"(coalesce({alias}.unit_code, {NULL_KEY}), "
            f"coalesce({alias}.procedure_code, {NULL_KEY}))")


def in_affected_pairs(alias: str) -> str:
    """Condition: the row's (unit, procedure) is one the changed cases can move."""
    return f"{pair_key(alias)} IN (SELECT (unit_key, procedure_key) FROM drill_affected_pairs)"


# The cases a delta pass recounts (a condition on core.cases c, case_facts.sql): every case of
# an affected (unit, procedure) pair. A case that counts under another code than its MaDonVi in
# some window (moved between units, or a code the crosswalk forwards) is taken whenever its
# procedure is affected; the groups are filtered on the unit it counts under afterwards.
DELTA_CASES = (
    f"({in_affected_pairs('c')} OR "
    f"(coalesce(c.procedure_code, {NULL_KEY}) IN (SELECT procedure_key FROM drill_affected_pairs) "
    "AND (c.case_id IN (SELECT case_id FROM core.case_unit_history) "
    "OR c.unit_code IN (SELECT unit_code FROM core.unit_resolution))))"
)


@dataclass(frozen=True)
class DrillPlan:
    """How one drill-down refresh recomputes its windows."""

    full: tuple[periods.Period, ...]  # recomputed from all their cases
    delta: tuple[periods.Period, ...]  # only the groups changed cases can move
    merged_after: datetime | None  # the delta windows reflect merges up to this one
    merged_through: datetime | None  # the newest merge now (recorded for every window)
    reference_digest: str
    changed_cases: int = 0

    def describe(self) -> str:
        if not self.delta:
            return f"drill-down: {len(self.full)} window(s) recomputed from all their cases"
        return (f"drill-down: {len(self.delta)} window(s) updated for {self.changed_cases:,} changed case(s), "
                f"{len(self.full)} recomputed from all their cases")


def forget(con: duckdb.DuckDBPyConnection, where: str = "TRUE") -> None:
    """The drill-down rows of these windows were written by another path (Spark, a rebuild of
    the tables): their next refresh recomputes them from all their cases."""
    if table_exists(con, STATE_TABLE):
        con.execute(f"DELETE FROM {STATE_TABLE} WHERE {where}")


def reference_digest(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the reference tables and the cut-off day the drill-down rows depend on."""
    parts = [f"cutoff={config.cutoff_day()}"]
    for table in _REFERENCE_TABLES:
        alias = table.split(".")[1]
        value = (con.execute(f"SELECT count(*), coalesce(sum(hash({alias})), 0) FROM {table} {alias}").fetchone()
                 if table_exists(con, table) else None)
        parts.append(f"{table}={value}")
    return "|".join(str(p) for p in parts)


def _newest_merge(con: duckdb.DuckDBPyConnection) -> datetime | None:
    if not table_exists(con, "core.merged_batches"):
        return None
    return con.execute("SELECT max(merged_at) FROM core.merged_batches").fetchone()[0]


def plan(con: duckdb.DuckDBPyConnection, windows: Iterable[periods.Period]) -> DrillPlan:
    """Which windows can be updated from the changed cases alone, and which are recomputed."""
    windows = sorted(set(windows))
    digest = reference_digest(con)
    newest = _newest_merge(con)
    rows_now = table_rows(con)
    # A window counts as computed when its lists are today's and its tables still hold the rows
    # it left there (rows deleted or rewritten by another path: recounted whole).
    state = {
        (grain, label): merged
        for grain, label, merged, rows in con.execute(
            f"SELECT period_grain, period_label, merged_through, table_rows FROM {STATE_TABLE} "
            "WHERE reference_digest = ?",
            [digest],
        ).fetchall()
        if rows == rows_now.get((grain, label), "")
    }
    known = [w for w in windows if (w.grain, w.label) in state]
    full = [w for w in windows if (w.grain, w.label) not in state]
    if not known:
        return DrillPlan(tuple(full), (), None, newest, digest)
    watermarks = [state[(w.grain, w.label)] for w in known]
    # The oldest watermark: its changed cases include every later window's.
    merged_after = None if any(m is None for m in watermarks) else min(watermarks)
    changed, total = con.execute(
        "SELECT (SELECT count(DISTINCT case_id) FROM raw.case_versions WHERE batch_id IN "
        "(SELECT batch_id FROM core.merged_batches WHERE merged_at > coalesce(?, TIMESTAMP '0001-01-01'))), "
        "(SELECT count(*) FROM core.cases)",
        [merged_after],
    ).fetchone()
    if total and changed > MAX_CHANGED_SHARE * total:
        log.info("drill-down: %s of %s cases changed; recomputing every window", changed, total)
        return DrillPlan(tuple(windows), (), None, newest, digest, changed)
    return DrillPlan(tuple(full), tuple(known), merged_after, newest, digest, changed)


def record(con: duckdb.DuckDBPyConnection, drill_plan: DrillPlan) -> None:
    """The windows' rows now reflect every merge up to ``merged_through`` on these lists."""
    windows = [*drill_plan.full, *drill_plan.delta]
    if not windows:
        return
    con.executemany(
        f"DELETE FROM {STATE_TABLE} WHERE period_grain = ? AND period_label = ?",
        [(w.grain, w.label) for w in windows],
    )
    rows_now = table_rows(con)
    con.executemany(
        f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?)",
        [(w.grain, w.label, drill_plan.merged_through, drill_plan.reference_digest,
          rows_now.get((w.grain, w.label), "")) for w in windows],
    )


def table_rows(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """Per window, its row counts in mart.drill_counts and the three drill-down tables, as text
    ('counts/procedure/field/province'); grouped counts read only the window keys."""
    tables = (COUNTS_TABLE, *DRILL_TABLES)
    found: dict[tuple[str, str], list[int]] = {}
    for i, table in enumerate(tables):
        for grain, label, n in con.execute(
            f"SELECT period_grain, period_label, count(*) FROM {table} GROUP BY ALL"
        ).fetchall():
            found.setdefault((grain, label), [0] * len(tables))[i] = n
    return {window: "/".join(map(str, counts)) for window, counts in found.items()}
