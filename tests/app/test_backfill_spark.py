"""`backfill --engine spark`: the command's plumbing (the engine itself: tests/pipeline/marts/test_spark_engine.py).

The Spark refresh is replaced here by the DuckDB one (same tables), so these tests need no Java:
they check what the command hands the engine, that it publishes afterwards, and its refusals."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from app.cli import main
from pipeline import marts
from pipeline.marts import spark_engine
from pipeline.publish.analyst_copy import analytics_path


@pytest.fixture(scope="module")
def landed_once(tmp_path_factory):
    """One landed and refreshed warehouse for the module (each test works on a copy)."""
    from tests.conftest import FIXTURES

    folder = tmp_path_factory.mktemp("backfill_spark")
    inbox = folder / "inbox"
    inbox.mkdir()
    for name in ("metrics_cases.jsonl", "cases_small.jsonl"):
        shutil.copy(FIXTURES / name, inbox)
    warehouse = folder / "w.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
        assert main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    return warehouse


@pytest.fixture
def landed(landed_once, tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(landed_once, warehouse)
    return warehouse


def test_spark_backfill_hands_the_engine_the_quarters_windows_and_settings_then_publishes(
    landed, tmp_path, monkeypatch, capsys
):
    calls = []

    def engine(con, windows, *, folder, conf, refreshable):
        calls.append((sorted(windows), folder, conf, refreshable))
        for table in spark_engine.WRITE_ORDER:  # what a failed engine would leave: no rows
            con.execute(f"DELETE FROM {table}")
        result = marts.refresh(con, windows)
        # a score only this engine wrote: the publish job must not recompute the index over it
        con.execute(f"UPDATE {marts.INDEX766_SCORES_TABLE} SET score = -1 WHERE period_label = 'cal-2025-Q1'")
        return result

    monkeypatch.setattr(spark_engine, "spark_available", lambda: None)
    monkeypatch.setattr(spark_engine, "refresh", engine)
    monkeypatch.setenv(spark_engine.ENV_WORKDIR, str(tmp_path / "exchange"))
    copy = analytics_path(landed)
    assert not copy.exists()  # `run` published beside the module's warehouse, not this copy
    code = main(["backfill", "--quarters", "2025-Q1..2025-Q2", "--engine", "spark",
                 "--spark-conf", "spark.executor.memory=2g", "--warehouse", str(landed)])
    assert code == 0
    windows, folder, conf, refreshable = calls[0]
    assert len(calls) == 1 and folder == tmp_path / "exchange" and conf == {"spark.executor.memory": "2g"}
    assert {w.label for w in windows if w.grain == "quarter"} >= {"2025-Q1", "2025-Q2"}
    assert refreshable(next(w for w in windows if w.label == "2025-Q1"))
    assert "on Spark (local[*])" in capsys.readouterr().out
    # the rest of marts_job ran: the analyst copy holds the recomputed marts
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM mart.unit_period_stats").fetchone()[0] > 0
        # the Decision-766 index is the engine's, as written (marts_publish_job leaves it alone)
        scores = con.execute(f"SELECT count(*), count(*) FILTER (score = -1) FROM {marts.INDEX766_SCORES_TABLE} "
                             "WHERE period_label = 'cal-2025-Q1'").fetchone()
    assert scores[0] > 0 and scores[0] == scores[1]


def test_spark_backfill_refuses_without_java_and_leaves_the_marts_alone(landed, monkeypatch, capsys):
    monkeypatch.setattr(spark_engine, "spark_available", lambda: "no Java runtime (java on PATH or JAVA_HOME)")
    before = duckdb.connect(str(landed), read_only=True)
    rows = before.execute("SELECT count(*) FROM mart.unit_period_stats").fetchone()[0]
    before.close()
    code = main(["backfill", "--quarters", "2025-Q1", "--engine", "spark", "--warehouse", str(landed)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["error: --engine spark: no Java runtime (java on PATH or JAVA_HOME)"]
    with duckdb.connect(str(landed), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM mart.unit_period_stats").fetchone()[0] == rows


def test_spark_backfill_rejects_a_setting_that_is_not_spark(landed, monkeypatch, capsys):
    monkeypatch.setattr(spark_engine, "spark_available", lambda: None)
    code = main(["backfill", "--quarters", "2025-Q1", "--engine", "spark", "--spark-conf", "memory=2g",
                 "--warehouse", str(landed)])
    assert code == 2 and "--spark-conf takes spark.KEY=VALUE" in capsys.readouterr().err


def test_failed_checks_name_the_check_and_stay_silent_when_all_pass(landed):
    with duckdb.connect(str(landed)) as con:
        assert spark_engine.failed_checks(con) == []
        con.execute("UPDATE mart.unit_period_stats SET new_total = new_total + 1 "
                    "WHERE rowid = (SELECT min(rowid) FROM mart.unit_period_stats)")
        failed = spark_engine.failed_checks(con)
        con.execute(f"UPDATE {marts.INDEX766_SCORES_TABLE} SET numerator = numerator + 1 "
                    f"WHERE rowid = (SELECT min(rowid) FROM {marts.INDEX766_SCORES_TABLE})")
        also_index = spark_engine.failed_checks(con)
    assert failed and failed[0].startswith("identity_violations: ")
    assert [f.split(":")[0] for f in also_index if f not in failed] == ["index766_add_up_violations"]


def test_the_publish_job_recomputes_none_of_the_tables_spark_wrote():
    """marts_publish_job leaves out every asset of a table the engine writes (a new mart added
    to the engine must be added to assets/jobs.py too, or the job would overwrite Spark's rows)."""
    from assets.jobs import SPARK_COMPUTED_MARTS

    assert {".".join(key) for key in SPARK_COMPUTED_MARTS} == set(spark_engine.WRITE_ORDER)
