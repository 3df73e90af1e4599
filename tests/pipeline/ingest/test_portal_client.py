"""The real httpx client against the real local portal server over TCP (no warehouse here).

Sleeps are injected (recorded, not slept) so every retry path runs in milliseconds.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime

import httpx
import pytest

from devtools.portal_server import Faults, PortalServer
from pipeline.config import PortalSettings
from pipeline.ingest.portal_client import (
    PortalApiError,
    PortalAuthError,
    PortalClient,
    PortalError,
    PortalIncompleteError,
    PortalUnavailableError,
    record_key,
)
from tests.devtools.test_portal_server import make_records

TOKEN = "cl1ent-secret-t0ken"
TU, DEN = datetime(2025, 1, 1), datetime(2025, 2, 1)


class Sleeps(list):
    """Injected sleep: records the waits, returns at once (optionally runs a hook)."""

    def __init__(self, hook=None) -> None:
        super().__init__()
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook:
            self.hook(seconds)


class UpperBound(random.Random):
    """Jitter that always picks the top of the range, so backoff waits are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


def make_settings(url: str, **kw) -> PortalSettings:
    base = dict(base_url=url, token=TOKEN, page_size=10, timeout_s=2, max_retries=6, max_retry_time_s=20)
    return PortalSettings(**(base | kw))


def make_client(server_or_url, sleeps: Sleeps | None = None, *, transport=None, client_kw=None, **kw) -> PortalClient:
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    return PortalClient(make_settings(url, **kw), sleep=sleeps if sleeps is not None else Sleeps(),
                        transport=transport, backoff_base_s=0.01, backoff_cap_s=0.1, **(client_kw or {}))


def pull_all(client: PortalClient, tu: datetime = TU, den: datetime = DEN) -> list[dict]:
    with client:
        return [r for page in client.iter_records(tu, den) for r in page]


def assert_one_line(exc: BaseException) -> None:
    assert isinstance(exc, PortalError) and "\n" not in str(exc) and TOKEN not in str(exc)


# -- the normal case -----------------------------------------------------------------------
def test_clean_window_pages_in_order():
    data = make_records(95)
    outside = make_records(3, day=1, month=2, prefix="FEB")  # den_ngay is exclusive
    with PortalServer(data + outside, token=TOKEN) as server:
        client = make_client(server)
        with client:
            pages = list(client.iter_records(TU, DEN))
        requests = server.requests
    assert [len(p) for p in pages] == [10] * 9 + [5]
    assert [r for p in pages for r in p] == data  # every field as served, in portal order
    s = client.stats
    assert (s.pages, s.records, s.retries, s.repulls, s.duplicates_dropped, s.last_tong_so) == (10, 95, 0, 0, 0, 95)
    assert s.seconds > 0 and requests == 10


def test_empty_window_is_one_request_and_no_pages():
    with PortalServer(make_records(5), token=TOKEN) as server:
        client = make_client(server)
        assert pull_all(client, datetime(2024, 1, 1), datetime(2024, 1, 2)) == []
        assert server.requests == 1 and client.stats.pages == 1


