from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"

os.environ.setdefault("DVC_PII_KEY", "test-pii-key")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def con(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    from pipeline.warehouse import open_warehouse

    with open_warehouse(warehouse_path) as connection:
        yield connection
