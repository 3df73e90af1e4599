"""`run --full-refresh` (app/runner.py): the drill-down is kept up to date by delta from the
merges (pipeline/marts/drill_state.py), so an edit of core.cases that bypasses them is only seen
after a full refresh; the runner's reset must make that refresh recount every window whole."""

from __future__ import annotations

import logging
import shutil

import pytest

from app.runner import Runner
from pipeline import marts
from pipeline.warehouse import open_warehouse

EDITED = "C01"


def _procedures_counted(warehouse) -> set[str]:
    with open_warehouse(warehouse) as con:
        return {p for (p,) in con.execute("SELECT DISTINCT procedure_code FROM mart.procedure_period_stats").fetchall()}


@pytest.fixture
def hand_edited(metrics_cases_template, warehouse_path):
    """The fixture warehouse with one case moved to procedure PZ by hand (no merge records it)."""
    shutil.copy(metrics_cases_template, warehouse_path)
    assert _procedures_counted(warehouse_path) == {"P1"}
    with open_warehouse(warehouse_path) as con:
        con.execute("UPDATE core.cases SET procedure_code = 'PZ' WHERE case_id = ?", [EDITED])
    return warehouse_path


def _refresh(warehouse, *, full: bool, monkeypatch, tmp_path) -> list[str]:
    """Runner.refresh_pending_marts, with the marts_job it launches replaced by the refresh of
    every window it asks for (the job's own steps are tested elsewhere); returns the jobs run."""
    launched: list[str] = []

    def run(self, job_name, **_):
        launched.append(job_name)
        with open_warehouse(self.warehouse) as con:
            marts.refresh(con, marts.windows_for_days(*marts.data_day_range(con)))

    monkeypatch.setattr(Runner, "run", run)
    Runner(warehouse, inbox=tmp_path).refresh_pending_marts(full=full)
    return launched


def test_full_refresh_recounts_a_hand_edit_of_core_cases(hand_edited, monkeypatch, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="pipeline.marts.steps"):
        assert _refresh(hand_edited, full=True, monkeypatch=monkeypatch, tmp_path=tmp_path) == ["marts_job"]
    assert "recomputed from all their cases" in caplog.text and "window(s) updated for" not in caplog.text
    assert _procedures_counted(hand_edited) == {"P1", "PZ"}


def test_without_it_the_marts_are_up_to_date_and_keep_their_rows(hand_edited, monkeypatch, tmp_path, caplog):
    """The limitation the README states: nothing was merged, so nothing is pending."""
    with caplog.at_level(logging.INFO, logger="pipeline"):
        assert _refresh(hand_edited, full=False, monkeypatch=monkeypatch, tmp_path=tmp_path) == []
    assert "marts are up to date" in caplog.text
    assert _procedures_counted(hand_edited) == {"P1"}
