"""mart.level_period_stats counts are BIGINT like the unit table's (issue 27: pandas read the
HUGEINT sums as floats), also in a warehouse an older refresh created with HUGEINT."""

from __future__ import annotations

import shutil

import duckdb

from pipeline.metrics import COUNT_COLUMNS


def _types(con, table: str) -> dict[str, str]:
    return dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'mart' AND table_name = ?", [table]
    ).fetchall())


def test_level_counts_have_the_unit_tables_types(published_demo):
    con = duckdb.connect(str(published_demo / "var" / "demo" / "warehouse.duckdb"), read_only=True)
    try:
        unit, level = _types(con, "unit_period_stats"), _types(con, "level_period_stats")
    finally:
        con.close()
    assert "HUGEINT" not in level.values()
    assert {c: level[c] for c in COUNT_COLUMNS} == {c: unit[c] for c in COUNT_COLUMNS}
    assert level["new_total"] == "BIGINT" and level["units"] == "BIGINT"


def test_an_older_hugeint_level_table_is_narrowed_with_its_values(published_demo, tmp_path, monkeypatch, fixtures):
    from pipeline.marts.steps import ensure_mart_tables
    from pipeline.warehouse import open_warehouse

    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    path = tmp_path / "w.duckdb"
    shutil.copy(published_demo / "var" / "demo" / "warehouse.duckdb", path)
    with open_warehouse(path) as con:
        con.execute("ALTER TABLE mart.level_period_stats ALTER COLUMN new_total TYPE HUGEINT")
        before = con.execute("SELECT sum(new_total), count(*) FROM mart.level_period_stats").fetchone()
        assert _types(con, "level_period_stats")["new_total"] == "HUGEINT"
        ensure_mart_tables(con)
        assert _types(con, "level_period_stats")["new_total"] == "BIGINT"
        assert con.execute("SELECT sum(new_total), count(*) FROM mart.level_period_stats").fetchone() == before
