"""Pull benchmark: throughput from the local portal and a nightly run of one busy day.

    python -m devtools.bench_pull --records 100000 --night 50000

1. pulls N records (1,000-record pages) from the local server over TCP: client only, then
   client + landing;
2. a nightly run: a warehouse already holding the day before, then one day with `--night`
   changed cases pulled and landed, core merged and the touched windows refreshed (the same
   steps the 01:30 schedule and its sensor run).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from devtools import demo_data
from devtools.portal_server import PortalServer
from pipeline import marts
from pipeline.config import PortalSettings
from pipeline.ingest.portal_client import PortalClient
from pipeline.ingest.pull import pull_window
from pipeline.warehouse import open_warehouse

TOKEN = "bench-token"


def _day(records: list[dict], day: date) -> list[dict]:
    """Move every record's NgayCapNhat onto one day (keeping the time of day)."""
    stamp = day.strftime("%Y%m%d")
    out = []
    for r in records:
        upd = str(r.get("NgayCapNhat") or "")
        if len(upd) == 14 and upd.isdigit():
            out.append(r | {"NgayCapNhat": stamp + upd[8:]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--night", type=int, default=50_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    day = date(2025, 12, 10)
    window = (datetime(2025, 12, 10), datetime(2025, 12, 11))
    recs = _day(demo_data.generate_cases(args.records, seed=5, start=date(2025, 9, 15), end=day).to_dicts(), day)
    with PortalServer(recs, token=TOKEN) as server:
        settings = PortalSettings(base_url=server.url, token=TOKEN, page_size=1000)
        t = time.perf_counter()
        with PortalClient(settings) as client:
            pulled = sum(len(page) for page in client.iter_records(*window))
        client_s = time.perf_counter() - t
        with open_warehouse(work / "pull.duckdb") as con:
            t = time.perf_counter()
            result = pull_window(con, settings, *window)
            landed_s = time.perf_counter() - t
    print(f"pull throughput, {pulled:,} records, 1,000-record pages: client only {pulled / client_s:,.0f} records/s "
          f"({client_s:.1f} s); with landing + core merge {result.records_pulled / landed_s:,.0f} records/s ({landed_s:.1f} s)")

    history = demo_data.generate_cases(200_000, seed=9, start=date(2025, 6, 15), end=day - timedelta(days=1)).to_dicts()
    night = _day(demo_data.generate_cases(args.night, seed=10, start=date(2025, 11, 1), end=day).to_dicts(), day)
    with open_warehouse(work / "night.duckdb") as con:
        with PortalServer(history, token=TOKEN) as server:
            settings = PortalSettings(base_url=server.url, token=TOKEN, page_size=1000)
            pull_window(con, settings, datetime(2025, 1, 1), window[0])
        marts.refresh_all(con)
        with PortalServer(night, token=TOKEN) as server:
            settings = PortalSettings(base_url=server.url, token=TOKEN, page_size=1000)
            t = time.perf_counter()
            result = pull_window(con, settings, *window)
            pending = marts.pending_day_range(con)
            refreshed = marts.refresh(con, marts.windows_for_days(*pending))
            night_s = time.perf_counter() - t
    print(f"nightly run, {result.records_pulled:,} changed cases in one day on a warehouse of "
          f"{len(history):,} versions: {night_s:.1f} s (pull+land {result.seconds:.1f} s, "
          f"{refreshed.windows} windows refreshed in {refreshed.seconds:.1f} s)")


if __name__ == "__main__":
    main()
