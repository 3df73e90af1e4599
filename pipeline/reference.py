"""Reference data: units, crosswalk, targets and procedures, loaded from seeds/ (or DVC_SEEDS_DIR)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline import config
from pipeline.warehouse import read_sql


def load_reference(con: duckdb.DuckDBPyConnection, seeds_dir: Path | None = None) -> None:
    """(Re)load units, crosswalk, targets and procedures from seeds/."""
    seeds = (seeds_dir or config.seeds_dir()).resolve().as_posix().replace("'", "''")
    con.execute(read_sql("reference.sql").replace("$seeds", seeds))
