"""Dagster resources: the DuckDB warehouse (single writer) and the inbox folder."""


from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from pipeline import config
from pipeline.warehouse import open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file. DuckDB allows one writer process, so every writing asset runs in the
    in-process executor (assets/definitions.py) and opens the file only while it works."""

    path: str = str(config.default_warehouse())

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.path) as con:
            yield con


class InboxResource(dg.ConfigurableResource):
    """Folder where export files (.jsonl, .jsonl.gz, .json, .csv, .xlsx) are dropped."""

    path: str = str(config.default_inbox())
