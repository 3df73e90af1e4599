"""Benchmark: the whole pipeline against DuckDB's own CSV load, in one run.

    python -m pipeline bench --versions 1000000 --out bench-out/bench.json   (devtools/commands.py)

Generates N case versions deterministically (seeded; ~2,000 units, two years, repeated
versions, ~0.1 % invalid) as CSV and JSONL, then measures, each in a fresh child process so
peak RSS is per measurement:

1. baseline: DuckDB alone loading the CSV into an on-disk table (explicit types, timestamp format);
2. the full pipeline cold (`python -m pipeline run` through Dagster) on the CSV and on the JSONL,
   plus the same work called directly, broken down by stage (read, validate, land, core,
   aggregates of every grain, checks, publish). The Dagster overhead is the Dagster run's
   own wall time minus the sum of its steps' durations (Dagster's step stats; steps run one
   after another in the run's process): what Dagster adds around the same work, never negative
   (two separate runs' walls differ by more than that on a busy machine);
3. an incremental night: 1 % of the cases change (recent ones, as at night), landed and only
   the touched windows refreshed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

BENCH_START, BENCH_END = date(2024, 1, 1), date(2025, 12, 31)
BENCH_UNITS = 2_000
OVERHEAD_METHOD = "Dagster run wall minus the sum of its own step durations"


# ---------------------------------------------------------------------------------------
# Child process entry: one measurement, prints one JSON line
# ---------------------------------------------------------------------------------------
def _child(argv: list[str]) -> None:
    mode, warehouse, inbox = argv[0], Path(argv[1]), Path(argv[2])
    started = time.perf_counter()
    out: dict[str, Any] = {}
    if mode == "baseline":
        out |= _baseline(Path(argv[3]), warehouse)
    elif mode == "dagster":
        import dagster as dg

        from app import runner
        from app.cli import main

        # One instance for every run of the command, kept here to read its step stats.
        instance = dg.DagsterInstance.ephemeral()
        runner.dagster_instance = lambda: instance
        code = main(["-q", "run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
        out["exit_code"] = code
        out["steps_s"] = _steps_seconds(instance)
    elif mode == "direct":
        out["stages"] = _direct(warehouse, inbox)
    out["wall_s"] = time.perf_counter() - started
    out["peak_rss_mb"] = _peak_rss_mb()
    print("BENCH " + json.dumps(out))


def _steps_seconds(instance: Any) -> float:
    """Sum of the durations of every step of every run in ``instance``."""
    total = 0.0
    for run in instance.get_runs():
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time is not None and step.end_time is not None:
                total += step.end_time - step.start_time
    return total


def fresh(work: Path, name: str) -> Path:
    """``work/name`` with every file a previous bench left for it removed: the database,
    its WAL, DuckDB's spill folder ``<db>.tmp`` (a folder), and its published analyst copy
    (``<stem>.analytics.duckdb``, the Parquet link and its hidden version folders)."""
    path = work / name
    stem = path.stem
    if not work.is_dir():
        return path
    # iterdir + startswith, not glob: the folder may contain glob characters.
    for entry in work.iterdir():
        n = entry.name
        if not (n == name or n.startswith(f"{name}.") or n.startswith(f"{stem}.analytics")
                or n.startswith(f".{stem}.analytics_parquet.")):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return path


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec; ru_maxrss
    would also count the parent's memory at fork (the parent holds generated data)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(csv_path: Path, warehouse: Path) -> dict[str, Any]:
    import duckdb

    from pipeline import config

    con = duckdb.connect(str(warehouse))
    con.execute(f"SET memory_limit = '{config.duckdb_memory_limit()}'")
    header = csv_path.open(encoding="utf-8").readline().rstrip("\n").split(",")
    dates = {"NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi", "NgayCapNhat"}
    columns = "{" + ", ".join(f"'{c}': '{'TIMESTAMP' if c in dates else 'VARCHAR'}'" for c in header) + "}"
    t = time.perf_counter()
    # Rows in the other accepted date forms do not fit one timestampformat: DuckDB skips them.
    con.execute(
        f"CREATE TABLE cases AS SELECT * FROM read_csv('{csv_path}', header = true, columns = {columns}, "
        "timestampformat = '%Y%m%d%H%M%S', ignore_errors = true)"
    )
    seconds = time.perf_counter() - t
    rows = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    con.close()
    return {"load_s": seconds, "rows_loaded": rows}


def _direct(warehouse: Path, inbox: Path) -> dict[str, float]:
    from pipeline import checks, config, marts, periods, quality
    from pipeline.core import merge_pending_batches
    from pipeline.landing import land_file
    from pipeline.publish import publish
    from pipeline.reference import load_reference
    from pipeline.reports.dashboard import dashboard_name, write_dashboard
    from pipeline.reports.data import xlsx_name
    from pipeline.reports.xlsx import write_quarter_report
    from pipeline.warehouse import open_warehouse

    stages: dict[str, float] = {}

    def add(name: str, seconds: float) -> None:
        stages[name] = stages.get(name, 0.0) + seconds

    with open_warehouse(warehouse) as con:
        for path in sorted(inbox.iterdir()):
            result = land_file(con, path)
            if result.status != "landed":
                raise RuntimeError(f"{path.name}: {result.status} {result.error}")
            for step, seconds in (result.timings or {}).items():
                add("read" if step == "read" else "validate" if step == "validate" else "land", seconds)
        t = time.perf_counter()
        load_reference(con)
        merge_pending_batches(con)
        add("core", time.perf_counter() - t)
        t = time.perf_counter()
        quarters = marts.pending_quarters(con)
        windows = periods.windows_of_quarters(quarters, config.cutoff_day())
        marts.refresh(con, windows)
        add("aggregates", time.perf_counter() - t)
        stages["windows_refreshed"] = len(windows)
        # The same report files the Dagster run writes (one workbook + dashboard per quarter).
        t = time.perf_counter()
        folder = config.reports_dir(warehouse)
        for quarter in quarters:
            write_quarter_report(con, "quarter", quarter.label, folder / xlsx_name(quarter))
            write_dashboard(con, "quarter", quarter.label, folder / dashboard_name(quarter))
        add("reports", time.perf_counter() - t)
        t = time.perf_counter()
        for check in (checks.identity_violations, checks.carry_over_violations, checks.batch_reconciliation):
            if not check(con).passed:
                raise RuntimeError(f"{check.__name__} failed")
        add("checks", time.perf_counter() - t)
        # The Great Expectations suites the Dagster run's asset checks execute.
        t = time.perf_counter()
        run_windows = quality.windows_of(windows)
        # As in Dagster: the mart checks run with the marts job, i.e. only when windows were refreshed.
        for suite in ("mart_unit_period_stats", "mart_level_period_stats", "mart_target_attainment"):
            if run_windows:
                quality.run_suite(con, suite, windows=run_windows, quality=quality.quality_dir(warehouse))
        for suite in ("raw_batches", "core_cases_sample", "core_unit_codes"):
            quality.run_suite(con, suite, quality=quality.quality_dir(warehouse))
        add("gx_checks", time.perf_counter() - t)
        t = time.perf_counter()
        publish(con, warehouse)
        add("publish", time.perf_counter() - t)
    return stages


# ---------------------------------------------------------------------------------------
# Parent: generate, measure, report
# ---------------------------------------------------------------------------------------
def _measure(mode: str, warehouse: Path, inbox: Path, extra: list[str] | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "devtools.bench", "--child", mode, str(warehouse), str(inbox), *(extra or [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"bench step {mode} failed: {' | '.join(tail)}")
    return json.loads(lines[-1][len("BENCH "):])


def _generate(n: int, seed: int, work: Path) -> tuple[Path, Path]:
    from devtools import demo_data

    units = demo_data.synthetic_unit_codes(BENCH_UNITS)
    csv_dir, jsonl_dir = work / "csv", work / "jsonl"
    for d in (csv_dir, jsonl_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    kwargs = dict(seed=seed, start=BENCH_START, end=BENCH_END, unit_codes=units, invalid_share=0.001)
    csv_path = demo_data.write_csv(demo_data.iter_case_chunks(n, **kwargs), csv_dir / "cases.csv", headers="contract")
    demo_data.write_jsonl(demo_data.iter_case_chunks(n, **kwargs), jsonl_dir / "cases.jsonl")
    return csv_path, jsonl_dir / "cases.jsonl"


def _night_file(csv_path: Path, out_dir: Path, share: float = 0.01) -> tuple[Path, int]:
    """1 % of the cases change overnight: recent cases move to 'result returned' a day later."""
    import duckdb

    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    target = out_dir / "night.csv"
    # On disk with a memory limit: this parent process forks the measured children.
    scratch = out_dir.parent / "night_scratch.duckdb"
    con = duckdb.connect(str(scratch))
    con.execute("SET memory_limit = '1GB'")
    con.execute(f"CREATE TABLE v AS SELECT * FROM read_csv('{csv_path}', header = true, all_varchar = true)")
    total_cases = con.execute("SELECT count(DISTINCT MaHoSo) FROM v").fetchone()[0]
    changed = max(1, int(total_cases * share))
    con.execute(
        f"""
        COPY (
            WITH latest AS (
                SELECT * FROM v
                WHERE length(NgayCapNhat) = 14 AND length(NgayTiepNhan) = 14 AND TrangThaiHoSo IN ('2', '4')
                QUALIFY row_number() OVER (PARTITION BY MaHoSo ORDER BY NgayCapNhat DESC) = 1
            ), night AS (SELECT strftime(max(strptime(NgayCapNhat, '%Y%m%d%H%M%S')) + INTERVAL 1 DAY, '%Y%m%d%H%M%S') AS ts FROM latest)
            SELECT * REPLACE (
                '10' AS TrangThaiHoSo, (SELECT ts FROM night) AS NgayKetThucXuLy,
                (SELECT ts FROM night) AS NgayTra, (SELECT ts FROM night) AS NgayCapNhat)
            FROM latest ORDER BY NgayTiepNhan DESC LIMIT {changed}
        ) TO '{target}' (HEADER, DELIMITER ',')
        """
    )
    rows = con.execute(f"SELECT count(*) FROM read_csv('{target}', header = true)").fetchone()[0]
    con.close()
    scratch.unlink()
    return target, rows


def run_bench(args: argparse.Namespace) -> int:
    n, work, out = args.versions, Path(args.workdir).resolve(), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench: generating {n:,} versions (seed {args.seed}) as CSV and JSONL in {work}", flush=True)
    t = time.perf_counter()
    csv_path, jsonl_path = _generate(n, args.seed, work)
    gen_s = time.perf_counter() - t
    sizes = {"csv_mb": csv_path.stat().st_size / 2**20, "jsonl_mb": jsonl_path.stat().st_size / 2**20}

    print("bench: 1/6 baseline (DuckDB read_csv)", flush=True)
    baseline = _measure("baseline", fresh(work, "baseline.duckdb"), csv_path.parent, [str(csv_path)])
    print("bench: 2/6 cold CSV through Dagster", flush=True)
    cold_csv = _measure("dagster", fresh(work, "cold_csv.duckdb"), csv_path.parent)
    print("bench: 3/6 cold CSV called directly (stage breakdown)", flush=True)
    direct_csv = _measure("direct", fresh(work, "direct_csv.duckdb"), csv_path.parent)
    print("bench: 4/6 cold JSONL through Dagster", flush=True)
    cold_jsonl = _measure("dagster", fresh(work, "cold_jsonl.duckdb"), jsonl_path.parent)
    print("bench: 5/6 cold JSONL called directly (stage breakdown)", flush=True)
    direct_jsonl = _measure("direct", fresh(work, "direct_jsonl.duckdb"), jsonl_path.parent)
    print("bench: 6/6 incremental night (1 % changed) on the cold CSV warehouse", flush=True)
    night_path, night_rows = _night_file(csv_path, work / "night")
    incremental = _measure("dagster", work / "cold_csv.duckdb", night_path.parent)

    base_s = baseline["load_s"]
    result = {
        "versions": n,
        "generate_s": gen_s,
        **sizes,
        "baseline_csv_s": base_s,
        "baseline_rows_loaded": baseline["rows_loaded"],
        "baseline_peak_rss_mb": baseline["peak_rss_mb"],
        "cold_csv_s": cold_csv["wall_s"],
        "cold_csv_peak_rss_mb": cold_csv["peak_rss_mb"],
        "cold_csv_ratio": cold_csv["wall_s"] / base_s,
        "cold_csv_records_per_s": n / cold_csv["wall_s"],
        "cold_csv_direct_s": direct_csv["wall_s"],
        "cold_csv_stages_s": direct_csv["stages"],
        "cold_csv_dagster_steps_s": cold_csv["steps_s"],
        "dagster_overhead_csv_s": cold_csv["wall_s"] - cold_csv["steps_s"],
        "dagster_overhead_jsonl_s": cold_jsonl["wall_s"] - cold_jsonl["steps_s"],
        "dagster_overhead_method": OVERHEAD_METHOD,
        "cold_jsonl_s": cold_jsonl["wall_s"],
        "cold_jsonl_peak_rss_mb": cold_jsonl["peak_rss_mb"],
        "cold_jsonl_ratio": cold_jsonl["wall_s"] / base_s,
        "cold_jsonl_records_per_s": n / cold_jsonl["wall_s"],
        "cold_jsonl_direct_s": direct_jsonl["wall_s"],
        "cold_jsonl_stages_s": direct_jsonl["stages"],
        "incremental_rows": night_rows,
        "incremental_s": incremental["wall_s"],
        "incremental_peak_rss_mb": incremental["peak_rss_mb"],
        "incremental_share_of_cold": incremental["wall_s"] / cold_csv["wall_s"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    _print_table(result)
    print(f"\nwrote {out}")
    return 0


def _print_table(r: dict[str, Any]) -> None:
    n = r["versions"]
    rows = [
        ("baseline: DuckDB read_csv", r["baseline_csv_s"], r["baseline_peak_rss_mb"], 1.0),
        ("cold CSV (Dagster)", r["cold_csv_s"], r["cold_csv_peak_rss_mb"], r["cold_csv_ratio"]),
        ("cold JSONL (Dagster)", r["cold_jsonl_s"], r["cold_jsonl_peak_rss_mb"], r["cold_jsonl_ratio"]),
        ("incremental night (1 %)", r["incremental_s"], r["incremental_peak_rss_mb"], r["incremental_s"] / r["baseline_csv_s"]),
    ]
    print(f"\n{n:,} versions")
    print(f"{'measurement':<28}{'wall s':>9}{'records/s':>13}{'peak RSS MB':>13}{'x baseline':>12}")
    for name, seconds, rss, ratio in rows:
        count = r["incremental_rows"] if name.startswith("incremental") else n
        print(f"{name:<28}{seconds:>9.2f}{count / seconds:>13,.0f}{rss:>13,.0f}{ratio:>12.2f}")
    for label, key in (("CSV", "cold_csv_stages_s"), ("JSONL", "cold_jsonl_stages_s")):
        stages = ", ".join(f"{k} {v:.2f}" for k, v in r[key].items() if k != "windows_refreshed")
        print(f"stages {label} (direct): {stages}")
    print(f"Dagster overhead ({r['dagster_overhead_method']}): CSV {r['dagster_overhead_csv_s']:.2f} s, "
          f"JSONL {r['dagster_overhead_jsonl_s']:.2f} s; "
          f"incremental = {100 * r['incremental_share_of_cold']:.1f} % of cold CSV")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--versions", type=int, default=1_000_000)
        parser.add_argument("--out", type=Path, default=Path("bench-out/bench.json"))
        parser.add_argument("--workdir", type=Path, default=Path("bench-out"))
        parser.add_argument("--seed", type=int, default=7)
        sys.exit(run_bench(parser.parse_args()))
