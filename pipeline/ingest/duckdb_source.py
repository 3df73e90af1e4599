"""The file DuckDB reads: a literal name, and no line longer than the limit.

``_literal_source`` gives DuckDB a private alias of an export (its name is read as a glob
pattern otherwise) or, when a line is over the limit (DVC_MAX_LINE_MB), a copy in which each
such line is a short marker line; ``_LongLines``/``_scan`` find those lines (and check a
gzip archive whole). Shared by the CSV and JSON Lines readers.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.ingest.staging import ReadError, _line_limit
from pipeline.ingest.validation import TOO_LONG_MARKER

SCAN_BLOCK = 8 << 20


class _LongLines:
    """Finds the lines longer than ``limit`` bytes in a stream of blocks (1-based numbers).

    Per block only C-speed calls (count/find/rfind): a line longer than a block is the only
    one that can be too long, so the lines inside a block need no look."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines = 0  # complete lines seen
        self.current = 0  # bytes of the line in progress
        self.found: dict[int, int] = {}  # line number -> length

    def feed(self, block: bytes) -> None:
        first = block.find(b"\n")
        if first < 0:
            self.current += len(block)
            return
        self._close(self.current + first)
        last = block.rfind(b"\n")
        inner = block.count(b"\n", first + 1, last + 1)
        if self.limit < SCAN_BLOCK:  # lines inside a block can be too long too (tests)
            start = first + 1
            for _ in range(inner):
                end = block.index(b"\n", start)
                self._close(end - start)
                start = end + 1
        else:
            self.lines += inner
        self.current = len(block) - last - 1

    def finish(self) -> dict[int, int]:
        if self.current:
            self._close(self.current)
            self.current = 0
        return self.found

    def _close(self, length: int) -> None:
        self.lines += 1
        if length > self.limit:
            self.found[self.lines] = length


def _scan(path: Path, gzipped: bool, limit: int) -> dict[int, int]:
    """Lines over the limit (number -> bytes); for gzip also the integrity check (a truncated
    archive fails here with a clear message rather than mid-read)."""
    scanner = _LongLines(limit)
    try:
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as fh:
            while block := fh.read(SCAN_BLOCK):
                scanner.feed(block)
    except (OSError, EOFError) as exc:
        if gzipped:
            raise ReadError(f"{path.name}: corrupt gzip file ({exc})") from exc
        raise
    return scanner.finish()


def newline_free(block: bytes) -> bool:
    """A block of SCAN_BLOCK bytes without a line break: a line may be over the limit. (A line
    over 3 blocks long always contains a whole block, so files without one need no scan.)"""
    return b"\n" not in block


@contextmanager
def _literal_source(
    path: Path, *, gzipped: bool = False, newline_free_block: bool | None = None
) -> Iterator[tuple[Path, str]]:
    """(path, compression) for DuckDB to read in place of ``path``.

    DuckDB reads a path as a glob pattern (``*``, ``?``, ``[``): a file named ``*.csv`` would
    also read its neighbours. So DuckDB gets a private alias (a link in a fresh temporary
    folder) with a plain name. And DuckDB drops a line longer than its read buffer without a
    trace (the following lines are then misnumbered): when a line is over the limit
    (DVC_MAX_LINE_MB), DuckDB reads a copy in which each such line is a short marker line,
    quarantined as too long under its own line number."""
    if gzipped:
        _check_gzip(path)
    limit = _line_limit()
    # newline_free_block: the caller already read the file in SCAN_BLOCK blocks (content hash)
    if not gzipped and newline_free_block is False and limit >= 3 * SCAN_BLOCK:
        long_lines: dict[int, int] = {}
    else:
        long_lines = _scan(path, gzipped, limit)
    with tempfile.TemporaryDirectory(prefix="dvc-read-") as tmp:
        if not long_lines:
            alias = Path(tmp) / ("source.gz" if gzipped else "source.txt")
            os.symlink(path.resolve(), alias)
            yield alias, "gzip" if gzipped else "none"
            return
        copy = Path(tmp) / "source.txt"
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as src, copy.open("wb") as dst:
            number = 0
            while True:
                line = src.readline(SCAN_BLOCK)
                if not line:
                    break
                number += 1
                if number in long_lines:
                    while not line.endswith(b"\n") and (line := src.readline(SCAN_BLOCK)):
                        pass
                    dst.write(f"{TOO_LONG_MARKER}{long_lines[number]}\n".encode())
                    continue
                dst.write(line)
                while not line.endswith(b"\n") and (line := src.readline(SCAN_BLOCK)):
                    dst.write(line)
        yield copy, "none"


def _check_gzip(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise ReadError(f"{path.name}: not a gzip file")
