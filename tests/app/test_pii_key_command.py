"""A wrong DVC_PII_KEY (issue 27): the one-line reason first and once, no Dagster
"Dependencies … not executed" lines before it; the right key still runs."""

from __future__ import annotations

import logging
import shutil

from app.cli import main


def test_wrong_key_is_refused_in_one_line_before_any_step(tmp_path, fixtures, monkeypatch, capsys):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "cases_small.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"
    from pipeline.warehouse import open_warehouse

    with open_warehouse(warehouse):  # records the fingerprint of the test key
        pass
    monkeypatch.setenv("DVC_PII_KEY", "another-key")
    code = main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
    err = capsys.readouterr().err
    assert code == 1
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        ln for ln in err.splitlines() if ln.startswith("error: DVC_PII_KEY is not the key")]
    assert err.count("DVC_PII_KEY is not the key") == 1 and "Dependencies" not in err
    # backfill and issue write too: the same one line before any step.
    assert main(["backfill", "--quarters", "2025-Q1", "--warehouse", str(warehouse)]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [ln for ln in err.strip().splitlines() if ln.startswith("error: DVC_PII_KEY")]
    from app.cli import _refuse_wrong_pii_key
    from app.errors import CommandError

    try:
        _refuse_wrong_pii_key(warehouse)
        raise AssertionError("the wrong key passed the check")
    except CommandError:
        pass
    monkeypatch.setenv("DVC_PII_REKEY", "1")  # re-keying on purpose is not refused here
    _refuse_wrong_pii_key(warehouse)
    monkeypatch.delenv("DVC_PII_REKEY")
    monkeypatch.setenv("DVC_PII_KEY", "test-pii-key")  # the warehouse's own key
    _refuse_wrong_pii_key(warehouse)


def test_dagster_skip_lines_after_a_failure_are_debug_only():
    from assets.loggers import RUN_LOGGER, _Forward

    seen: list[tuple[int, str]] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append((record.levelno, record.getMessage()))

    target = logging.getLogger(RUN_LOGGER)
    keep, previous = Keep(), target.level
    target.addHandler(keep)
    target.setLevel(logging.INFO)
    try:
        forward = _Forward()
        for text in ("Dependencies for step core__cases failed: ['raw__export_files']. Not executing.",
                     "Dependencies for step x_check were not executed: ['core__cases']. Not executing.",
                     "a real error"):
            forward.emit(logging.LogRecord("d", logging.ERROR, "", 0, text, None, None))
    finally:
        target.removeHandler(keep)
        target.setLevel(previous)
    assert seen == [(logging.ERROR, "a real error")]
