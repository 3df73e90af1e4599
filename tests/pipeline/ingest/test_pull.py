"""pull_window: the real client against the real local server over TCP, landed in a temporary
DuckDB warehouse, with exact counts for every fault, reruns, and a SIGKILL mid-pull."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from devtools.portal_server import Faults, PortalServer
from pipeline.config import PortalSettings
from pipeline.ingest import pull as pull_module
from pipeline.ingest.landing import ReconciliationError
from pipeline.ingest.portal_client import PortalAuthError, PortalClient
from pipeline.ingest.pull import PullResult, day_windows, pull_window
from pipeline.warehouse import open_warehouse
from tests.devtools.test_portal_server import make_records

TOKEN = "pull-t0ken"
TU, DEN = datetime(2025, 1, 1), datetime(2025, 2, 1)
LABEL = "api:20250101000000-20250201000000"
CHILD = Path(__file__).with_name("portal_pull_child.py")


def window_data(valid: int = 95) -> list[dict]:
    """``valid`` valid records on 2025-01-10 plus 5 invalid ones that the server puts in January."""
    bad = make_records(5, day=12, prefix="BAD")
    bad[0]["TrangThaiHoSo"] = "11"  # not 1-10
    bad[1]["KenhThucHien"] = "9"  # not empty/1/2/3
    bad[2]["NgayCapNhat"] = "20250132080000"  # does not parse; served where its text sorts (Jan)
    del bad[3]["NgayCapNhat"]  # missing: served in every window
    bad[4]["MaDonVi"] = ""  # required
    return make_records(valid) + bad


class Counts(NamedTuple):
    versions: int
    distinct_versions: int
    cases: int
    quarantined: int
    distinct_quarantined: int
    batches: int
    records_read: int
    new_versions: int


def counts(con) -> Counts:
    return Counts(*con.execute(
        """
        SELECT (SELECT count(*) FROM raw.case_versions),
               (SELECT count(*) FROM (SELECT DISTINCT case_id, updated_at, version_hash FROM raw.case_versions)),
               (SELECT count(*) FROM core.cases),
               (SELECT count(*) FROM raw.quarantine),
               (SELECT count(DISTINCT record_hash) FROM raw.quarantine),
               (SELECT count(*) FROM raw.batches),
               (SELECT coalesce(sum(records_read), 0) FROM raw.batches),
               (SELECT coalesce(sum(records_new_versions), 0) FROM raw.batches)
        """
    ).fetchone())


def settings_for(server: PortalServer, **kw) -> PortalSettings:
    base = dict(base_url=server.url, token=TOKEN, page_size=10, timeout_s=2, max_retries=6, max_retry_time_s=20)
    return PortalSettings(**(base | kw))


def pull(con, server: PortalServer, *, chunk: int = 40, sleep=lambda s: None, tu=TU, den=DEN, log=None,
         prefetch: int = 8, **kw) -> PullResult:
    s = settings_for(server, **kw)
    client = PortalClient(s, sleep=sleep, backoff_base_s=0.001, backoff_cap_s=0.01)
    with client:
        return pull_window(con, s, tu, den, chunk_records=chunk, client=client, log=log, prefetch_pages=prefetch)


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "portal-prefetch"]


class ListLog:
    """Like Dagster's context.log: one preformatted message per call."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    warning = error = info


# -- the normal case -----------------------------------------------------------------------
@pytest.mark.parametrize("prefetch", [8, 1, 0], ids=["prefetch-8", "prefetch-1", "no-thread"])
def test_clean_pull_lands_the_window_exactly(con, prefetch):
    log = ListLog()
    outside = make_records(4, day=1, month=2, prefix="FEB")  # den_ngay is exclusive
    with PortalServer(window_data() + outside, token=TOKEN) as server:
        result = pull(con, server, log=log, prefetch=prefetch)
    assert (result.records_pulled, result.records_landed, result.records_quarantined, result.new_versions) == (
        100, 95, 5, 95)
    assert (result.pages, result.batches, result.retries, result.repulls) == (10, 3, 0, 0)
    assert result.window == "[2025-01-01 00:00, 2025-02-01 00:00)" and result.seconds > 0
    assert counts(con) == Counts(95, 95, 95, 5, 5, 3, 100, 95)
    assert con.execute(
        "SELECT source_kind, source_name, records_read, records_landed + records_quarantined FROM raw.batches "
        "ORDER BY batch_id").fetchall() == [
        ("api", f"{LABEL}#1", 40, 40), ("api", f"{LABEL}#2", 40, 40), ("api", f"{LABEL}#3", 20, 20)]
    assert con.execute("SELECT count(*) FROM core.merged_batches").fetchone()[0] == 3
    assert sum(": batch " in line for line in log.lines) == 3
    assert not prefetch_threads()


