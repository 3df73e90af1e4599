"""Modes of the files the pipeline writes for people: reports, dashboards, Data Docs.

They hold per-unit figures of an administration, not for every local account: files get
DVC_OUTPUT_MODE (default 0640) and the folders the pipeline creates for them the matching
0750, whatever the umask (the warehouse itself is 0600, the analyst copy 0640).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline import config


def make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with the output folder mode."""
    missing = [f for f in [folder, *folder.parents] if not f.exists()]
    mode = config.output_folder_mode()
    for f in reversed(missing):
        f.mkdir(exist_ok=True)
        os.chmod(f, mode)


def restrict(path: Path) -> Path:
    """Give a written output file the output file mode."""
    os.chmod(path, config.output_file_mode())
    return path


def restrict_tree(folder: Path) -> None:
    """Every file and folder under ``folder`` (which the pipeline owns, e.g. the quality folder
    where Great Expectations also writes its own files) gets the output modes."""
    file_mode, folder_mode = config.output_file_mode(), config.output_folder_mode()
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(Path(root) / name, folder_mode)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                os.chmod(path, file_mode)
