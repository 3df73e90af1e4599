"""Every command of the README runs as written after the demo's setup (issue 27).

Every fenced ``bash``, ``python`` and ``sql`` block of README.md is read; each command either
runs verbatim (``bash -c``, from a folder laid out as after ``bash scripts/demo.sh``: ``.venv``,
``workspace.yaml``, ``var/demo/warehouse.duckdb`` with its analyst copy and reports,
``var/demo/dagster_home``) and must exit 0, or is listed in SKIPPED with the reason it cannot
run here (the setup itself, a real portal, a server, minutes of benchmark). A command that is
in neither fails the test, so a new README command is either run or explicitly excused.
``sql`` blocks run against the demo's analyst database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import REPO_ROOT

FENCE = re.compile(r"^```(bash|python|sql)\n(.*?)^```", re.S | re.M)
# Commands that cannot run in a test, by their start, with the reason.
SKIPPED: dict[str, str] = {
    "bash scripts/demo.sh": "the demo's setup itself: this test starts from its layout",
    "bash scripts/test.sh": "the whole suite (CI runs exactly this)",
    "export DVC_PORTAL_URL=https://<portal host>": "a real portal's address",
    "export DVC_PORTAL_TOKEN=...": "a real portal's token",
    "export DVC_PII_KEY=...": "a real secret",
    ".venv/bin/python -m pipeline pull --from 2025-01-01 --to 2025-02-01 --warehouse /data/dvc.duckdb":
        "a real portal (tests/assets/test_definitions.py pulls from the local one)",
    "DVC_PII_KEY=<new secret> DVC_PII_REKEY=1": "re-keying a production warehouse (tests/pipeline/ingest/"
                                                 "test_hardening_validation.py re-keys one)",
    "DAGSTER_HOME=$PWD/var/dagster_home .venv/bin/dagster dev": "a server (tests/assets/test_dagster_ui.py "
                                                                "starts and stops it)",
    ".venv/bin/python -m pipeline bench --versions 1000000": "25 minutes (the suite runs bench with 2,000)",
    ".venv/bin/python -m pipeline bench --versions 5000000": "35 minutes",
    ".venv/bin/python -m devtools.bench_pull": "minutes of pulls (tests/devtools run it small)",
    'pip install -e ".[spark]"': "the setup installs the spark extra (scripts/setup.sh)",
    "python -m pipeline backfill --quarters 2025-Q1..2025-Q4 --engine spark --warehouse FILE":
        "minutes of Spark; tests/pipeline/marts/test_spark_engine.py runs the engine, "
        "tests/app/test_backfill_spark.py the command",
}
# SQL examples of the Decision-766 index are about a 2026 month the demo does not reach: they run
# verbatim on their own data in tests/pipeline/marts/test_index766_marts.py.
INDEX766_EXAMPLE = re.compile(r"<!-- index766-example -->\s*```sql\n.*?^```", re.S | re.M)


def readme_blocks() -> list[tuple[str, str]]:
    return FENCE.findall(INDEX766_EXAMPLE.sub("", (REPO_ROOT / "README.md").read_text(encoding="utf-8")))


def shell_commands(code: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, comment lines dropped."""
    joined = re.sub(r"\\\n\s*", "", code)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _skip_reason(command: str) -> str | None:
    return next((reason for start, reason in SKIPPED.items() if command.startswith(start)), None)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    """A folder as after ``bash scripts/demo.sh``, built by the demo's own pieces but smaller
    (generated demo province, the shipped seeds, analyst copy, a Dagster instance)."""
    from devtools.demo import DAGSTER_YAML
    from pipeline.publish.analyst_copy import publish
    from pipeline.warehouse import open_warehouse
    from tests.report_data import build_demo_warehouse

    root = tmp_path_factory.mktemp("after_demo")
    demo = root / "var" / "demo"
    demo.mkdir(parents=True)
    warehouse = build_demo_warehouse(demo / "warehouse.duckdb")
    with open_warehouse(warehouse) as con:
        publish(con, warehouse)
    (demo / "dagster_home").mkdir()
    (demo / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    (root / ".venv").symlink_to(Path(sys.prefix))
    shutil.copy(REPO_ROOT / "workspace.yaml", root / "workspace.yaml")
    return root


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DVC_WAREHOUSE", "DAGSTER_HOME", "DVC_SEEDS_DIR", "DVC_REPORTS_DIR", "DVC_FIRST_PERIOD")}
    env["PYTHONPATH"] = str(REPO_ROOT)  # the code under test, imported from the folder's commands
    env["PATH"] = f"{root / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_AS_OF"] = "2026-01-31"  # 2025-Q3 is final whatever the machine's date
    return env


def test_every_readme_command_is_run_or_excused():
    commands = [c for lang, code in readme_blocks() if lang == "bash" for c in shell_commands(code)]
    skipped = {c for c in commands if _skip_reason(c)}
    assert len(commands) >= 15
    used = {start for start in SKIPPED if any(c.startswith(start) for c in skipped)}
    assert used == set(SKIPPED), f"SKIPPED names commands the README no longer has: {set(SKIPPED) - used}"
    # What runs must need nothing the demo does not make: no placeholders left.
    for command in set(commands) - skipped:
        assert not re.search(r"<[a-z ]+>|\bFILE\b|\bDIR\b|\[--|…", command), command


@pytest.mark.slow
def test_readme_commands_run_verbatim_after_the_demo(demo_root):
    env = _env(demo_root)
    outputs: dict[str, str] = {}
    ran = 0
    for lang, code in readme_blocks():
        if lang == "sql":
            continue
        if lang == "python":
            runs = [[sys.executable, "-c", code]]
        else:
            runs = [["bash", "-euo", "pipefail", "-c", c] for c in shell_commands(code) if not _skip_reason(c)]
        for argv in runs:
            done = subprocess.run(argv, cwd=demo_root, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, (argv[-1], done.stdout[-1500:], done.stderr[-1500:])
            outputs[argv[-1]] = done.stdout
            ran += 1
    assert ran >= 12
    text = "\n".join(f"$ {c}\n{o}" for c, o in outputs.items())
    assert "var/demo/reports/bieu_II06a_2025-Q1.xlsx" in text
    assert "Headline rates, quarter 2025-Q3" in text
    assert "2025-Q3: issue 1 written" in text
    assert "no cell moved since issue 1" in text  # the reissue right after: nothing moved, no issue 2
    listed = subprocess.run(
        ["bash", "-c", "DAGSTER_HOME=$PWD/var/demo/dagster_home .venv/bin/dagster sensor list"],
        cwd=demo_root, env=env, capture_output=True, text=True, timeout=300,
    ).stdout
    assert "inbox_sensor [RUNNING]" in listed and "refresh_after_ingest [RUNNING]" in listed


def test_readme_sql_runs_on_the_demo_analyst_database(demo_root):
    import duckdb

    queries = [code for lang, code in readme_blocks() if lang == "sql"]
    assert len(queries) >= 2
    con = duckdb.connect(str(demo_root / "var" / "demo" / "warehouse.analytics.duckdb"), read_only=True)
    try:
        for sql in queries:
            rows = con.execute(sql).fetchall()
            assert rows, f"README query returns nothing on the demo:\n{sql}"
    finally:
        con.close()
