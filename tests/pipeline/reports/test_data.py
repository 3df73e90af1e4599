"""The shared report data: rankings within a level (minimum sample, units in force, ties),
Vietnamese period labels and quarantine reasons, the periods the headline cards compare with."""

from __future__ import annotations

import re

from pipeline import periods
from pipeline.reports import data, targets
from schemas.case_record import reason_text


def _verdict(code: str, level: str, actual: float | None, den: int, rank: int | None, *, in_force: bool = True,
             applicable: bool = True) -> dict:
    return {"unit_code": code, "unit_name": f"Đơn vị {code}", "unit_level": level, "actual": actual,
            "gap": None if actual is None or not applicable else actual - 0.5,
            "met": None if actual is None or not applicable else actual >= 0.5, "denominator": den,
            "numerator": 0, "in_force": in_force, "applicable": applicable,
            "rank_in_level": rank if applicable and actual is not None else None,
            "units_in_level": 5 if level == "commune" else 1}


def test_rank_targets_places_every_unit_by_the_marts_rank():
    """The one rule (docs/definitions.md §4.4): the mart's rank by actual; small samples and units judged
    on a partial window keep their rank and are flagged; only no data / not applicable are unranked."""
    rows = [
        _verdict("a", "commune", 0.40, 50, 5),
        _verdict("b", "commune", 0.95, 3, 1),  # best actual on 3 cases: first, flagged small
        _verdict("c", "commune", 0.52, 20, 3),  # exactly the minimum: not small
        _verdict("d", "commune", 0.52, 99, 3),  # tie with c: shares place 3
        _verdict("e", "commune", 0.80, 80, 2, in_force=False),  # abolished: ranked on its partial window
        _verdict("f", "commune", None, 0, None),
        _verdict("g", "commune", 0.90, 80, None, applicable=False),
        _verdict("h", "district", 0.10, 40, 1),  # its own level: place 1 there
    ]
    ranked = targets.rank_targets(rows, 20)
    by_code = {r["unit_code"]: r for r in ranked}
    assert [r["unit_code"] for r in ranked] == ["h", "b", "e", "c", "d", "a", "f", "g"]  # form level order
    assert [by_code[c]["place"] for c in "becdafgh"] == [1, 2, 3, 3, 5, None, None, 1]
    assert [by_code[c]["status"] for c in "beacfg"] == ["small", "abolished", "ranked", "ranked", "no_data",
                                                         "not_applicable"]
    assert by_code["a"]["ranked_units"] == 5 and by_code["h"]["ranked_units"] == 1
    assert targets.small_sample_note(by_code["b"], 20) == "ít hồ sơ: 3 < 20"
    assert targets.small_sample_note(by_code["c"], 20) is None and targets.small_sample_note(by_code["f"], 20) is None


def test_rank_units_by_rate_flags_small_samples():
    units = [
        {"code": "x", "name": "X", "level": "commune", "rates": {"r": 1.0}, "num": {"r": 3}, "den": {"r": 3}},
        {"code": "y", "name": "Y", "level": "commune", "rates": {"r": 0.6}, "num": {"r": 30}, "den": {"r": 50}},
        {"code": "z", "name": "Z", "level": "commune", "rates": {"r": 0.9}, "num": {"r": 27}, "den": {"r": 30}},
        {"code": "w", "name": "W", "level": "commune", "rates": {"r": None}, "num": {"r": 0}, "den": {"r": 0}},
    ]
    out = targets.rank_units_by_rate(units, "r", 20)
    assert [(r["code"], r["place"], r["small"]) for r in out] == [("z", 1, False), ("y", 2, False), ("x", None, True)]


def test_vietnamese_labels_and_comparisons():
    q3 = periods.parse_label("2025-Q3")
    assert data.short_title(q3) == "Quý III/2025"
    assert data.short_title(periods.parse_label("2025-03")) == "T3/2025"
    assert data.short_title(periods.parse_label("cal-2025-Q1")) == "Quý I/2025 (DL)"
    assert [(k, p.label) for k, p in data.comparison_periods(q3)] == [("previous", "2025-Q2"), ("last_year", "2024-Q3")]
    assert [(k, p.label) for k, p in data.comparison_periods(periods.parse_label("2025"))] == [("previous", "2024")]
    assert targets.gap_points(-0.0321) == "−3,2 điểm" and targets.gap_points(0.004) == "+0,4 điểm"


def test_quarantine_reasons_in_vietnamese():
    assert data.reason_vi(reason_text("bad_date", field="NgayHenTra", value="'…'")) == "Ngày không hợp lệ ở trường NgayHenTra"
    assert data.reason_vi(reason_text("no_end", value="9")) == "Hồ sơ trạng thái 9 không có ngày kết thúc"
    assert data.reason_vi(reason_text("end_before_received")) == "Ngày kết thúc trước ngày tiếp nhận"
    for key in data.REASONS_VI:  # every rule of the contract has its Vietnamese wording
        text = reason_text(key, **{k: "X" for k in re.findall(r"\{(\w+)\}", data.REASONS[key])})
        assert not data.reason_vi(text).startswith("Lỗi khác"), key
    assert data.reason_vi("something new") == "Lỗi khác: something new"
