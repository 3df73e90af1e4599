"""A generated warehouse shared by the cycle tests (built once per session): the seed province
Quảng Trị and, until 30/6/2025, Quảng Bình (two provinces in one warehouse), unit codes missing
from the reference lists, every grain of the marts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report_data import build_demo_warehouse


@pytest.fixture(scope="session")
def two_province_warehouse(tmp_path_factory) -> Path:
    return build_demo_warehouse(tmp_path_factory.mktemp("cycle-demo") / "w.duckdb")
