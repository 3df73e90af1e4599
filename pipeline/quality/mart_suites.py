"""The Great Expectations suites of the stats marts, generated from pipeline/metrics.py.

What a unit or level row must satisfy (keys, non-negative counts, the §2 identities, subsets,
every rate in range and equal to its numerator / denominator, roll-ups equal to the sums of
their units) follows from the metric definitions, so the suites are built from them rather than
restated by hand: a rate added to ``metrics.RATES`` is checked everywhere at once. The result is
plain GX suite JSON with the ``meta.dvc`` block pipeline/quality.py reads.
"""

from __future__ import annotations

from typing import Any

from pipeline import periods, tables
from pipeline.metrics import COUNT_COLUMNS, IDENTITIES, RATES, SUBSETS

UNIT_LEVELS = ["province_department", "district", "commune", "province", "unknown"]
# Counts whose roll-up is compared with the sum of the units (the §2 totals).
ROLLUP_SUMS = ("new_total", "received_total", "resolved_total", "in_progress_total")


def _e(kind: str, notes: str = "", **kwargs: Any) -> dict[str, Any]:
    expectation: dict[str, Any] = {"type": kind, "kwargs": kwargs}
    if notes:
        expectation["meta"] = {"notes": notes}
    return expectation


def _negative_counts() -> str:
    columns = [c for c in COUNT_COLUMNS if not c.startswith("days_")]
    return "concat_ws(', ', " + ", ".join(f"CASE WHEN {c} < 0 THEN '{c}' END" for c in columns) + ")"


def _max_rate_error() -> str:
    terms = [
        f"CASE WHEN {r.name}_denominator = 0 THEN (CASE WHEN {r.name} IS NULL THEN 0 ELSE 1 END) "
        f"ELSE abs(coalesce({r.name}, -1) - CAST({r.name}_numerator AS DOUBLE) / {r.name}_denominator) END"
        for r in RATES if r.kind == "ratio"
    ]
    return f"greatest({', '.join(terms)})"


def _rate_terms_mismatch() -> str:
    return " + ".join(
        f"CASE WHEN {r.name}_numerator <> ({r.numerator}) OR {r.name}_denominator <> ({r.denominator}) "
        "THEN 1 ELSE 0 END"
        for r in RATES if r.kind != "reduction"
    )


def _rules(derived: dict[str, str]) -> list[dict[str, Any]]:
    """The row rules shared by the unit and level tables (derived columns added to ``derived``)."""
    out = [_e("expect_column_values_to_be_in_set", "No count is negative: the names of the negative "
              "count columns of a row (none expected).", column="negative_counts", value_set=[""])]
    derived["negative_counts"] = _negative_counts()
    for identity in IDENTITIES:
        derived[identity.derived] = " + ".join(identity.parts)
        out.append(_e("expect_column_pair_values_to_be_equal", f"docs/definitions.md §2 identity: {identity.words}.",
                      column_A=identity.total, column_B=identity.derived))
    for whole, part, words in SUBSETS:
        out.append(_e("expect_column_pair_values_a_to_be_greater_than_b", words,
                      column_A=whole, column_B=part, or_equal=True))
    for rate in RATES:
        if rate.kind != "ratio":
            continue
        out.append(_e("expect_column_values_to_be_between",
                      f"{rate.name} is a fraction: {_ratio_words(rate.numerator)} / {_ratio_words(rate.denominator)}.",
                      column=rate.name, min_value=0, max_value=1))
        out.append(_e("expect_column_pair_values_a_to_be_greater_than_b",
                      f"Numerator of {rate.name} never exceeds its denominator.",
                      column_A=f"{rate.name}_denominator", column_B=f"{rate.name}_numerator", or_equal=True))
    derived["rate_terms_mismatch"] = _rate_terms_mismatch()
    derived["max_rate_error"] = _max_rate_error()
    out.append(_e("expect_column_values_to_be_between",
                  "Every rate's stored numerator and denominator are the count expressions of docs/definitions.md "
                  "§3 (pipeline/metrics.py RATES); number of rates that differ.",
                  column="rate_terms_mismatch", min_value=0, max_value=0))
    out.append(_e("expect_column_values_to_be_between",
                  "Every fraction rate equals numerator / denominator, and is NULL exactly when the "
                  "denominator is 0 (max abs error over the rates).",
                  column="max_rate_error", min_value=0, max_value=1e-09))
    for rate in RATES:
        if rate.kind == "mean":
            out.append(_e("expect_column_values_to_be_between", column=rate.name, min_value=0))
        elif rate.kind == "reduction":
            out.append(_e("expect_column_values_to_be_between",
                          "1 - avg_days_online / avg_days_in_person: never above 1 (both averages are >= 0).",
                          column=rate.name, max_value=1))
    return out


