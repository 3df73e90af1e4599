"""Benchmark: the whole pipeline against DuckDB's own CSV load, in one run.

    python -m pipeline bench --versions 1000000 --out bench-out/bench.json   (devtools/commands.py)

Generates N case versions deterministically (seeded; ~2,000 units, two years, repeated
versions, ~0.1 % invalid) as CSV and JSONL, then measures, each in a fresh child process so
peak RSS is per measurement:

1. baseline: DuckDB alone loading the CSV into an on-disk table (explicit types, timestamp format);
2. the full pipeline cold (`python -m pipeline run`: the declared Dagster jobs, exactly what a
   night runs) on the CSV and on the JSONL, broken down by Dagster step and by stage (the
   steps' asset groups: raw, core, mart, publish, report, and the checks). The Dagster overhead
   is the run's own wall time minus the sum of its steps' durations (Dagster's step stats; steps
   run one after another in the run's process): what Dagster adds around the work, never negative.
   There is no hand-wired "direct" path: its timing would not be the jobs' work;
3. an incremental night: 1 % of the cases change (recent ones, as at night), landed and only
   the touched windows refreshed;
4. a publish with nothing changed (after the cold run, or the night): the analyst copy's own
   cost when no table moved.
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

        out["imports_s"] = time.perf_counter() - started
        # One instance for every run of the command, kept here to read its step stats.
        instance = dg.DagsterInstance.ephemeral()
        runner.dagster_instance = lambda: instance
        code = main(["-q", "run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
        out["exit_code"] = code
        out["steps"] = _step_durations(instance)
        out["steps_s"] = sum(out["steps"].values())
        out["runs"] = len(instance.get_runs())
        out["in_runs_s"] = _run_seconds(instance)
    elif mode == "publish":
        from pipeline.publish.analyst_copy import analytics_path, publish
        from pipeline.warehouse import open_warehouse

        def identity() -> tuple[int, int] | None:
            path = analytics_path(warehouse)
            return (path.stat().st_ino, path.stat().st_mtime_ns) if path.exists() else None

        # Twice: the first also publishes what the run wrote after its own publish (the refresh's
        # completion marks in mart.refresh_log), the second has nothing at all to do.
        with open_warehouse(warehouse) as con:
            for key in ("publish_after_run", "publish"):
                before = identity()
                started = time.perf_counter()  # the publish alone, not opening the warehouse
                publish(con, warehouse)
                out[f"{key}_s"] = time.perf_counter() - started
                out[f"{key}_rewrote"] = identity() != before
    out["wall_s"] = time.perf_counter() - started
    out["peak_rss_mb"] = _peak_rss_mb()
    print("BENCH " + json.dumps(out))


def _step_durations(instance: Any) -> dict[str, float]:
    """Seconds per step key over every run in ``instance`` (a command may launch several jobs),
    longest first: where a Dagster run's time went, e.g. a night's."""
    totals: dict[str, float] = {}
    for run in instance.get_runs():
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time is not None and step.end_time is not None:
                totals[step.step_key] = totals.get(step.step_key, 0.0) + step.end_time - step.start_time
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def _run_seconds(instance: Any) -> float:
    """Seconds from start to end of every run in ``instance``, summed (Dagster's run stats)."""
    total = 0.0
    for run in instance.get_runs():
        stats = instance.get_run_stats(run.run_id)
        if stats.start_time is not None and stats.end_time is not None:
            total += stats.end_time - stats.start_time
    return total


def overhead_parts(measured: dict[str, Any]) -> dict[str, float]:
    """Where a Dagster measurement's wall time beyond its steps went (they add up to wall − steps):
    ``imports`` (Python importing dagster and the project), ``between_steps`` (inside the runs,
    outside their steps: Dagster's event log, resource set-up, asset-check planning) and
    ``outside_runs`` (the command's own work between runs: building the definitions, choosing
    the pending quarters, the closing summary, and each run's launch and tear-down)."""
    in_runs = measured["in_runs_s"]
    return {
        "imports": measured["imports_s"],
        "between_steps": max(in_runs - measured["steps_s"], 0.0),
        "outside_runs": max(measured["wall_s"] - measured["imports_s"] - in_runs, 0.0),
    }


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


def stages_of(steps: dict[str, float]) -> dict[str, float]:
    """Step seconds summed per stage: the asset group a step key starts with (raw__export_files
    -> raw, mart__unit_period_stats -> mart, ...); asset checks (keys with "_check" or a GX
    suite) are the stage "checks"."""
    out: dict[str, float] = {}
    for key, seconds in steps.items():
        stage = "checks" if ("check" in key or "gx_" in key) else key.split("__", 1)[0].split("_", 1)[0]
        out[stage] = out.get(stage, 0.0) + seconds
    return dict(sorted(out.items(), key=lambda item: -item[1]))


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


def _generate(n: int, seed: int, work: Path, *, jsonl: bool = True) -> tuple[Path, Path | None]:
    from devtools import demo_data

    units = demo_data.synthetic_unit_codes(BENCH_UNITS)
    csv_dir, jsonl_dir = work / "csv", work / "jsonl"
    for d in (csv_dir, jsonl_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    kwargs = dict(seed=seed, start=BENCH_START, end=BENCH_END, unit_codes=units, invalid_share=0.001)
    csv_path = demo_data.write_csv(demo_data.iter_case_chunks(n, **kwargs), csv_dir / "cases.csv", headers="contract")
    if not jsonl:
        return csv_path, None
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


MEASUREMENTS = ("cold_csv", "cold_jsonl", "night", "publish")


def run_bench(args: argparse.Namespace) -> int:
    n, work, out = args.versions, Path(args.workdir).resolve(), Path(args.out)
    wanted = _wanted(getattr(args, "measure", None))
    jsonl = "cold_jsonl" in wanted
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench: generating {n:,} versions (seed {args.seed}) as CSV{' and JSONL' if jsonl else ''} in {work}",
          flush=True)
    t = time.perf_counter()
    csv_path, jsonl_path = _generate(n, args.seed, work, jsonl=jsonl)
    gen_s = time.perf_counter() - t
    sizes = {"csv_mb": csv_path.stat().st_size / 2**20,
             "jsonl_mb": jsonl_path.stat().st_size / 2**20 if jsonl_path else None}

    steps = ["baseline", *[m for m in MEASUREMENTS if m in wanted]]
    titles = {
        "baseline": "baseline (DuckDB read_csv)",
        "cold_csv": "cold CSV through Dagster",
        "cold_jsonl": "cold JSONL through Dagster",
        "night": "incremental night (1 % changed) on the cold CSV warehouse",
        "publish": "publish with nothing changed, on the cold CSV warehouse",
    }
    measured: dict[str, dict[str, Any]] = {}
    night_rows = 0
    for i, step in enumerate(steps, 1):
        print(f"bench: {i}/{len(steps)} {titles[step]}", flush=True)
        if step == "baseline":
            measured[step] = _measure("baseline", fresh(work, "baseline.duckdb"), csv_path.parent, [str(csv_path)])
        elif step == "night":
            night_path, night_rows = _night_file(csv_path, work / "night")
            measured[step] = _measure("dagster", work / "cold_csv.duckdb", night_path.parent)
        elif step == "publish":
            measured[step] = _measure("publish", work / "cold_csv.duckdb", work)
        else:
            inbox = (csv_path if step == "cold_csv" else jsonl_path).parent
            measured[step] = _measure("dagster", fresh(work, f"{step}.duckdb"), inbox)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = _result(n, gen_s, sizes, measured, night_rows)
    out.write_text(json.dumps(result, indent=2))
    _print_table(result)
    print(f"\nwrote {out}")
    return 0


def _wanted(measure: str | None) -> set[str]:
    """The measurements asked for (--measure a,b; default every one); the night needs the cold
    CSV warehouse."""
    wanted = set(MEASUREMENTS) if not measure else {m.strip() for m in measure.split(",") if m.strip()}
    unknown = wanted - set(MEASUREMENTS)
    if unknown:
        raise SystemExit(f"bench: unknown measurement(s) {sorted(unknown)}; choose from {', '.join(MEASUREMENTS)}")
    for after in ("night", "publish"):
        if after in wanted and "cold_csv" not in wanted:
            raise SystemExit(f"bench: the {after} runs on the cold CSV warehouse: add cold_csv to --measure")
    return wanted


def _result(n: int, gen_s: float, sizes: dict[str, Any], m: dict[str, dict[str, Any]], night_rows: int) -> dict[str, Any]:
    """The JSON result; a measurement not run has None in its fields."""
    base_s = m["baseline"]["load_s"]

    def get(step: str, key: str) -> Any:
        return m[step][key] if step in m else None

    def ratio(step: str) -> float | None:
        return m[step]["wall_s"] / base_s if step in m else None

    def overhead(step: str) -> float | None:
        return m[step]["wall_s"] - m[step]["steps_s"] if step in m else None

    return {
        "versions": n,
        "generate_s": gen_s,
        **sizes,
        "baseline_csv_s": base_s,
        "baseline_rows_loaded": m["baseline"]["rows_loaded"],
        "baseline_peak_rss_mb": m["baseline"]["peak_rss_mb"],
        "cold_csv_s": get("cold_csv", "wall_s"),
        "cold_csv_peak_rss_mb": get("cold_csv", "peak_rss_mb"),
        "cold_csv_ratio": ratio("cold_csv"),
        "cold_csv_records_per_s": n / m["cold_csv"]["wall_s"] if "cold_csv" in m else None,
        "cold_csv_stages_s": stages_of(m["cold_csv"]["steps"]) if "cold_csv" in m else None,
        "cold_csv_dagster_steps_s": get("cold_csv", "steps_s"),
        "cold_csv_dagster_step_s": get("cold_csv", "steps"),
        "dagster_overhead_csv_s": overhead("cold_csv"),
        "dagster_overhead_jsonl_s": overhead("cold_jsonl"),
        "dagster_overhead_method": OVERHEAD_METHOD,
        "dagster_overhead_csv_parts_s": overhead_parts(m["cold_csv"]) if "cold_csv" in m else None,
        "dagster_overhead_jsonl_parts_s": overhead_parts(m["cold_jsonl"]) if "cold_jsonl" in m else None,
        "dagster_runs_csv": get("cold_csv", "runs"),
        "cold_jsonl_s": get("cold_jsonl", "wall_s"),
        "cold_jsonl_peak_rss_mb": get("cold_jsonl", "peak_rss_mb"),
        "cold_jsonl_ratio": ratio("cold_jsonl"),
        "cold_jsonl_records_per_s": n / m["cold_jsonl"]["wall_s"] if "cold_jsonl" in m else None,
        "cold_jsonl_stages_s": stages_of(m["cold_jsonl"]["steps"]) if "cold_jsonl" in m else None,
        "cold_jsonl_dagster_step_s": get("cold_jsonl", "steps"),
        "incremental_rows": night_rows if "night" in m else None,
        "incremental_s": get("night", "wall_s"),
        "incremental_peak_rss_mb": get("night", "peak_rss_mb"),
        "incremental_share_of_cold": m["night"]["wall_s"] / m["cold_csv"]["wall_s"] if "night" in m else None,
        "incremental_step_s": get("night", "steps"),
        "incremental_overhead_parts_s": overhead_parts(m["night"]) if "night" in m else None,
        "publish_after_run_s": get("publish", "publish_after_run_s"),
        "publish_unchanged_s": get("publish", "publish_s"),
        "publish_unchanged_rewrote": get("publish", "publish_rewrote"),
    }


def _print_table(r: dict[str, Any]) -> None:
    n = r["versions"]
    rows = [
        ("baseline: DuckDB read_csv", r["baseline_csv_s"], r["baseline_peak_rss_mb"], 1.0, n),
        ("cold CSV (Dagster)", r["cold_csv_s"], r["cold_csv_peak_rss_mb"], r["cold_csv_ratio"], n),
        ("cold JSONL (Dagster)", r["cold_jsonl_s"], r["cold_jsonl_peak_rss_mb"], r["cold_jsonl_ratio"], n),
        ("incremental night (1 %)", r["incremental_s"], r["incremental_peak_rss_mb"],
         r["incremental_s"] / r["baseline_csv_s"] if r["incremental_s"] else None, r["incremental_rows"]),
    ]
    print(f"\n{n:,} versions")
    print(f"{'measurement':<28}{'wall s':>9}{'records/s':>13}{'peak RSS MB':>13}{'x baseline':>12}")
    for name, seconds, rss, ratio, count in rows:
        if seconds is None:
            continue  # not measured this time (--measure)
        print(f"{name:<28}{seconds:>9.2f}{count / seconds:>13,.0f}{rss:>13,.0f}{ratio:>12.2f}")
    for label, key in (("CSV", "cold_csv_stages_s"), ("JSONL", "cold_jsonl_stages_s")):
        if r[key]:
            stages = ", ".join(f"{k} {v:.2f}" for k, v in r[key].items())
            print(f"stages {label} (Dagster steps by asset group, s): {stages}")
    overheads = [f"{fmt} {r[f'dagster_overhead_{fmt.lower()}_s']:.2f} s" for fmt in ("CSV", "JSONL")
                 if r[f"dagster_overhead_{fmt.lower()}_s"] is not None]
    if overheads:
        print(f"Dagster overhead ({r['dagster_overhead_method']}): {', '.join(overheads)}")
    for label, key in (("cold CSV", "dagster_overhead_csv_parts_s"), ("cold JSONL", "dagster_overhead_jsonl_parts_s"),
                       ("night", "incremental_overhead_parts_s")):
        if parts := r.get(key):
            print(f"  wall − steps, {label} (s): " + ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in parts.items()))
    if r["incremental_share_of_cold"] is not None:
        print(f"incremental = {100 * r['incremental_share_of_cold']:.1f} % of cold CSV")
    if r.get("publish_unchanged_s") is not None:
        print(f"publish with nothing changed: {r['publish_unchanged_s']:.2f} s "
              f"(the first publish after the run, which catches up with its completion marks: "
              f"{r['publish_after_run_s']:.2f} s)")
    for label, key in (("cold CSV", "cold_csv_dagster_step_s"), ("night", "incremental_step_s")):
        if r.get(key):
            longest = ", ".join(f"{k} {v:.1f}" for k, v in list(r[key].items())[:10])
            print(f"longest Dagster steps, {label} (s): {longest}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--versions", type=int, default=1_000_000)
        parser.add_argument("--out", type=Path, default=Path("bench-out/bench.json"))
        parser.add_argument("--workdir", type=Path, default=Path("bench-out"))
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--measure", default=None,
                            help=f"comma-separated subset of {','.join(MEASUREMENTS)} (default: all)")
        sys.exit(run_bench(parser.parse_args()))
