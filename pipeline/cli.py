"""Command line for data engineers: `python -m pipeline <command>`.

Every command runs the Dagster assets in-process (the same definitions `dagster dev` shows),
exits 0 on success and non-zero with a one-line reason otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

log = logging.getLogger("pipeline")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class CommandError(Exception):
    """A failure an operator can act on: printed as one line, no traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------
# Running assets in-process
# ---------------------------------------------------------------------------------------
def _instance():
    import dagster as dg

    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


MART_GROUPS = ("marts", "publish", "reports")


def materialize(
    selection: list[list[str]] | tuple[str, ...],
    *,
    warehouse: Path,
    inbox: Path | None = None,
    run_config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    instance=None,
):
    """Materialise the selected assets (and their checks) in this process."""
    import dagster as dg

    from assets.definitions import ASSET_CHECKS, ASSETS, build_resources

    if isinstance(selection, tuple):
        asset_selection = dg.AssetSelection.groups(*selection)
    else:
        asset_selection = dg.AssetSelection.assets(*selection)
    config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}} | (run_config or {})
    result = dg.materialize(
        assets=[*ASSETS, *ASSET_CHECKS],
        selection=asset_selection,
        resources=build_resources(str(warehouse), str(inbox) if inbox else None),
        run_config=config,
        tags=tags,
        instance=instance or _instance(),
        raise_on_error=False,
    )
    if not result.success:
        raise CommandError(_first_failure(result))
    return result


def _first_failure(result) -> str:
    # What each failed check said (e.g. which expectations failed), to explain a blocked step.
    failed_checks = {
        event.event_specific_data.check_name: (event.event_specific_data.description or "").strip()
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed
    }
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
            data = event.event_specific_data
            error = getattr(data, "error", None)
            if error is not None:
                cause = error
                while getattr(cause, "cause", None) is not None:
                    cause = cause.cause
                message = (cause.message or error.message).strip().splitlines()
                line = f"{event.step_key or 'run'} failed: {message[-1] if message else 'unknown error'}"
                reasons = [d for name, d in failed_checks.items() if d and name in line]
                return line + (f" ({reasons[0].splitlines()[0]})" if reasons else "")
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                return f"check {evaluation.check_name} failed on {evaluation.asset_key.to_user_string()}"
    return "run failed (see the log above)"


