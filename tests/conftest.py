from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"

os.environ.setdefault("DVC_PII_KEY", "test-pii-key")

# Modules whose tests must all run on ONE xdist worker: their module fixture is costly (the
# Spark engine's: a JVM and a whole engine run, ~1 min on 2 cores) and would otherwise run once
# per worker, both at once. (pytest-xdist's own `--dist loadgroup` no longer groups under
# pytest 9.2: pytest-xdist issue #1386.)
ONE_WORKER_MODULES = ("tests/pipeline/marts/test_spark_engine.py", "tests/app/test_backfill_spark.py")


def xdist_scope(nodeid: str) -> str:
    """The unit of work a test is scheduled in: its module for ONE_WORKER_MODULES, else itself."""
    module = nodeid.split("::", 1)[0]
    return module if module.endswith(ONE_WORKER_MODULES) else nodeid


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown without the plugin
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`-n N` (dist "load"): as load, but each of ONE_WORKER_MODULES on one worker."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return OneWorkerModules(config, log)


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


@pytest.fixture(scope="session")
def warehouse_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``template(name, build)``: a warehouse built once per test session (per xdist worker) by
    ``build(connection, folder)`` and returned closed and checkpointed, for tests to copy
    (``copied_warehouse``): landing and refreshing the marts costs seconds, a file copy
    milliseconds. ``folder`` may hold what the build writes besides (seeds). The build runs in
    the caller's environment (set DVC_SEEDS_DIR before asking)."""
    from pipeline.warehouse import open_warehouse

    built: dict[str, Path] = {}

    def template(name: str, build: Callable[[duckdb.DuckDBPyConnection, Path], None]) -> Path:
        if name not in built:
            folder = tmp_path_factory.mktemp(f"template-{name}")
            path = folder / "warehouse.duckdb"
            # The same template whichever test asks first: no other test's settings leak in.
            with pytest.MonkeyPatch.context() as env:
                for key in [k for k in os.environ if k.startswith("DVC_") and k not in TEMPLATE_SETTINGS]:
                    env.delenv(key)
                with open_warehouse(path) as connection:
                    build(connection, folder)
                    connection.execute("CHECKPOINT")
            built[name] = path
        return built[name]

    return template


# The settings a template is built with, taken from the test that asks for it.
TEMPLATE_SETTINGS = ("DVC_PII_KEY", "DVC_SEEDS_DIR")


def _land_metrics_cases(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file

    result = land_file(con, FIXTURES / "metrics_cases.jsonl")
    assert result.records_quarantined == 0, result.reasons_preview
    merge_pending_batches(con)
    marts.refresh_all(con)


@pytest.fixture
def metrics_cases_template(warehouse_templates, monkeypatch) -> Path:
    """tests/fixtures/metrics_cases.jsonl landed, merged and every window refreshed on the
    fixture seeds (DVC_SEEDS_DIR is set for the test too): a closed warehouse built once per
    session. Copy it before writing (``copied_warehouse``, or ``shutil.copy``)."""
    monkeypatch.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
    return warehouse_templates("metrics_cases", _land_metrics_cases)


def copied_warehouse(template: Path, warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open connection on a fresh copy of ``template`` at ``warehouse_path`` (a generator for
    fixtures to ``yield from``)."""
    from pipeline.warehouse import open_warehouse

    shutil.copy(template, warehouse_path)
    with open_warehouse(warehouse_path) as connection:
        yield connection


@pytest.fixture(scope="session")
def published_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small warehouse at ``<root>/var/demo/warehouse.duckdb`` (the demo's layout) with its
    analyst database and Parquet set published; returns ``<root>``. Built once per session
    from the fixtures, by the same functions the pipeline's assets call (no Dagster, no demo)."""
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.ingest.reference import load_reference
    from pipeline.publish.analyst_copy import publish
    from pipeline.warehouse import open_warehouse

    root = tmp_path_factory.mktemp("published_demo")
    warehouse = root / "var" / "demo" / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env, open_warehouse(warehouse) as connection:
        env.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))  # the marts reload reference data too
        for name in ("metrics_cases.jsonl", "cases_small.jsonl", "cases_vi_nfd_semicolon_bom.csv"):
            land_file(connection, FIXTURES / name)
        load_reference(connection)
        merge_pending_batches(connection)
        days = marts.pending_day_range(connection)
        assert days is not None
        marts.refresh(connection, marts.windows_for_days(*days))
        publish(connection, warehouse)
    return root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run first: with two workers the long ones then overlap the many
    short ones instead of running alone at the end (the order within each group is kept)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
