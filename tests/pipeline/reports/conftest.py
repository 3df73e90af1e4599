"""Warehouses shared by the report tests (built once per session: ~6 s each)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.report_data import add_new_marts, build_demo_warehouse, to_legacy_marts


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Path:
    """Generated demo cases through today's marts (one target row per year)."""
    return build_demo_warehouse(tmp_path_factory.mktemp("report-demo") / "w.duckdb")


@pytest.fixture(scope="session")
def new_warehouse(demo_warehouse, tmp_path_factory) -> Path:
    """The demo warehouse with the marts of the parallel branches (as-of targets, field mart,
    late cases, province codes and another province's rows)."""
    path = tmp_path_factory.mktemp("report-new") / "w.duckdb"
    shutil.copy(demo_warehouse, path)
    return add_new_marts(path)


@pytest.fixture(scope="session")
def legacy_warehouse(demo_warehouse, tmp_path_factory) -> Path:
    """The demo warehouse with the marts as they were (also once the new marts are merged)."""
    path = tmp_path_factory.mktemp("report-legacy") / "w.duckdb"
    shutil.copy(demo_warehouse, path)
    return to_legacy_marts(path)
