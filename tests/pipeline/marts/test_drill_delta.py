"""The drill-down's delta path (pipeline/marts/drill_state.py) against the full recount: after
each of a sequence of nights (closed cases, cases moved between units, a late new case in an
old window, a late older version, a changed procedure), the tables updated from the changed
cases equal the same windows recomputed from all their cases."""

from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline import marts, tables
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.marts import drill_state
from pipeline.warehouse import open_warehouse

DRILL_TABLES = (*marts.DRILL_TABLES, drill_state.COUNTS_TABLE)

# Each night: a SELECT over the generated versions (TEMP TABLE v, every field as text, the
# newest version per case in TEMP TABLE latest, compact 14-digit dates) whose rows are landed.
_LATER = "strftime(strptime(NgayCapNhat, '%Y%m%d%H%M%S') + INTERVAL 1 DAY, '%Y%m%d%H%M%S')"
NIGHTS = {
    "closed": f"""SELECT * REPLACE ('10' AS TrangThaiHoSo, {_LATER} AS NgayKetThucXuLy, {_LATER} AS NgayTra,
                                   {_LATER} AS NgayCapNhat)
                  FROM latest WHERE TrangThaiHoSo IN ('2', '4') ORDER BY MaHoSo LIMIT 25""",
    "moved": f"""SELECT * REPLACE ((SELECT max(MaDonVi) FROM v) AS MaDonVi, {_LATER} AS NgayCapNhat)
                 FROM latest WHERE MaDonVi <> (SELECT max(MaDonVi) FROM v) ORDER BY MaHoSo DESC LIMIT 15""",
    "late new case and late older version": """
        SELECT * FROM (SELECT * REPLACE ('LATE-' || MaHoSo AS MaHoSo) FROM latest ORDER BY NgayTiepNhan LIMIT 3)
        UNION ALL
        SELECT * FROM (
            SELECT * REPLACE ((SELECT min(MaDonVi) FROM v) AS MaDonVi,
                              strftime(strptime(NgayCapNhat, '%Y%m%d%H%M%S') - INTERVAL 1 SECOND, '%Y%m%d%H%M%S')
                                  AS NgayCapNhat)
            FROM latest ORDER BY MaHoSo LIMIT 10)""",
    "procedure changed": f"""SELECT * REPLACE ((SELECT min(MaTTHC) FROM v) AS MaTTHC, {_LATER} AS NgayCapNhat)
                             FROM latest WHERE MaTTHC <> (SELECT min(MaTTHC) FROM v) ORDER BY MaHoSo LIMIT 12""",
}


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    from devtools import demo_data

    return demo_data.write_csv(
        demo_data.generate_cases(1500, seed=24, start=date(2025, 3, 15), end=date(2025, 9, 14), invalid_share=0.0),
        tmp_path / "generated.csv",
    )


def _night_file(source: Path, select: str, path: Path) -> Path:
    with duckdb.connect() as con:
        con.execute(f"CREATE TEMP TABLE v AS SELECT * FROM read_csv('{source}', header = true, all_varchar = true)")
        con.execute(
            "CREATE TEMP TABLE latest AS SELECT * FROM v WHERE length(NgayCapNhat) = 14 AND length(NgayTiepNhan) = 14 "
            "QUALIFY row_number() OVER (PARTITION BY MaHoSo ORDER BY NgayCapNhat DESC) = 1"
        )
        con.execute(f"COPY ({select}) TO '{path}' (HEADER, DELIMITER ',')")
        assert con.execute(f"SELECT count(*) FROM read_csv('{path}', header = true)").fetchone()[0] > 0
    return path


def _differing_rows(con: duckdb.DuckDBPyConnection, other: str) -> dict[str, int]:
    """Rows of each drill-down table that differ from (or are missing in) the same table of
    database ``other``, matched on the table's key. Every column exactly, DOUBLEs too: the day
    sums add whole milliseconds, so no summation order moves their last bits."""
    found = {}
    for table in DRILL_TABLES:
        key = tables.BY_NAME[table].key
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name || '.' || table_name = ? "
            "AND database_name = current_database()", [table],
        ).fetchall()]
        differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in columns)
        on = " AND ".join(f"a.{c} IS NOT DISTINCT FROM b.{c}" for c in key)
        found[table] = con.execute(
            f"SELECT count(*) FROM {table} a FULL OUTER JOIN {other}.{table} b ON {on} WHERE {differs}"
        ).fetchone()[0]
    return found


