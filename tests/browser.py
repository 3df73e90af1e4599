"""Drive Debian's headless Chromium over the DevTools protocol (for the dashboard tests).

Launches ``chromium`` with a throw-away profile and ``--remote-debugging-port=0``, reads the
port from the profile's ``DevToolsActivePort``, and talks to the page over its websocket
(``websockets``, already installed through dagster-webserver -> uvicorn[standard]). Nothing is
downloaded: background networking, component updates, sync and QUIC are off, and every
request the page makes is recorded so a test can assert there were none beyond the file.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    value: Any = None
    screenshot: bytes = b""
    seconds: float = 0.0


class Chromium:
    def __init__(self, profile: Path, *, width: int = 1280, height: int = 2000, timeout: float = 30.0) -> None:
        if CHROMIUM is None:
            raise RuntimeError("chromium is not installed")
        self.profile = profile
        self.size = (width, height)
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.ws = None
        self._next_id = 0
        self.events: list[dict] = []

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> Chromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        (self.profile / "DevToolsActivePort").unlink(missing_ok=True)  # a stale one from an earlier run
        log = open(self.profile / "chromium.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={self.size[0]},{self.size[1]}", "about:blank"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        try:
            port = self._port()
            self.ws = connect(self._page_ws(port), max_size=None, open_timeout=self.timeout)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.ws is not None:
                with contextlib.suppress(Exception):
                    self.send("Browser.close", timeout=5)
                self.ws.close()
        finally:
            self._stop()

    def _stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        # The browser runs in its own session (start_new_session): end that group only.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        self.proc.wait(timeout=5)

    def _port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: "
                                   + (self.profile / "chromium.log").read_text(errors="replace")[-2000:])
            if marker.exists():
                lines = marker.read_text().splitlines()
                if lines and lines[0].strip().isdigit():
                    return int(lines[0])
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def _page_ws(self, port: int) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
                    targets = json.load(resp)
            except OSError:  # not listening yet
                targets = []
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.05)
        raise TimeoutError("chromium has no page target")

    # -- protocol -----------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, *, timeout: float | None = None) -> dict:
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._recv(deadline)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def _recv(self, deadline: float) -> dict:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer from chromium")
        return json.loads(self.ws.recv(timeout=left))

    def wait_event(self, method: str) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._recv(deadline)
            self.events.append(message)
            if message.get("method") == method:
                return message

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    # -- one page -----------------------------------------------------------------------
    def load(self, path: Path | str, *, probe: str, ready: str = "document.body && document.body.dataset.rendered === '1'",
             settle: float = 0.3, ready_timeout: float = 10.0) -> PageReport:
        """Open a local file, wait until ``ready`` is true (or the timeout), run ``probe``,
        take a full-page screenshot; report console errors, exceptions and requests."""
        started = time.monotonic()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        url = path if isinstance(path, str) else path.resolve().as_uri()  # a file, or a URL
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")
        deadline = time.monotonic() + ready_timeout
        while not self.evaluate(f"Boolean({ready})") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(settle)  # let late errors (timers, CSP reports) arrive
        value = self.evaluate(probe)
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width, height = int(size["width"]), min(int(size["height"]), 12000)
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
        # Drain whatever arrived meanwhile.
        try:
            while True:
                self.events.append(json.loads(self.ws.recv(timeout=0.1)))
        except TimeoutError:
            pass
        report = PageReport(url=url, value=value, screenshot=base64.b64decode(shot["data"]))
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                exception = details.get("exception", {})
                report.console_errors.append(f"uncaught: {exception.get('description') or details.get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                report.console_errors.append(f"console.{params['type']}: {text}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                report.console_errors.append(f"log: {params['entry'].get('text')}")
            elif method == "Network.requestWillBeSent":
                report.requests.append(params["request"]["url"])
        report.seconds = time.monotonic() - started
        return report
