"""The real httpx client against the real local portal server over TCP, for every fault."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from devtools.portal_server import Faults, PortalServer
from pipeline.config import PortalSettings
from pipeline.ingest.portal_client import PortalAuthError, PortalClient, PortalUnavailableError
from pipeline.ingest.pull import pull_window

TOKEN = "t0ken"
TU, DEN = datetime(2025, 1, 1), datetime(2025, 2, 1)


def records(n: int, *, day: int = 10, prefix: str = "K") -> list[dict]:
    out = []
    for i in range(n):
        ts = f"202501{day:02d}{i // 3600 % 24:02d}{i // 60 % 60:02d}{i % 60:02d}"
        out.append({"MaHoSo": f"{prefix}{i:05d}", "MaDonVi": "U1", "MaTTHC": "P1", "TrangThaiHoSo": "2",
                    "KenhThucHien": "2", "NgayTiepNhan": ts, "NgayCapNhat": ts, "SoDienThoai": "0912345678"})
    return out


def settings(server: PortalServer, **kw) -> PortalSettings:
    base = dict(base_url=server.url, token=TOKEN, page_size=10, timeout_s=2, max_retries=6, max_retry_time_s=20)
    return PortalSettings(**(base | kw))


def pull(con, server, **kw):
    client = PortalClient(settings(server, **kw), backoff_base_s=0.001, backoff_cap_s=0.05)
    return pull_window(con, settings(server, **kw), TU, DEN, chunk_records=25, client=client)


def landed(con) -> tuple[int, int, int]:
    return con.execute(
        "SELECT (SELECT count(*) FROM raw.case_versions), (SELECT count(DISTINCT case_id) FROM core.cases), "
        "(SELECT coalesce(sum(records_read), 0) FROM raw.batches)").fetchone()


def test_clean_pull_lands_the_window_exactly(con):
    outside = records(5, day=1, prefix="OUT")
    for r in outside:
        r["NgayCapNhat"] = "20250201000000"  # den_ngay is exclusive
    with PortalServer(records(95) + outside, token=TOKEN) as server:
        result = pull(con, server)
    assert (result.records_pulled, result.records_landed, result.pages) == (95, 95, 10)
    assert landed(con) == (95, 95, 95)


@pytest.mark.parametrize(
    "faults",
    [
        Faults(rate_limit_every=3, retry_after_s="0.01"),
        Faults(server_error_every=2),
        Faults(drop_connection_every=3),
        Faults(html_error_every=2),
        Faults(malformed_json_every=3),
        Faults(error_code_every=4),
        Faults(repeat_previous_page_records=4),
    ],
    ids=["429", "5xx", "dropped", "html", "malformed", "error_code", "repeats"],
)
def test_survives_each_fault_with_exact_counts(con, faults):
    with PortalServer(records(95), token=TOKEN, faults=faults) as server:
        result = pull(con, server)
    assert result.records_pulled == 95 and landed(con) == (95, 95, 95)
    assert result.retries > 0 or faults.repeat_previous_page_records
    if faults.repeat_previous_page_records:
        assert result.duplicates_dropped > 0


def test_slow_page_times_out_then_gives_up_with_a_clear_error(con):
    with (PortalServer(records(5), token=TOKEN, faults=Faults(slow_page_s=0.5)) as server,
          pytest.raises(PortalUnavailableError, match="DVC_PORTAL_URL")):
        pull(con, server, timeout_s=0.1, max_retries=2)
    assert landed(con) == (0, 0, 0)


def test_tong_so_changing_while_paging_repulls_the_window(con):
    late = records(7, day=20, prefix="LATE")
    with PortalServer(records(50), token=TOKEN, faults=Faults(tong_so_change_after_pages=2, extra_records=late)) as server:
        result = pull(con, server)
    assert result.repulls == 1 and result.records_pulled == 57
    assert landed(con)[:2] == (57, 57)


def test_bad_token_fails_at_once_naming_the_setting(con):
    with PortalServer(records(5), token="other") as server:
        with pytest.raises(PortalAuthError, match="DVC_PORTAL_TOKEN"):
            pull(con, server)
        assert server.requests == 1  # no retry storm


def test_token_expiring_mid_pull_keeps_what_landed(con):
    with (PortalServer(records(95), token=TOKEN, faults=Faults(expire_token_after=5)) as server,
          pytest.raises(PortalAuthError)):
        pull(con, server)
    versions, cases, read = landed(con)
    assert versions == read == 30  # pages 1-3 made one whole batch (>= 25) before the 401 on page 6
    with PortalServer(records(95), token=TOKEN) as server:
        pull(con, server)
    assert landed(con)[:2] == (95, 95)


def test_rerun_of_a_window_doubles_nothing(con):
    data = records(40)
    data[3]["TrangThaiHoSo"] = "11"  # one invalid record
    with PortalServer(data, token=TOKEN) as server:
        first = pull(con, server)
        second = pull(con, server)
    assert (first.records_landed, first.records_quarantined) == (39, 1)
    assert second.new_versions == 0
    assert con.execute("SELECT count(*) FROM raw.case_versions").fetchone()[0] == 39
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1


def test_token_is_never_in_logs_or_repr(con, caplog):
    caplog.set_level("DEBUG")
    with PortalServer(records(20), token=TOKEN, faults=Faults(server_error_every=2)) as server:
        s = settings(server)
        pull(con, server)
    assert TOKEN not in repr(s) and TOKEN not in caplog.text


def test_sigkill_mid_pull_then_rerun_lands_everything_once(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    child = Path(__file__).with_name("pull_child.py")
    with PortalServer(records(200), token=TOKEN, faults=Faults(slow_page_s=0.05)) as server:
        proc = subprocess.Popen([sys.executable, str(child), server.url, str(warehouse)])
        deadline = time.monotonic() + 60
        while server.pages_served < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        from pipeline.warehouse import open_warehouse

        with open_warehouse(warehouse) as con:
            before = landed(con)
            assert before[0] < 200  # killed mid-pull: part of the window only
            server.faults.slow_page_s = 0
            pull(con, server)
            assert landed(con)[:2] == (200, 200)
            assert con.execute(
                "SELECT count(*) FROM (SELECT case_id, updated_at FROM raw.case_versions GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()[0] == 0
