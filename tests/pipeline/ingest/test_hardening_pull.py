"""Issue 16, item 3 (and the pull part of 7): a hostile export API can neither hang nor storm
the pull, and the pull never holds the warehouse while it waits on the network."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from devtools.portal_server import Faults, PortalServer
from pipeline.config import PortalSettings
from pipeline.ingest.portal_client import (
    PAGE_SLACK,
    PortalClient,
    PortalIncompleteError,
    PortalUnavailableError,
)
from pipeline.ingest.pull import pull_window
from tests.devtools.test_portal_server import make_records

TOKEN = "hardening-token"
TU, DEN = datetime(2025, 1, 1), datetime(2025, 2, 1)


def settings(server: PortalServer, **kw) -> PortalSettings:
    base = dict(base_url=server.url, token=TOKEN, page_size=10, timeout_s=2, max_retries=6, max_retry_time_s=20)
    return PortalSettings(**(base | kw))


def client_for(server: PortalServer, **kw) -> PortalClient:
    return PortalClient(settings(server, **kw), sleep=lambda s: None, backoff_base_s=0.001, backoff_cap_s=0.01)


def run_bounded(fn, seconds: float):
    """Run fn in a thread; (finished, result or exception, elapsed). The old client could run
    for minutes here: the test reports that instead of hanging."""
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["value"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), out.get("value"), time.monotonic() - started


def test_trickling_answer_is_cut_at_the_total_timeout():
    """Headers, then one byte every 0.2 s: each read is quick, the answer never ends."""
    with PortalServer(make_records(25), token=TOKEN, faults=Faults(trickle_body_s=0.2)) as server:
        client = client_for(server, timeout_s=1, max_retries=1)
        finished, value, elapsed = run_bounded(lambda: list(client.iter_records(TU, DEN)), 20)
        client.close()
    assert finished, "a request outlived its total time bound"
    assert isinstance(value, PortalUnavailableError) and "DVC_PORTAL_TIMEOUT_S=1" in str(value)
    assert elapsed < 6  # 2 attempts of at most ~1 s each, plus backoff


def test_huge_so_trang_and_repeated_pages_do_not_storm():
    """A portal announcing so_trang = 1,000,000 and answering page 1 for every page."""
    faults = Faults(so_trang=1_000_000, same_page_always=True)
    with PortalServer(make_records(25), token=TOKEN, faults=faults) as server:
        client = client_for(server)
        finished, value, _ = run_bounded(lambda: list(client.iter_records(TU, DEN)), 30)
        client.close()
        requests = server.requests
    assert finished
    assert isinstance(value, PortalIncompleteError)  # 10 distinct records for tong_so = 25: named, not silent
    assert requests <= 3 + PAGE_SLACK


def test_huge_so_trang_alone_stops_at_tong_so():
    with PortalServer(make_records(25), token=TOKEN, faults=Faults(so_trang=1_000_000)) as server, \
            client_for(server) as client:
        records = [r for page in client.iter_records(TU, DEN) for r in page]
        assert len(records) == 25 and server.requests <= 3 + PAGE_SLACK


def test_corrupt_gzip_is_retried_and_named_as_the_portals_fault():
    with PortalServer(make_records(25), token=TOKEN, faults=Faults(corrupt_gzip_every=2)) as server, \
            client_for(server) as client:
        records = [r for page in client.iter_records(TU, DEN) for r in page]
        assert len(records) == 25 and client.stats.retries >= 2
    with PortalServer(make_records(25), token=TOKEN, faults=Faults(corrupt_gzip_every=1)) as server, \
            client_for(server, max_retries=2) as client, pytest.raises(PortalUnavailableError) as err:
        list(client.iter_records(TU, DEN))
    assert "corrupt compressed answer from the portal" in str(err.value)


def _can_open_read_only(path) -> bool:
    code = f"import duckdb; duckdb.connect({str(path)!r}, read_only=True).close()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0


def test_warehouse_is_free_while_the_pull_waits_on_the_portal(warehouse_path):
    """Landed chunk by chunk, the warehouse opened only to land: another process can read it
    while the next page is slow to come."""
    from pipeline.warehouse import open_warehouse

    with open_warehouse(warehouse_path):
        pass
    with PortalServer(make_records(30), token=TOKEN, faults=Faults(slow_page_s=2.5)) as server:
        s = settings(server, timeout_s=10)
        done = threading.Event()
        outcome: dict = {}

        def work() -> None:
            try:
                outcome["result"] = pull_window(warehouse_path, s, TU, DEN, chunk_records=10, prefetch_pages=0)
            finally:
                done.set()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        opened_during_pull = False
        while not done.is_set():
            if _can_open_read_only(warehouse_path) and not done.is_set():
                opened_during_pull = True
                break
            time.sleep(0.2)
        thread.join(60)
    assert opened_during_pull
    assert outcome["result"].records_pulled == 30 and outcome["result"].records_landed == 30


def test_rerun_reports_the_windows_own_count(warehouse_path):
    with PortalServer(make_records(25), token=TOKEN) as server:
        first = pull_window(warehouse_path, settings(server), TU, DEN, chunk_records=10)
        again = pull_window(warehouse_path, settings(server), TU, DEN, chunk_records=10)
    assert (first.records_pulled, first.new_versions) == (25, 25)
    assert (again.records_pulled, again.records_landed, again.new_versions) == (25, 25, 0)
