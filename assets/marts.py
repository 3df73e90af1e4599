"""Mart assets, partitioned by reporting quarter (15th-to-14th).

Materialising quarter partitions recomputes every window of every grain that overlaps them
(months, the quarter, its half and year, and the calendar windows it touches). A backfill
over many quarters runs as one run (single-run backfill policy) and computes each window once.
"""


import time

import dagster as dg

from assets.core_assets import core_cases, reference_lists
from assets.metadata import table_metadata
from assets.partitions import (
    quarter_key,
    quarter_label,
    reporting_quarters,
    windows_for_quarter_keys,
)
from assets.resources import WarehouseResource
from pipeline import marts
from pipeline.metrics import TABLE_DOCS
from pipeline.quality import checks


def _windows(context: dg.AssetExecutionContext):
    keys = list(context.partition_keys)
    windows = windows_for_quarter_keys(keys)
    labels = [quarter_label(k) for k in keys]
    return keys, labels, windows


def _window_metadata(labels, windows) -> dict:
    by_grain: dict[str, list[str]] = {}
    for w in windows:
        by_grain.setdefault(w.grain, []).append(w.label)
    return {
        "quarters": ", ".join(labels),
        "windows_recomputed": len(windows),
        "windows_by_grain": dg.MetadataValue.json(by_grain),
    }


