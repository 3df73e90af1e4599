"""Subprocess for the SIGKILL test (tests/pipeline/test_pull.py): pull one window slowly.

    python portal_pull_child.py URL TOKEN WAREHOUSE PROGRESS_FILE

Every log line of pull_window (one per landed, committed batch) is appended to PROGRESS_FILE
and fsynced, so the test knows how far the pull got without opening the warehouse (DuckDB
allows one process per file).
"""

import os
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from pipeline.config import PortalSettings  # noqa: E402
from pipeline.ingest.pull import pull_window  # noqa: E402
from pipeline.warehouse import open_warehouse  # noqa: E402

url, token, warehouse, progress = sys.argv[1:5]


class ProgressLog:
    def __init__(self, path: str) -> None:
        self.fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process

    def _write(self, message: str) -> None:
        self.fh.write(message.replace("\n", " ") + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    info = warning = error = _write


settings = PortalSettings(base_url=url, token=token, page_size=10, timeout_s=30, max_retries=2)
with open_warehouse(warehouse) as con:
    pull_window(con, settings, datetime(2025, 1, 1), datetime(2025, 2, 1), chunk_records=20, log=ProgressLog(progress))
