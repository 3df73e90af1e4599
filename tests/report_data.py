"""Small warehouses for the report tests: generated demo cases (real seeds) or the fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def build_demo_warehouse(path: Path, *, n_versions: int = 4000, seed: int = 3) -> Path:
    """Generated cases of the seed province (every level, the 2025 reorganisation, targets)."""
    from devtools import demo_data
    from pipeline import marts
    from pipeline.core import merge_pending_batches
    from pipeline.landing import land_file
    from pipeline.warehouse import open_warehouse

    source = demo_data.write_jsonl(
        demo_data.generate_cases(n_versions, seed=seed, invalid_share=0.01), path.with_suffix(".jsonl")
    )
    with open_warehouse(path) as con:
        land_file(con, source)
        merge_pending_batches(con)
        marts.refresh_all(con)
    return path


def build_fixture_warehouse(path: Path) -> Path:
    """The hand-checked metrics cases plus records with unknown units and broken fields."""
    from pipeline import marts
    from pipeline.core import merge_pending_batches
    from pipeline.landing import land_file
    from pipeline.warehouse import open_warehouse

    with pytest.MonkeyPatch.context() as mp, open_warehouse(path) as con:
        mp.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
        land_file(con, FIXTURES / "metrics_cases.jsonl")
        land_file(con, FIXTURES / "cases_small.jsonl")
        merge_pending_batches(con)
        marts.refresh_all(con)
    return path
