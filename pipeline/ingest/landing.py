"""Landing: staged records -> raw.case_versions / raw.quarantine / raw.batches.

One transaction per batch: a batch is landed completely (versions, quarantine and its
raw.batches row with the reconciliation) or not at all. The same file is landed once
(content hash), and a version already landed from another source is not stored twice.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline.db import transaction
from pipeline.ingest import duckdb_source, readers
from pipeline.ingest.validation import (
    masked_record_sql,
    output_columns,
    source_record_sql,
    validated_sql,
)

log = logging.getLogger(__name__)

# arrival_seq = batch_id * ROW_SPAN + source_row: later batches always arrive later.
ROW_SPAN = 10_000_000_000


class ReconciliationError(RuntimeError):
    """records read != landed + quarantined: the batch is rolled back."""


@dataclass
class BatchResult:
    source_name: str
    status: str  # landed | skipped_duplicate_file | failed
    batch_id: int | None = None
    source_format: str | None = None
    records_read: int = 0
    records_landed: int = 0
    records_new_versions: int = 0
    records_quarantined: int = 0
    seconds: float = 0.0
    error: str | None = None
    reasons_preview: list[tuple[str, int]] | None = None
    timings: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    return _file_digest(path)[0]


def _file_digest(path: Path) -> tuple[str, bool]:
    """(SHA-256, whether a block has no line break) in one read: the reader scans for
    over-long lines only in files that may have one."""
    digest = hashlib.sha256()
    newline_free = False
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(duckdb_source.SCAN_BLOCK), b""):
            digest.update(block)
            newline_free = newline_free or (len(block) == duckdb_source.SCAN_BLOCK and duckdb_source.newline_free(block))
    return digest.hexdigest(), newline_free


def refusal(path: Path, inbox: Path | None = None) -> str | None:
    """Why a file must not be read at all, or None. A link leading out of the inbox (e.g. to
    /etc/passwd) is refused, and so is anything that is not a regular file (a FIFO would block
    the reader) or is empty (0 bytes: no export is empty, and every empty file has the same
    content hash, so it would pass for "already landed")."""
    root = (inbox or path.parent).resolve()
    if path.is_symlink() or path.resolve().parent != path.parent.resolve():
        target = path.resolve()
        if not target.is_relative_to(root):
            return f"{path.name}: refused: a symbolic link to a file outside the inbox ({root})"
    try:
        info = path.stat()
    except OSError as exc:
        return f"{path.name}: cannot be opened ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode):
        return f"{path.name}: refused: not a regular file"
    if info.st_size == 0:
        return f"{path.name}: empty file (0 bytes)"
    return None


def land_file(con: duckdb.DuckDBPyConnection, path: Path, *, inbox: Path | None = None) -> BatchResult:
    """Land one export file; never raises for bad data (the result says what happened).

    ``inbox``: the folder links may point into (default: the file's own folder)."""
    started = time.perf_counter()
    name = path.name
    refused = refusal(path, inbox)
    if refused:
        _record_failure(con, "file", name, None, refused)
        log.error("%s: not landed: %s", name, refused)
        return BatchResult(name, "failed", error=refused, seconds=time.perf_counter() - started)
    sha, newline_free_block = _file_digest(path)
    already = con.execute(
        "SELECT batch_id FROM raw.batches WHERE content_sha256 = ? LIMIT 1", [sha]
    ).fetchone()
    if already:
        log.info("%s: already landed as batch %s (same content), skipped", name, already[0])
        return BatchResult(name, "skipped_duplicate_file", batch_id=already[0])
    try:
        # The first chunk is staged before the transaction: a temp table filled outside a
        # transaction numbers its rows in file order (rowid), which gives source_row.
        chunks = readers.stage_chunks(con, path, newline_free_block=newline_free_block)
        read_started = time.perf_counter()
        first = next(chunks)
        read_s = time.perf_counter() - read_started
        with transaction(con):
            result = _land_chunks(con, "file", name, sha, itertools.chain([first], chunks))
        result.timings["read"] = result.timings.get("read", 0.0) + read_s
    except (readers.ReadError, ReconciliationError, duckdb.Error) as exc:
        _record_failure(con, "file", name, sha, str(exc))
        log.error("%s: not landed: %s", name, exc)
        return BatchResult(name, "failed", error=str(exc), seconds=time.perf_counter() - started)
    result.seconds = time.perf_counter() - started
    _log_result(result)
    return result


def land_records(
    con: duckdb.DuckDBPyConnection, source_name: str, records: Iterable[Any], *, first_row: int = 1
) -> BatchResult:
    """Land records pulled from the API (one window or page) through the same path as files."""
    started = time.perf_counter()
    try:
        with transaction(con):
            staged = iter([readers.stage_records(con, records, first_row=first_row)])
            result = _land_chunks(con, "api", source_name, None, staged)
    except (ReconciliationError, duckdb.Error) as exc:
        _record_failure(con, "api", source_name, None, str(exc))
        raise
    result.seconds = time.perf_counter() - started
    _log_result(result)
    return result


def _log_result(result: BatchResult) -> None:
    log.debug(
        "%s: batch %s landed: %d read = %d landed (%d new versions) + %d quarantined in %.1fs",
        result.source_name, result.batch_id, result.records_read, result.records_landed,
        result.records_new_versions, result.records_quarantined, result.seconds,
    )


def _record_failure(con: duckdb.DuckDBPyConnection, kind: str, name: str, sha: str | None, error: str) -> None:
    con.execute(
        "INSERT INTO raw.batch_failures VALUES (now()::TIMESTAMP, ?, ?, ?, ?)", [kind, name, sha, error[:2000]]
    )


def _land_chunks(
    con: duckdb.DuckDBPyConnection, kind: str, name: str, sha: str | None, chunks: Iterator[readers.StageInfo]
) -> BatchResult:
    """Validate and land staged chunks as one batch (the caller holds the transaction)."""
    started_at = datetime.now()
    batch_id = con.execute("SELECT nextval('raw.batch_id_seq')").fetchone()[0]
    totals = BatchResult(source_name=name, status="landed", batch_id=batch_id, timings={})
    reasons: dict[str, int] = {}
    min_upd = max_upd = None
    tick = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        totals.timings[step] = totals.timings.get(step, 0.0) + now - tick
        tick = now

    progress = _Progress(name)
    for info in chunks:
        lap("read")
        totals.source_format = info.fmt
        counts = _land_chunk(con, batch_id, name, info.rows, lap)
        progress.chunk_done(counts["read"], info.total_rows)
        totals.records_read += counts["read"]
        totals.records_landed += counts["landed"]
        totals.records_quarantined += counts["quarantined"]
        totals.records_new_versions += counts["inserted"]
        for reason, n in counts["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + n
        if counts["min_upd"] is not None:
            min_upd = counts["min_upd"] if min_upd is None else min(min_upd, counts["min_upd"])
            max_upd = counts["max_upd"] if max_upd is None else max(max_upd, counts["max_upd"])
    con.execute(
        "INSERT INTO raw.batches VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?)",
        [batch_id, kind, name, totals.source_format, sha, started_at, totals.records_read,
         totals.records_landed, totals.records_new_versions, totals.records_quarantined, min_upd, max_upd],
    )
    totals.reasons_preview = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    log.debug("batch %s timings: %s", batch_id, totals.timings)
    return totals


class _Progress:
    """One line per chunk of a large file: records done of the total, rate and time left."""

    def __init__(self, name: str) -> None:
        self.name, self.done, self.started = name, 0, time.perf_counter()

    def chunk_done(self, records: int, total: int) -> None:
        self.done += records
        if not total or self.done >= total:  # one chunk, or the last: the closing line says it
            return
        seconds = time.perf_counter() - self.started
        rate = self.done / seconds if seconds > 0 else 0.0
        left = (total - self.done) / rate if rate else 0.0
        log.info("%s: %s of %s records (%d %%), %s records/s, about %s left", self.name,
                 f"{self.done:,}", f"{total:,}", 100 * self.done // total, f"{rate:,.0f}", _duration(left))


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _land_chunk(
    con: duckdb.DuckDBPyConnection, batch_id: int, name: str, staged_rows: int, lap
) -> dict[str, Any]:
    """Validate the staged chunk, land valid versions, quarantine the rest, reconcile."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE validated AS {validated_sql(readers.STAGE)}")
    lap("validate")
    cols = output_columns()
    col_list = ", ".join(f'"{c}"' for c in cols)
    # New versions only: the same (case, NgayCapNhat, content) may arrive again from another
    # file, an overlapping API window or an earlier chunk; within a chunk the first occurrence
    # is kept. The de-duplication runs on narrow keys, then one semi-join picks the wide rows.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE new_rows AS
        SELECT k.source_row FROM (
            SELECT source_row, case_id, updated_at, version_hash,
                   row_number() OVER (PARTITION BY case_id, updated_at, version_hash ORDER BY source_row) AS nth
            FROM validated WHERE len(reasons) = 0
        ) k
        WHERE k.nth = 1
          AND NOT EXISTS (
              SELECT 1 FROM raw.case_versions old
              WHERE old.case_id = k.case_id AND old.updated_at = k.updated_at
                AND old.version_hash = k.version_hash)
        """
    )
    inserted = con.execute(
        f"""
        INSERT INTO raw.case_versions (batch_id, source_name, source_row, arrival_seq, {col_list})
        SELECT ?, ?, v.source_row, ? * {ROW_SPAN} + v.source_row, {", ".join("v." + f'"{c}"' for c in cols)}
        FROM validated v SEMI JOIN new_rows n ON n.source_row = v.source_row
        """,
        [batch_id, name, batch_id],
    ).fetchone()[0]
    con.execute("DROP TABLE new_rows")
    lap("land")
    con.execute(
        f"""
        INSERT INTO raw.quarantine
        SELECT ?, ?, v.source_row, s."MaHoSo", v.reasons, {masked_record_sql("s")},
               md5(coalesce({source_record_sql("s")}, '')), now()::TIMESTAMP
        FROM validated v JOIN {readers.STAGE} s USING (source_row)
        WHERE len(v.reasons) > 0
          AND NOT EXISTS (SELECT 1 FROM raw.quarantine q WHERE q.record_hash = md5(coalesce({source_record_sql("s")}, '')))
        QUALIFY row_number() OVER (PARTITION BY md5(coalesce({source_record_sql("s")}, '')) ORDER BY v.source_row) = 1
        """,
        [batch_id, name],
    )
    read, landed, quarantined, min_upd, max_upd = con.execute(
        """
        SELECT count(*), count(*) FILTER (len(reasons) = 0), count(*) FILTER (len(reasons) > 0),
               min(updated_at) FILTER (len(reasons) = 0), max(updated_at) FILTER (len(reasons) = 0)
        FROM validated
        """
    ).fetchone()
    if read != staged_rows or read != landed + quarantined:
        raise ReconciliationError(
            f"{name}: {staged_rows} staged, {read} validated, {landed} landed + {quarantined} quarantined"
        )
    # Reasons with their quoted values blanked, so the preview groups them.
    preview = con.execute(
        """
        SELECT regexp_replace(r, '''.*''', '''…''') AS reason, count(*) AS n
        FROM (SELECT unnest(reasons) AS r FROM validated WHERE len(reasons) > 0)
        GROUP BY reason
        """
    ).fetchall()
    con.execute("DROP TABLE validated")
    readers.drop_stage(con, backing=False)
    lap("quarantine")
    return {"read": read, "landed": landed, "quarantined": quarantined, "inserted": inserted,
            "min_upd": min_upd, "max_upd": max_upd, "reasons": preview}
