"""Pull a window of changes from the export API and land it like a file.

Records are landed in chunks as pages arrive: a chunk is the pages gathered until it holds at
least ``chunk_records`` records (whole pages, so a batch is about ``chunk_records`` + one page),
and each chunk is one batch in one transaction (``source_name`` ``api:<tu>-<den>#<n>``).

- Crash safety: a kill mid-pull leaves only whole batches (DuckDB replays committed
  transactions only). A rerun of the window pulls it again; landing never stores a version twice
  (same case, NgayCapNhat and content) and quarantines a broken record once (its record hash),
  so the rerun lands the rest and doubles nothing.
- Pages download in a thread (``prefetch_pages`` ahead) while DuckDB lands the previous chunk;
  the DuckDB connection is only used by the calling thread. Given a warehouse path, the
  warehouse is open only while a downloaded chunk lands (never while waiting on the portal).
- Reconciliation: records pulled = landed + quarantined, per batch and over the window, or
  :class:`ReconciliationError`.
- A portal failure mid-pull (:class:`PortalError`) keeps the batches already landed, folds
  them into core.cases, and re-raises: rerun the window.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipeline.config import PortalSettings
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import ReconciliationError, land_records
from pipeline.ingest.portal_client import ClientStats, PortalClient, PortalError
from pipeline.warehouse import open_warehouse

_log = logging.getLogger(__name__)
_STAMP = "%Y%m%d%H%M%S"


@dataclass
class PullResult:
    window: str
    pages: int = 0
    records_pulled: int = 0  # distinct records received (repeats across pages dropped)
    records_landed: int = 0  # valid records (new versions or already in raw.case_versions)
    records_quarantined: int = 0
    new_versions: int = 0  # valid records that were not landed before
    retries: int = 0
    repulls: int = 0
    duplicates_dropped: int = 0
    batches: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def day_windows(first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """[local midnight, next local midnight) for every day from first_day to last_day inclusive.

    Times are naive local (Asia/Ho_Chi_Minh), like NgayCapNhat and the API's tu_ngay/den_ngay.
    """
    if last_day < first_day:
        raise ValueError(f"last day {last_day} is before first day {first_day}")
    midnight = datetime.min.time()
    return [
        (datetime.combine(first_day + timedelta(days=i), midnight),
         datetime.combine(first_day + timedelta(days=i + 1), midnight))
        for i in range((last_day - first_day).days + 1)
    ]


@contextmanager
def _opened(warehouse: duckdb.DuckDBPyConnection | Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The caller's connection, or the warehouse opened just for this (and closed after)."""
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        yield warehouse
    else:
        with open_warehouse(warehouse) as con:
            yield con


