"""The marts on Spark equal the marts on DuckDB, cell for cell (pipeline/marts/spark_engine.py).

One generated province data set (the 2025 reorganisation of seeds/, yearly targets, and cases
moved between units across their versions) is refreshed on DuckDB; a copy of the warehouse,
its marts emptied, is refreshed on Spark (local mode, one session and one engine run for the
module; tests/conftest.py keeps the module on one xdist worker). Every cell of every mart table,
the Decision-766 index's included, must be equal: counts exactly, DOUBLE columns within 1e-9; same column
types. Skips only when pyspark or Java is missing (scripts/setup.sh installs both)."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from devtools.bench_spark import count_differences, mart_tables
from pipeline import marts, periods
from pipeline.marts import index766, spark_engine
from pipeline.warehouse import open_warehouse

pytestmark = pytest.mark.slow

COMPARED = (marts.HISTORY_TABLE, *spark_engine.WRITE_ORDER)
TOLERANCE = 1e-9
# A few thousand cases: two shuffle partitions (per-task overhead dominates at this size).
SMALL_DATA_CONF = {"spark.sql.shuffle.partitions": "2"}


def _generated_cases(path: Path) -> Path:
    """Demo-sized province data; every 4th case with several versions changes unit in its later
    versions (docs/definitions.md §4.2 attribution by version history)."""
    import polars as pl

    from devtools import demo_data

    df = demo_data.generate_cases(2500, seed=26, start=date(2024, 12, 15), end=date(2025, 9, 14), invalid_share=0.0)
    codes = df["MaDonVi"].unique().sort().to_list()
    multi = df.group_by("MaHoSo").len().filter(pl.col("len") > 1)["MaHoSo"].sort().to_list()[::4]
    other = {c: codes[(i + 1) % len(codes)] for i, c in enumerate(codes)}
    df = df.with_columns(
        pl.when(pl.col("MaHoSo").is_in(multi) & (pl.int_range(pl.len()).over("MaHoSo") > 0))
        .then(pl.col("MaDonVi").replace_strict(other))
        .otherwise(pl.col("MaDonVi"))
        .alias("MaDonVi")
    )
    return demo_data.write_jsonl(df, path)


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> dict:
    reason = spark_engine.spark_available()
    if reason:
        pytest.skip(f"Spark engine unavailable: {reason}")
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file

    root = tmp_path_factory.mktemp("spark_engine")
    on_duckdb, on_spark = root / "duckdb.duckdb", root / "spark.duckdb"
    with open_warehouse(on_duckdb) as con:
        land_file(con, _generated_cases(root / "cases.jsonl"))
        merge_pending_batches(con)
        days = marts.data_day_range(con)
        windows = marts.windows_for_days(*days)
        marts.refresh(con, windows)
    shutil.copy(on_duckdb, on_spark)
    with open_warehouse(on_spark) as con:
        for table in COMPARED:  # Spark starts from empty marts: nothing left over can pass for its rows
            con.execute(f"DELETE FROM {table}")
        result = spark_engine.refresh(
            con, windows, folder=root / "spark-work", spark=spark_engine.session(SMALL_DATA_CONF)
        )
    return {"duckdb": on_duckdb, "spark": on_spark, "result": result, "windows": windows,
            "folder": root / "spark-work"}


def cell_differences(con: duckdb.DuckDBPyConnection, table: str, left: str, right: str) -> list[str]:
    """Where ``table`` differs between the attached databases ``left`` and ``right``: column
    types, row counts, then every cell in key order (DOUBLE within TOLERANCE, others exactly)."""
    def columns(db: str) -> list[tuple[str, str]]:
        schema, name = table.split(".")
        return con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ? ORDER BY column_index", [db, schema, name],
        ).fetchall()

    if columns(left) != columns(right):
        return [f"{table}: column types differ: {columns(left)} vs {columns(right)}"]
    names = [c for c, _ in columns(left)]
    a = con.execute(f"SELECT * FROM {left}.{table} ORDER BY ALL").fetchall()
    b = con.execute(f"SELECT * FROM {right}.{table} ORDER BY ALL").fetchall()
    if len(a) != len(b):
        return [f"{table}: {len(a)} rows vs {len(b)}"]
    out = []
    for x, y in zip(a, b, strict=True):
        for name, u, v in zip(names, x, y, strict=True):
            same = (math.isclose(u, v, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
                    if isinstance(u, float) and isinstance(v, float) else u == v)
            if not same:
                out.append(f"{table}.{name}: {u!r} vs {v!r} (row {x[:6]})")
    return out


@pytest.fixture(scope="module")
def both(engines) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"ATTACH '{engines['duckdb']}' AS on_duckdb (READ_ONLY)")
    con.execute(f"ATTACH '{engines['spark']}' AS on_spark (READ_ONLY)")
    yield con
    con.close()


@pytest.mark.parametrize("table", COMPARED)
def test_every_cell_equals_duckdb(both, table):
    rows = both.execute(f"SELECT count(*) FROM on_duckdb.{table}").fetchone()[0]
    assert rows > 0, f"{table} is empty: the comparison would prove nothing"
    assert cell_differences(both, table, "on_duckdb", "on_spark") == []


def test_the_data_exercises_every_path(both):
    """Moved cases, the crosswalk, late cases, targets and every grain are in the compared rows."""
    db = "on_spark"
    assert both.execute(f"SELECT count(DISTINCT case_id) FROM {db}.core.case_unit_history").fetchone()[0] > 10
    assert both.execute(f"SELECT count(*) FROM {db}.core.unit_resolution WHERE unit_code <> resolved_code").fetchone()[0] > 0
    kinds = {k for (k,) in both.execute(f"SELECT DISTINCT late_kind FROM {db}.mart.late_cases").fetchall()}
    assert kinds == {"resolved_late", "overdue"}
    assert both.execute(f"SELECT count(*) FROM {db}.mart.target_attainment WHERE actual IS NOT NULL").fetchone()[0] > 0
    grains = {g for (g,) in both.execute(f"SELECT DISTINCT period_grain FROM {db}.mart.unit_period_stats").fetchall()}
    assert grains == set(periods.GRAINS)
    # the index (docs/definitions.md §7): every calendar grain, unit and pooled province rows, zero
    # denominators, each flag both ways, and status-5 cases judged by their first request
    grains = {g for (g,) in both.execute(f"SELECT DISTINCT period_grain FROM {db}.mart.index766_scores").fetchall()}
    assert grains == set(index766.CALENDAR_GRAINS)
    levels = {u for (u,) in both.execute(f"SELECT DISTINCT unit_level FROM {db}.mart.index766_scores").fetchall()}
    assert {"province_total", "unknown"} < levels
    assert both.execute(f"SELECT count(*) FROM {db}.mart.index766_scores WHERE denominator = 0").fetchone()[0] > 0
    flags = ("on_time", "payment_counted", "paid_online", "electronic_result", "reused_digitised", "vneid", "dissatisfied")
    counts = both.execute(
        f"SELECT count(*), {', '.join(f'count(*) FILTER ({f})' for f in flags)}, "
        f"count(*) FILTER (status_code = '5' AND supplement_requests = 1) FROM {db}.mart.index766_cases"
    ).fetchone()
    assert all(0 < n < counts[0] for n in counts[1:]), counts


def test_the_spark_marts_pass_the_blocking_checks_and_close_the_refresh(engines, both):
    both.execute("USE on_spark")  # the checks read the warehouse's own schemas
    try:
        assert spark_engine.failed_checks(both) == []
        assert marts.pending_quarters(both) == []  # the Spark refresh closed what was pending
        done = both.execute(
            "SELECT count(*) FROM mart.refresh_log WHERE refresh_id LIKE 'spark-%' AND completed_at IS NOT NULL"
        ).fetchone()[0]
    finally:
        both.execute("USE memory")
    assert done == 1
    assert engines["result"].unit_rows > 0 and engines["result"].windows == len(engines["windows"])
    # written back: no copy of the cases is left in the exchange folder
    assert not (engines["folder"] / "in").exists() and not (engines["folder"] / "out").exists()


def test_the_comparison_sees_one_changed_cell(engines, tmp_path):
    """The comparison can fail: one count off by one in a copy is reported, and only it."""
    changed = tmp_path / "changed.duckdb"
    shutil.copy(engines["spark"], changed)
    with duckdb.connect(str(changed)) as con:
        con.execute(
            "UPDATE mart.unit_period_stats SET new_total = new_total + 1 WHERE rowid = (SELECT min(rowid) FROM mart.unit_period_stats)"
        )
    con = duckdb.connect()
    con.execute(f"ATTACH '{engines['duckdb']}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{changed}' AS b (READ_ONLY)")
    differences = cell_differences(con, marts.UNIT_TABLE, "a", "b")
    assert len(differences) == 1 and "new_total" in differences[0]
    assert cell_differences(con, marts.LEVEL_TABLE, "a", "b") == []
    # devtools/bench_spark.py's comparison (in SQL, for 1M-version marts) sees it too
    assert count_differences(con, marts.UNIT_TABLE, "a", "b") == 1
    assert count_differences(con, marts.LEVEL_TABLE, "a", "b") == 0


def test_the_benchmark_compares_the_same_tables_and_finds_them_equal(both):
    """devtools/bench_spark.py empties and compares exactly the tables this module compares."""
    assert mart_tables() == COMPARED
    assert {t: count_differences(both, t, "on_duckdb", "on_spark") for t in COMPARED} == dict.fromkeys(COMPARED, 0)


def test_the_session_pins_the_time_zone_whatever_is_asked(engines):
    """Local instants are compared as TIMESTAMP_NTZ in UTC: a setting cannot move a case across
    a window boundary (the module's session is reused, so this costs no new JVM)."""
    spark = spark_engine.session({"spark.sql.session.timeZone": "Asia/Ho_Chi_Minh"})
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.timestampType") == "TIMESTAMP_NTZ"
    assert spark.sql("SELECT CAST('2025-03-14 23:59:59' AS TIMESTAMP) < CAST(DATE '2025-03-15' AS TIMESTAMP)").first()[0]


def test_workdir_and_master_settings(monkeypatch, tmp_path):
    monkeypatch.delenv(spark_engine.ENV_WORKDIR, raising=False)
    monkeypatch.delenv(spark_engine.ENV_MASTER, raising=False)
    assert spark_engine.workdir(tmp_path / "w.duckdb") == tmp_path / "spark-work"
    assert spark_engine.master() == "local[*]"
    monkeypatch.setenv(spark_engine.ENV_WORKDIR, str(tmp_path / "shared"))
    monkeypatch.setenv(spark_engine.ENV_MASTER, "spark://head:7077")
    assert spark_engine.workdir(tmp_path / "w.duckdb") == tmp_path / "shared"
    assert spark_engine.master() == "spark://head:7077"
