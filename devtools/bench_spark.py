"""Benchmark: `backfill --engine spark` next to `backfill --engine duckdb`, same data, same windows.

    python -m devtools.bench_spark --versions 1000000 [--workdir bench-out/spark] [--spark-conf spark.KEY=VALUE]

Generates N case versions (devtools/bench.py's generator and seed), lands them once
(`python -m pipeline run`), then, on two copies of that warehouse with every mart emptied
(the tables the Spark engine writes: spark_engine.WRITE_ORDER and core.case_unit_history),
times `python -m pipeline backfill --quarters FIRST..LAST` with each engine, over the quarters
the data touches. Each backfill runs in a child process, sampled for the peak resident memory
of its process tree (the JVM of local-mode Spark included). Afterwards every cell of every
mart table must be equal (counts exactly, DOUBLE within 1e-9; docs/definitions.md §2-§7):
the compared figures are of the same result. Not part of the tests (minutes to hours);
tests/pipeline/marts/test_spark_engine.py checks its comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

TOLERANCE = 1e-9
ENGINES = ("duckdb", "spark")


def mart_tables() -> tuple[str, ...]:
    """The tables a backfill recomputes and the benchmark empties and compares."""
    from pipeline.marts import spark_engine
    from pipeline.marts.statements import HISTORY_TABLE

    return (HISTORY_TABLE, *spark_engine.WRITE_ORDER)


def count_differences(con: duckdb.DuckDBPyConnection, table: str, left: str, right: str) -> int:
    """Cells of ``table`` that differ between the attached databases ``left`` and ``right``, in
    SQL (millions of rows at 1M versions): rows paired in the order of all their columns, DOUBLE
    cells within TOLERANCE (relative or absolute), others exactly; a row missing on one side
    counts one per column. -1 when the column names or types differ."""
    schema, name = table.split(".")

    def columns(db: str) -> list[tuple[str, str]]:
        return con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ? ORDER BY column_index", [db, schema, name],
        ).fetchall()

    cols = columns(left)
    if not cols or cols != columns(right):
        return -1
    order = ", ".join(f'"{c}"' for c, _ in cols)

    def same(column: str, kind: str) -> str:
        a, b = f'l."{column}"', f'r."{column}"'
        if kind in ("DOUBLE", "FLOAT"):
            return (f"({a} IS NOT DISTINCT FROM {b} OR abs({a} - {b}) <= "
                    f"{TOLERANCE} * greatest(1.0, abs({a}), abs({b})))")
        return f"{a} IS NOT DISTINCT FROM {b}"

    ranked = "SELECT *, row_number() OVER (ORDER BY {order}) AS rn__ FROM {db}.{table}"
    cells = " + ".join(f"CASE WHEN {same(c, k)} THEN 0 ELSE 1 END" for c, k in cols)
    return con.execute(
        f"SELECT coalesce(sum({cells}), 0) FROM ({ranked.format(order=order, db=left, table=table)}) l "
        f"FULL JOIN ({ranked.format(order=order, db=right, table=table)}) r USING (rn__)"
    ).fetchone()[0]


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (Linux /proc), in KiB."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) if "VmRSS" in status else 0
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total


def timed_command(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv``; its wall time, exit code, output and the peak RSS of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    done.set()
    sampler.join()
    return {"seconds": time.perf_counter() - started, "exit_code": proc.returncode,
            "peak_rss_mb": peak / 1024, "output": output}


def empty_marts(warehouse: Path) -> None:
    """Every mart row the backfill recomputes deleted ("after emptying the marts")."""
    with duckdb.connect(str(warehouse)) as con:
        for table in mart_tables():
            con.execute(f"DELETE FROM {table}")
        con.execute("CHECKPOINT")


def data_quarters(warehouse: Path) -> tuple[str, str]:
    """The first and last reporting quarter the landed cases touch (partition keys)."""
    from assets.partitions import reporting_quarters
    from pipeline import marts
    from pipeline.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        days = marts.data_day_range(con)
    finally:
        con.close()
    keys = reporting_quarters.get_partition_keys()
    touched = [k for k in keys if any(w.grain == "quarter" and w.label == k for w in marts.windows_for_days(*days))]
    return touched[0], touched[-1]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from devtools.bench import _generate, fresh

    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    python = [sys.executable, "-m", "pipeline", "-q"]
    result: dict[str, Any] = {"versions": args.versions, "load_before": os.getloadavg()}
    print(f"bench_spark: generating {args.versions:,} versions (seed {args.seed})", flush=True)
    csv_path, _ = _generate(args.versions, args.seed, work, jsonl=False)
    landed = fresh(work, "landed.duckdb")
    print("bench_spark: landing once (python -m pipeline run)", flush=True)
    land = timed_command([*python, "run", "--inbox", str(csv_path.parent), "--warehouse", str(landed)])
    if land["exit_code"] != 0:
        raise RuntimeError(f"landing failed: {land['output'][-2000:]}")
    result["land_s"] = land["seconds"]
    first, last = data_quarters(landed)
    result["quarters"] = f"{first}..{last}"
    for engine in args.engines:
        warehouse = fresh(work, f"{engine}.duckdb")
        shutil.copy(landed, warehouse)
        empty_marts(warehouse)
        argv = [*python, "backfill", "--quarters", result["quarters"], "--engine", engine, "--warehouse", str(warehouse)]
        argv += [a for conf in (args.spark_conf or []) if engine == "spark" for a in ("--spark-conf", conf)]
        print(f"bench_spark: {' '.join(argv[2:])}", flush=True)
        out = timed_command(argv, env=os.environ | {"DVC_SPARK_WORKDIR": str(work / "spark-work")})
        if out["exit_code"] != 0:
            raise RuntimeError(f"backfill --engine {engine} failed: {out['output'][-2000:]}")
        engine_s = re.search(r"unit rows in ([0-9.]+)s", out["output"])  # the Spark refresh's own time
        result[engine] = {"seconds": out["seconds"], "peak_rss_mb": out["peak_rss_mb"],
                          "engine_s": float(engine_s.group(1)) if engine_s else None,
                          "command": "python -m pipeline " + " ".join(argv[4:])}
    result["load_after"] = os.getloadavg()
    if set(ENGINES) <= set(args.engines):
        con = duckdb.connect()
        for engine in ENGINES:
            con.execute(f"ATTACH '{work / f'{engine}.duckdb'}' AS on_{engine} (READ_ONLY)")
        result["rows"] = {t: con.execute(f"SELECT count(*) FROM on_duckdb.{t}").fetchone()[0] for t in mart_tables()}
        result["differences"] = {t: count_differences(con, t, "on_duckdb", "on_spark") for t in mart_tables()}
        con.close()
    return result


def print_table(r: dict[str, Any]) -> None:
    print(f"\n{r['versions']:,} versions, quarters {r['quarters']} (landing {r['land_s']:.0f}s); "
          f"load average before {r['load_before'][0]:.2f}, after {r['load_after'][0]:.2f}")
    print(f"{'engine':<8} {'backfill s':>11} {'of it, marts s':>15} {'peak RSS MB':>12}")
    for engine in ENGINES:
        if engine in r:
            e = r[engine]
            marts_s = f"{e['engine_s']:.1f}" if e["engine_s"] is not None else "-"
            print(f"{engine:<8} {e['seconds']:>11.1f} {marts_s:>15} {e['peak_rss_mb']:>12.0f}")
    if "duckdb" in r and "spark" in r:
        print(f"spark / duckdb: {r['spark']['seconds'] / r['duckdb']['seconds']:.1f}x")
    if "differences" in r:
        bad = {t: n for t, n in r["differences"].items() if n != 0}
        cells = sum(r["rows"].values())
        print("cell-equal: every mart table" if not bad else f"DIFFERENT: {bad}",
              f"({cells:,} rows compared)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_spark", description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out/spark"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--spark-conf", action="append", metavar="spark.KEY=VALUE")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    result = run(args)
    print_table(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return 0 if all(n == 0 for n in result.get("differences", {}).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
