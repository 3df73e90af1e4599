"""`python -m pipeline ...`: exit codes, one-line errors, idempotent reruns."""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pytest

from app.cli import main


@pytest.fixture
def inbox(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in ("metrics_cases.jsonl", "cases_small.jsonl", "cases_vi_nfd_semicolon_bom.csv"):
        shutil.copy(fixtures / name, folder)
    return folder


def counts(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM raw.case_versions), (SELECT count(*) FROM raw.quarantine), "
            "(SELECT count(*) FROM raw.batches), (SELECT count(*) FROM core.cases), "
            "(SELECT count(*) FROM mart.unit_period_stats)"
        ).fetchone()
    finally:
        con.close()


def test_run_lands_everything_and_rerun_changes_nothing(inbox, tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    out, err = capsys.readouterr()
    assert "records read:   31 = 24 landed + 7 quarantined" in out
    # A first build reports no "change" of the reference lists: there was nothing before it.
    assert "refreshing marts for quarters" in err and "reference lists changed" not in err
    first = counts(warehouse)
    assert first[:4] == (24, 7, 3, 24) and first[4] > 0
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    assert counts(warehouse) == first
    err = capsys.readouterr().err
    assert "marts are up to date" in err and "reference lists changed" not in err


def test_missing_inbox_is_a_one_line_error(tmp_path, capsys):
    code = main(["run", "--inbox", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: inbox folder")


def test_broken_file_lands_the_rest_and_exits_3(inbox, tmp_path, capsys):
    (inbox / "zz_broken.jsonl.gz").write_bytes(b"not gzip at all")
    warehouse = tmp_path / "w.duckdb"
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 3
    assert "zz_broken.jsonl.gz: not a gzip file" in capsys.readouterr().err
    assert counts(warehouse)[:3] == (24, 7, 3)


def test_pull_without_settings_names_the_setting(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DVC_PORTAL_URL", raising=False)
    code = main(["pull", "--from", "2025-01-01", "--to", "2025-01-02", "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 2 and "DVC_PORTAL_URL" in capsys.readouterr().err


def test_backfill_rejects_a_month_label(tmp_path, capsys):
    code = main(["backfill", "--quarters", "2025-03", "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 2 and "not a quarter label" in capsys.readouterr().err


@pytest.mark.slow
def test_module_entry_point_runs_as_a_process(inbox, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "-q", "run", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Headline rates, latest closed quarter" in proc.stdout


# ---------------------------------------------------------------------------------------
# The command line runs the jobs declared in Definitions, nothing of its own
# ---------------------------------------------------------------------------------------
def test_every_command_maps_onto_declared_jobs():
    from app import cli
    from assets.definitions import defs
    from devtools.commands import register

    parser = cli.build_parser([register])
    commands = set(parser._subparsers._group_actions[0].choices)
    assert commands - {"demo", "bench"} == set(cli.COMMAND_JOBS)
    declared = {job.name for job in defs.resolve_all_job_defs()}
    for command, job_names in cli.COMMAND_JOBS.items():
        assert set(job_names) <= declared, command


def test_commands_run_exactly_their_declared_jobs(tmp_path, fixtures, monkeypatch):
    """run / pull / backfill call the runner with the jobs COMMAND_JOBS lists, in that order."""
    import app.runner
    from app import cli
    from pipeline.reports import summary

    ran: list[tuple[str, str]] = []

    class SpyRunner:
        def __init__(self, warehouse, *, inbox=None, instance=None, command=None, settings=None):
            self.command = command

        def run(self, job_name, **kwargs):
            ran.append((self.command, job_name))
            return None

        def refresh_pending_marts(self, *, full=False):
            ran.append((self.command, "marts_job"))
            return "2025-Q1..2025-Q1"

    monkeypatch.setattr(app.runner, "Runner", SpyRunner)
    monkeypatch.setattr(app.runner, "step_metadata", lambda result, step: {})
    monkeypatch.setattr(summary, "print_summary", lambda warehouse, **kwargs: None)
    monkeypatch.setenv("DVC_PORTAL_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DVC_PORTAL_TOKEN", "t")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    warehouse = str(tmp_path / "w.duckdb")
    for argv in (
        ["run", "--inbox", str(inbox), "--warehouse", warehouse],
        ["pull", "--from", "2025-01-01", "--to", "2025-01-02", "--warehouse", warehouse],
        ["backfill", "--quarters", "2025-Q1", "--warehouse", warehouse],
    ):
        assert cli.main(argv) == 0, argv
    for command in ("run", "pull", "backfill"):
        assert tuple(job for c, job in ran if c == command) == cli.COMMAND_JOBS[command]


def test_console_script_is_declared_and_runs_the_same_command_line():
    """pyproject.toml declares `dvc-metrics`, pointing at the same main as `python -m pipeline`."""
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    scripts = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"dvc-metrics": "devtools.commands:main"}
    script = Path(sys.executable).with_name("dvc-metrics")
    if script.exists():  # installed by scripts/setup.sh
        out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.startswith("usage: dvc-metrics")
        assert "backfill" in out.stdout and "demo" in out.stdout
