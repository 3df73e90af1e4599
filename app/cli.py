"""Command line for data engineers: `python -m pipeline <command>`.

Every command that writes runs the jobs declared in Dagster's Definitions in-process
(app/runner.py; the same jobs `dagster dev` shows and the sensors launch),
exits 0 on success and non-zero with a one-line reason otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from app.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CommandError

log = logging.getLogger("pipeline")

# Which declared jobs (assets/jobs.py) each command runs, in order; the read-only commands run
# none. A test checks every command is listed and every job exists in Definitions.
COMMAND_JOBS: dict[str, tuple[str, ...]] = {
    "run": ("ingest_files_job", "marts_job"),
    "pull": ("portal_pull_job", "core_refresh_job", "marts_job"),
    "backfill": ("marts_job",),
    "report": (),
    "summary": (),
    "issue": ("issue_job",),
    "reference": (),
}


# ---------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------
def _refuse_wrong_pii_key(warehouse: Path) -> None:
    """Before any job runs: a DVC_PII_KEY other than the warehouse's is refused in one line
    (the landing step would refuse it too, with every later step's "not executed" after it)."""
    from pipeline import config
    from pipeline.db import table_exists
    from pipeline.warehouse import PII_KEY_MISMATCH, connect, pii_key_fingerprint

    if not warehouse.exists() or config.pii_rekey_requested():
        return
    try:
        con = connect(warehouse, read_only=True)
    except RuntimeError:  # busy: the run itself says who holds it
        return
    try:
        if not table_exists(con, "raw.pii_key"):
            return
        row = con.execute("SELECT fingerprint FROM raw.pii_key").fetchone()
    finally:
        con.close()
    if row is not None and row[0] != pii_key_fingerprint(config.pii_key()):
        raise CommandError(PII_KEY_MISMATCH)


def cmd_run(args: argparse.Namespace) -> int:
    from app.runner import Runner, step_metadata
    from pipeline.reports.summary import print_summary

    inbox: Path = args.inbox
    if not inbox.is_dir():
        raise CommandError(f"inbox folder {inbox} does not exist", EXIT_USAGE)
    _refuse_wrong_pii_key(args.warehouse)
    runner = Runner(args.warehouse, inbox=inbox, command="run", settings=_settings(args))
    result = runner.run("ingest_files_job")
    ingest = step_metadata(result, "raw__export_files")
    runner.refresh_pending_marts(full=args.full_refresh)
    print_summary(args.warehouse, today=args.as_of)
    failed = ingest.get("failed_files") or {}
    if failed:
        name, error = next(iter(failed.items()))
        raise CommandError(
            f"{len(failed)} file(s) could not be landed (see raw.batch_failures), e.g. {error}", EXIT_PARTIAL
        )
    return EXIT_OK


def _settings(args: argparse.Namespace):
    """The run's settings from the command's options (passed to the assets as a resource)."""
    from assets.resources import RunSettings

    as_of: date | None = getattr(args, "as_of", None)
    return RunSettings(as_of=as_of.isoformat() if as_of else None)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_pull(args: argparse.Namespace) -> int:
    from app.runner import Runner
    from assets.partitions import day_keys
    from pipeline.config import PortalSettings
    from pipeline.reports.summary import print_summary

    if args.to_day <= args.from_day:
        raise CommandError("--to must be after --from (the window is [from, to))", EXIT_USAGE)
    try:
        PortalSettings.from_env()
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    _refuse_wrong_pii_key(args.warehouse)
    keys = day_keys(args.from_day, args.to_day)
    runner = Runner(args.warehouse, command="pull", settings=_settings(args))
    runner.run("portal_pull_job", partition_range=(keys[0], keys[-1]))
    runner.run("core_refresh_job")
    runner.refresh_pending_marts()
    print_summary(args.warehouse, today=getattr(args, "as_of", None))
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    from app.runner import Runner, step_metadata
    from assets.partitions import quarter_key, reporting_quarters
    from pipeline import config

    first, _, last = args.quarters.partition("..")
    try:
        start, end = quarter_key(first), quarter_key(last or first)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    keys = reporting_quarters.get_partition_keys()
    for key in (start, end):
        if key not in keys:
            raise CommandError(
                f"{key} is not a reporting partition: they run from {keys[0]} (DVC_FIRST_PERIOD) "
                f"to the open quarter {keys[-1]}", EXIT_USAGE,
            )
    start, end = _with_reference_changes(args.warehouse, start, end, keys)
    _refuse_wrong_pii_key(args.warehouse)
    if args.engine == "spark":
        return _backfill_on_spark(args, keys, keys[keys.index(start):keys.index(end) + 1])
    result = Runner(args.warehouse, command="backfill", settings=_settings(args)).run(
        "marts_job", partition_range=(start, end), tags={"quarters": args.quarters}
    )
    unit = step_metadata(result, "mart__unit_period_stats")
    print(
        f"backfill {unit.get('quarters', args.quarters)}: {unit.get('windows_recomputed', 0)} windows "
        f"recomputed, {unit.get('rows', 0):,} unit rows; analyst copy and reports written "
        f"({config.reports_dir(args.warehouse)})"
    )
    return EXIT_OK


def _with_reference_changes(warehouse: Path, start: str, end: str, keys: Sequence[str]) -> tuple[str, str]:
    """Widen a backfill to the quarters a pending change of the reference lists moves: the
    marts (and the carry-over check between windows) must all stand on the same lists."""
    from pipeline import marts
    from pipeline.ingest.reference import ReferenceDataError
    from pipeline.warehouse import connect

    if not warehouse.exists():
        return start, end
    con = connect(warehouse, read_only=True)
    try:
        change, moved = marts.reference_pending(con)
    except ReferenceDataError as exc:
        raise CommandError(f"reference data: {exc}") from None
    finally:
        con.close()
    wanted = [q.label for q in moved if q.label in keys]
    if not wanted:
        return start, end
    first = min([start, *wanted], key=keys.index)
    last = max([end, *wanted], key=keys.index)
    if (first, last) != (start, end):
        log.info("reference lists changed since the marts were built (%s): the backfill covers %s..%s",
                 ", ".join(change.lists), first, last)
    return first, last


def _backfill_on_spark(args: argparse.Namespace, partition_keys: list[str], quarter_keys: list[str]) -> int:
    """The marts of the quarters computed on Spark (pipeline/marts/spark_engine.py), checked by
    the blocking checks marts_job runs, then the rest of marts_job (marts_publish_job)."""
    from app.runner import Runner
    from assets.partitions import windows_for_quarter_keys
    from pipeline import config
    from pipeline.marts import spark_engine
    from pipeline.warehouse import open_warehouse

    reason = spark_engine.spark_available()
    if reason:
        raise CommandError(f"--engine spark: {reason}", EXIT_USAGE)
    conf = {}
    for item in args.spark_conf or []:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("spark."):
            raise CommandError(f"--spark-conf takes spark.KEY=VALUE, not {item!r}", EXIT_USAGE)
        conf[key] = value
    existing = set(partition_keys)  # as the unit mart asset: quarters without a partition cannot be refreshed
    windows = windows_for_quarter_keys(quarter_keys)
    with open_warehouse(args.warehouse) as con:
        result = spark_engine.refresh(
            con, windows, folder=spark_engine.workdir(args.warehouse), conf=conf,
            refreshable=lambda quarter: quarter.label in existing,
        )
        failed = spark_engine.failed_checks(con)
    if failed:
        raise CommandError("the marts computed on Spark fail their checks (not published): " + "; ".join(failed))
    Runner(args.warehouse, command="backfill", settings=_settings(args)).run(
        "marts_publish_job", partition_range=(quarter_keys[0], quarter_keys[-1]),
        tags={"quarters": args.quarters, "engine": "spark"},
    )
    print(
        f"backfill {args.quarters} on Spark ({spark_engine.master()}): {result.windows} windows recomputed, "
        f"{result.unit_rows:,} unit rows in {result.seconds:.1f}s; analyst copy and reports written "
        f"({config.reports_dir(args.warehouse)})"
    )
    return EXIT_OK


def _open_for_reading(warehouse: Path):
    """The published analyst copy while a run is in progress (a reader must never take the
    warehouse from under it, also between its steps), else the warehouse read-only; the copy
    too when some other process holds the warehouse."""
    from pipeline.publish.analyst_copy import analytics_path
    from pipeline.run_marker import run_in_progress
    from pipeline.warehouse import connect

    if not warehouse.exists():
        raise CommandError(f"warehouse {warehouse} does not exist", EXIT_USAGE)
    copy = analytics_path(warehouse)
    if run_in_progress(warehouse) and copy.exists():
        log.info("a run is in progress on the warehouse; reading the published analyst copy %s", copy)
        return connect(copy, read_only=True), copy
    try:
        return connect(warehouse, read_only=True), warehouse
    except RuntimeError as exc:
        if not copy.exists():
            raise CommandError(str(exc)) from None
        log.warning("the warehouse is busy (another process holds it); reading the published analyst copy %s", copy)
        return connect(copy, read_only=True), copy


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline import config, periods
    from pipeline.cycle.issue import working_banner
    from pipeline.cycle.timeline import today_local
    from pipeline.db import table_exists
    from pipeline.reports.dashboard import dashboard_name, save_dashboard
    from pipeline.reports.data import (
        NoReportData,
        period_has_rows,
        resolve_period,
        xlsx_name,
    )
    from pipeline.reports.model import build_report
    from pipeline.reports.xlsx import render_workbook

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
        banner = working_banner(con, period, today_local(args.as_of))
        try:
            report = build_report(con, period, banner=banner)  # read once: both files show the same numbers
            workbook = render_workbook(report, out / xlsx_name(period))
            page = save_dashboard(report, out / dashboard_name(period))
        except NoReportData as exc:  # a period without any case: no report of zeros
            raise CommandError(str(exc)) from None
    finally:
        con.close()
    print(f"{period.label} ({period.start} – {period.end}), {workbook.unit_rows} units:")
    print(f"  {workbook.path}")
    print(f"  {page.path}")
    return EXIT_OK


def cmd_issue(args: argparse.Namespace) -> int:
    """Issue a closed period through the declared issue_job (partition = the period label)."""
    from app.runner import Runner, step_metadata
    from assets.partitions import issue_periods
    from pipeline.cycle.timeline import data_as_of, incomplete_refusal, issue_refusal, today_local
    from pipeline.reports.data import resolve_period

    if args.period not in issue_periods.get_partition_keys():
        raise CommandError(
            f"{args.period!r} is not an issuable period: a quarter, half or year label such as 2025-Q3, 2025-H2, 2025",
            EXIT_USAGE,
        )
    if not args.warehouse.exists():
        raise CommandError(f"warehouse {args.warehouse} does not exist", EXIT_USAGE)
    as_of = today_local(args.as_of)
    period = resolve_period(None, args.period)
    refusal = issue_refusal(period, as_of)
    if refusal is None and not args.confirm_incomplete:
        con, _ = _open_for_reading(args.warehouse)
        try:
            refusal = incomplete_refusal(period, data_as_of(con))
        finally:
            con.close()
    if refusal:  # refused here in one line; the asset refuses the same way in Dagster
        raise CommandError(refusal)
    config = {"reissue": args.reissue, "as_of": as_of.isoformat(), "out_dir": str(args.out or ""),
              "confirm_incomplete": args.confirm_incomplete}
    _refuse_wrong_pii_key(args.warehouse)
    result = Runner(args.warehouse, command="issue", settings=_settings(args)).run(
        "issue_job",
        run_config={"ops": {"issued__period": {"config": config}}},
        tags={"dagster/partition": args.period},
    )
    meta = step_metadata(result, "issued__period")
    print(meta.get("message", ""))
    for path in meta.get("files") or []:
        print(f"  {path}")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from pipeline.reports.summary import print_summary

    con, source = _open_for_reading(args.warehouse)
    try:
        print_summary(args.warehouse, args.period, con, today=args.as_of)
        if source != args.warehouse:
            print(f"(read from the published analyst copy {source}: the warehouse is in use)")
    finally:
        con.close()
    return EXIT_OK


def cmd_reference_draft(args: argparse.Namespace) -> int:
    """Draft a province's own reference lists from the cases of a warehouse (read-only)."""
    from pipeline import config
    from pipeline.ingest.reference import ReferenceDataError
    from pipeline.ingest.reference_draft import draft_reference

    con, source = _open_for_reading(args.warehouse)
    try:
        draft = draft_reference(con, args.out, config.seeds_dir().resolve(), force=args.force)
    except (FileExistsError, ValueError) as exc:
        code = EXIT_FAILED if isinstance(exc, ReferenceDataError) else EXIT_USAGE
        raise CommandError(str(exc), code) from None
    finally:
        con.close()
    out = draft.folder.resolve()
    print(f"Draft reference lists from {source} in {out}:")
    print(f"  units.csv       {draft.units} units ({draft.guessed} guessed from the data: level and parent from "
          f"code and name, see draft_note), province(s) {', '.join(draft.provinces) or 'none'}")
    print(f"  procedures.csv  {draft.procedures} procedures ({draft.procedures_known} with eligibility and fee "
          "from the current catalogue; the others empty = not known)")
    print("  targets.csv, unit_crosswalk.csv  headers only: add your plan's targets and reorganisations")
    print("They pass the reference validation. Review them (names, unit_level, parent_code), then:")
    print(f"  DVC_SEEDS_DIR={out} python -m pipeline run --full-refresh --warehouse {args.warehouse}")
    return EXIT_OK


def _as_of_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", dest="as_of", type=_parse_day, default=None,
                        help="the run's 'today' for period status (YYYY-MM-DD; default DVC_AS_OF, else today "
                             "in Asia/Ho_Chi_Minh)")