def _metadata(result, step: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mat in result.asset_materializations_for_node(step):
        out |= {k: v.value for k, v in mat.metadata.items()}
    return out


def refresh_pending_marts(warehouse: Path, *, full: bool = False, instance=None) -> str | None:
    """One marts run over every quarter the new data touched (or all quarters with --full)."""
    from assets.partitions import quarter_keys_for_days, quarter_label
    from pipeline import marts
    from pipeline.warehouse import open_warehouse

    with open_warehouse(warehouse) as con:
        days = marts.data_day_range(con) if full else marts.pending_day_range(con)
    if days is None:
        log.info("marts are up to date: no core changes since the last refresh")
        return None
    keys = quarter_keys_for_days(*days)
    span = f"{quarter_label(keys[0])}..{quarter_label(keys[-1])}"
    log.info("refreshing marts for quarters %s (days %s..%s)", span, days[0], days[1])
    materialize(
        MART_GROUPS,
        warehouse=warehouse,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
        instance=instance,
    )
    return span


# ---------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    inbox: Path = args.inbox
    if not inbox.is_dir():
        raise CommandError(f"inbox folder {inbox} does not exist", EXIT_USAGE)
    instance = _instance()
    result = materialize(
        [["raw", "export_files"], ["core", "cases"]], warehouse=args.warehouse, inbox=inbox, instance=instance
    )
    ingest = _metadata(result, "raw__export_files")
    refresh_pending_marts(args.warehouse, full=args.full_refresh, instance=instance)
    from pipeline.report import print_summary

    print_summary(args.warehouse)
    failed = ingest.get("failed_files") or {}
    if failed:
        name, error = next(iter(failed.items()))
        raise CommandError(
            f"{len(failed)} file(s) could not be landed (see raw.batch_failures), e.g. {error}", EXIT_PARTIAL
        )
    return EXIT_OK


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_pull(args: argparse.Namespace) -> int:
    from assets.partitions import day_keys
    from pipeline.config import PortalSettings

    if args.to_day <= args.from_day:
        raise CommandError("--to must be after --from (the window is [from, to))", EXIT_USAGE)
    try:
        PortalSettings.from_env()
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    keys = day_keys(args.from_day, args.to_day)
    instance = _instance()
    materialize(
        [["raw", "portal_pull"]],
        warehouse=args.warehouse,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
        instance=instance,
    )
    materialize([["core", "cases"]], warehouse=args.warehouse, instance=instance)
    refresh_pending_marts(args.warehouse, instance=instance)
    from pipeline.report import print_summary

    print_summary(args.warehouse)
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    from assets.partitions import quarter_key

    first, _, last = args.quarters.partition("..")
    try:
        start, end = quarter_key(first), quarter_key(last or first)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    materialize(
        MART_GROUPS,
        warehouse=args.warehouse,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
    )
    return EXIT_OK


def _open_for_reading(warehouse: Path):
    """The warehouse read-only; while a writer holds it, the published analyst copy."""
    from pipeline.publish import analytics_path
    from pipeline.warehouse import connect

    if not warehouse.exists():
        raise CommandError(f"warehouse {warehouse} does not exist", EXIT_USAGE)
    try:
        return connect(warehouse, read_only=True), warehouse
    except RuntimeError as exc:
        copy = analytics_path(warehouse)
        if not copy.exists():
            raise CommandError(str(exc)) from None
        log.warning("warehouse is busy (%s); reading the published copy %s", exc, copy)
        return connect(copy, read_only=True), copy


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline import config, periods
    from pipeline.dashboard import dashboard_name, write_dashboard
    from pipeline.official_report import (
        period_has_rows,
        resolve_period,
        table_exists,
        write_quarter_report,
        xlsx_name,
    )

    try:
        period = resolve_period(args.grain, args.period)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    out: Path = args.out or config.reports_dir(args.warehouse)
    con, source = _open_for_reading(args.warehouse)
    try:
        if not table_exists(con, "mart.level_period_stats") or not period_has_rows(con, period):
            quarter = periods.period_of(period.start, "quarter", config.cutoff_day()).label
            raise CommandError(
                f"{source} has no mart rows for {period.grain} {period.label}; refresh them first, "
                f"e.g. python -m pipeline backfill --quarters {quarter}"
            )
        workbook = write_quarter_report(con, period.grain, period.label, out / xlsx_name(period))
        page = write_dashboard(con, period.grain, period.label, out / dashboard_name(period))
    finally:
        con.close()
    print(f"{period.label} ({period.start} – {period.end}), {workbook.unit_rows} units:")
    print(f"  {workbook.path}")
    print(f"  {page.path}")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from pipeline.report import print_summary

    print_summary(args.warehouse)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    return run_demo(args.workdir, versions=args.versions)


def cmd_bench(args: argparse.Namespace) -> int:
    from pipeline.bench import run_bench

    return run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    from pipeline import config, periods

    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="land every export file of an inbox and refresh everything downstream")
    run.add_argument("--inbox", type=Path, default=config.default_inbox())
    run.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    run.add_argument("--full-refresh", action="store_true", help="recompute every window, not only the touched ones")
    run.set_defaults(func=cmd_run)

    pull = sub.add_parser("pull", help="pull [--from, --to) from the export API (DVC_PORTAL_URL, DVC_PORTAL_TOKEN)")
    pull.add_argument("--from", dest="from_day", type=_parse_day, required=True, help="first local day (YYYY-MM-DD)")
    pull.add_argument("--to", dest="to_day", type=_parse_day, required=True, help="end local day, exclusive")
    pull.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    pull.set_defaults(func=cmd_pull)

    backfill = sub.add_parser("backfill", help="recompute the marts for quarters, e.g. 2025-Q1..2025-Q4 (one run)")
    backfill.add_argument("--quarters", required=True, help="a label (2025-Q1) or a range (2025-Q1..2025-Q4)")
    backfill.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    backfill.set_defaults(func=cmd_backfill)

    report = sub.add_parser(
        "report", help="write the Biểu II.06a workbook and the dashboard of any period, e.g. 2025-Q1"
    )
    report.add_argument("--period", required=True,
                        help="period label: 2025-03, 2025-Q1, 2025-H1, 2025, cal-2025-03, cal-2025-Q1, cal-2025")
    report.add_argument("--grain", choices=periods.GRAINS,
                        help="optional check that the label is of this grain")
    report.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    report.add_argument("--out", type=Path, default=None,
                        help="output folder (default: DVC_REPORTS_DIR, else reports/ next to the warehouse)")
    report.set_defaults(func=cmd_report)

    summary = sub.add_parser("summary", help="print the headline tables of a warehouse")
    summary.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    summary.set_defaults(func=cmd_summary)

    demo = sub.add_parser("demo", help="generate a demo province, serve it on a local portal, run everything")
    demo.add_argument("--workdir", type=Path, default=config.REPO_ROOT / "var" / "demo")
    demo.add_argument("--versions", type=int, default=60_000)
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="benchmark the pipeline against DuckDB's own CSV load")
    bench.add_argument("--versions", type=int, default=1_000_000)
    bench.add_argument("--out", type=Path, default=Path("bench-out/bench.json"))
    bench.add_argument("--workdir", type=Path, default=Path("bench-out"))
    bench.add_argument("--seed", type=int, default=7)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("alembic", "dagster._core", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an operator gets one line; --debug shows the traceback
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
        return EXIT_FAILED
