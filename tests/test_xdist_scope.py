"""The scheduling of tests/conftest.py: the costly modules stay on one xdist worker."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ONE_WORKER_MODULES, xdist_scope

ROOT = Path(__file__).parent.parent


def test_the_one_worker_modules_exist():
    """A renamed module would silently be spread over the workers again (its fixture run twice)."""
    assert all((ROOT / module).is_file() for module in ONE_WORKER_MODULES)


def test_a_one_worker_module_is_one_unit_and_other_tests_are_their_own():
    spark = "tests/pipeline/marts/test_spark_engine.py"
    assert xdist_scope(f"{spark}::test_every_cell_equals_duckdb[mart.late_cases]") == spark
    assert xdist_scope(f"{spark}::test_workdir_and_master_settings") == spark
    other = "tests/pipeline/marts/test_spark_sql.py::test_grouped_filter_is_kept"
    assert xdist_scope(other) == other
