"""A local export-API server (docs/portal_export.md §4) over given records, with fault switches.

Real HTTP on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` in a thread, HTTP/1.1 keep-alive): the
demo pulls from it and the tests drive the real client against it for every fault the contract
lists. No dependency beyond the standard library (and the contract's date parser).

    GET /api/v1/hoso?tu_ngay=yyyyMMddHHmmss&den_ngay=yyyyMMddHHmmss&trang=1&so_ban_ghi=1000
    Authorization: Bearer <token>

Window membership (``NgayCapNhat`` in ``[tu_ngay, den_ngay)``), ordered by
(``NgayCapNhat``, ``MaHoSo``):

- a ``NgayCapNhat`` in any accepted contract form (§3) is placed at its local time;
- an invalid one that still *looks* like a date is placed where its raw text sorts, as a portal
  filtering on a text column would: ``20250231120000`` -> ``2025-02-31 12:00:00`` (between
  2025-02-28 and 2025-03-01); ``31/02/2025`` and ``2025-02-31`` likewise via ``20250231``;
- a missing, empty or shapeless one (``abc``) is served in **every** window, after the dated
  records. The pipeline quarantines such records; landing stores a broken record once.

Run by hand over generated data (until Ctrl-C):

    python -m devtools.portal_server --port 8765 --versions 20000 --seed 7 --token demo-token
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from pipeline.ingest.portal_client import (  # the contract's constants, once
    _STAMP,
    API_PATH,
    MAX_PAGE_SIZE,
)
from schemas.case_record import parse_portal_datetime

_RE_DIGITS = re.compile(r"\d{8}")
_RE_VN = re.compile(r"(\d{2})/(\d{2})/(\d{4})(?:\s+(\d{2}):(\d{2}):(\d{2}))?")
_RE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2}))?")


@dataclass
class Faults:
    """Switches for the portal's real-world behaviour (docs/portal_export.md §4); 0 = off.

    ``*_every = n`` fires on every n-th request (request numbers count every request the server
    received, failed ones included). When several fire on the same request the first in this
    order wins: expired token, dropped connection, 429, 5xx, HTML page, malformed JSON,
    error_code. ``slow_page_s`` delays every answer.
    """

    rate_limit_every: int = 0  # HTTP 429 with Retry-After: retry_after_s
    retry_after_s: str = "1"  # the Retry-After header value (seconds; keep it small in tests)
    server_error_every: int = 0  # HTTP 502, 503, 504 in turn (HTML body, as a gateway sends)
    drop_connection_every: int = 0  # close the socket without any response
    slow_page_s: float = 0.0  # sleep this long before every answer
    html_error_every: int = 0  # an HTML maintenance page, alternately with HTTP 200 and 502
    malformed_json_every: int = 0  # HTTP 200, JSON cut off mid-record
    error_code_every: int = 0  # HTTP 200 with error_code -3 "system busy" (not an auth error)
    repeat_previous_page_records: int = 0  # page k starts with the last n records of page k-1
    tong_so_change_after_pages: int = 0  # after n pages served, records appear in the window
    tong_so_change_records: int = 3  # how many appear each time (when extra_records is empty)
    tong_so_change_times: int = 1  # how many times it happens (each after n more pages)
    extra_records: list[dict[str, Any]] = field(default_factory=list)  # what appears the 1st time
    expire_token_after: int = 0  # every request after the n-th gets HTTP 401
    # Hostile portals (issue 16): they must not hang or storm the client.
    trickle_body_s: float = 0.0  # send the headers, then the body one byte every this many seconds
    so_trang: int = 0  # announce this page count whatever tong_so is (e.g. 1,000,000)
    same_page_always: bool = False  # ignore trang: every page is page 1 (records repeat forever)
    corrupt_gzip_every: int = 0  # HTTP 200, Content-Encoding: gzip, and a body that is not gzip


def window_key(value: Any) -> str | None:
    """Sort/filter key of a NgayCapNhat: ``yyyyMMddHHmmssffffff``; None = in every window."""
    try:
        parsed = parse_portal_datetime(value)
    except ValueError:
        text = str(value).strip()
        if _RE_DIGITS.match(text):
            digits = re.match(r"\d+", text).group()[:14]
            return digits.ljust(14, "0") + "000000"
        if vn := _RE_VN.match(text):
            d, m, y, hh, mi, ss = vn.groups()
            return f"{y}{m}{d}{hh or '00'}{mi or '00'}{ss or '00'}000000"
        if iso := _RE_ISO.match(text):
            y, m, d, hh, mi, ss = iso.groups()
            return f"{y}{m}{d}{hh or '00'}{mi or '00'}{ss or '00'}000000"
        return None
    if parsed is None:
        return None
    return f"{parsed:{_STAMP}}{parsed.microsecond:06d}"


def _stamp_key(moment: datetime) -> str:
    return f"{moment:{_STAMP}}000000"


class _HTTPServer(ThreadingHTTPServer):
    """Keeps track of open connections so that stop() can close idle keep-alive ones."""

    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that hung up is business as usual
            super().handle_error(request, client_address)


class PortalServer:
    """Serves ``records`` like the national portal's export API. Use as a context manager.

    ``requests`` counts every request received, ``pages_served`` the successful pages.
    ``faults`` may be changed while the server runs (e.g. ``server.faults.slow_page_s = 0``).
    """

    def __init__(
        self,
        records: list[dict[str, Any]],
        *,
        token: str = "demo-token",
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.faults = faults or Faults()
        self.requests = 0
        self.pages_served = 0
        self.tong_so_changes = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._dated: list[tuple[str, str, dict[str, Any]]] = []
        self._keys: list[str] = []
        self._undated: list[dict[str, Any]] = []
        self._add_records(records)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a real gateway
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms stalls)
            timeout = 30  # an idle keep-alive connection is closed after this

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server._handle(self)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._httpd = _HTTPServer((host, port), Handler)
        self._thread: threading.Thread | None = None

    # -- records -----------------------------------------------------------------------
    def _add_records(self, records: list[dict[str, Any]]) -> None:
        dated = list(self._dated)
        for record in records:
            key = window_key(record.get("NgayCapNhat")) if isinstance(record, dict) else None
            if key is None:
                self._undated.append(record)
            else:
                dated.append((key, str(record.get("MaHoSo", "")), record))
        dated.sort(key=lambda row: (row[0], row[1]))
        self._dated = dated
        self._keys = [row[0] for row in dated]  # sorted: a window is found by bisection

    def _window(self, tu: datetime, den: datetime) -> tuple[int, Any]:
        """(size of the window, slice(start, stop) -> its records) without copying the window."""
        lo = bisect.bisect_left(self._keys, _stamp_key(tu))
        hi = bisect.bisect_left(self._keys, _stamp_key(den))
        dated, undated = hi - lo, self._undated

        def take(start: int, stop: int) -> list[dict[str, Any]]:
            start, stop = max(0, start), max(0, stop)
            rows = [row[2] for row in self._dated[lo + min(start, dated):lo + min(stop, dated)]]
            return rows + undated[max(0, start - dated):max(0, stop - dated)]

        return dated + len(undated), take

    def _change_window(self, tu: datetime, den: datetime) -> None:
        """New records appear at the start of the window (everything after shifts down)."""
        f = self.faults
        if self.tong_so_changes == 0 and f.extra_records:
            new = list(f.extra_records)
        else:
            lo = bisect.bisect_left(self._keys, _stamp_key(tu))
            hi = bisect.bisect_left(self._keys, _stamp_key(den))
            firsts = [row[2] for row in self._dated[lo:min(hi, lo + 1)]]
            new = [
                first | {"MaHoSo": f"{first.get('MaHoSo', '')}-MOI{self.tong_so_changes + 1}-{i}"}
                for first in firsts for i in range(f.tong_so_change_records)
            ]
        self.tong_so_changes += 1
        self._add_records(new)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PortalServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name="portal-server", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close open connections, wait for the handler threads. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()  # wakes slow pages
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> PortalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- requests ----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            n = self.requests
        f = self.faults
        if f.slow_page_s and self._stopping.wait(f.slow_page_s):
            return self._drop(h)
        with self._lock:
            answer = self._answer(h, n)
        if answer is None:
            return self._drop(h)
        status, payload, ctype, headers = answer
        try:
            h.send_response(status)
            h.send_header("Content-Type", f"{ctype}; charset=utf-8")
            h.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            if f.trickle_body_s:
                h.wfile.flush()
                for i in range(len(payload)):  # bounded: one byte per tick until stop()
                    if self._stopping.wait(f.trickle_body_s):
                        return self._drop(h)
                    h.wfile.write(payload[i:i + 1])
                    h.wfile.flush()
            else:
                h.wfile.write(payload)
        except OSError:
            h.close_connection = True  # the client hung up (e.g. it timed out)

    @staticmethod
    def _drop(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    def _answer(self, h: BaseHTTPRequestHandler, n: int) -> tuple[int, bytes, str, dict[str, str]] | None:
        """(status, body, content type, headers) for request number ``n``; None = drop it."""
        f = self.faults

        def every(k: int) -> bool:
            return k > 0 and n % k == 0

        url = urlparse(h.path)
        if url.path != API_PATH:
            return _json(404, {"error_code": -404, "message": "không tìm thấy"})
        if h.headers.get("Authorization") != f"Bearer {self.token}" or (
            f.expire_token_after and n > f.expire_token_after
        ):
            return _json(401, {"error_code": -1, "message": "token không hợp lệ hoặc đã hết hạn"})
        if every(f.drop_connection_every):
            return None
        if every(f.rate_limit_every):
            return _json(429, {"error_code": -429, "message": "quá nhiều yêu cầu"}, {"Retry-After": f.retry_after_s})
        if every(f.server_error_every):
            status = (502, 503, 504)[(n // f.server_error_every - 1) % 3]
            return status, f"<html><body><h1>{status}</h1>nginx</body></html>".encode(), "text/html", {}
        if every(f.html_error_every):
            status = (200, 502)[(n // f.html_error_every - 1) % 2]
            page = "<!DOCTYPE html><html><body>Hệ thống đang bảo trì</body></html>"
            return status, page.encode(), "text/html", {}
        if every(f.malformed_json_every):
            return 200, b'{"error_code": 0, "message": "", "tong_so": 3, "data": [{"MaHoSo": "0', "application/json", {}
        if every(f.corrupt_gzip_every):
            return 200, b"\x1f\x8b\x08\x00not really gzip at all", "application/json", {"Content-Encoding": "gzip"}
        if every(f.error_code_every):
            return _json(200, {"error_code": -3, "message": "hệ thống bận, vui lòng thử lại sau"})
        query = parse_qs(url.query)
        try:
            if any(len(v) != 1 for v in query.values()):
                raise ValueError
            tu = datetime.strptime(query["tu_ngay"][0], _STAMP)
            den = datetime.strptime(query["den_ngay"][0], _STAMP)
            page = int(query.get("trang", ["1"])[0])
            size = int(query.get("so_ban_ghi", ["1000"])[0])
            if page < 1 or not 1 <= size <= MAX_PAGE_SIZE or den <= tu:
                raise ValueError
        except (KeyError, ValueError):
            return _json(200, {"error_code": -2, "message": "tham số không hợp lệ (tu_ngay, den_ngay, trang, so_ban_ghi <= 5000)"})
        if (
            f.tong_so_change_after_pages
            and self.tong_so_changes < f.tong_so_change_times
            and self.pages_served >= f.tong_so_change_after_pages * (self.tong_so_changes + 1)
        ):
            self._change_window(tu, den)
        total, take = self._window(tu, den)
        start = 0 if f.same_page_always else (page - 1) * size
        data = take(start, start + size)
        if f.repeat_previous_page_records and page > 1:
            data = take(start - f.repeat_previous_page_records, start) + data
        self.pages_served += 1
        return _json(200, {
            "error_code": 0, "message": "", "tong_so": total, "trang": page,
            "so_trang": f.so_trang or -(-total // size), "data": data,
        })


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, bytes, str, dict[str, str]]:
    return status, json.dumps(body, ensure_ascii=False).encode(), "application/json", headers or {}


def _fault(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    kinds = {f.name: f.type for f in fields(Faults) if f.name != "extra_records"}
    if name not in kinds or not value:
        raise argparse.ArgumentTypeError(f"--fault NAME=VALUE with NAME one of {', '.join(kinds)}")
    kind = kinds[name]
    return name, value if kind == "str" else float(value) if kind == "float" else int(value)


def main(argv: list[str] | None = None) -> None:
    from datetime import date

    from devtools import demo_data

    parser = argparse.ArgumentParser(
        description="Serve generated case records like the portal's export API, until Ctrl-C."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--versions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 14))
    parser.add_argument("--token", default="demo-token")
    parser.add_argument("--fault", type=_fault, action="append", default=[],
                        help="inject a fault, e.g. --fault rate_limit_every=5 (repeatable)")
    args = parser.parse_args(argv)
    records = demo_data.generate_cases(args.versions, seed=args.seed, start=args.start, end=args.end).to_dicts()
    faults = Faults(**dict(args.fault))
    with PortalServer(records, token=args.token, faults=faults, host=args.host, port=args.port) as server:
        keys = server._keys
        span = f"NgayCapNhat {keys[0][:8]}..{keys[-1][:8]}" if keys else "no dated records"
        print(f"serving {len(records):,} records ({span}) at {server.url}{API_PATH}; "
              f"Bearer token from --token; Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", flush=True)


if __name__ == "__main__":
    main()
