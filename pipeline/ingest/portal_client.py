"""httpx client for the portal's export API (docs/portal_export.md §4), hardened against its quirks.

- Retried with exponential backoff and full jitter, bounded per page in count
  (``DVC_PORTAL_MAX_RETRIES``) and in time (``DVC_PORTAL_MAX_RETRY_TIME_S``): HTTP 429 (its
  Retry-After is honoured, capped), 408/500/502/503/504, refused or dropped connections,
  timeouts, an HTML page or broken JSON instead of the body, an error_code other than -1/-2.
  Exhausted -> :class:`PortalUnavailableError` naming DVC_PORTAL_URL and what happened.
- HTTP 401/403 or error_code -1 -> :class:`PortalAuthError` at once (no retry storm), naming
  DVC_PORTAL_TOKEN; error_code -2 (bad parameters) -> :class:`PortalApiError` at once.
- A record repeated across pages (key: MaHoSo + NgayCapNhat + a digest of the whole record)
  is yielded once per window, also across re-pulls.
- ``tong_so`` changing between pages (the data changed while paging) restarts the window from
  page 1 (at most ``max_repulls`` times). The last pass must see a stable ``tong_so`` and at
  least that many distinct records, else :class:`PortalIncompleteError`: never silently short.

The token only travels in the Authorization header: it is never logged nor put in a message.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import logging
import math
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from pipeline.config import PortalSettings

log = logging.getLogger(__name__)

API_PATH = "/api/v1/hoso"
MAX_PAGE_SIZE = 5000
_STAMP = "%Y%m%d%H%M%S"  # the API's tu_ngay/den_ngay format (also the local test server's)
_RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
# Pages past ceil(tong_so / page size) that are still asked for while they bring new records
# (records shifting in while paging); so_trang beyond that is not trusted (a portal answering
# so_trang = 1,000,000 drove 189,866 requests in 150 s).
PAGE_SLACK = 2
MAX_BODY_BYTES = 256 << 20  # a page of 5,000 records is a few MB


class PortalError(RuntimeError):
    """Base of every export-API failure; str() is a one-line message an operator can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class PortalAuthError(PortalError):
    """The portal refused the token (HTTP 401/403 or error_code -1): fix DVC_PORTAL_TOKEN."""


class PortalApiError(PortalError):
    """The portal answered with an error_code that retrying does not fix (or did not fix)."""


class PortalUnavailableError(PortalError):
    """Retries exhausted: the portal kept failing (HTTP errors, drops, timeouts, HTML...)."""


class PortalIncompleteError(PortalError):
    """The window could not be pulled completely (it kept changing, or fewer records than tong_so)."""


@dataclass
class ClientStats:
    """Counters over the client's life (pull_window reports the difference for its window)."""

    pages: int = 0  # pages received with error_code 0
    records: int = 0  # distinct records yielded
    retries: int = 0  # failed requests that were retried
    repulls: int = 0  # windows restarted from page 1 because tong_so changed
    duplicates_dropped: int = 0  # records received again (repeated page records, re-pulls)
    seconds: float = 0.0  # time spent inside the client (requests, parsing, backoff)
    last_tong_so: int | None = None

    def minus(self, before: ClientStats) -> ClientStats:
        return ClientStats(
            pages=self.pages - before.pages, records=self.records - before.records,
            retries=self.retries - before.retries, repulls=self.repulls - before.repulls,
            duplicates_dropped=self.duplicates_dropped - before.duplicates_dropped,
            seconds=self.seconds - before.seconds, last_tong_so=self.last_tong_so,
        )


