"""core.cases: one row per case, its newest valid version (docs/definitions.md §2)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import duckdb

from pipeline.db import read_sql, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergeResult:
    batches: int
    versions_considered: int
    cases_changed: int
    affected_from: date | None
    affected_to: date | None


def merge_pending_batches(con: duckdb.DuckDBPyConnection) -> MergeResult:
    """Fold every landed-but-unmerged batch into core.cases, atomically and idempotently."""
    with transaction(con):
        con.execute(read_sql("core_merge.sql"))
        row = con.execute(
            "SELECT batches, versions_considered, cases_changed, affected_from, affected_to "
            "FROM core.merge_log ORDER BY merged_at DESC LIMIT 1"
        ).fetchone()
        for temp in ("pending_batches", "candidates", "winner_keys", "touched"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    result = MergeResult(*row)
    if result.batches == 0:
        log.info("core.cases: no new batches to merge")
    else:
        log.info(
            "core.cases: %d batches, %d candidate versions, %d cases changed (case dates %s..%s)",
            result.batches, result.versions_considered, result.cases_changed,
            result.affected_from or "-", result.affected_to or "-",
        )
    return result