def build_parser(extensions: Sequence[Callable[[Any], None]] = ()) -> argparse.ArgumentParser:
    """The parser; ``extensions`` add subcommands (the dev tools add demo and bench)."""
    from pipeline import config, periods

    # `dvc-metrics` (the console script) or `python -m pipeline`: the same commands.
    launched_as = Path(sys.argv[0]).name
    prog = "dvc-metrics" if launched_as == "dvc-metrics" else "python -m pipeline"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="also Dagster's events and libraries' messages")
    parser.add_argument("--debug", action="store_true", help="like -v, and show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="land every export file of an inbox and refresh everything downstream")
    run.add_argument("--inbox", type=Path, default=config.default_inbox())
    run.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    run.add_argument("--full-refresh", action="store_true", help="recompute every window, not only the touched ones")
    _as_of_option(run)
    run.set_defaults(func=cmd_run)

    pull = sub.add_parser("pull", help="pull [--from, --to) from the export API (DVC_PORTAL_URL, DVC_PORTAL_TOKEN)")
    pull.add_argument("--from", dest="from_day", type=_parse_day, required=True, help="first local day (YYYY-MM-DD)")
    pull.add_argument("--to", dest="to_day", type=_parse_day, required=True, help="end local day, exclusive")
    pull.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    pull.set_defaults(func=cmd_pull)

    backfill = sub.add_parser("backfill", help="recompute the marts for quarters, e.g. 2025-Q1..2025-Q4 (one run)")
    backfill.add_argument("--quarters", required=True, help="a label (2025-Q1) or a range (2025-Q1..2025-Q4)")
    backfill.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    backfill.add_argument(
        "--engine", choices=("duckdb", "spark"), default="duckdb",
        help="where the marts are computed: duckdb (default) or Apache Spark (local[*], or DVC_SPARK_MASTER; "
        "data exchanged as Parquet in DVC_SPARK_WORKDIR, default spark-work/ beside the warehouse)",
    )
    backfill.add_argument("--spark-conf", action="append", metavar="spark.KEY=VALUE",
                          help="a Spark setting for --engine spark (repeatable)")
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
    _as_of_option(report)
    report.set_defaults(func=cmd_report)

    issue = sub.add_parser(
        "issue", help="issue a closed period officially (frozen rows + files written once), e.g. 2025-Q3: from the "
        "day after its window closes through its due day, or later"
    )
    issue.add_argument("--period", required=True, help="quarter, half or year label: 2025-Q3, 2025-H2, 2025")
    issue.add_argument("--reissue", action="store_true",
                       help="write a corrected issue next to the latest one when the numbers moved")
    issue.add_argument("--confirm-incomplete", dest="confirm_incomplete", action="store_true",
                       help="issue a window whose case data does not reach its last day (recorded in issued.issues)")
    issue.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    issue.add_argument("--out", type=Path, default=None,
                       help="output folder (default: DVC_REPORTS_DIR, else reports/ next to the warehouse)")
    _as_of_option(issue)
    issue.set_defaults(func=cmd_issue)

    summary = sub.add_parser("summary", help="print the headline tables of a warehouse")
    summary.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    _as_of_option(summary)
    summary.add_argument("--period", default=None,
                         help="period whose rates and target verdicts to print (default: the latest closed quarter)")
    summary.set_defaults(func=cmd_summary)

    reference = sub.add_parser("reference", help="reference lists (units, procedures, targets, crosswalk)")
    reference_sub = reference.add_subparsers(dest="reference_command", required=True)
    draft = reference_sub.add_parser(
        "draft", help="draft a province's own lists (units.csv, procedures.csv, …) from the cases it landed"
    )
    draft.add_argument("--warehouse", type=Path, default=config.default_warehouse())
    draft.add_argument("--out", type=Path, required=True, help="folder for the draft lists (then DVC_SEEDS_DIR)")
    draft.add_argument("--force", action="store_true", help="overwrite lists already in --out")
    draft.set_defaults(func=cmd_reference_draft)

    for extend in extensions:
        extend(sub)
    return parser


def _run_marker(args: argparse.Namespace):
    from contextlib import nullcontext

    from pipeline.run_marker import holding_run_marker

    if COMMAND_JOBS.get(args.command) and getattr(args, "warehouse", None):
        return holding_run_marker(args.warehouse)
    return nullcontext()


# Libraries that log at INFO what an operator need not read (their warnings still show).
THIRD_PARTY_LOGGERS = ("great_expectations", "alembic", "dagster", "httpx", "httpcore", "urllib3", "filelock")


def configure_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """One line per message: time, level (when not INFO) and text. ``-q`` warnings only;
    ``-v``/``--debug`` everything, including Dagster's own events and third-party INFO."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter(verbose))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


class _LineFormatter(logging.Formatter):
    def __init__(self, verbose: bool) -> None:
        super().__init__(datefmt="%H:%M:%S")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else f"{record.levelname} "
        origin = f"{record.name}: " if self.verbose else ""
        return f"{self.formatTime(record, self.datefmt)} {level}{origin}{record.getMessage()}"


def main(argv: Sequence[str] | None = None, extensions: Sequence[Callable[[Any], None]] = ()) -> int:
    parser = build_parser(extensions)
    args = parser.parse_args(argv)
    configure_logging(quiet=args.quiet, verbose=args.verbose or args.debug)
    try:
        # A writing command marks its whole length, so readers turn to the analyst copy even
        # while it has let go of the warehouse between two steps.
        with _run_marker(args):
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
