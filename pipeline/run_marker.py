"""Who is using the warehouse, seen from outside DuckDB.

DuckDB lets one process open the file at a time, and a run lets go of it between its steps. So
every writing command holds a marker for its whole length (a shared ``flock`` on
``<warehouse>.running``): readers (``summary``, ``report``) that see it read the published
analyst copy instead of taking the warehouse from under the run. Runs hold it shared, so two
runs still meet DuckDB's own lock and its message; the file itself is empty and stays.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_DIR_MODE = 0o750


def marker_path(warehouse: Path | str) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.name}.running")


@contextmanager
def holding_run_marker(warehouse: Path | str) -> Iterator[None]:
    """Mark a run in progress on ``warehouse`` until the block ends (also on kill: the kernel
    drops the lock with the process)."""
    path = marker_path(warehouse)
    for folder in reversed([path.parent, *path.parent.parents]):
        if not folder.exists():
            folder.mkdir(mode=_DIR_MODE, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def run_in_progress(warehouse: Path | str) -> bool:
    """Whether some command holds the run marker of ``warehouse`` now."""
    path = marker_path(warehouse)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
