"""Readers never break a run (reliability issue, item 2): `summary` in a loop, read-only
connections in a loop and one reader holding the warehouse as the run starts, all against a
whole `run`. The run waits for a reader (bounded, DVC_LOCK_WAIT_S, one message) instead of
failing; `summary` reads the analyst copy while the run is in progress."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from tests.app.test_summary_busy import _published_warehouse

ROOT = Path(__file__).resolve().parents[2]


def _summary_loop(warehouse: Path, stop: Path) -> subprocess.Popen:
    script = (
        "import subprocess, sys, json; from pathlib import Path\n"
        "codes = []\n"
        "while not Path(sys.argv[2]).exists():\n"
        "    p = subprocess.run([sys.executable, '-m', 'pipeline', '-q', 'summary', '--warehouse', sys.argv[1]],\n"
        "                       capture_output=True, text=True)\n"
        "    codes.append([p.returncode, p.stderr[-300:], 'analyst copy' in p.stdout])\n"
        "print(json.dumps(codes))\n"
    )
    return subprocess.Popen([sys.executable, "-c", script, str(warehouse), str(stop)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_readers_in_a_loop_never_break_a_whole_run(tmp_path, fixtures, monkeypatch, capsys):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    monkeypatch.setenv("DVC_LOCK_WAIT_S", "60")
    warehouse = _published_warehouse(tmp_path, fixtures)  # marts and analyst copy exist
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "cases_small.jsonl", inbox)  # new cases: a real refresh
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # One reader holds the warehouse for 3 s just as the run starts: the run must wait for it.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print('held', flush=True); time.sleep(3); c.close()", str(warehouse)],
        stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "held"
    loops = [
        subprocess.Popen([sys.executable, str(Path(__file__).with_name("warehouse_reader_loop.py")), str(warehouse),
                          str(stop)], stdout=subprocess.PIPE, text=True, env=env),
        _summary_loop(warehouse, stop),
    ]
    try:
        capsys.readouterr()
        code = main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
        err = capsys.readouterr().err
    finally:
        stop.touch()
        outputs = [p.communicate(timeout=120)[0] for p in loops]
        holder.wait(timeout=30)
    assert code == 0, err[-3000:]
    waits = [line for line in err.splitlines() if "waiting up to 60 s" in line]
    # The run met a reader at least once (the 3 s holder) and said so, naming the process.
    assert waits and all(", process " in line and "holds warehouse" in line for line in waits)
    raw, summaries = json.loads(outputs[0]), json.loads(outputs[1])
    assert raw["errors"] == [] and raw["reads"] > 0
    assert summaries and all(c == 0 for c, _, _ in summaries), summaries
    assert any(copy for _, _, copy in summaries)  # during the run: the analyst copy
