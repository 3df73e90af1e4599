"""Plain-text summaries for the command line (the demo's closing table)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from pipeline import config, periods
from pipeline.db import table_exists
from pipeline.metrics import SUMMARY_RATES
from pipeline.reports.data import (
    PROVINCE_TOTAL,
    NoReportData,
    level_rows,
    min_sample,
    report_province,
    resolve_period,
)
from pipeline.reports.index766 import IndexView, read_index, summary_lines
from pipeline.reports.model import PeriodReport, build_report
from pipeline.reports.targets import (
    Verdicts,
    gap_points,
    small_sample_note,
    target_verdicts,
    verdict_word,
)
from pipeline.reports.unit_gaps import missing_units, missing_units_lines
from pipeline.warehouse import connect

HEADLINE = SUMMARY_RATES


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def _pct_vi(value: float | None) -> str:
    """A rate as the Vietnamese text around it writes numbers (``4,4%``, as ``−55,6 điểm``)."""
    return "—" if value is None else f"{100 * value:.1f}".replace(".", ",") + "%"


def latest_closed_quarter(last_data_day: date) -> periods.Period:
    """The latest quarter window that has ended by the last day of data."""
    return periods.latest_closed("quarter", last_data_day + timedelta(days=1), config.cutoff_day())


def print_summary(warehouse: Path, period_label: str | None = None, con=None, *, today: date | None = None) -> None:
    """The warehouse's counts, the headline rates of a quarter (``period_label``, else the latest
    closed one) and its target verdicts: every unit below target when a period is given, the
    eight furthest below otherwise. ``con``: read this connection instead (e.g. the published
    analyst copy while a run holds the warehouse). ``today``: the day period status is judged on
    (default: DVC_AS_OF, else today in Asia/Ho_Chi_Minh)."""
    if con is not None:
        _print(con, warehouse, period_label, today)
        return
    con = connect(warehouse, read_only=True)
    try:
        _print(con, warehouse, period_label, today)
    finally:
        con.close()


def _print(con, warehouse: Path, period_label: str | None = None, today: date | None = None) -> None:
    cases = con.execute("SELECT count(*) FROM core.cases").fetchone()[0]
    # The working warehouse has raw.*; its published analyst copy only quality.batches.
    batches_table = "raw.batches" if table_exists(con, "raw.batches") else "quality.batches"
    batches, read, landed, quarantined = con.execute(
        "SELECT count(*), coalesce(sum(records_read), 0), coalesce(sum(records_landed), 0), "
        f"coalesce(sum(records_quarantined), 0) FROM {batches_table}"
    ).fetchone()
    print()
    print(f"Warehouse: {Path(warehouse).resolve()}")
    if table_exists(con, "raw.case_versions"):
        versions = con.execute("SELECT count(*) FROM raw.case_versions").fetchone()[0]
        failures = con.execute("SELECT count(*) FROM raw.batch_failures").fetchone()[0]
        print(f"  batches landed: {batches} ({failures} sources failed, see raw.batch_failures)")
        print(f"  records read:   {read:,} = {landed:,} landed + {quarantined:,} quarantined (raw.quarantine)")
        print(f"  case versions:  {versions:,} in raw.case_versions; {cases:,} cases in core.cases")
    else:
        print(f"  batches landed: {batches}")
        print(f"  records read:   {read:,} = {landed:,} landed + {quarantined:,} quarantined")
        print(f"  cases:          {cases:,} in core.cases")
    if config.using_dev_pii_key():
        print("  WARNING: personal data was hashed with the public development key (set DVC_PII_KEY).")
    gap = missing_units(con)
    for line in missing_units_lines(gap, warehouse):
        print(("  " if line.startswith("WARNING") else "") + line)
    if not table_exists(con, "mart.level_period_stats"):
        return
    last_day = con.execute("SELECT max(period_end) FROM mart.unit_period_stats WHERE period_grain = 'month'").fetchone()[0]
    data_last = con.execute("SELECT max(updated_at)::DATE FROM core.cases").fetchone()[0]
    if last_day is None or data_last is None:
        return
    quarter = resolve_period(None, period_label) if period_label else latest_closed_quarter(data_last)
    # The period's part reads the same report model as the workbook and the dashboard; a period
    # without any case has no model (NoReportData) and is read directly, to say so.
    try:
        report: PeriodReport | None = build_report(con, quarter)
    except NoReportData:
        report = None
    cols = "units, new_total, resolved_total, " + ", ".join(c for c, _ in HEADLINE)
    by_level = report.levels if report is not None else level_rows(con, quarter, cols)
    order = sorted(by_level, key=lambda lv: (lv == PROVINCE_TOTAL, lv))
    print()
    from pipeline.cycle import timeline

    newest = timeline.data_as_of(con)
    reach = (f" — {timeline.INCOMPLETE_MARK}: {timeline.reach_text(newest)} (incomplete window)"
             if timeline.is_incomplete(quarter, newest) else "")
    print(f"Headline rates, {'' if period_label else 'latest closed '}{quarter.grain} {quarter.label} "
          f"({quarter.start} – {quarter.end}){reach}:")
    header = f"  {'level':<22}{'units':>6}{'new':>9}{'resolved':>10}" + "".join(f"{name:>21}" for _, name in HEADLINE)
    print(header)
    if not by_level:
        province = report_province(con, quarter)
        print(f"  (no row for province {province or '(none in the unit list)'} in {quarter.label}"
              + (": its units are missing from the unit list, see the WARNING above)" if gap.codes else ")"))
    for level in order:
        r = by_level[level]
        print(f"  {level:<22}{r['units']:>6}{r['new_total']:>9,}{r['resolved_total']:>10,}"
              + "".join(f"{_pct(r[c]):>21}" for c, _ in HEADLINE))
    if report is not None:
        verdicts, sample, view = report.verdicts, report.sample, report.index
    else:
        verdicts, sample, view = target_verdicts(con, quarter), min_sample(), read_index(con, quarter, worst=3, per_unit=0)
    _print_targets(verdicts, quarter, sample, every=period_label is not None)
    _print_index766(view)
    _print_cycle(con, today)
    _print_reports(warehouse, quarter)
    from pipeline.publish.analyst_copy import analytics_path

    print()
    print("Analysts: query the published copy (safe while the pipeline runs; DuckDB >= 1.0; Parquet beside it), e.g.")
    print(f"  .venv/bin/duckdb -readonly {analytics_path(warehouse).resolve()} \"SELECT * FROM mart.level_period_stats LIMIT 5\"")


def _print_targets(verdicts: Verdicts, period: periods.Period, sample: int, *, every: bool) -> None:
    """The period's target verdicts (targets.target_verdicts: the same rows as the workbook's
    Chỉ tiêu sheet and the dashboard): units below target, furthest first."""
    print()
    print(f"Targets {verdicts.year} judged for {period.label}"
          + (f": year to date up to {verdicts.as_of_end}" if verdicts.as_of_end else ": no verdict")
          + (" (final)" if period.grain == "year" else ""))
    if not verdicts.rows:
        print(f"  {verdicts.note}")
        return
    for metric in dict.fromkeys(r["metric"] for r in verdicts.rows):
        rows = [r for r in verdicts.rows if r["metric"] == metric]
        words = [verdict_word(r) for r in rows]
        print(f"  {metric}: {words.count('Đạt')} met (Đạt), {words.count('Chưa đạt')} below (Chưa đạt), "
              f"{words.count('Chưa có số liệu')} without data, {words.count('Không áp dụng')} not applicable")
    below = sorted((r for r in verdicts.rows if r["met"] is False), key=lambda r: (r["gap"], r["unit_code"]))
    shown = below if every else below[:8]
    print(f"  below target ({len(below)}{'' if every or len(below) <= 8 else ', furthest 8 shown'}); "
          f"rank = by actual within province and level, units under {sample} cases ranked and flagged:")
    for r in shown:
        small = small_sample_note(r, sample)
        name = r["unit_name"] + (f" {r['abolished_note']}" if r["abolished_note"] else "") + (f" ({small})" if small else "")
        rank = f"rank {r['rank_in_level']}/{r['units_in_level']}" if r["rank_in_level"] is not None else "rank —"
        print(f"    {r['unit_code']:<15} {name:<60} {r['metric']:<26} actual {_pct_vi(r['actual']):>6} "
              f"target {_pct_vi(r['target']):>6} gap {gap_points(r['gap'])} {rank} {verdict_word(r)}")
    if not below:
        with_data = [r for r in verdicts.rows if r["met"] is not None]
        print("    every unit with data met its targets" if with_data else
              "    no unit with a target has data in this period: nothing was judged")


def _print_index766(view: IndexView | None) -> None:
    """The province's Decision 766 points (case-computable part) for the period's calendar window."""
    if view is None:
        return
    print()
    print("\n".join(summary_lines(view)))


def _print_cycle(con, today: date | None = None) -> None:
    """Each quarter's status as of the run's "today", its latest issue, and the issued periods
    whose numbers moved since (docs/definitions.md §6)."""
    from pipeline.cycle import issue, timeline

    today = timeline.today_local(today)
    quarters = [w for w in sorted(timeline.mart_windows(con)) if w.grain == "quarter"][-6:]
    if not quarters:
        return
    parts = []
    for q in quarters:
        record = issue.issue_record(con, q)
        status = timeline.issued_status(timeline.period_status(q, today), record is not None)
        parts.append(f"{q.label} {status}" + (f" (issue {record.issue})" if record else ""))
    print()
    print(f"Reporting cycle as of {today} (report due {config.report_due_days()} days after a window closes):")
    print("  " + ", ".join(parts))
    moved = issue.moved_periods(con)
    if moved:
        listed = ", ".join(f"{m.period_label} (issue {m.issue}: {m.cells} cells)" for m in moved)
        print(f"  {len(moved)} issued period(s) moved since their issue: {listed} — see mart.restatements;"
              " a corrected issue: python -m pipeline issue --period <label> --reissue")
    else:
        print("  no issued period has moved since its issue")


def _print_reports(warehouse: Path, quarter: periods.Period) -> None:
    """Where the official report files are (written by the report/* assets)."""
    folder = config.reports_dir(warehouse)
    files = sorted(folder.glob("bieu_II06a_*.xlsx")) if folder.is_dir() else []
    if not files:
        return
    print()
    print(f"Official reports (Biểu II.06a .xlsx + dashboard .html; {len(files)} workbooks): {folder.resolve()}")
    for name in (f"bieu_II06a_{quarter.label}.xlsx", f"dashboard_{quarter.label}.html"):
        if (folder / name).exists():
            print(f"  {quarter.label}: {(folder / name).resolve()}")
    print("  any period on demand: python -m pipeline report --period 2025-03 (or 2025-Q1, 2025-H1, 2025, cal-2025-Q1)")