def test_window_must_not_be_empty():
    client = make_client("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="den must be after tu"):
        pull_all(client, DEN, TU)


# -- every retryable fault: exact records, bounded, with backoff ----------------------------
@pytest.mark.parametrize(
    "faults",
    [
        Faults(rate_limit_every=3, retry_after_s="0.05"),
        Faults(server_error_every=2),
        Faults(drop_connection_every=3),
        Faults(html_error_every=2),
        Faults(malformed_json_every=3),
        Faults(error_code_every=4),
        Faults(rate_limit_every=5, retry_after_s="0.05", server_error_every=7, drop_connection_every=11, html_error_every=13,
               malformed_json_every=17, error_code_every=19, repeat_previous_page_records=2),
    ],
    ids=["429", "5xx", "dropped", "html", "malformed", "error_code", "all-at-once"],
)
def test_retryable_faults_give_exact_records(faults):
    data = make_records(95)
    sleeps = Sleeps()
    with PortalServer(data, token=TOKEN, faults=faults) as server:
        client = make_client(server, sleeps)
        got = pull_all(client)
        requests = server.requests
    assert got == data
    s = client.stats
    assert s.retries > 0 and len(sleeps) == s.retries and requests == s.pages + s.retries
    assert s.pages == 10 and s.records == 95 and s.repulls == 0
    assert all(0 <= w <= 0.1 for w in sleeps)  # full jitter under the cap
    if faults.rate_limit_every == 3:
        assert sleeps == [0.05] * s.retries  # Retry-After honoured (jitter is smaller here)


def test_slow_page_times_out_and_is_retried():
    data = make_records(15)
    with PortalServer(data, token=TOKEN, faults=Faults(slow_page_s=0.5)) as server:
        sleeps = Sleeps(hook=lambda _: setattr(server.faults, "slow_page_s", 0))  # the portal recovers
        client = make_client(server, sleeps, timeout_s=0.1)
        assert pull_all(client) == data
    assert client.stats.retries == 1 and client.stats.pages == 2


def test_retry_after_is_capped():
    with PortalServer(make_records(25), token=TOKEN, faults=Faults(rate_limit_every=2, retry_after_s="3600")) as server:
        sleeps = Sleeps()
        client = make_client(server, sleeps, client_kw={"max_retry_after_s": 0.25})
        assert len(pull_all(client)) == 25
    assert sleeps and set(sleeps) == {0.25}


def test_backoff_is_exponential_capped_and_bounded_in_count():
    sleeps = Sleeps()
    with PortalServer(make_records(5), token=TOKEN, faults=Faults(server_error_every=1)) as server:
        client = make_client(server, sleeps, max_retries=5, client_kw={"rng": UpperBound()})
        with pytest.raises(PortalUnavailableError) as err:
            pull_all(client)
        requests = server.requests
    assert sleeps == [0.01, 0.02, 0.04, 0.08, 0.1]  # base * 2^k, capped at 0.1; full jitter picks in [0, that]
    assert requests == 6 and client.stats.retries == 5
    message = str(err.value)
    assert_one_line(err.value)
    for part in ("DVC_PORTAL_URL", server.url, "6 attempts", "DVC_PORTAL_MAX_RETRIES=5", "HTTP 502", "HTTP 503",
                 "HTTP 504", "page 1"):
        assert part in message


def test_full_jitter_spreads_waits():
    sleeps = Sleeps()
    with PortalServer(make_records(5), token=TOKEN, faults=Faults(server_error_every=1)) as server:
        client = make_client(server, sleeps, max_retries=12, client_kw={"rng": random.Random(3)})
        with pytest.raises(PortalUnavailableError):
            pull_all(client)
    assert len(sleeps) == 12 and len(set(sleeps)) == 12
    assert all(0 <= w <= min(0.1, 0.01 * 2 ** k) for k, w in enumerate(sleeps))


def test_retries_are_bounded_in_total_time():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with PortalServer(make_records(5), token=TOKEN, faults=Faults(rate_limit_every=1, retry_after_s="0.3")) as server:
        client = PortalClient(make_settings(server.url, max_retries=100, max_retry_time_s=1.0), sleep=sleep,
                              clock=lambda: now[0], backoff_base_s=0.01, backoff_cap_s=0.1)
        with pytest.raises(PortalUnavailableError, match="DVC_PORTAL_MAX_RETRY_TIME_S") as err:
            pull_all(client)
        assert server.requests == 4 and now[0] == pytest.approx(0.9)
    assert "HTTP 429" in str(err.value)


def test_dropped_connections_exhausted():
    with PortalServer(make_records(5), token=TOKEN, faults=Faults(drop_connection_every=1)) as server:
        client = make_client(server, max_retries=2)
        with pytest.raises(PortalUnavailableError, match="connection problem") as err:
            pull_all(client)
        assert server.requests == 3
    assert_one_line(err.value)


def test_portal_down_is_unavailable_naming_the_url():
    server = PortalServer([], token=TOKEN)
    url = server.url
    server.stop()
    client = make_client(url, max_retries=2)
    with pytest.raises(PortalUnavailableError, match="DVC_PORTAL_URL") as err:
        pull_all(client)
    assert url in str(err.value) and client.stats.retries == 2


def test_error_code_that_does_not_clear_is_an_api_error():
    with PortalServer(make_records(5), token=TOKEN, faults=Faults(error_code_every=1)) as server:
        client = make_client(server, max_retries=3)
        with pytest.raises(PortalApiError, match="error_code -3") as err:
            pull_all(client)
        assert server.requests == 4
    assert "DVC_PORTAL_URL" in str(err.value)


# -- failures that must not be retried -----------------------------------------------------
def test_bad_token_fails_at_once_naming_the_setting():
    sleeps = Sleeps()
    with PortalServer(make_records(5), token="another-token") as server:
        client = make_client(server, sleeps)
        with pytest.raises(PortalAuthError, match="DVC_PORTAL_TOKEN") as err:
            pull_all(client)
        assert server.requests == 1 and sleeps == []
    assert_one_line(err.value)


def test_token_expiring_mid_pull_keeps_the_pages_yielded():
    got: list[dict] = []
    with PortalServer(make_records(95), token=TOKEN, faults=Faults(expire_token_after=3)) as server:
        client = make_client(server)
        with client, pytest.raises(PortalAuthError, match="page 4") as err:
            for page in client.iter_records(TU, DEN):
                got.extend(page)
        assert server.requests == 4
    assert got == make_records(30) and "expired" in str(err.value)


def _mock(body, status: int = 200, calls: list | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        return httpx.Response(status, json=body) if not isinstance(body, bytes) else httpx.Response(status, content=body)

    return httpx.MockTransport(handler)


def test_error_code_minus_1_is_an_auth_error_and_minus_2_a_parameter_error():
    for code, error, words in ((-1, PortalAuthError, "DVC_PORTAL_TOKEN"), (-2, PortalApiError, "DVC_PORTAL_PAGE_SIZE")):
        calls: list = []
        client = make_client("http://portal.test", transport=_mock({"error_code": code, "message": "lỗi"}, calls=calls))
        with pytest.raises(error, match=words) as err:
            pull_all(client)
        assert len(calls) == 1 and f"error_code {code}" in str(err.value)
        assert_one_line(err.value)
        assert calls[0].headers["Authorization"] == f"Bearer {TOKEN}"
        assert calls[0].url.params["so_ban_ghi"] == "10" and calls[0].url.params["tu_ngay"] == "20250101000000"


def test_page_size_over_5000_is_refused_before_any_request():
    with pytest.raises(PortalApiError, match="DVC_PORTAL_PAGE_SIZE"):
        make_client("http://portal.test", page_size=5001)
    make_client("http://portal.test", page_size=5000).close()


def test_body_without_a_data_list_is_retried_then_unavailable():
    calls: list = []
    client = make_client("http://portal.test", max_retries=2,
                         transport=_mock({"error_code": 0, "tong_so": 3, "data": "x"}, calls=calls))
    with pytest.raises(PortalUnavailableError, match="malformed JSON"):
        pull_all(client)
    assert len(calls) == 3


def test_forbidden_and_not_found_are_not_retried():
    for status, error, words in ((403, PortalAuthError, "DVC_PORTAL_TOKEN"), (404, PortalApiError, "DVC_PORTAL_URL")):
        calls: list = []
        client = make_client("http://portal.test", transport=_mock(b"<html>no</html>", status, calls))
        with pytest.raises(error, match=words):
            pull_all(client)
        assert len(calls) == 1


# -- repeated records and a changing tong_so ----------------------------------------------
def test_records_repeated_from_the_previous_page_are_dropped():
    data = make_records(95)
    with PortalServer(data, token=TOKEN, faults=Faults(repeat_previous_page_records=4)) as server:
        client = make_client(server)
        got = pull_all(client)
    assert got == data and client.stats.duplicates_dropped == 4 * 9 and client.stats.repulls == 0


def test_same_case_and_time_but_different_content_is_not_a_duplicate():
    a = make_records(1)[0]
    b = a | {"TrangThaiHoSo": "4"}
    assert record_key(a) != record_key(b) and record_key(a) == record_key(dict(reversed(a.items())))
    with PortalServer([a, b], token=TOKEN) as server:
        assert len(pull_all(make_client(server))) == 2


def test_tong_so_change_repulls_from_page_1_and_dedups_across_passes(caplog):
    caplog.set_level(logging.WARNING)
    data, late = make_records(50), make_records(7, day=20, prefix="LATE")
    faults = Faults(tong_so_change_after_pages=2, extra_records=late)
    with PortalServer(data, token=TOKEN, faults=faults) as server:
        client = make_client(server)
        got = pull_all(client)
        requests = server.requests
    keys = [r["MaHoSo"] for r in got]
    assert sorted(keys) == sorted(r["MaHoSo"] for r in data + late) and len(keys) == len(set(keys)) == 57
    s = client.stats
    assert s.repulls == 1 and s.duplicates_dropped == 30 and s.last_tong_so == 57
    assert requests == 3 + 6  # pass 1 stopped at page 3 (tong_so 57), pass 2: pages 1-6
    assert "tong_so changed from 50 to 57" in caplog.text


def test_records_appearing_at_the_start_shift_pages_and_nothing_is_lost():
    data = make_records(95)
    faults = Faults(tong_so_change_after_pages=4, tong_so_change_records=3)
    with PortalServer(data, token=TOKEN, faults=faults) as server:
        client = make_client(server)
        got = pull_all(client)
    keys = [r["MaHoSo"] for r in got]
    assert len(keys) == len(set(keys)) == 98
    assert {k for k in keys if "MOI" in k} == {f"HS-00000-MOI1-{i}" for i in range(3)}
    assert client.stats.repulls == 1


def test_a_window_that_keeps_changing_fails_after_bounded_repulls():
    faults = Faults(tong_so_change_after_pages=1, tong_so_change_times=1000)
    with PortalServer(make_records(50), token=TOKEN, faults=faults) as server:
        client = make_client(server, client_kw={"max_repulls": 2})
        with pytest.raises(PortalIncompleteError, match="kept changing") as err:
            pull_all(client)
        assert server.requests <= 2 * 3  # each pass stops as soon as tong_so moves
    assert client.stats.repulls == 2
    assert_one_line(err.value)


def test_fewer_records_than_tong_so_is_never_silently_short():
    body = {"error_code": 0, "message": "", "tong_so": 5, "trang": 1, "so_trang": 1, "data": make_records(3)}
    client = make_client("http://portal.test", transport=_mock(body))
    with pytest.raises(PortalIncompleteError, match="tong_so=5"):
        pull_all(client)


# -- secrets -------------------------------------------------------------------------------
def test_token_is_never_logged_nor_in_messages(caplog):
    caplog.set_level(logging.DEBUG)
    faults = Faults(server_error_every=3, rate_limit_every=4, retry_after_s="0", tong_so_change_after_pages=2)
    with PortalServer(make_records(40), token=TOKEN, faults=faults) as server:
        client = make_client(server)
        pull_all(client)
        with pytest.raises(PortalAuthError) as err:
            pull_all(make_client(server, token="wrong-" + TOKEN))
    assert client.stats.retries and client.stats.repulls
    assert "/api/v1/hoso" in caplog.text and "20250101000000" in caplog.text  # the path and window are
    assert TOKEN not in caplog.text and TOKEN not in repr(client) and TOKEN not in repr(client.settings)
    assert_one_line(err.value)
