"""The dev tools' subcommands of `python -m pipeline`: demo and bench.

They sit above the application (they drive it), so the application never imports them:
``pipeline/__main__.py`` hands ``register`` to the command line.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from pipeline import config

# The demo province's data start with 2025-Q1: Dagster's partitions start there too.
DEMO_FIRST_PERIOD = "2025-Q1"


def cmd_demo(args: argparse.Namespace) -> int:
    # Before the definitions load (their partitions read it), and only if the user set nothing.
    os.environ.setdefault("DVC_FIRST_PERIOD", DEMO_FIRST_PERIOD)
    from devtools.demo import run_demo

    return run_demo(args.workdir, versions=args.versions)


def cmd_bench(args: argparse.Namespace) -> int:
    from devtools.bench import run_bench

    return run_bench(args)


def register(sub: Any) -> None:
    """Add ``demo`` and ``bench`` to the command line's subparsers."""
    demo = sub.add_parser("demo", help="generate a demo province, serve it on a local portal, run everything")
    demo.add_argument("--workdir", type=Path, default=config.REPO_ROOT / "var" / "demo")
    demo.add_argument("--versions", type=int, default=60_000)
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="benchmark the pipeline against DuckDB's own CSV load")
    bench.add_argument("--versions", type=int, default=1_000_000)
    bench.add_argument("--out", type=Path, default=Path("bench-out/bench.json"))
    bench.add_argument("--workdir", type=Path, default=Path("bench-out"))
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--measure", default=None,
                       help="comma-separated subset of cold_csv,direct_csv,cold_jsonl,direct_jsonl,night "
                            "(default: all; the baseline always runs)")
    bench.set_defaults(func=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    """The whole command line: the application's commands plus the dev tools'."""
    from app.cli import main as app_main

    return app_main(argv, extensions=[register])
