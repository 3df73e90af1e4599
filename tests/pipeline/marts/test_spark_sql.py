"""The DuckDB -> Spark SQL rewrites of pipeline/marts/spark_sql.py (no Spark needed: sqlglot only).

Each rewrite is checked on its own, and where DuckDB can run the rewritten statement too, both
forms are run side by side on DuckDB and must agree."""

from __future__ import annotations

import duckdb
import pytest

sqlglot = pytest.importorskip("sqlglot", reason="sqlglot is in the optional extra: pip install -e '.[spark]'")

from pipeline.marts import spark_engine, spark_sql  # noqa: E402
from pipeline.marts.spark_engine import mart_sql, referenced  # noqa: E402


def _tree(sql: str):
    return spark_sql.transpile_tree(sqlglot.parse_one(sql, read="duckdb"))


def test_epoch_of_an_interval_becomes_microseconds_and_agrees_on_duckdb():
    sql = ("SELECT epoch(e - r) / 86400.0 AS days FROM (VALUES "
           "(TIMESTAMP '2025-03-14 23:59:59.5', TIMESTAMP '2025-01-01 08:00:00'), "
           "(TIMESTAMP '2025-01-01 08:00:00', TIMESTAMP '2025-03-14 23:59:59.5'), "
           "(TIMESTAMP '2024-02-28 00:00:00', TIMESTAMP '2024-02-28 00:00:00.000001')) t(e, r)")
    rewritten = _tree(sql)
    spark = rewritten.sql("spark")
    assert "epoch" not in spark.lower() and "MICROSECOND" in spark
    con = duckdb.connect()
    original = [r[0] for r in con.execute(sql).fetchall()]
    portable = [r[0] for r in con.execute(rewritten.sql("duckdb")).fetchall()]
    assert portable == pytest.approx(original, rel=1e-12, abs=1e-15)
    assert original[0] > 0 > original[1]  # the sign (which side is subtracted) survives


def test_epoch_of_a_timestamp_is_left_alone():
    """Only the epoch of an interval (a difference) is rewritten."""
    assert "MICROSECOND" not in _tree("SELECT epoch(ts) FROM t").sql("spark")


def test_schema_tables_become_views_and_keep_their_alias():
    spark = _tree("SELECT c.case_id FROM core.cases c JOIN refresh_periods p ON TRUE").sql("spark")
    assert "core__cases AS c" in spark and "refresh_periods AS p" in spark
    assert "core.cases" not in spark


def test_struct_in_subquery_becomes_a_row_of_columns_and_agrees_on_duckdb():
    sql = ("SELECT g, l FROM (VALUES ('month', '2025-01'), ('month', '2025-02'), ('year', '2025')) t(g, l) "
           "WHERE (g, l) IN (SELECT (g2, l2) FROM (VALUES ('month', '2025-02'), ('year', '2025')) r(g2, l2)) "
           "ORDER BY ALL")
    rewritten = _tree(sql)
    assert "(SELECT g2, l2 FROM" in rewritten.sql("spark")
    con = duckdb.connect()
    expected = [("month", "2025-02"), ("year", "2025")]
    assert con.execute(sql).fetchall() == expected
    assert con.execute(rewritten.sql("duckdb")).fetchall() == expected


def test_filtered_window_aggregate_becomes_a_case_and_agrees_on_duckdb():
    sql = ("SELECT k, count(*) FILTER (WHERE v > 1) OVER (PARTITION BY k) AS n, "
           "sum(v) FILTER (WHERE v > 1) OVER (PARTITION BY k) AS s "
           "FROM (VALUES ('a', 1), ('a', 2), ('a', 3), ('b', 1)) t(k, v) ORDER BY ALL")
    rewritten = _tree(sql)
    spark = rewritten.sql("spark")
    assert "FILTER" not in spark and "COUNT(CASE WHEN v > 1 THEN 1 END) OVER" in spark
    con = duckdb.connect()
    assert con.execute(rewritten.sql("duckdb")).fetchall() == con.execute(sql).fetchall()


def test_grouped_filter_is_kept():
    """Spark takes FILTER on grouped aggregates: only window aggregates are rewritten."""
    assert "FILTER(WHERE" in _tree("SELECT count(*) FILTER (x) FROM t").sql("spark")


def test_star_exclude_is_expanded_from_the_cte():
    sql = ("WITH c AS (SELECT 1 AS window_id, 'u' AS unit_code, 2 AS n) "
           "SELECT w.label, c.* EXCLUDE (window_id) FROM c JOIN (SELECT 1 AS window_id, 'x' AS label) w "
           "ON w.window_id = c.window_id")
    rewritten = _tree(sql)
    assert "c.unit_code, c.n FROM" in rewritten.sql("spark")
    con = duckdb.connect()
    assert con.execute(rewritten.sql("duckdb")).fetchall() == con.execute(sql).fetchall() == [("x", "u", 2)]


def test_star_exclude_over_an_unknown_source_refuses():
    with pytest.raises(ValueError, match="cannot expand"):
        _tree("SELECT t.* EXCLUDE (a) FROM some_table t")


def test_statements_kinds_and_comments():
    statements = spark_sql.to_spark(
        "CREATE OR REPLACE TEMP TABLE a AS SELECT 1 AS x; -- trailing note\n"
        "CREATE OR REPLACE TEMP VIEW b AS SELECT x FROM a;\n"
        "COMMENT ON TABLE core.t IS 'doc';\n"
        "SELECT * FROM core.t"
    )
    assert [(s.kind, s.name) for s in statements] == [("table", "a"), ("view", "b"), ("select", None)]
    assert statements[1].sql.startswith("CREATE OR REPLACE TEMPORARY VIEW b AS SELECT")
    assert statements[2].sql == "SELECT * FROM core__t"


def test_a_statement_without_a_spark_form_is_refused():
    with pytest.raises(ValueError, match="no Spark form"):
        spark_sql.to_spark("DELETE FROM mart.unit_period_stats WHERE TRUE")


def test_every_mart_statement_transpiles_without_duckdb_only_constructs():
    for step, sql in mart_sql().items():
        for statement in spark_sql.to_spark(sql):
            text = statement.sql
            assert "EXCLUDE" not in text and "EXCEPT (" not in text, step
            assert "EPOCH(" not in text.upper(), step
            assert "core." not in text and "mart." not in text and "raw." not in text, step


def test_the_export_reads_only_the_named_columns():
    tables, columns = referenced(mart_sql().values())
    assert {"core.cases", "raw.case_versions", "core.unit_calendar", "core.targets", "core.index766"} <= tables
    assert {"mart.index766_cases", "mart.unit_period_stats"} <= tables & spark_engine.COMPUTED  # computed, not exported
    assert {"case_id", "received_at", "due_at", "arrival_seq"} <= columns
    # personal data of the cases (hashed or not) is never named by the marts: never exported
    assert not {c for c in columns if c.startswith("applicant_")} and not {"summary", "extra_fields"} & columns
