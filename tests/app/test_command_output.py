"""What an operator reads (operator issue): a default run prints a handful of plain lines, no
third-party noise, no traceback; every command ends with its closing summary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOISE = ("great_expectations", "Skipping registering", "dagster - INFO", "Traceback", "DagsterEvent")


def pipeline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("commands")
    inbox = folder / "inbox"
    inbox.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "fixtures" / "metrics_cases.jsonl", inbox)
    env = {**os.environ, "DVC_SEEDS_DIR": str(ROOT / "tests" / "fixtures" / "seeds"),
           "DVC_WAREHOUSE": str(folder / "w.duckdb"), "DVC_FIRST_PERIOD": "2025-Q1"}
    env.pop("DAGSTER_HOME", None)
    done = pipeline("run", "--inbox", str(inbox), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return env, done


def _plain(lines: list[str]) -> None:
    for line in lines:
        assert not any(word in line for word in NOISE), line
        assert line.strip() != "[]", "a stray line"


def test_run_prints_a_few_plain_lines_and_its_summary(landed):
    _, done = landed
    err = done.stderr.splitlines()
    assert len(err) <= 40, "\n".join(err)
    _plain(err)
    assert "refresh of 2025-Q1..2025-Q2 complete" in done.stderr
    assert "Headline rates, latest closed quarter" in done.stdout  # the closing summary


@pytest.mark.slow
def test_backfill_is_quiet_and_ends_with_its_summary(landed):
    env, _ = landed
    done = pipeline("backfill", "--quarters", "2025-Q1..2025-Q2", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    err = done.stderr.splitlines()
    assert len(err) <= 30, "\n".join(err)
    _plain(err)
    assert done.stdout.strip().splitlines()[-1].startswith("backfill 2025-Q1, 2025-Q2: 22 windows recomputed")
    quiet = pipeline("-q", "backfill", "--quarters", "2025-Q1", env=env)
    assert quiet.returncode == 0 and [line for line in quiet.stderr.splitlines() if "WARNING" not in line] == []


def test_a_failure_is_one_line_without_traceback(landed):
    env, _ = landed
    done = pipeline("backfill", "--quarters", "2019-Q1", env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: 2019-Q1 is not a reporting partition: they run from 2025-Q1 (DVC_FIRST_PERIOD) "
        f"to the open quarter {done.stderr.split('open quarter ')[1].split()[0]}"]
    _plain(done.stderr.splitlines())
