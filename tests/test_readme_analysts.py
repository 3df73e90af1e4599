"""The README's analyst examples work as written (issue 17): every code block marked
``<!-- analyst-example -->`` runs verbatim, from a folder laid out like the repository after
``bash scripts/demo.sh`` (``.venv``, ``var/demo/…``), against a small published warehouse."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import REPO_ROOT

MARKER = "<!-- analyst-example -->"
BLOCK = re.compile(re.escape(MARKER) + r"\s*```(\w+)\n(.*?)```", re.DOTALL)
# What each example must show, in README order (the demo-like fixture's values).
EXPECTED = [
    ["period_label", "province_code", "2025-Q1", "province_total"],
    ["gap", "BOOLEAN", "target"],
    ["full_process_online_rate", "Sở Thử Nghiệm"],
    ["on_time_rate", "2025-Q1", "Huyện Thử Nghiệm"],
    ["province_department", "commune"],
]


def analyst_examples() -> list[tuple[str, str]]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return [(lang, code) for lang, code in BLOCK.findall(text)]


def test_readme_marks_the_analyst_examples():
    examples = analyst_examples()
    assert [lang for lang, _ in examples] == ["bash", "bash", "python", "python", "bash"]
    assert len(examples) == len(EXPECTED)


@pytest.mark.parametrize("index", range(len(EXPECTED)))
def test_analyst_example_runs_as_written(index, published_demo):
    venv = Path(sys.prefix)
    assert (venv / "bin" / "duckdb").exists(), "no duckdb command in the environment: run bash scripts/setup.sh"
    link = published_demo / ".venv"
    if not link.exists():
        link.symlink_to(venv)
    lang, code = analyst_examples()[index]
    command = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
    proc = subprocess.run(command, cwd=published_demo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"README analyst example {index + 1} failed:\n{code}\n{proc.stderr}"
    for expected in EXPECTED[index]:
        assert expected in proc.stdout, f"README analyst example {index + 1}: {expected!r} not in\n{proc.stdout}"


def test_first_analyst_query_gives_one_province_total_per_quarter_and_province(published_demo):
    """The first example names province_code: one province_total row per quarter and province
    (without it the roll-ups of several provinces looked like duplicates)."""
    import duckdb

    lang, code = analyst_examples()[0]
    sql = re.search(r'"(SELECT .*?)"', code, re.S).group(1)
    assert "province_code" in sql
    con = duckdb.connect(str(published_demo / "var" / "demo" / "warehouse.analytics.duckdb"), read_only=True)
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    totals = [(r[0], r[1]) for r in rows if r[2] == "province_total"]
    assert totals and len(totals) == len(set(totals))