class _Retryable(Exception):
    def __init__(self, what: str, *, retry_after_s: float | None = None, api: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after_s = retry_after_s
        self.api = api  # an error_code answer (vs. an HTTP/transport failure)


def record_key(record: Any) -> bytes:
    """De-duplication key: a 128-bit digest of MaHoSo, NgayCapNhat and the whole record.

    The record is serialised with sorted keys, so the same content in another key order is the
    same record. 16 bytes per record keeps a window of millions of records in memory.
    """
    text = json.dumps(record, sort_keys=True, default=str)
    if isinstance(record, dict):
        text = f"{record.get('MaHoSo')}\x1f{record.get('NgayCapNhat')}\x1f{text}"
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _window(tu: datetime, den: datetime) -> str:
    return f"[{tu:{_STAMP}}, {den:{_STAMP}})"


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or garbage."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _safe_url(url: str) -> str:
    """The base URL without any user:password part (safe for messages and logs)."""
    try:
        parsed = httpx.URL(url)
        return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<invalid DVC_PORTAL_URL>"


class PortalClient:
    """Pull windows of the export API. ``iter_records(tu, den)`` yields each page's new records.

    ``sleep`` and ``clock`` (monotonic seconds) are injectable so that tests run fast;
    ``rng`` makes the jitter reproducible.
    """

    def __init__(
        self,
        settings: PortalSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        max_retry_after_s: float = 60.0,
        max_repulls: int = 3,
    ) -> None:
        if not 1 <= settings.page_size <= MAX_PAGE_SIZE:
            raise PortalApiError(
                f"DVC_PORTAL_PAGE_SIZE must be 1..{MAX_PAGE_SIZE} (the export API's limit), got {settings.page_size}"
            )
        self.settings = settings
        self.stats = ClientStats()
        self._sleep, self._clock = sleep, clock
        self._rng = rng or random.Random()
        self._base, self._cap = backoff_base_s, backoff_cap_s
        self._max_retry_after = max_retry_after_s
        self._max_repulls = max_repulls
        self._url = _safe_url(settings.base_url)
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers={"Authorization": f"Bearer {settings.token}", "Accept": "application/json"},
            timeout=httpx.Timeout(settings.timeout_s),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PortalClient({self._url!r}, page_size={self.settings.page_size})"

    # -----------------------------------------------------------------------------------
    def iter_records(self, tu: datetime, den: datetime) -> Iterator[list[dict[str, Any]]]:
        """Yield the records with NgayCapNhat in [tu, den), page by page, each distinct one once.

        Raises a :class:`PortalError` subclass; records yielded before the error are valid.
        """
        if den <= tu:
            raise ValueError(f"empty window {_window(tu, den)}: den must be after tu")
        window = _window(tu, den)
        seen: set[bytes] = set()
        repulls = 0
        clock_in = time.perf_counter()
        try:
            while True:
                before = len(seen)
                complete, total, pass_keys = yield from self._one_pass(tu, den, window, seen)
                if complete:
                    break
                if repulls and len(seen) == before and len(seen) >= total:
                    # a re-pull that brought nothing new, and every announced record is here:
                    # pulling again would only repeat it
                    log.warning("export API %s window %s: re-pull brought nothing new; stopping", API_PATH, window)
                    pass_keys = len(seen)
                    break
                if repulls >= self._max_repulls:
                    raise PortalIncompleteError(
                        f"window {window} kept changing while paging (tong_so moved on {repulls + 1} "
                        f"passes, {self._max_repulls} re-pulls allowed); the {len(seen)} distinct records "
                        "pulled so far are valid: pull the window again later or in smaller windows"
                    )
                repulls += 1
                self.stats.repulls += 1
            if pass_keys < total:
                raise PortalIncompleteError(
                    f"window {window} is short: the portal reports tong_so={total} but the last pass "
                    f"returned {pass_keys} distinct records ({self._url}{API_PATH}); pull it again"
                )
        finally:
            self.stats.seconds += time.perf_counter() - clock_in

    def _one_pass(self, tu: datetime, den: datetime, window: str, seen: set[bytes]):
        """Page 1..last. Returns (stable, tong_so, distinct records in this pass)."""
        size = self.settings.page_size
        pass_keys: set[bytes] = set()
        first_total: int | None = None
        page = 1
        while True:
            body = self._get_page(tu, den, page, window)
            total, data = body["tong_so"], body["data"]
            self.stats.pages += 1
            self.stats.last_tong_so = total
            if first_total is None:
                first_total = total
            fresh = []
            known = len(pass_keys)
            for record in data:
                key = record_key(record)
                pass_keys.add(key)
                if key in seen:
                    self.stats.duplicates_dropped += 1
                    continue
                seen.add(key)
                fresh.append(record)
            new_in_page = len(pass_keys) > known
            if fresh:
                self.stats.records += len(fresh)
                paused = time.perf_counter()
                try:
                    yield fresh
                finally:  # the caller's time (e.g. landing) is not the client's
                    self.stats.seconds -= time.perf_counter() - paused
            if total != first_total:
                log.warning(
                    "export API %s window %s: tong_so changed from %d to %d at page %d; "
                    "pulling the window again from page 1", API_PATH, window, first_total, total, page,
                )
                return False, total, len(pass_keys)
            expected = max(1, math.ceil(total / size))
            if body["so_trang"] > expected + PAGE_SLACK and page == 1:
                log.warning(
                    "export API %s window %s: so_trang=%d does not fit tong_so=%d at %d per page; "
                    "asking for at most %d pages", API_PATH, window, body["so_trang"], total, size,
                    expected + PAGE_SLACK,
                )
            if page >= expected and (
                len(pass_keys) >= total  # everything announced is here
                or not new_in_page  # a page past the end that brings nothing new
                or page >= expected + PAGE_SLACK  # bounded whatever the portal says
            ):
                return True, total, len(pass_keys)
            page += 1

    # -----------------------------------------------------------------------------------
    def _get_page(self, tu: datetime, den: datetime, page: int, window: str) -> dict[str, Any]:
        params = {
            "tu_ngay": f"{tu:{_STAMP}}", "den_ngay": f"{den:{_STAMP}}",
            "trang": page, "so_ban_ghi": self.settings.page_size,
        }
        where = f"window {window} page {page}"
        started = self._clock()
        failures: list[str] = []
        while True:
            try:
                return self._request(params, where)
            except _Retryable as exc:
                failures.append(exc.what)
                spent = self._clock() - started
                attempt = len(failures)
                wait = self._rng.uniform(0, min(self._cap, self._base * 2 ** (attempt - 1)))
                if exc.retry_after_s is not None:
                    wait = max(wait, min(exc.retry_after_s, self._max_retry_after))
                if attempt > self.settings.max_retries:
                    why = f"{attempt} attempts failed (DVC_PORTAL_MAX_RETRIES={self.settings.max_retries})"
                elif spent + wait > self.settings.max_retry_time_s:
                    why = (f"{attempt} attempts failed in {spent:.1f}s and the next wait ({wait:.1f}s) would pass "
                           f"DVC_PORTAL_MAX_RETRY_TIME_S={self.settings.max_retry_time_s:g}")
                else:
                    self.stats.retries += 1
                    log.warning("export API %s %s: %s; retry %d in %.2fs", API_PATH, where, exc.what, attempt, wait)
                    self._sleep(wait)
                    continue
                summary = ", ".join(f"{w} x{failures.count(w)}" for w in dict.fromkeys(failures))
                error = PortalApiError if exc.api else PortalUnavailableError
                raise error(
                    f"export API at {self._url} (DVC_PORTAL_URL) unavailable for {where}: {why}; "
                    f"last: {exc.what}; seen: {summary}"
                ) from None

    def _abort_connections(self) -> None:
        """Shut the client's sockets down (watchdog thread): a read blocked on a stalled or
        trickling portal returns at once. The client makes one request at a time."""
        pool = getattr(getattr(self._http, "_transport", None), "_pool", None)
        for conn in list(getattr(pool, "connections", None) or []):
            stream = getattr(getattr(conn, "_connection", None), "_network_stream", None)
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _request(self, params: dict[str, Any], where: str) -> dict[str, Any]:
        """One GET, bounded in TOTAL time by DVC_PORTAL_TIMEOUT_S (httpx's timeouts are per
        read: a portal sending a byte a second would never time out), then checked."""
        limit = self.settings.timeout_s
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            self._abort_connections()

        too_slow = f"timeout (no complete answer within DVC_PORTAL_TIMEOUT_S={limit:g}s)"
        watchdog = threading.Timer(limit, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            with self._http.stream("GET", API_PATH, params=params) as response:
                status = response.status_code
                content = b""
                if status == 200:
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        if timed_out.is_set():
                            raise _Retryable(too_slow)
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > MAX_BODY_BYTES:
                            raise _Retryable(f"answer larger than {MAX_BODY_BYTES >> 20} MB")
                    content = b"".join(chunks)
                if timed_out.is_set():
                    raise _Retryable(too_slow)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout ({type(exc).__name__}, DVC_PORTAL_TIMEOUT_S={limit:g})") from None
        except (httpx.DecodingError, zlib.error):
            # The portal's fault: it said Content-Encoding gzip and sent something else.
            raise _Retryable("corrupt compressed answer from the portal (Content-Encoding does not decode)") from None
        except httpx.TransportError as exc:
            if timed_out.is_set():
                raise _Retryable(too_slow) from None
            raise _Retryable(f"connection problem ({type(exc).__name__})") from None
        finally:
            watchdog.cancel()
        return self._check(response, status, content, params, where)

    def _check(
        self, response: httpx.Response, status: int, content: bytes, params: dict[str, Any], where: str
    ) -> dict[str, Any]:
        if status in (401, 403):
            raise PortalAuthError(
                f"export API at {self._url} refused the token (HTTP {status}) at {where}: "
                "DVC_PORTAL_TOKEN is wrong or expired; set a valid token and pull the window again"
            )
        if status == 429:
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            raise _Retryable("HTTP 429 rate limited", retry_after_s=retry_after)
        if status in _RETRY_STATUSES:
            raise _Retryable(f"HTTP {status}")
        if status == 404:
            raise PortalApiError(f"export API not found at {self._url}{API_PATH} (HTTP 404): check DVC_PORTAL_URL")
        if status != 200:
            raise PortalApiError(f"export API at {self._url} answered HTTP {status} at {where}")
        try:
            body = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError):
            text = content[:200].decode("utf-8", errors="replace")
            html = "html" in response.headers.get("Content-Type", "") or text.lstrip()[:1] == "<"
            raise _Retryable("an HTML page instead of JSON" if html else "malformed JSON") from None
        if not isinstance(body, dict):
            raise _Retryable("malformed JSON (not an object)")
        code = str(body.get("error_code", "0")).strip()
        message = " ".join(str(body.get("message") or "").split())[:200]
        if code == "-1":
            raise PortalAuthError(
                f"export API at {self._url} rejected the token (error_code -1: {message}) at {where}: "
                "set a valid DVC_PORTAL_TOKEN"
            )
        if code == "-2":
            raise PortalApiError(
                f"export API at {self._url} rejected the parameters (error_code -2: {message}) at {where}, "
                f"so_ban_ghi={params['so_ban_ghi']} (DVC_PORTAL_PAGE_SIZE)"
            )
        if code not in ("0", ""):
            raise _Retryable(f"error_code {code} ({message})", api=True)
        data = body.get("data")
        if data is None:
            data = []
        try:
            total = int(body.get("tong_so"))
            pages = int(body.get("so_trang") or 0)
        except (TypeError, ValueError):
            raise _Retryable("malformed JSON (tong_so/so_trang not numbers)") from None
        if not isinstance(data, list) or total < 0 or pages < 0:
            raise _Retryable("malformed JSON (data not a list)")
        return {"tong_so": total, "so_trang": pages, "data": data}
