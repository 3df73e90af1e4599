"""The GX suites as Dagster asset checks (assets/quality_checks.py), run through the command
line's in-process materialize: they pass on good data, list unknown unit codes as a warning,
and a broken mart fails its blocking check, so nothing downstream of it runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from app.errors import CommandError
from app.runner import materialize

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MARTS = [["mart", "unit_period_stats"], ["mart", "level_period_stats"], ["mart", "target_attainment"]]
Q1_Q2 = {"dagster/asset_partition_range_start": "2025-Q1", "dagster/asset_partition_range_end": "2025-Q2"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gx_checks")
    inbox = folder / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "metrics_cases.jsonl", inbox)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
        mp.delenv("DVC_QUALITY_DIR", raising=False)
        warehouse, instance = folder / "warehouse.duckdb", dg.DagsterInstance.ephemeral()
        # Landed here, not by the first test: each test may run alone (or on another xdist worker).
        ingest = materialize([["raw", "export_files"], ["core", "reference_lists"], ["core", "cases"]],
                             warehouse=warehouse, inbox=inbox, instance=instance)
        yield warehouse, inbox, instance, ingest


def evaluations(result_or_instance, run_id: str | None = None) -> dict[str, dg.AssetCheckEvaluation]:
    if isinstance(result_or_instance, dg.DagsterInstance):
        records = result_or_instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
        events = [r.event_log_entry.dagster_event for r in records]
    else:
        events = [e for e in result_or_instance.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    out = {}
    for event in events:
        evaluation = event.event_specific_data
        out[f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"] = evaluation
    return out


def test_gx_checks_pass_on_good_data_and_link_their_data_docs(env):
    warehouse, inbox, instance, ingest = env
    marts = materialize(MARTS, warehouse=warehouse, tags=Q1_Q2, instance=instance)
    found = evaluations(ingest) | evaluations(marts)
    gx = {k: v for k, v in found.items() if ":gx_" in k}
    assert set(gx) == {
        "raw/export_files:gx_raw_batches", "core/cases:gx_core_cases_sample", "core/cases:gx_core_unit_codes",
        "mart/unit_period_stats:gx_mart_unit_period_stats", "mart/level_period_stats:gx_mart_level_period_stats",
        "mart/target_attainment:gx_mart_target_attainment",
    }
    for key, evaluation in gx.items():
        if key.endswith("gx_core_unit_codes"):
            continue
        assert evaluation.passed, (key, evaluation.metadata["failed"].value)
    # The fixture's unknown unit code is listed, as a warning that does not fail the run.
    codes = gx["core/cases:gx_core_unit_codes"]
    assert not codes.passed and codes.severity == dg.AssetCheckSeverity.WARN
    assert codes.metadata["unknown_codes"].value == {"ZZ-UNKNOWN": {"cases": 1, "name_sent": "Đơn vị lạ"}}
    # The mart checks read only the windows of the run's quarters (2025-Q1, 2025-Q2).
    unit = gx["mart/unit_period_stats:gx_mart_unit_period_stats"]
    assert unit.metadata["bound"].value.endswith("windows of this run")
    assert gx["mart/target_attainment:gx_mart_target_attainment"].metadata["bound"].value.endswith("years 2025 of this run")
    # Data Docs next to the warehouse, linked from every check.
    index = warehouse.parent / "quality" / "data_docs" / "index.html"
    assert index.is_file()
    assert unit.metadata["data_docs"].value == index.as_uri()
    page = Path(unit.metadata["validation_page"].value.removeprefix("file://"))
    assert page.is_file() and marts.run_id in str(page)  # one page per run


def test_broken_mart_fails_its_blocking_gx_check(env, monkeypatch):
    """A mart refresh that writes an impossible rate: the SQL identity checks cannot see it, the
    GX suite does; its check fails with ERROR severity and the roll-ups are not computed."""
    from pipeline import marts

    warehouse, inbox, instance, _ = env
    real_refresh = marts.refresh_unit_stats

    def broken_refresh(con, windows):
        rows = real_refresh(con, windows)
        con.execute("UPDATE mart.unit_period_stats SET online_rate = 1.5 "
                    "WHERE period_grain = 'month' AND period_label = '2025-03' AND unit_code = 'U1'")
        return rows

    monkeypatch.setattr(marts, "refresh_unit_stats", broken_refresh)
    with pytest.raises(CommandError, match="gx_mart_unit_period_stats") as failure:
        materialize(MARTS, warehouse=warehouse, tags=Q1_Q2, instance=instance)
    # the operator's one line names the failed expectation
    assert "expect_column_values_to_be_between(online_rate)" in str(failure.value)
    run = instance.get_runs(limit=1)[0]
    found = evaluations(instance, run.run_id)
    check = found["mart/unit_period_stats:gx_mart_unit_period_stats"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    failed = {f["expectation"]: f for f in check.metadata["failed"].value}
    assert set(failed) == {"expect_column_values_to_be_between(online_rate)",
                           "expect_column_values_to_be_between(max_rate_error)"}
    assert failed["expect_column_values_to_be_between(online_rate)"]["unexpected_rows"] == [
        {"online_rate": 1.5, "period_grain": "month", "period_label": "2025-03", "unit_code": "U1"}]
    assert check.metadata["unexpected_counts"].value["expect_column_values_to_be_between(online_rate)"] == 1
    assert found["mart/unit_period_stats:unit_stats_identities"].passed  # the SQL checks cannot see it
    assert "mart/level_period_stats:gx_mart_level_period_stats" not in found  # blocked
    materialized = {
        r.event_log_entry.dagster_event.asset_key.to_user_string()
        for r in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    }
    assert materialized == {"mart/unit_period_stats"}
