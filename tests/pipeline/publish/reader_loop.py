"""Analyst stand-in for test_publish: query the analytics database in a loop until told to stop.

Prints one JSON line: {"queries": n, "errors": [...], "inconsistent": m}.
"""

import json
import sys
import time
from pathlib import Path

import duckdb

db, stop_file = Path(sys.argv[1]), Path(sys.argv[2])
queries, errors, inconsistent = 0, [], 0
deadline = time.monotonic() + 300
while not stop_file.exists() and time.monotonic() < deadline:
    if not db.exists():
        time.sleep(0.01)
        continue
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            rows, gap = con.execute(
                "SELECT count(*), coalesce(sum(received_total - resolved_total - in_progress_total), 0) "
                "FROM mart.unit_period_stats"
            ).fetchone()
            level_rows = con.execute("SELECT count(*) FROM mart.level_period_stats").fetchone()[0]
            if gap != 0 or (rows > 0 and level_rows == 0):
                inconsistent += 1
            queries += 1
        finally:
            con.close()
    except Exception as exc:  # every failure is what the test is looking for
        errors.append(f"{type(exc).__name__}: {exc}")
    # An analyst's pace, not a busy loop: still many queries per publish, and the run being
    # read keeps its CPU (the machine has two cores).
    time.sleep(0.02)
print(json.dumps({"queries": queries, "errors": errors[:5], "inconsistent": inconsistent}))