def test_nights_update_only_their_groups_and_equal_a_full_recount(generated, tmp_path, caplog):
    warehouse = tmp_path / "warehouse.duckdb"
    with open_warehouse(warehouse) as con:
        land_file(con, generated)
        merge_pending_batches(con)
        marts.refresh_all(con)
        computed = set(marts.windows_for_days(*marts.data_day_range(con)))
    for i, (night, select) in enumerate(NIGHTS.items()):
        shutil.copy(warehouse, tmp_path / "before.duckdb")
        with open_warehouse(warehouse) as con:
            land_file(con, _night_file(generated, select, tmp_path / f"night{i}.csv"))
            merge_pending_batches(con)
            marts.build_case_unit_history(con)  # as the unit mart's step does before the drill-down
            windows = marts.windows_for_days(*marts.pending_day_range(con))
            plan = drill_state.plan(con, windows)
            # Windows computed before are updated; only windows the night adds (data reaching a
            # new month) are recounted whole.
            assert plan.delta and 0 < plan.changed_cases < 100, (night, plan.describe())
            assert not set(plan.full) & computed, (night, plan.describe())
            with caplog.at_level(logging.INFO, logger="pipeline.marts.steps"):
                marts.refresh_drilldown(con, windows)
            assert "updated for" in caplog.text, night
            caplog.clear()
            computed |= set(windows)
        full = tmp_path / f"full{i}.duckdb"
        shutil.copy(warehouse, full)
        with open_warehouse(full) as con:
            drill_state.forget(con)
            assert drill_state.plan(con, windows).full
            marts.refresh_drilldown(con, windows)
            con.execute(f"ATTACH '{warehouse}' AS delta (READ_ONLY)")
            con.execute(f"ATTACH '{tmp_path / 'before.duckdb'}' AS before (READ_ONLY)")
            assert set(_differing_rows(con, "delta").values()) == {0}, night
            assert sum(_differing_rows(con, "before").values()) > 0, night  # the night moved some row


def test_nothing_merged_changes_no_row_and_deleted_rows_or_new_lists_recount_whole(
    metrics_cases_template, warehouse_path
):
    shutil.copy(metrics_cases_template, warehouse_path)
    with open_warehouse(warehouse_path) as con:
        windows = marts.windows_for_days(*marts.data_day_range(con))
        plan = drill_state.plan(con, windows)
        assert plan.delta and not plan.full and plan.changed_cases == 0
        marts.refresh_drilldown(con, windows)
        con.execute(f"ATTACH '{metrics_cases_template}' AS template (READ_ONLY)")
        assert set(_differing_rows(con, "template").values()) == {0}
        # Rows deleted out from under the state (a failed engine, a hand edit): that window
        # is recounted whole, the others are still updated.
        grain, label = con.execute(f"SELECT period_grain, period_label FROM {marts.PROCEDURE_TABLE} LIMIT 1").fetchone()
        con.execute(f"DELETE FROM {marts.PROCEDURE_TABLE} WHERE period_grain = ? AND period_label = ?", [grain, label])
        plan = drill_state.plan(con, windows)
        assert [(w.grain, w.label) for w in plan.full] == [(grain, label)] and plan.delta
        marts.refresh_drilldown(con, windows)
        assert set(_differing_rows(con, "template").values()) == {0}
        con.execute("DETACH template")
        # A changed reference list (here the catalogue) makes every window recount whole.
        con.execute("UPDATE core.procedures SET procedure_name = procedure_name || ' (mới)'")
        plan = drill_state.plan(con, windows)
        assert plan.full and not plan.delta



def test_refresh_all_recounts_every_window_whole(metrics_cases_template, warehouse_path, caplog):
    """marts.refresh_all (and `run --full-refresh`, which forgets the same state) recomputes
    the drill-down from all the cases, even with nothing merged since."""
    shutil.copy(metrics_cases_template, warehouse_path)
    with open_warehouse(warehouse_path) as con, caplog.at_level(logging.INFO, logger="pipeline.marts.steps"):
        marts.refresh_all(con)
    assert "recomputed from all their cases" in caplog.text and "updated for" not in caplog.text