def test_batches_are_whole_pages_of_at_least_chunk_records(con):
    with PortalServer(window_data(), token=TOKEN) as server:
        result = pull(con, server, chunk=25)
    assert result.batches == 4
    assert [r[0] for r in con.execute("SELECT records_read FROM raw.batches ORDER BY batch_id").fetchall()] == [
        30, 30, 30, 10]


# -- every fault of the contract: exact landed counts -------------------------------------
FAULTS = {
    "429": Faults(rate_limit_every=3, retry_after_s="0.01"),
    "5xx": Faults(server_error_every=2),
    "dropped": Faults(drop_connection_every=3),
    "slow": Faults(slow_page_s=0.5),
    "html": Faults(html_error_every=2),
    "malformed": Faults(malformed_json_every=3),
    "error_code": Faults(error_code_every=4),
    "repeats": Faults(repeat_previous_page_records=4),
    "tong_so": Faults(tong_so_change_after_pages=4, tong_so_change_records=3),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_lands_exact_counts(con, name):
    faults = FAULTS[name]
    with PortalServer(window_data(), token=TOKEN, faults=faults) as server:
        def recover(_: float) -> None:  # a slow portal gets faster after the first timeout
            server.faults.slow_page_s = 0

        result = pull(con, server, sleep=recover, timeout_s=0.1 if name == "slow" else 2)
    grown = 3 if name == "tong_so" else 0  # three new cases appeared in the window while paging
    assert (result.records_pulled, result.records_landed, result.records_quarantined) == (100 + grown, 95 + grown, 5)
    c = counts(con)
    assert c == Counts(95 + grown, 95 + grown, 95 + grown, 5, 5, c.batches, 100 + grown, 95 + grown)
    if name == "repeats":
        assert result.duplicates_dropped == 4 * 9 and result.retries == 0
    elif name == "tong_so":
        assert result.repulls == 1 and result.duplicates_dropped > 0
    else:
        assert result.retries > 0


def test_token_expiring_mid_pull_keeps_whole_batches_then_rerun_completes(con, caplog):
    caplog.set_level(logging.ERROR)
    with (PortalServer(window_data(), token=TOKEN, faults=Faults(expire_token_after=5)) as server,
          pytest.raises(PortalAuthError, match="DVC_PORTAL_TOKEN")):
        pull(con, server, chunk=25)
    # pages 1-3 made one batch (30 records >= 25); pages 4-5 were pulled but not a whole batch
    assert counts(con) == Counts(30, 30, 30, 0, 0, 1, 30, 30)  # and core.cases already has them
    assert "pull failed after 5 pages; the 1 batches landed before it are kept" in caplog.text
    with PortalServer(window_data(), token=TOKEN) as server:
        result = pull(con, server, chunk=25)
    assert result.new_versions == 65
    assert counts(con) == Counts(95, 95, 95, 5, 5, 5, 130, 95)


# -- reruns, overlaps, daily windows --------------------------------------------------------
def test_rerun_of_a_window_doubles_nothing(con):
    with PortalServer(window_data(), token=TOKEN) as server:
        first = pull(con, server)
        second = pull(con, server)
    assert (first.new_versions, second.new_versions) == (95, 0)
    assert (second.records_landed, second.records_quarantined) == (95, 5)  # reconciled, nothing stored
    assert counts(con) == Counts(95, 95, 95, 5, 5, 6, 200, 95)


def test_a_newer_version_is_a_new_version_and_wins_in_core(con):
    data = window_data()
    with PortalServer(data, token=TOKEN) as server:
        pull(con, server)
    newer = data[0] | {"TrangThaiHoSo": "4", "NgayCapNhat": "20250120080000"}
    with PortalServer(data + [newer], token=TOKEN) as server:
        result = pull(con, server)
    assert result.new_versions == 1
    assert counts(con)[:4] == (96, 96, 95, 5)


def test_day_windows_are_local_midnights():
    assert day_windows(date(2025, 1, 30), date(2025, 2, 1)) == [
        (datetime(2025, 1, 30), datetime(2025, 1, 31)),
        (datetime(2025, 1, 31), datetime(2025, 2, 1)),
        (datetime(2025, 2, 1), datetime(2025, 2, 2)),
    ]
    assert day_windows(date(2024, 12, 31), date(2024, 12, 31)) == [(datetime(2024, 12, 31), datetime(2025, 1, 1))]
    assert len(day_windows(date(2024, 1, 1), date(2024, 12, 31))) == 366
    with pytest.raises(ValueError):
        day_windows(date(2025, 1, 2), date(2025, 1, 1))


def test_daily_windows_land_each_day_once(con):
    data = make_records(30, day=9, prefix="D9") + make_records(20, day=10, prefix="D10")
    data += [{"MaHoSo": "NO-DATE", "MaDonVi": "U", "MaTTHC": "P", "TrangThaiHoSo": "2"}]  # in every window
    results = []
    with PortalServer(data, token=TOKEN) as server:
        for tu, den in day_windows(date(2025, 1, 8), date(2025, 1, 10)):
            results.append(pull(con, server, tu=tu, den=den))
    assert [(r.records_pulled, r.records_landed, r.records_quarantined) for r in results] == [
        (1, 0, 1), (31, 30, 1), (21, 20, 1)]
    assert con.execute("SELECT source_name FROM raw.batches ORDER BY batch_id").fetchall()[1] == (
        "api:20250109000000-20250110000000#1",)
    assert counts(con) == Counts(50, 50, 50, 1, 1, 3, 53, 50)  # the broken record quarantined once


def test_one_client_for_several_windows_reports_each_window(con):
    data = make_records(30, day=9, prefix="D9") + make_records(20, day=10, prefix="D10")
    with PortalServer(data, token=TOKEN) as server:
        s = settings_for(server)
        with PortalClient(s, sleep=lambda _: None) as client:
            results = [pull_window(con, s, tu, den, client=client) for tu, den in
                       day_windows(date(2025, 1, 9), date(2025, 1, 10))]
            assert client.stats.pages == 5  # not closed by pull_window, still counting
    assert [(r.pages, r.records_pulled, r.batches) for r in results] == [(3, 30, 1), (2, 20, 1)]


# -- guards --------------------------------------------------------------------------------
def test_reconciliation_mismatch_raises(con, monkeypatch):
    real = pull_module.land_records

    def lossy(con, name, records, first_row=1):
        result = real(con, name, records, first_row=first_row)
        result.records_landed -= 1  # as if a record had vanished between pull and landing
        return result

    monkeypatch.setattr(pull_module, "land_records", lossy)
    with PortalServer(make_records(500), token=TOKEN) as server:
        with pytest.raises(ReconciliationError, match="40 records pulled"):
            pull(con, server, prefetch=3)
        time.sleep(0.2)
        assert server.requests <= 4 + 3 + 1  # the download thread stopped, it did not pull all 50 pages
    assert not prefetch_threads()


def test_bad_arguments(con):
    s = PortalSettings(base_url="http://127.0.0.1:9", token=TOKEN)
    with pytest.raises(ValueError, match="empty window"):
        pull_window(con, s, DEN, TU)
    with pytest.raises(ValueError, match="chunk_records"):
        pull_window(con, s, TU, DEN, chunk_records=0)


# -- SIGKILL mid-pull ----------------------------------------------------------------------
def _batches_logged(progress: Path) -> int:
    return sum(": batch " in line for line in progress.read_text(encoding="utf-8").splitlines())


def test_sigkill_mid_pull_leaves_whole_batches_and_a_rerun_lands_the_rest_once(tmp_path):
    warehouse, progress = tmp_path / "kill.duckdb", tmp_path / "progress.log"
    progress.touch()
    data = window_data(295)  # 300 records: 30 pages of 10, batches of 20 (2 pages)
    with PortalServer(data, token=TOKEN, faults=Faults(slow_page_s=0.02)) as server:
        with open(tmp_path / "child.err", "w") as err:
            proc = subprocess.Popen([sys.executable, str(CHILD), server.url, TOKEN, str(warehouse), str(progress)],
                                    stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while _batches_logged(progress) < 2:
                assert proc.poll() is None, (tmp_path / "child.err").read_text()
                assert time.monotonic() < deadline, "the child landed no 2 batches in 60 s"
                time.sleep(0.005)
            server.faults.slow_page_s = 5  # the child's next page hangs: it is surely mid-pull
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        server.faults.slow_page_s = 0

        with open_warehouse(warehouse) as con:
            killed = counts(con)
            last_killed_id = con.execute("SELECT max(batch_id) FROM raw.batches").fetchone()[0]
            batches = con.execute(
                "SELECT source_name, records_read, records_landed + records_quarantined FROM raw.batches "
                "ORDER BY batch_id").fetchall()
            # only whole, committed batches: each 20 records read = landed + quarantined
            assert 2 <= killed.batches < 15 and all(b[1] == b[2] == 20 for b in batches)
            assert [b[0] for b in batches] == [f"{LABEL}#{i}" for i in range(1, killed.batches + 1)]
            assert killed.versions + killed.quarantined == killed.records_read == 20 * killed.batches
            assert con.execute(
                "SELECT count(*) FROM raw.case_versions WHERE batch_id NOT IN (SELECT batch_id FROM raw.batches)"
            ).fetchone()[0] == 0

            result = pull(con, server, chunk=20)  # the rerun, in this process
            after = counts(con)
            rerun_read = con.execute("SELECT sum(records_read) FROM raw.batches WHERE batch_id > ?",
                                     [last_killed_id]).fetchone()[0]
    assert (result.records_pulled, result.records_landed, result.records_quarantined) == (300, 295, 5)
    assert result.new_versions == 295 - killed.versions
    assert rerun_read == 300  # the rerun read every distinct record of the window once
    assert after == Counts(
        versions=295, distinct_versions=295, cases=295, quarantined=5, distinct_quarantined=5,
        batches=killed.batches + 15, records_read=killed.records_read + 300, new_versions=295,
    )
