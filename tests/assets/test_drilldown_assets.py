"""Drill-down mart assets: materialised with the other marts, blocking add-up checks, published."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

from app.runner import materialize
from pipeline.publish.analyst_copy import analytics_path

DRILL_KEYS = {"mart/procedure_period_stats", "mart/field_period_stats", "mart/procedure_province_stats",
              "mart/late_cases", "mart/index766_cases", "mart/index766_scores"}
Q1 = {"dagster/asset_partition_range_start": "2025-Q1", "dagster/asset_partition_range_end": "2025-Q1"}


@pytest.fixture
def landed(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "drill_cases.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    materialize([["raw", "export_files"], ["core", "reference_lists"], ["core", "cases"]], warehouse=warehouse, inbox=inbox, instance=instance)
    return warehouse, instance


def _materialized(instance) -> set[str]:
    return {
        r.event_log_entry.dagster_event.asset_key.to_user_string()
        for r in instance.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION))
    }


@pytest.mark.slow
def test_drilldown_assets_checks_and_publication(landed):
    warehouse, instance = landed
    result = materialize(("mart", "publish"), warehouse=warehouse, tags=Q1, instance=instance)
    assert _materialized(instance) >= DRILL_KEYS
    # Every mart asset shows its table in the UI: name, column schema (with comments) and rows.
    mart_tables = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            if mat.asset_key.path[0] == "mart":
                mart_tables[mat.asset_key.to_user_string()] = mat.metadata
    assert set(mart_tables) >= DRILL_KEYS | {"mart/unit_period_stats", "mart/level_period_stats",
                                             "mart/target_attainment", "mart/period_status",
                                             "mart/restatements", "mart/refresh_log"}
    for key, meta in mart_tables.items():
        assert meta["dagster/table_name"].value == key.replace("/", "."), key
        schema = meta["dagster/column_schema"].schema
        assert schema.columns and all(c.type for c in schema.columns), key
        assert isinstance(meta["dagster/row_count"].value, int), key
    level_columns = {c.name: c for c in mart_tables["mart/level_period_stats"]["dagster/column_schema"].schema.columns}
    assert level_columns["new_total"].type == "BIGINT" and level_columns["new_total"].description
    evaluations = {
        e.event_specific_data.check_name: e.event_specific_data.passed
        for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    checked = ("procedure_stats_add_up", "field_stats_add_up", "late_cases_count", "index766_add_up")
    assert {k: evaluations.get(k) for k in checked} == dict.fromkeys(checked, True)
    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    try:
        late = con.execute("SELECT case_id, late_kind FROM mart.late_cases "
                           "WHERE period_grain = 'quarter' AND period_label = '2025-Q1' ORDER BY case_id").fetchall()
        assert late == [("D01", "resolved_late"), ("D02", "overdue")]
        documented = con.execute(
            "SELECT count(*), count(*) FILTER (coalesce(comment, '') <> '') FROM duckdb_columns() "
            "WHERE schema_name = 'mart' AND table_name = 'procedure_period_stats'").fetchone()
        assert documented[0] > 0 and documented[0] == documented[1]
        index = con.execute("SELECT count(*), count(DISTINCT period_grain) FROM mart.index766_scores").fetchone()
        assert index[0] > 0 and index[1] == 3  # cal_month, cal_quarter, cal_year
        assert con.execute("SELECT count(*) FROM mart.index766_cases").fetchone()[0] > 0
    finally:
        con.close()


def test_failed_add_up_check_blocks_publication(landed, monkeypatch):
    from app.errors import CommandError
    from pipeline.quality import checks

    warehouse, instance = landed
    monkeypatch.setattr(checks, "procedure_add_up_violations",
                        lambda con: checks.CheckOutcome(False, 1, [("month", "2025-03", "U1")]))
    with pytest.raises(CommandError, match="procedure_stats_add_up"):
        materialize(("mart", "publish"), warehouse=warehouse, tags=Q1, instance=instance)
    done = _materialized(instance)
    assert "mart/procedure_period_stats" in done
    assert "publish/analytics_database" not in done