def pull_window(
    warehouse: duckdb.DuckDBPyConnection | Path | str,
    settings: PortalSettings,
    tu: datetime,
    den: datetime,
    *,
    chunk_records: int = 50_000,
    client: PortalClient | None = None,
    log: Any = None,
    prefetch_pages: int = 8,
) -> PullResult:
    """Pull NgayCapNhat in [tu, den), land it in chunks, fold it into core.cases.

    ``warehouse``: a path (the warehouse is opened only to land a chunk already downloaded,
    then closed: its write lock is never held while waiting on the portal, so ``summary`` and
    other runs are not blocked by a slow portal), or an open connection (held throughout).

    ``log`` may be a logging.Logger or Dagster's ``context.log`` (messages are preformatted).
    A passed-in ``client`` is not closed; its settings win over ``settings``.
    ``prefetch_pages`` > 0 downloads up to that many pages ahead in a thread while DuckDB lands
    the previous chunk (0: pull and land in turn, in this thread).
    """
    if den <= tu:
        raise ValueError(f"empty window [{tu:{_STAMP}}, {den:{_STAMP}})")
    if chunk_records < 1:
        raise ValueError(f"chunk_records must be >= 1, got {chunk_records}")
    log = log or _log
    started = time.perf_counter()
    label = f"{tu:{_STAMP}}-{den:{_STAMP}}"
    result = PullResult(window=f"[{tu:%Y-%m-%d %H:%M}, {den:%Y-%m-%d %H:%M})")
    own_client = client is None
    client = client or PortalClient(settings)
    before = replace(client.stats)
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal pending
        if not pending:
            return
        first_row = result.records_landed + result.records_quarantined + 1
        with _opened(warehouse) as con:
            batch = land_records(con, f"api:{label}#{result.batches + 1}", pending, first_row=first_row)
        if batch.records_read != len(pending) or batch.records_landed + batch.records_quarantined != len(pending):
            raise ReconciliationError(
                f"window {label} batch {batch.batch_id}: {len(pending)} records pulled but "
                f"{batch.records_read} read = {batch.records_landed} landed + {batch.records_quarantined} quarantined"
            )
        result.batches += 1
        result.records_landed += batch.records_landed
        result.records_quarantined += batch.records_quarantined
        result.new_versions += batch.records_new_versions
        log.info(
            f"window {label}: batch {result.batches} (id {batch.batch_id}) landed {batch.records_landed} "
            f"({batch.records_new_versions} new versions) + quarantined {batch.records_quarantined}; "
            f"{result.records_pulled} records pulled so far"
        )
        pending = []

    pages = client.iter_records(tu, den)
    if prefetch_pages > 0:
        pages = _prefetch(pages, prefetch_pages)
    try:
        for records in pages:
            pending.extend(records)
            result.records_pulled += len(records)
            if len(pending) >= chunk_records:
                flush()
        flush()
    except PortalError as exc:
        _fill_stats(result, client, before, started)
        kept = ""
        if result.batches:
            with _opened(warehouse) as con:
                merge_pending_batches(con)
            kept = f"; the {result.batches} batches landed before it are kept"
        log.error(f"window {label}: pull failed after {result.pages} pages{kept}: {exc}")
        raise
    finally:
        pages.close()  # stops the prefetch thread
        if own_client:
            client.close()
    _fill_stats(result, client, before, started)
    if result.records_pulled != result.records_landed + result.records_quarantined:
        raise ReconciliationError(
            f"window {label}: pulled {result.records_pulled} != landed {result.records_landed} "
            f"+ quarantined {result.records_quarantined}"
        )
    with _opened(warehouse) as con:
        merge_pending_batches(con)
    result.seconds = time.perf_counter() - started
    log.info(
        f"window {label}: {result.records_pulled} records in {result.pages} pages "
        f"({result.retries} retries, {result.repulls} re-pulls, {result.duplicates_dropped} repeats dropped) "
        f"-> {result.records_landed} landed ({result.new_versions} new versions) + "
        f"{result.records_quarantined} quarantined in {result.batches} batches, {result.seconds:.1f}s"
    )
    return result


def _fill_stats(result: PullResult, client: PortalClient, before: ClientStats, started: float) -> None:
    stats = client.stats.minus(before)
    result.pages, result.retries, result.repulls = stats.pages, stats.retries, stats.repulls
    result.duplicates_dropped = stats.duplicates_dropped
    result.seconds = time.perf_counter() - started


def _prefetch(source: Iterator[list[dict[str, Any]]], depth: int) -> Iterator[list[dict[str, Any]]]:
    """Run ``source`` (the client's pages) in a thread, at most ``depth`` pages ahead.

    The client's errors are raised here, in the consumer, after the pages that came before
    them. Closing this generator stops the thread after its current request.
    """
    pages: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def produce() -> None:
        try:
            for page in source:
                if not put(("page", page)):
                    return
            put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed over to the consumer
            put(("error", exc))
        finally:
            source.close()

    thread = threading.Thread(target=produce, name="portal-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                kind, item = pages.get(timeout=0.5)
            except queue.Empty:
                if not thread.is_alive() and pages.empty():
                    raise RuntimeError("the page download thread ended without a result") from None
                continue
            if kind == "page":
                yield item
            elif kind == "error":
                raise item
            else:
                return
    finally:
        stop.set()
        thread.join(timeout=5)
