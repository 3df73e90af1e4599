"""Reader stand-in for test_readers_during_run: open the WORKING warehouse read-only in a loop
(as any analyst's tool might), briefly, until told to stop.

argv: warehouse stop_file. Prints one JSON line: {"reads": n, "refused": m, "errors": [...]}.
"""

import json
import sys
import time
from pathlib import Path

import duckdb

db, stop_file = Path(sys.argv[1]), Path(sys.argv[2])
reads, refused, errors = 0, 0, []
deadline = time.monotonic() + 300
while not stop_file.exists() and time.monotonic() < deadline:
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            con.execute("SELECT count(*) FROM core.cases").fetchone()
            reads += 1
        finally:
            con.close()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            refused += 1  # the run holds it: the reader's turn comes later
        else:
            errors.append(str(exc))
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.2)
print(json.dumps({"reads": reads, "refused": refused, "errors": errors[:5]}))
