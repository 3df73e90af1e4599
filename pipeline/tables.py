"""The table registry: every table an analyst, an issue or a check relies on, said once.

Each entry gives the table's name, its row key, how refreshes replace its rows, whether it is
published to the analyst copy (and under which name, without which columns) and whether its
rows are frozen in schema ``issued`` when a period is issued. The publish list
(publish/analyst_copy.py), the issued list (cycle/issue.py), the generated check suites'
keys (quality/mart_suites.py) and the data dictionary (publish/dictionary.py) are read from here.

What each column means lives with the SQL that creates it (COMMENT ON, from pipeline/metrics.py
and sql/ddl/); the data dictionary prints both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a refresh replaces the table's rows.
#   window: per reporting/calendar window (period_grain, period_label)
#   year:   per target year (all its as-of periods at once)
#   whole:  rebuilt or appended as a whole (reference lists, logs, cycle tables)
Scope = Literal["window", "year", "whole"]
WINDOW_KEY = ("period_grain", "period_label")


@dataclass(frozen=True)
class TableSpec:
    name: str  # schema.table in the working warehouse
    key: tuple[str, ...]  # the columns that identify a row in the whole table
    scope: Scope
    published_as: str | None = None  # name in the analyst copy; None: not published
    dropped: tuple[str, ...] = ()  # columns left out of the analyst copy
    issued: bool = False  # frozen per issue in schema issued (cycle/issue.py)
    # Issued only when the table exists (tables added after the cycle was built).
    issued_optional: bool = False

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]

    @property
    def window_key(self) -> tuple[str, ...]:
        """The key within one window (the issued rows of one period are matched on it); a target
        row of a period's report is one (as-of period, unit, metric) of its report year."""
        return tuple(c for c in self.key if c not in (*WINDOW_KEY, "year"))


def _mart(name: str, key: tuple[str, ...], scope: Scope = "window", **kw) -> TableSpec:
    return TableSpec(name, key, scope, published_as=name, **kw)


TABLES: tuple[TableSpec, ...] = (
    # Marts (pipeline/marts/): the analyst-facing numbers.
    _mart("mart.unit_period_stats", (*WINDOW_KEY, "unit_code"), issued=True),
    _mart("mart.level_period_stats", (*WINDOW_KEY, "province_code", "unit_level"), issued=True),
    _mart("mart.target_attainment", ("year", "as_of_period", "unit_code", "metric"), "year", issued=True),
    _mart("mart.procedure_period_stats", (*WINDOW_KEY, "unit_code", "procedure_code"),
          issued=True, issued_optional=True),
    _mart("mart.field_period_stats", (*WINDOW_KEY, "unit_code", "field_code"), issued=True, issued_optional=True),
    _mart("mart.procedure_province_stats", (*WINDOW_KEY, "province_code", "procedure_code")),
    # The drill-down's finest grain and its delta state (pipeline/marts/drill_state.py).
    TableSpec("mart.drill_counts", (*WINDOW_KEY, "unit_code", "procedure_code", "field_code"), "window"),
    TableSpec("mart.drill_state", WINDOW_KEY, "whole"),
    _mart("mart.late_cases", (*WINDOW_KEY, "case_id"), issued=True, issued_optional=True),
    # The national index (Decision 766), calendar windows only.
    _mart("mart.index766_scores", (*WINDOW_KEY, "unit_level", "unit_code", "indicator")),
    _mart("mart.index766_cases", (*WINDOW_KEY, "case_id")),
    _mart("mart.refresh_log", ("refresh_id",), "whole"),
    TableSpec("mart.refresh_windows", ("refresh_id", *WINDOW_KEY), "whole"),
    # The official reporting cycle (pipeline/cycle/): status, restatements and every issue.
    _mart("mart.period_status", WINDOW_KEY, "whole"),
    _mart("mart.restatements", (*WINDOW_KEY, "issue", "table_name", "row_key", "column_name"), "whole"),
    _mart("issued.issues", (*WINDOW_KEY, "issue"), "whole"),
    _mart("issued.changes", (*WINDOW_KEY, "issue", "table_name", "row_key", "column_name"), "whole"),
    # Reference lists (seeds/, pipeline/ingest/reference.py) and the cases.
    _mart("core.units", ("unit_code", "valid_from"), "whole"),
    _mart("core.unit_crosswalk", ("old_unit_code", "new_unit_code", "valid_from"), "whole"),
    _mart("core.targets", ("year", "unit_code", "metric"), "whole"),
    _mart("core.procedures", ("procedure_code",), "whole"),
    _mart("core.index766", ("indicator",), "whole"),
    TableSpec("core.cases", ("case_id",), "whole", published_as="core.cases",
              dropped=("summary", "extra_fields", "source_name")),
    TableSpec("raw.batches", ("batch_id",), "whole", published_as="quality.batches"),
)

BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}


def spec(name: str) -> TableSpec:
    """The registry entry of ``name`` (schema.table)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not in the table registry (pipeline/tables.py)") from None


def published() -> tuple[TableSpec, ...]:
    """Tables copied into the analyst database, in publishing order; the issued copies of the
    issued tables follow the cycle tables."""
    out: list[TableSpec] = []
    for t in TABLES:
        if t.published_as:
            out.append(t)
        if t.name == "issued.changes":
            out.extend(
                TableSpec(f"issued.{i.table}", i.key + ("issue",), "whole", published_as=f"issued.{i.table}")
                for i in TABLES if i.issued
            )
    return tuple(out)


def issued() -> tuple[TableSpec, ...]:
    """Tables whose rows of a period are frozen when the period is issued."""
    return tuple(t for t in TABLES if t.issued)
