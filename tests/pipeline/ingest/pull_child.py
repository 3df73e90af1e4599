"""Subprocess for the kill test: pull a window slowly into a warehouse (killed mid-pull)."""

import sys
from datetime import datetime

from pipeline.config import PortalSettings
from pipeline.ingest.pull import pull_window
from pipeline.warehouse import open_warehouse

url, warehouse = sys.argv[1], sys.argv[2]
settings = PortalSettings(base_url=url, token="t0ken", page_size=10, timeout_s=10)
with open_warehouse(warehouse) as con:
    pull_window(con, settings, datetime(2025, 1, 1), datetime(2025, 2, 1), chunk_records=10)
