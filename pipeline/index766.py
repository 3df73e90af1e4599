"""The national index of Decision 766/QĐ-TTg (docs/definitions.md §7): the scoring rule, pure.

What each indicator counts is code (sql/marts/index766_cases.sql and index766_scores.sql, per
the §7 table); how many points it is worth is reference data: each indicator's maximum,
threshold and zero-denominator score come from ``seeds/index766.csv`` (read and validated by
``pipeline.ingest.reference.read_index766``), because the portal changes them. Nothing here
holds a maximum or a threshold.

score = max_points × min(1, r / threshold), r = numerator / denominator; with a zero
denominator the ratio is NULL (§3) and the score is the list's ``zero_denominator_score``
(empty = no score, NULL).
"""

from __future__ import annotations

from dataclasses import dataclass

# The indicators case records and the procedure catalogue determine (docs/definitions.md §7), in the
# order they are shown, with the mart.index766_cases flag columns their counts come from.
# 3.5b counts distinct procedures (of the 3.6 cases), not cases.
COMPUTED_INDICATORS: tuple[str, ...] = ("2.1", "3.6", "3.5b", "4.1", "4.3", "4.5b", "5.4")
# The indicators of the 100-point index the cases cannot determine: never computed, never 0.
NOT_COMPUTED: tuple[tuple[str, str], ...] = (
    ("1.1–1.4", "công khai, minh bạch"),
    ("3.1–3.3", "dịch vụ công trực tuyến"),
    ("3.5", "TTHC có phí thanh toán trực tuyến"),
    ("4.2", "số hóa giấy tờ giải quyết"),
    ("4.4", "đồng bộ kho dữ liệu cá nhân"),
    ("4.5a", "TTHC kết nối dữ liệu công dân"),
    ("5.1–5.3", "phản ánh, kiến nghị"),
)
INDEX_MAX_POINTS = 100  # the whole index (six groups), for the "44 of 100" caption only


@dataclass(frozen=True)
class Rule:
    """One row of seeds/index766.csv."""

    indicator: str
    name: str
    group: str
    max_points: float
    threshold: float
    zero_denominator_score: float | None  # None: a zero denominator gives no score


def ratio(numerator: float, denominator: float) -> float | None:
    """r = numerator / denominator; NULL (None) for a zero denominator (docs/definitions.md §3)."""
    return None if not denominator else numerator / denominator


def score(numerator: float, denominator: float, rule: Rule) -> float | None:
    """The indicator's points: max × min(1, r / threshold), or the zero-denominator score."""
    r = ratio(numerator, denominator)
    if r is None:
        return rule.zero_denominator_score
    return rule.max_points * min(1.0, r / rule.threshold)


def score_sql(numerator: str, denominator: str, max_points: str, threshold: str, zero_score: str) -> str:
    """The same rule as ``score`` as a SQL expression over column names (the mart computes
    its scores with it; a test checks the mart against ``score``)."""
    return (
        f"CASE WHEN {denominator} = 0 THEN {zero_score} "
        f"ELSE {max_points} * least(1.0, ({numerator} / {denominator}) / {threshold}) END"
    )


def computable_max(rules: dict[str, Rule]) -> float:
    """Points the case-computable part is worth (44 of 100 with the 2026 list)."""
    return sum(r.max_points for r in rules.values())
