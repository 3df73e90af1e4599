"""The shared report data: rankings within a level (minimum sample, units in force, ties),
Vietnamese period labels and quarantine reasons, the periods the headline cards compare with."""

from __future__ import annotations

import re

from pipeline import periods
from pipeline.reports import data
from schemas.case_record import reason_text


def _verdict(code: str, level: str, gap: float | None, den: int, *, in_force: bool = True,
             applicable: bool = True) -> dict:
    actual = None if gap is None else 0.5 + gap
    return {"unit_code": code, "unit_name": f"Đơn vị {code}", "unit_level": level, "actual": actual,
            "gap": gap if applicable else None, "met": None if gap is None or not applicable else gap >= 0,
            "denominator": den, "numerator": 0, "in_force": in_force, "applicable": applicable}


def test_rank_by_gap_within_level_with_minimum_sample():
    rows = [
        _verdict("a", "commune", -0.10, 50),
        _verdict("b", "commune", 0.05, 3),  # best gap, but 3 cases: flagged, not first
        _verdict("c", "commune", 0.02, 20),  # exactly the minimum: ranked
        _verdict("d", "commune", 0.02, 99),  # tie with c: shares place 1
        _verdict("e", "commune", 0.30, 80, in_force=False),  # abolished: shown last, never ranked
        _verdict("f", "commune", None, 0),
        _verdict("g", "commune", 0.40, 80, applicable=False),
        _verdict("h", "district", -0.50, 40),  # its own level: place 1 there
    ]
    ranked = data.rank_by_gap(rows, 20)
    by_code = {r["unit_code"]: r for r in ranked}
    assert [r["unit_code"] for r in ranked] == ["h", "c", "d", "a", "b", "f", "g", "e"]  # form level order
    assert [by_code[c]["place"] for c in "cdabfgeh"] == [1, 1, 3, None, None, None, None, 1]
    assert [by_code[c]["status"] for c in "bfge"] == ["small", "no_data", "not_applicable", "abolished"]
    assert by_code["a"]["ranked_units"] == 3 and by_code["h"]["ranked_units"] == 1


def test_rank_units_by_rate_flags_small_samples():
    units = [
        {"code": "x", "name": "X", "level": "commune", "rates": {"r": 1.0}, "num": {"r": 3}, "den": {"r": 3}},
        {"code": "y", "name": "Y", "level": "commune", "rates": {"r": 0.6}, "num": {"r": 30}, "den": {"r": 50}},
        {"code": "z", "name": "Z", "level": "commune", "rates": {"r": 0.9}, "num": {"r": 27}, "den": {"r": 30}},
        {"code": "w", "name": "W", "level": "commune", "rates": {"r": None}, "num": {"r": 0}, "den": {"r": 0}},
    ]
    out = data.rank_units_by_rate(units, "r", 20)
    assert [(r["code"], r["place"], r["small"]) for r in out] == [("z", 1, False), ("y", 2, False), ("x", None, True)]


def test_vietnamese_labels_and_comparisons():
    q3 = periods.parse_label("2025-Q3")
    assert data.short_title(q3) == "Quý III/2025"
    assert data.short_title(periods.parse_label("2025-03")) == "T3/2025"
    assert data.short_title(periods.parse_label("cal-2025-Q1")) == "Quý I/2025 (DL)"
    assert [(k, p.label) for k, p in data.comparison_periods(q3)] == [("previous", "2025-Q2"), ("last_year", "2024-Q3")]
    assert [(k, p.label) for k, p in data.comparison_periods(periods.parse_label("2025"))] == [("previous", "2024")]
    assert data.gap_points(-0.0321) == "−3,2 điểm" and data.gap_points(0.004) == "+0,4 điểm"


def test_quarantine_reasons_in_vietnamese():
    assert data.reason_vi(reason_text("bad_date", field="NgayHenTra", value="'…'")) == "Ngày không hợp lệ ở trường NgayHenTra"
    assert data.reason_vi(reason_text("no_end", value="9")) == "Hồ sơ trạng thái 9 không có ngày kết thúc"
    assert data.reason_vi(reason_text("end_before_received")) == "Ngày kết thúc trước ngày tiếp nhận"
    for key in data.REASONS_VI:  # every rule of the contract has its Vietnamese wording
        text = reason_text(key, **{k: "X" for k in re.findall(r"\{(\w+)\}", data.REASONS[key])})
        assert not data.reason_vi(text).startswith("Lỗi khác"), key
    assert data.reason_vi("something new") == "Lỗi khác: something new"
