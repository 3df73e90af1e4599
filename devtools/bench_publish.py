"""Benchmark of the publish alone on a copy of a real warehouse (not part of the tests).

    python -m devtools.bench_publish --warehouse bench-out/cold_csv.duckdb [--night FILE] [--code DIR]

Copies the warehouse and its analyst copy into a scratch folder, publishes once (so a publish
that keeps stamps trusts them), then, with ``--night``, lands that export file, merges it and
refreshes the pending windows, and times the publish that follows; last, a publish with nothing
changed. ``--code DIR``: import the pipeline from another checkout (e.g. a ``git worktree`` of
an older commit) to measure it on the same data. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path


def _copy(warehouse: Path, scratch: Path) -> Path:
    """The warehouse, its analyst database and its current Parquet set, copied into ``scratch``."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    stem = warehouse.stem
    shutil.copy(warehouse, scratch / warehouse.name)
    analytics = warehouse.with_name(f"{stem}.analytics.duckdb")
    if analytics.exists():
        shutil.copy(analytics, scratch / analytics.name)
    link = warehouse.with_name(f"{stem}.analytics_parquet")
    if link.is_symlink():
        target = link.resolve()
        shutil.copytree(target, scratch / target.name)
        (scratch / link.name).symlink_to(target.name)
    return scratch / warehouse.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--night", type=Path, help="an export file to land before the timed publish")
    parser.add_argument("--code", type=Path, help="a checkout to import the pipeline from")
    parser.add_argument("--scratch", type=Path, default=Path("bench-out/publish-scratch"))
    args = parser.parse_args(argv)
    # Each publish logs its own breakdown (database, Parquet) on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("pipeline.publish").setLevel(logging.INFO)
    if args.code:
        sys.path.insert(0, str(args.code.resolve()))
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.publish.analyst_copy import publish
    from pipeline.warehouse import open_warehouse

    warehouse = _copy(args.warehouse.resolve(), args.scratch.resolve())
    out: dict[str, float | str] = {"code": str(Path(sys.modules["pipeline"].__file__).parent.parent)}
    with open_warehouse(warehouse) as con:
        started = time.perf_counter()
        publish(con, warehouse)
        out["first_publish_s"] = time.perf_counter() - started
        if args.night:
            started = time.perf_counter()
            land_file(con, args.night)
            merge_pending_batches(con)
            days = marts.pending_day_range(con)
            if days is not None:
                marts.refresh(con, marts.windows_for_days(*days))
            out["night_s"] = time.perf_counter() - started
            started = time.perf_counter()
            publish(con, warehouse)
            out["night_publish_s"] = time.perf_counter() - started
        started = time.perf_counter()
        publish(con, warehouse)
        out["unchanged_publish_s"] = time.perf_counter() - started
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
