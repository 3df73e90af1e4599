"""devtools/bench_spark.py's SQL comparison of two warehouses' marts (its engine runs are minutes:
the command itself is run by hand; tests/pipeline/marts/test_spark_engine.py uses the comparison
on both engines' marts)."""

from __future__ import annotations

import duckdb
import pytest

from devtools.bench_spark import count_differences


@pytest.fixture
def two() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for db in ("a", "b"):
        con.execute(f"ATTACH ':memory:' AS {db}")
        con.execute(f"CREATE SCHEMA {db}.mart")
        con.execute(f"CREATE TABLE {db}.mart.t (k VARCHAR, n BIGINT, rate DOUBLE)")
        con.execute(f"INSERT INTO {db}.mart.t VALUES ('x', 1, 0.5), ('y', 2, NULL), ('z', 3, 1234.5)")
    yield con
    con.close()


def test_equal_tables_have_no_difference(two):
    assert count_differences(two, "mart.t", "a", "b") == 0


@pytest.mark.parametrize(("change", "expected"), [
    ("UPDATE b.mart.t SET rate = rate * (1 + 1e-12) WHERE k = 'z'", 0),  # within 1e-9
    ("UPDATE b.mart.t SET rate = rate + 1e-6 WHERE k = 'x'", 1),
    ("UPDATE b.mart.t SET rate = 0 WHERE k = 'y'", 1),  # NULL vs a value
    ("UPDATE b.mart.t SET n = 4, rate = 0.25 WHERE k = 'x'", 2),
    ("INSERT INTO b.mart.t VALUES ('zz', 5, 1.0)", 3),  # a row on one side only: each of its cells
])
def test_differences_are_counted_per_cell(two, change, expected):
    two.execute(change)
    assert count_differences(two, "mart.t", "a", "b") == expected


def test_different_column_types_are_reported(two):
    two.execute("ALTER TABLE b.mart.t ALTER COLUMN n TYPE DOUBLE")
    assert count_differences(two, "mart.t", "a", "b") == -1