def _ratio_words(expr: str) -> str:
    return f"({expr})" if "+" in expr else expr


def _keys(table: str, keys: list[str], not_null: list[str], levels: list[str]) -> list[dict[str, Any]]:
    out = [_e("expect_column_values_to_not_be_null", column=c) for c in not_null]
    out.append(_e("expect_column_values_to_be_in_set", "docs/definitions.md §1 grains (15th-to-14th and calendar).",
                  column="period_grain", value_set=list(periods.GRAINS)))
    out.append(_e("expect_column_values_to_be_in_set", column="unit_level", value_set=levels))
    out.append(_e("expect_compound_columns_to_be_unique", f"One row per ({', '.join(keys)}).", column_list=keys))
    out.append(_e("expect_column_pair_values_a_to_be_greater_than_b", "A window ends on or after its first day.",
                  column_A="period_end", column_B="period_start", or_equal=True))
    return out


def _suite(name: str, description: str, table: str, keys: list[str], expectations: list[dict[str, Any]],
           derived: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "notes": description,
        "meta": {"great_expectations_version": "1.24.1", "dvc": {
            "description": description,
            "table": table,
            "bound": "period",
            "order_by": "period_start DESC, " + ", ".join(keys),
            "limit": 200000,
            "index_columns": keys,
            "severity": "error",
            "derived_columns": derived,
        }},
        "expectations": expectations,
    }


def unit_suite() -> dict[str, Any]:
    keys = list(tables.spec("mart.unit_period_stats").key)
    derived: dict[str, str] = {}
    expectations = _keys("mart.unit_period_stats", keys,
                         ["period_grain", "period_label", "period_start", "period_end", "unit_code", "unit_level"],
                         UNIT_LEVELS)
    expectations += _rules(derived)
    return _suite(
        "mart_unit_period_stats",
        "mart.unit_period_stats for the windows of a run: keys present and unique, counts non-negative, "
        "the docs/definitions.md §2 identities, every fraction rate in [0, 1] and equal to numerator / denominator.",
        "mart.unit_period_stats", keys, expectations, derived,
    )


def level_suite() -> dict[str, Any]:
    keys = list(tables.spec("mart.level_period_stats").key)
    derived: dict[str, str] = {}
    expectations = _keys("mart.level_period_stats", keys,
                         ["period_grain", "period_label", "period_start", "period_end", "unit_level"],
                         [*UNIT_LEVELS, "province_total"])
    expectations.append(_e("expect_column_values_to_be_between", "A roll-up row sums at least one unit.",
                           column="units", min_value=1))
    derived["province_total_rows"] = (
        "count(*) FILTER (WHERE unit_level = 'province_total') OVER (PARTITION BY period_grain, period_label, province_code)"
    )
    expectations.append(_e("expect_column_values_to_be_between", "Exactly one province_total row per window and province.",
                           column="province_total_rows", min_value=1, max_value=1))
    same_rows = ("u.period_grain = t.period_grain AND u.period_label = t.period_label "
                 "AND u.province_code IS NOT DISTINCT FROM t.province_code "
                 "AND (t.unit_level = 'province_total' OR u.unit_level = t.unit_level)")
    derived["unit_mart_units"] = f"(SELECT count(*) FROM mart.unit_period_stats u WHERE {same_rows})"
    expectations.append(_e("expect_column_pair_values_to_be_equal",
                           "units = number of mart.unit_period_stats rows of the window in this province at this level "
                           "(every level for province_total).", column_A="units", column_B="unit_mart_units"))
    for column in ROLLUP_SUMS:
        derived[f"unit_mart_{column}"] = (
            f"(SELECT coalesce(sum(u.{column}), 0) FROM mart.unit_period_stats u WHERE {same_rows})"
        )
        expectations.append(_e("expect_column_pair_values_to_be_equal",
                               f"docs/definitions.md §4: roll-ups sum counts. {column} = sum of the units' {column} "
                               "(every unit for province_total).", column_A=column, column_B=f"unit_mart_{column}"))
    expectations += _rules(derived)
    return _suite(
        "mart_level_period_stats",
        "mart.level_period_stats for the windows of a run: one row per (window, province, level) plus one "
        "province_total per province and window that sums its levels, the §2 identities, rates in [0, 1] "
        "computed from the summed counts.",
        "mart.level_period_stats", keys, expectations, derived,
    )


GENERATED_SUITES = {"mart_unit_period_stats": unit_suite, "mart_level_period_stats": level_suite}
