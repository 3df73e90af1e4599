"""Dagster's UI on a real instance (operator issue): `dagster dev` over a warehouse the command line
filled, in a browser: the asset graph lists the assets, a partitioned asset shows its quarter
labels and its checks; then the documented way to stop it (SIGTERM to its process group) ends
every process it started."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, Chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("DVC_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))
BODY_HAS = "(t => document.body && document.body.innerText.includes(t))"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pgid=,pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split()[0] == str(pgid)]


@pytest.mark.slow
def test_dagster_ui_shows_assets_checks_and_quarter_labels_and_stops_cleanly(tmp_path, fixtures):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs Debian's chromium when it runs as root)")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "metrics_cases.jsonl", inbox)
    env = {**os.environ, "DAGSTER_HOME": str(home), "DVC_WAREHOUSE": str(tmp_path / "w.duckdb"),
           "DVC_FIRST_PERIOD": "2025-Q1", "DVC_SEEDS_DIR": str(fixtures / "seeds")}
    run = subprocess.run([sys.executable, "-m", "pipeline", "-q", "run", "--inbox", str(inbox)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]

    port = _free_port()
    dev = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster")), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # As from an operator's terminal: a pytest-xdist worker ignores SIGINT, and dagster dev
        # would copy that onto SIGTERM (engineering notes) and not stop.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and dev.poll() is None, "dagster dev did not come up"
                time.sleep(1)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # Tall enough that the virtualised asset list renders every asset (raw/* sort last).
        with Chromium(tmp_path / "profile", width=1600, height=2600, timeout=60) as browser:
            graph = browser.load(f"{url}/assets", probe="document.body.innerText",
                                 ready=f"{BODY_HAS}('unit_period_stats')", ready_timeout=90, settle=1.0)
            for name in ("export_files", "portal_pull", "cases", "unit_period_stats", "level_period_stats",
                         "target_attainment", "quarter_xlsx", "analytics_database"):
                assert name in graph.value, name
            (ARTIFACTS / "dagster_assets.png").write_bytes(graph.screenshot)

            partitions = browser.load(f"{url}/assets/mart/unit_period_stats?view=partitions",
                                      probe="document.body.innerText",
                                      ready=f"{BODY_HAS}('2025-Q2')", ready_timeout=90, settle=1.0)
            assert "2025-Q1" in partitions.value and "2025-Q2" in partitions.value
            assert "2024-12-15" not in partitions.value  # keys are labels, not window starts
            (ARTIFACTS / "dagster_partitions.png").write_bytes(partitions.screenshot)

            checks = browser.load(f"{url}/assets/mart/unit_period_stats?view=checks",
                                  probe="document.body.innerText",
                                  ready=f"{BODY_HAS}('unit_stats_identities')", ready_timeout=90, settle=1.0)
            assert "unit_stats_identities" in checks.value and "gx_mart_unit_period_stats" in checks.value
            (ARTIFACTS / "dagster_checks.png").write_bytes(checks.screenshot)
    finally:
        os.killpg(dev.pid, signal.SIGTERM)  # README: stop it by its process group
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            raise
    deadline = time.monotonic() + 30
    while _group_alive(dev.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _group_alive(dev.pid) == []
