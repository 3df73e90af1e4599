"""The local export-API server (devtools/portal_server.py) over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from devtools.portal_server import API_PATH, Faults, PortalServer, window_key

TOKEN = "s3rver-t0ken"
REPO = Path(__file__).resolve().parents[2]


def make_records(n: int, *, day: int = 10, month: int = 1, prefix: str = "HS", start: int = 0) -> list[dict]:
    """n valid contract records (all strings), NgayCapNhat one second apart on 2025-month-day."""
    out = []
    for i in range(start, start + n):
        ts = f"2025{month:02d}{day:02d}{i // 3600 % 24:02d}{i // 60 % 60:02d}{i % 60:02d}"
        out.append({
            "MaHoSo": f"{prefix}-{i:05d}", "MaDonVi": "000.00.03.H48", "MaTTHC": "2.001181",
            "TrangThaiHoSo": "2", "KenhThucHien": "2", "NgayTiepNhan": ts, "NgayCapNhat": ts,
            "ChuHoSo": "Nguyễn Văn An", "SoDienThoai": "0912345678",
            "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP", "Gia": "50000", "LoaiPhiLePhi": "1"}],
        })
    return out


def params(tu: str = "20250101000000", den: str = "20250201000000", page: int = 1, size: int = 10) -> dict:
    return {"tu_ngay": tu, "den_ngay": den, "trang": page, "so_ban_ghi": size}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5) as client:
        yield client


def get(http: httpx.Client, server: PortalServer, **kw) -> httpx.Response:
    return http.get(server.url + API_PATH, params=params(**kw))


def ids(response: httpx.Response) -> list[str]:
    return [r["MaHoSo"] for r in response.json()["data"]]


# -- window, order, paging ----------------------------------------------------------------
def test_window_is_half_open_ordered_and_paged(http):
    data = make_records(25)
    data.reverse()  # the server orders, not the input
    data += [
        {"MaHoSo": "B-first", "NgayCapNhat": "20250101000000"},  # tu_ngay is inclusive
        {"MaHoSo": "B-last", "NgayCapNhat": "20250201000000"},  # den_ngay is exclusive
        {"MaHoSo": "B-before", "NgayCapNhat": "20241231235959"},
        {"MaHoSo": "A-same-time", "NgayCapNhat": data[0]["NgayCapNhat"]},  # ties by MaHoSo
    ]
    with PortalServer(data, token=TOKEN) as server:
        pages = [get(http, server, page=p) for p in (1, 2, 3, 4)]
    bodies = [p.json() for p in pages]
    assert all(p.status_code == 200 for p in pages)
    assert [(b["error_code"], b["tong_so"], b["trang"], b["so_trang"]) for b in bodies] == [
        (0, 27, 1, 3), (0, 27, 2, 3), (0, 27, 3, 3), (0, 27, 4, 3)]
    served = [r["MaHoSo"] for b in bodies for r in b["data"]]
    expected = ["B-first"] + [f"HS-{i:05d}" for i in range(24)] + ["A-same-time", "HS-00024"]
    assert served == expected and bodies[3]["data"] == []
    assert server.requests == 4 and server.pages_served == 4


def test_every_contract_date_form_is_placed_at_its_local_time(http):
    data = [
        {"MaHoSo": "compact", "NgayCapNhat": "20250110080000"},
        {"MaHoSo": "vn-datetime", "NgayCapNhat": "10/01/2025 09:00:00"},
        {"MaHoSo": "vn-date", "NgayCapNhat": "11/01/2025"},
        {"MaHoSo": "iso-local", "NgayCapNhat": "2025-01-10T10:00:00+07:00"},
        {"MaHoSo": "iso-utc", "NgayCapNhat": "2025-01-10T17:30:00Z"},  # 00:30 on the 11th in Hanoi
    ]
    with PortalServer(data, token=TOKEN) as server:
        day10 = get(http, server, tu="20250110000000", den="20250111000000", size=100)
        day11 = get(http, server, tu="20250111000000", den="20250112000000", size=100)
    assert ids(day10) == ["compact", "vn-datetime", "iso-local"]
    assert ids(day11) == ["vn-date", "iso-utc"]


def test_unparseable_dates_documented_placement(http):
    """Date-like invalid text sorts where its digits put it; no date at all: every window."""
    assert window_key("20250231120000") == "20250231120000000000"
    assert window_key("31/02/2025") == window_key("2025-02-31") == "20250231000000000000"
    assert window_key("") is window_key(None) is window_key("chưa cập nhật") is None
    data = make_records(3, day=28, month=2) + [
        {"MaHoSo": "bad-compact", "NgayCapNhat": "20250231120000"},
        {"MaHoSo": "bad-vn", "NgayCapNhat": "31/02/2025"},
        {"MaHoSo": "no-date", "NgayCapNhat": ""},
        {"MaHoSo": "missing"},
    ]
    with PortalServer(data, token=TOKEN) as server:
        feb = get(http, server, tu="20250201000000", den="20250301000000", size=100)
        late_feb = get(http, server, tu="20250228010000", den="20250301000000", size=100)
        march = get(http, server, tu="20250301000000", den="20250401000000", size=100)
    assert ids(feb) == ["HS-00000", "HS-00001", "HS-00002", "bad-vn", "bad-compact", "no-date", "missing"]
    assert ids(late_feb) == ["bad-vn", "bad-compact", "no-date", "missing"]
    assert ids(march) == ["no-date", "missing"] and march.json()["tong_so"] == 2


def test_pages_run_from_dated_into_undated_records(http):
    undated = [{"MaHoSo": "U1"}, {"MaHoSo": "U2", "NgayCapNhat": "?"}]
    faults = Faults(repeat_previous_page_records=1)
    with PortalServer(make_records(12) + undated, token=TOKEN, faults=faults) as server:
        pages = [ids(get(http, server, page=p, size=5)) for p in (1, 2, 3, 4)]
    assert pages == [
        [f"HS-{i:05d}" for i in range(5)], [f"HS-{i:05d}" for i in range(4, 10)],
        ["HS-00009", "HS-00010", "HS-00011", "U1", "U2"], []]


# -- parameters and token ------------------------------------------------------------------
@pytest.mark.parametrize("bad", [
    {"size": 5001}, {"size": 0}, {"page": 0}, {"tu": "2025"}, {"den": "20250231000000"},
    {"tu": "20250201000000", "den": "20250101000000"}, {"size": "ten"},
])
def test_bad_parameters_answer_error_code_minus_2_with_http_200(http, bad):
    with PortalServer(make_records(3), token=TOKEN) as server:
        response = get(http, server, **bad)
        missing = http.get(server.url + API_PATH, params={"den_ngay": "20250201000000"})
    for r in (response, missing):
        assert r.status_code == 200 and r.json()["error_code"] == -2 and "data" not in r.json()


def test_5000_records_per_page_is_allowed(http):
    with PortalServer(make_records(3), token=TOKEN) as server:
        assert get(http, server, size=5000).json()["tong_so"] == 3


def test_bad_or_missing_token_is_401_with_error_code_minus_1(http):
    with PortalServer(make_records(3), token="other") as server:
        wrong = get(http, server)
        none = httpx.get(server.url + API_PATH, params=params(), timeout=5)
        not_found = http.get(server.url + "/api/v2/hoso")
    assert wrong.status_code == none.status_code == 401
    assert wrong.json()["error_code"] == none.json()["error_code"] == -1
    assert not_found.status_code == 404


# -- faults --------------------------------------------------------------------------------
def test_rate_limit_every_nth_request_with_retry_after(http):
    with PortalServer(make_records(3), token=TOKEN, faults=Faults(rate_limit_every=2, retry_after_s="1")) as server:
        answers = [get(http, server) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 429, 200, 429]
    assert answers[1].headers["Retry-After"] == "1"


def test_server_errors_rotate_502_503_504(http):
    with PortalServer(make_records(3), token=TOKEN, faults=Faults(server_error_every=2)) as server:
        answers = [get(http, server).status_code for _ in range(8)]
    assert answers == [200, 502, 200, 503, 200, 504, 200, 502]


def test_dropped_connection_has_no_response(http):
    with PortalServer(make_records(3), token=TOKEN, faults=Faults(drop_connection_every=2)) as server:
        assert get(http, server).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            get(http, server)
        assert get(http, server).status_code == 200  # a new connection works
        assert server.requests == 3


def test_html_error_page_with_200_then_502(http):
    with PortalServer(make_records(3), token=TOKEN, faults=Faults(html_error_every=2)) as server:
        answers = [get(http, server) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 502]
    for a in (answers[1], answers[3]):
        assert a.headers["Content-Type"].startswith("text/html") and a.text.startswith("<!DOCTYPE html>")


def test_malformed_json_and_error_code_faults(http):
    faults = Faults(malformed_json_every=3, error_code_every=2)
    with PortalServer(make_records(3), token=TOKEN, faults=faults) as server:
        answers = [get(http, server) for _ in range(3)]
    assert answers[0].json()["error_code"] == 0
    assert answers[1].status_code == 200 and answers[1].json()["error_code"] == -3
    with pytest.raises(json.JSONDecodeError):
        json.loads(answers[2].text)


def test_slow_page_delays_every_answer(http):
    with PortalServer(make_records(3), token=TOKEN, faults=Faults(slow_page_s=0.2)) as server:
        t = time.perf_counter()
        assert get(http, server).status_code == 200
        assert time.perf_counter() - t >= 0.2


def test_expire_token_after_n_requests(http):
    with PortalServer(make_records(3), token=TOKEN, faults=Faults(expire_token_after=2)) as server:
        answers = [get(http, server).status_code for _ in range(4)]
    assert answers == [200, 200, 401, 401]


def test_page_starts_with_the_last_records_of_the_previous_page(http):
    with PortalServer(make_records(25), token=TOKEN, faults=Faults(repeat_previous_page_records=3)) as server:
        pages = [ids(get(http, server, page=p)) for p in (1, 2, 3)]
    assert pages[0] == [f"HS-{i:05d}" for i in range(10)]
    assert pages[1] == [f"HS-{i:05d}" for i in range(7, 20)]
    assert pages[2] == [f"HS-{i:05d}" for i in range(17, 25)]


def test_tong_so_grows_after_n_pages_and_shifts_the_window(http):
    faults = Faults(tong_so_change_after_pages=2, tong_so_change_records=2)
    with PortalServer(make_records(25), token=TOKEN, faults=faults) as server:
        bodies = [get(http, server, page=p).json() for p in (1, 2, 3, 1)]
    assert [b["tong_so"] for b in bodies] == [25, 25, 27, 27]
    assert [b["so_trang"] for b in bodies] == [3, 3, 3, 3]
    # two new records at the start of the window: page 3 starts with page 2's last two
    assert [r["MaHoSo"] for r in bodies[2]["data"][:2]] == ["HS-00018", "HS-00019"]
    assert [r["MaHoSo"] for r in bodies[3]["data"][:3]] == ["HS-00000", "HS-00000-MOI1-0", "HS-00000-MOI1-1"]
    assert server.tong_so_changes == 1


def test_tong_so_change_with_given_records_and_repeated(http):
    late = make_records(4, day=20, prefix="LATE")
    faults = Faults(tong_so_change_after_pages=1, tong_so_change_times=3, extra_records=late)
    with PortalServer(make_records(5), token=TOKEN, faults=faults) as server:
        totals = [get(http, server).json()["tong_so"] for _ in range(6)]
    assert totals == [5, 9, 12, 15, 15, 15]


# -- lifecycle -----------------------------------------------------------------------------
def _refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return True
    return False


def test_stop_is_clean_with_idle_and_slow_connections(http):
    server = PortalServer(make_records(3), token=TOKEN, faults=Faults(slow_page_s=30)).start()
    idle = socket.create_connection(server._httpd.server_address[:2])  # open, never sends
    slow = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    errors: list[Exception] = []

    def call() -> None:
        try:
            slow.get(server.url + API_PATH, params=params())
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while server.requests < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    t = time.perf_counter()
    server.stop()
    caller.join(timeout=5)
    assert time.perf_counter() - t < 3 and not caller.is_alive() and errors  # no 30 s wait
    assert not server._thread.is_alive() and _refused(server.url)
    server.stop()  # idempotent
    idle.close()
    slow.close()


def test_stop_without_start_does_not_hang():
    server = PortalServer([], token=TOKEN)
    server.stop()
    assert _refused(server.url)


def test_faults_can_be_switched_while_running(http):
    faults = Faults(server_error_every=1)
    with PortalServer(make_records(3), token=TOKEN, faults=faults) as server:
        assert get(http, server).status_code == 502
        server.faults.server_error_every = 0
        assert get(http, server).status_code == 200


def test_command_line_serves_generated_data_until_ctrl_c():
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.portal_server", "--port", "0", "--versions", "300",
         "--seed", "7", "--token", "demo-token", "--fault", "rate_limit_every=1000"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the server printed nothing in 60 s"
        line = proc.stdout.readline()
        assert line.startswith("serving 300 records"), line + proc.stderr.read()
        url = line.split(" at ", 1)[1].split(API_PATH)[0]
        body = httpx.get(url + API_PATH, params=params("20000101000000", "21000101000000", size=5000),
                         headers={"Authorization": "Bearer demo-token"}, timeout=10).json()
        assert body["error_code"] == 0 and body["tong_so"] == len(body["data"]) == 300
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert _refused(url)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_window_key_orders_like_time():
    stamps = ["20250101000000", "01/01/2025 00:00:01", "2025-01-01T00:00:02+07:00"]
    keys = [window_key(s) for s in stamps]
    assert keys == sorted(keys)
    assert window_key(datetime(2025, 1, 1).strftime("%Y%m%d%H%M%S")) == keys[0]
