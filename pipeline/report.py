"""Plain-text summaries for the command line (the demo's closing table)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from pipeline import config, periods
from pipeline.warehouse import connect

HEADLINE = (
    ("on_time_rate", "on time"),
    ("online_rate", "online"),
    ("full_process_online_rate", "full-process online"),
    ("online_payment_rate", "paid online"),
    ("digitised_components_rate", "digitised"),
    ("satisfaction_rate", "satisfied"),
)


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def latest_closed_quarter(last_data_day: date) -> periods.Period:
    """The latest quarter window that has ended by the last day of data."""
    return periods.latest_closed("quarter", last_data_day + timedelta(days=1), config.cutoff_day())


def print_summary(warehouse: Path) -> None:
    con = connect(warehouse, read_only=True)
    try:
        _print(con, warehouse)
    finally:
        con.close()


def _table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]
    ).fetchone()[0])


def _print(con, warehouse: Path) -> None:
    versions, cases = con.execute(
        "SELECT (SELECT count(*) FROM raw.case_versions), (SELECT count(*) FROM core.cases)"
    ).fetchone()
    batches, read, landed, quarantined = con.execute(
        "SELECT count(*), coalesce(sum(records_read), 0), coalesce(sum(records_landed), 0), "
        "coalesce(sum(records_quarantined), 0) FROM raw.batches"
    ).fetchone()
    failures = con.execute("SELECT count(*) FROM raw.batch_failures").fetchone()[0]
    print()
    print(f"Warehouse: {Path(warehouse).resolve()}")
    print(f"  batches landed: {batches} ({failures} sources failed, see raw.batch_failures)")
    print(f"  records read:   {read:,} = {landed:,} landed + {quarantined:,} quarantined (raw.quarantine)")
    print(f"  case versions:  {versions:,} in raw.case_versions; {cases:,} cases in core.cases")
    if config.using_dev_pii_key():
        print("  WARNING: personal data was hashed with the public development key (set DVC_PII_KEY).")
    if not _table_exists(con, "mart", "level_period_stats"):
        return
    last_day = con.execute("SELECT max(period_end) FROM mart.unit_period_stats WHERE period_grain = 'month'").fetchone()[0]
    data_last = con.execute("SELECT max(updated_at)::DATE FROM core.cases").fetchone()[0]
    if last_day is None or data_last is None:
        return
    quarter = latest_closed_quarter(data_last)
    rows = con.execute(
        f"""
        SELECT unit_level, units, new_total, resolved_total, {", ".join(c for c, _ in HEADLINE)}
        FROM mart.level_period_stats
        WHERE period_grain = 'quarter' AND period_label = ?
        ORDER BY unit_level = 'province_total', unit_level
        """,
        [quarter.label],
    ).fetchall()
    print()
    print(f"Headline rates, latest closed quarter {quarter.label} ({quarter.start} – {quarter.end}):")
    header = f"  {'level':<22}{'units':>6}{'new':>9}{'resolved':>10}" + "".join(f"{name:>21}" for _, name in HEADLINE)
    print(header)
    for level, units, new, resolved, *rates in rows:
        print(f"  {level:<22}{units:>6}{new:>9,}{resolved:>10,}" + "".join(f"{_pct(r):>21}" for r in rates))
    if _table_exists(con, "mart", "target_attainment"):
        year = con.execute("SELECT max(year) FROM mart.target_attainment WHERE actual IS NOT NULL").fetchone()[0]
        if year is not None:
            worst = con.execute(
                """
                SELECT unit_name, unit_level, metric, actual, target, gap, rank_in_level, units_in_level
                FROM mart.target_attainment
                WHERE year = ? AND as_of_period = CAST(year AS VARCHAR) AND actual IS NOT NULL AND NOT met
                ORDER BY gap ASC, unit_name LIMIT 8
                """,
                [year],
            ).fetchall()
            print()
            print(f"Units furthest below their {year} targets (yearly window):")
            for name, level, metric, actual, target, gap, rank, of in worst:
                print(
                    f"  {name:<42} {metric:<26} actual {_pct(actual)} target {_pct(target)} "
                    f"gap {100 * gap:+6.1f} pts  rank {rank}/{of} {level}"
                )
            if not worst:
                print("  every unit with data met its targets")
    _print_reports(warehouse, quarter)
    from pipeline.publish import analytics_path

    print()
    print("Analysts: query the published copy (safe while the pipeline runs; DuckDB 2.x), e.g.")
    print(f"  duckdb -readonly {analytics_path(warehouse).resolve()} \"SELECT * FROM mart.level_period_stats LIMIT 5\"")


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
