"""The marts room: per-unit, per-level, target, drill-down and late-case tables, recomputed
per window from core.cases (docs/definitions.md §3–§5). See README.md beside this file.

The room's front door: callers use ``from pipeline import marts`` and the names below.
"""

from pipeline.marts.drill_state import forget as forget_drill_state
from pipeline.marts.scope import BATCH_DAYS, build_case_unit_history, window_batches
from pipeline.marts.statements import (
    DRILL_TABLES,
    FIELD_TABLE,
    HISTORY_TABLE,
    LATE_TABLE,
    LEVEL_TABLE,
    PROCEDURE_PROVINCE_TABLE,
    PROCEDURE_TABLE,
    TARGET_TABLE,
    UNIT_TABLE,
    count_condition,
    handled_count_expressions,
)
from pipeline.marts.steps import (
    INDEX766_CASES_TABLE,
    INDEX766_SCORES_TABLE,
    RefreshResult,
    begin_refresh,
    complete_refresh,
    data_day_range,
    ensure_mart_tables,
    note_unit_rows,
    pending_day_range,
    pending_quarters,
    reference_pending,
    refresh,
    refresh_all,
    refresh_drilldown,
    refresh_index766,
    refresh_late_cases,
    refresh_level_stats,
    refresh_target_attainment,
    refresh_unit_stats,
    targets_missed,
    windows_for_days,
)

__all__ = [
    "BATCH_DAYS", "DRILL_TABLES", "FIELD_TABLE", "HISTORY_TABLE", "INDEX766_CASES_TABLE",
    "INDEX766_SCORES_TABLE", "LATE_TABLE", "LEVEL_TABLE",
    "PROCEDURE_PROVINCE_TABLE", "PROCEDURE_TABLE", "TARGET_TABLE", "UNIT_TABLE", "RefreshResult",
    "begin_refresh", "build_case_unit_history", "complete_refresh", "count_condition", "data_day_range",
    "ensure_mart_tables", "forget_drill_state", "handled_count_expressions", "note_unit_rows", "pending_day_range",
    "pending_quarters", "refresh", "refresh_all", "refresh_drilldown", "refresh_index766", "refresh_late_cases",
    "refresh_level_stats", "refresh_target_attainment", "refresh_unit_stats", "reference_pending", "targets_missed",
    "window_batches", "windows_for_days",
]
