"""The README's Dagster commands work verbatim (operator issue): each line of the block marked
`<!-- readme-check: dagster -->`, run against a throwaway DAGSTER_HOME."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_block(marker: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- readme-check: {marker} -->\s*```bash\n(.*?)```", text, re.S)
    assert match, f"README.md has no block marked readme-check: {marker}"
    return [line for line in match.group(1).splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.slow
def test_readme_dagster_commands_run_verbatim(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DVC_WAREHOUSE": str(tmp_path / "w.duckdb")}
    commands = readme_block("dagster")
    assert len(commands) == 3
    for command in commands:
        done = subprocess.run(shlex.split(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (command, done.stderr[-1500:])
    listed = subprocess.run(shlex.split(".venv/bin/dagster sensor list"), cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300).stdout
    assert "inbox_sensor [RUNNING]" in listed and "refresh_after_ingest [RUNNING]" in listed
