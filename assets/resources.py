"""Dagster resources: the DuckDB warehouse (single writer), the inbox folder and the run's
settings (what a command passes in: the day, the reports folder, the export API)."""


from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

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


class RunSettings(dg.ConfigurableResource):
    """Settings a command passes to the assets it runs (never through the environment).

    Empty fields fall back to the environment's defaults (pipeline/config.py): ``as_of`` to
    DVC_AS_OF, else today in Asia/Ho_Chi_Minh; ``reports_dir`` to DVC_REPORTS_DIR, else
    ``reports/`` beside the warehouse; ``portal_url``/``portal_token`` to DVC_PORTAL_URL/_TOKEN.
    """

    as_of: str | None = None
    reports_dir: str | None = None
    portal_url: str | None = None
    portal_token: str | None = None

    def today(self) -> date:
        """The run's "today" for period status and banners."""
        from pipeline.cycle import timeline

        return timeline.today_local(timeline.parse_day(self.as_of) if self.as_of else None)

    def reports_folder(self, warehouse: str | Path) -> Path:
        return Path(self.reports_dir) if self.reports_dir else config.reports_dir(warehouse)

    def portal(self) -> config.PortalSettings:
        return config.PortalSettings.from_env(self.portal_url, self.portal_token)