@dg.asset(
    key=["mart", "unit_period_stats"],
    group_name="mart",
    kinds={"duckdb", "sql"},
    deps=[core_cases, reference_lists],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=TABLE_DOCS[marts.UNIT_TABLE],
)
def unit_period_stats(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    keys, labels, windows = _windows(context)
    context.log.info(f"recomputing {len(windows)} windows for quarters {', '.join(labels)}")
    with warehouse.connect() as con:
        marts.ensure_mart_tables(con)
        # Pending until mart/refresh_log closes it; quarters without a partition cannot be refreshed.
        existing = set(reporting_quarters.get_partition_keys())
        covers = marts.begin_refresh(
            con, context.run_id, windows, refreshable=lambda quarter: quarter_key(quarter.label) in existing
        )
        rows = marts.refresh_unit_stats(con, windows)
        seconds = time.perf_counter() - started
        marts.note_unit_rows(con, context.run_id, rows, seconds)
        table = table_metadata(con, marts.UNIT_TABLE)
    context.log.info(f"mart.unit_period_stats: {rows} rows for {len(windows)} windows in {seconds:.1f}s")
    return dg.MaterializeResult(
        metadata=_window_metadata(labels, windows)
        | {"rows": rows, "duration_s": round(seconds, 2), "covered_pending_changes": covers} | table
    )


@dg.asset(
    key=["mart", "level_period_stats"],
    group_name="mart",
    kinds={"duckdb", "sql"},
    deps=[unit_period_stats],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Roll-ups per unit level and for the whole province: counts summed, then divided.",
)
def level_period_stats(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    keys, labels, windows = _windows(context)
    started = time.perf_counter()
    with warehouse.connect() as con:
        rows = marts.refresh_level_stats(con, windows)
        table = table_metadata(con, marts.LEVEL_TABLE)
    context.log.info(f"mart.level_period_stats: {rows:,} rows in {time.perf_counter() - started:.1f}s")
    return dg.MaterializeResult(metadata=_window_metadata(labels, windows) | {"rows": rows} | table)


@dg.asset(
    key=["mart", "target_attainment"],
    group_name="mart",
    kinds={"duckdb", "sql"},
    deps=[unit_period_stats],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Yearly actual vs target per unit (full-process online rate, online payment rate): gap, met, rank in level.",
)
def target_attainment(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    keys, labels, windows = _windows(context)
    started = time.perf_counter()
    context.log.info("mart.target_attainment: judging the targets year to date for every period of the years")
    with warehouse.connect() as con:
        rows = marts.refresh_target_attainment(con, windows)
        below = marts.targets_missed(con, windows)
        table = table_metadata(con, marts.TARGET_TABLE)
    context.log.info(f"mart.target_attainment: {rows:,} rows in {time.perf_counter() - started:.1f}s")
    return dg.MaterializeResult(
        metadata=_window_metadata(labels, windows)
        | {"rows": rows, "targets_missed": below[0], "targets_with_actual": below[1]} | table
    )


PROCEDURE_KEY = dg.AssetKey(["mart", "procedure_period_stats"])
FIELD_KEY = dg.AssetKey(["mart", "field_period_stats"])
PROCEDURE_PROVINCE_KEY = dg.AssetKey(["mart", "procedure_province_stats"])


@dg.multi_asset(
    name="mart_drilldown",
    specs=[
        dg.AssetSpec(key, deps=[unit_period_stats], group_name="mart", kinds={"duckdb", "sql"},
                     description=TABLE_DOCS[table])
        for key, table in (
            (PROCEDURE_KEY, marts.PROCEDURE_TABLE),
            (FIELD_KEY, marts.FIELD_TABLE),
            (PROCEDURE_PROVINCE_KEY, marts.PROCEDURE_PROVINCE_TABLE),
        )
    ],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def drilldown_stats(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """One pass over the windows' cases fills all three tables (pipeline.marts.refresh_drilldown)."""
    keys, labels, windows = _windows(context)
    started = time.perf_counter()
    context.log.info("drill-down marts: procedures and fields of every unit and window (the largest tables)")
    with warehouse.connect() as con:
        rows = marts.refresh_drilldown(con, windows)
        tables = {t: table_metadata(con, t) for t in rows}
    context.log.info(
        "drill-down marts: " + ", ".join(f"{table} {n:,} rows" for table, n in rows.items())
        + f" in {time.perf_counter() - started:.1f}s"
    )
    seconds = round(time.perf_counter() - started, 2)
    for key, table in ((PROCEDURE_KEY, marts.PROCEDURE_TABLE), (FIELD_KEY, marts.FIELD_TABLE),
                       (PROCEDURE_PROVINCE_KEY, marts.PROCEDURE_PROVINCE_TABLE)):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=_window_metadata(labels, windows) | {"rows": rows[table], "duration_s": seconds}
            | tables.get(table, {}),
        )


@dg.asset(
    key=["mart", "late_cases"],
    group_name="mart",
    kinds={"duckdb", "sql"},
    deps=[unit_period_stats],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=TABLE_DOCS[marts.LATE_TABLE],
)
def late_cases(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    keys, labels, windows = _windows(context)
    started = time.perf_counter()
    with warehouse.connect() as con:
        rows = marts.refresh_late_cases(con, windows)
        table = table_metadata(con, marts.LATE_TABLE)
    context.log.info(f"mart.late_cases: {rows:,} rows in {time.perf_counter() - started:.1f}s")
    return dg.MaterializeResult(metadata=_window_metadata(labels, windows) | {"rows": rows} | table)


INDEX766_CASES_KEY = dg.AssetKey(["mart", "index766_cases"])
INDEX766_SCORES_KEY = dg.AssetKey(["mart", "index766_scores"])


@dg.multi_asset(
    name="mart_index766",
    specs=[
        dg.AssetSpec(INDEX766_CASES_KEY, deps=[unit_period_stats], group_name="mart", kinds={"duckdb", "sql"},
                     description=TABLE_DOCS[marts.INDEX766_CASES_TABLE]),
        dg.AssetSpec(INDEX766_SCORES_KEY, deps=[INDEX766_CASES_KEY], group_name="mart", kinds={"duckdb", "sql"},
                     description=TABLE_DOCS[marts.INDEX766_SCORES_TABLE]),
    ],
    partitions_def=reporting_quarters,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def index766_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Decision 766 index: the calendar windows the quarters touch (pipeline.marts.refresh_index766)."""
    keys, labels, windows = _windows(context)
    started = time.perf_counter()
    with warehouse.connect() as con:
        rows = marts.refresh_index766(con, windows)
        tables = {t: table_metadata(con, t) for t in rows}
    seconds = round(time.perf_counter() - started, 2)
    context.log.info(
        "index 766 marts: " + ", ".join(f"{table} {n:,} rows" for table, n in rows.items()) + f" in {seconds:.1f}s"
    )
    for key, table in ((INDEX766_CASES_KEY, marts.INDEX766_CASES_TABLE), (INDEX766_SCORES_KEY, marts.INDEX766_SCORES_TABLE)):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=_window_metadata(labels, windows) | {"rows": rows[table], "duration_s": seconds}
            | tables.get(table, {}),
        )


def _check_result(outcome: checks.CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "violations": outcome.violations,
            "sample": dg.MetadataValue.json([[str(v) for v in row] for row in outcome.sample]),
        },
    )


def blocking_sql_check(asset, name: str, check: str, description: str) -> dg.AssetChecksDefinition:
    """A blocking ERROR check running ``pipeline.checks.<check>`` (SQL in sql/checks/) on ``asset``;
    the function is looked up when the check runs."""

    @dg.asset_check(asset=asset, name=name, blocking=True, description=description)
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            return _check_result(getattr(checks, check)(con))

    return _check


unit_stats_identities = blocking_sql_check(
    unit_period_stats, "unit_stats_identities", "identity_violations",
    "docs/definitions.md §2 identities per unit and window: received = resolved + in progress; resolved = early + on time "
    "+ late; in progress = within + overdue; new = online + in person + postal; received = carried over + new.",
)
unit_stats_carry_over = blocking_sql_check(
    unit_period_stats, "unit_stats_carry_over", "carry_over_violations",
    "Carried over of a window = in progress of the window before it (per unit; province-wide across a reorganisation).",
)
procedure_stats_add_up = blocking_sql_check(
    PROCEDURE_KEY, "procedure_stats_add_up", "procedure_add_up_violations",
    "docs/definitions.md §5: per unit and window, the procedure rows add up exactly to the unit's row in "
    "mart.unit_period_stats (every count column).",
)
field_stats_add_up = blocking_sql_check(
    FIELD_KEY, "field_stats_add_up", "field_add_up_violations",
    "docs/definitions.md §5: per unit and window, the field rows add up exactly to the unit's row in "
    "mart.unit_period_stats (every count column).",
)
late_cases_count = blocking_sql_check(
    late_cases, "late_cases_count", "late_case_count_violations",
    "docs/definitions.md §5: per unit and window, mart.late_cases holds exactly resolved_late + in_progress_overdue "
    "rows (by kind), each case once.",
)
index766_add_up = blocking_sql_check(
    INDEX766_SCORES_KEY, "index766_add_up", "index766_add_up_violations",
    "docs/definitions.md §7: per unit (and province, distinct procedures over the province) and calendar window, the flags "
    "of mart.index766_cases add up exactly to the numerators and denominators of mart.index766_scores.",
)
