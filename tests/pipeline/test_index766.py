"""The Decision 766 scoring rule (docs/definitions.md §7) against the scores the portal itself published
for Phú Thọ, August 2026 (tests/fixtures/portal766/, a copy of ../shared/reference/; its
README.md gives the sources), with the project's own code and the shipped seeds/index766.csv."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from pipeline import config, index766
from pipeline.ingest.reference import ReferenceDataError, read_index766

PORTAL = Path(__file__).resolve().parents[1] / "fixtures" / "portal766" / "portal_766_scores_2026-08.csv"
SHIPPED = config.SEEDS_DIR / "index766.csv"
TOLERANCE = 0.015  # the portal rounds to two decimals
GROUP = "3.5+3.5b+3.6"
# Portal indicators the cases cannot determine (not in seeds/index766.csv): their rules as the
# reference README gives them, only so that every published row is scored here too.
OTHER_RULES = {
    "3.5": index766.Rule("3.5", "TTHC có phí thanh toán trực tuyến", "Thanh toán", 2, 0.8, 0),
    "4.2": index766.Rule("4.2", "Số hóa giấy tờ giải quyết", "Số hóa", 4, 1, None),
    "4.4": index766.Rule("4.4", "Đồng bộ kho dữ liệu", "Số hóa", 4, 1, None),
    "4.5a": index766.Rule("4.5a", "TTHC kết nối dữ liệu công dân", "Số hóa", 2, 1, None),
    "5.2": index766.Rule("5.2", "Phản ánh đúng hạn", "Hài lòng", 6, 1, 6),
    "5.3": index766.Rule("5.3", "Hài lòng xử lý phản ánh", "Hài lòng", 6, 1, 6),
    "1.3": index766.Rule("1.3", "Công khai đầy đủ", "Công khai", 2, 1, None),
    "1.4": index766.Rule("1.4", "Đồng bộ hồ sơ", "Công khai", 6, 1, None),
}


def _portal_rows() -> list[dict[str, str]]:
    with PORTAL.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _mismatches(rules: dict[str, index766.Rule]) -> tuple[int, list[str]]:
    """(rows scored, rows off by more than TOLERANCE) over every row carrying a portal score."""
    rows = _portal_rows()
    counts = {(r["unit_code"], r["indicator"]): r for r in rows}
    every = rules | OTHER_RULES

    def points(unit: str, indicator: str) -> float | None:
        row = counts[(unit, indicator)]
        return index766.score(int(row["numerator"]), int(row["denominator"]), every[indicator])

    scored, bad = 0, []
    for r in rows:
        if r["indicator"] in ("3.5", "3.5b", "3.6"):
            continue  # no score of their own: the portal publishes the group total
        scored += 1
        if r["indicator"] == GROUP:
            mine = sum(points(r["unit_code"], i) for i in ("3.5", "3.5b", "3.6"))
        else:
            mine = points(r["unit_code"], r["indicator"])
        published = float(r["portal_score"]) if r["portal_score"] else None
        if (mine is None) != (published is None) or (mine is not None and abs(mine - published) > TOLERANCE):
            bad.append(f"{r['unit_code']} {r['indicator']}: ours {mine}, portal {published}")
    return scored, bad


def test_every_portal_score_is_reproduced_from_its_counts_with_the_shipped_list():
    rules = read_index766(SHIPPED)
    assert tuple(rules) == index766.COMPUTED_INDICATORS
    scored, bad = _mismatches(rules)
    assert scored == 1806  # every row with a portal score (10 of them null: zero cases on 4.x)
    assert bad == []
    # the list's maxima are the portal's (the rows carry maxScore)
    for r in _portal_rows():
        if r["indicator"] in rules:
            assert float(r["max_points"]) == rules[r["indicator"]].max_points, r["indicator"]


def test_computable_part_is_44_of_100_points():
    assert index766.computable_max(read_index766(SHIPPED)) == 44


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "index766.csv"
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_scores_follow_the_list_a_changed_maximum_changes_the_scores(tmp_path):
    shipped = read_index766(SHIPPED)
    changed = read_index766(_edited(tmp_path, "2.1,Tiến độ giải quyết,Tiến độ,20,1,0", "2.1,Tiến độ giải quyết,Tiến độ,25,1,0"))
    assert index766.score(3, 4, shipped["2.1"]) == pytest.approx(15.0)
    assert index766.score(3, 4, changed["2.1"]) == pytest.approx(18.75)
    assert index766.score(3, 4, changed["3.6"]) == index766.score(3, 4, shipped["3.6"])  # others unchanged
    _, bad = _mismatches(changed)
    # every 2.1 row that scores above 0 no longer matches the portal
    assert len(bad) == sum(1 for r in _portal_rows() if r["indicator"] == "2.1" and int(r["numerator"]) > 0) > 150
    assert all(" 2.1:" in b for b in bad)


def test_a_wrong_threshold_is_caught_by_the_portal_table(tmp_path):
    """The reference test can fail: 5.4 without its 90 % knee misses most units."""
    linear = read_index766(_edited(tmp_path, "5.4,Hài lòng khi tiếp nhận,Hài lòng,6,0.9,0", "5.4,Hài lòng khi tiếp nhận,Hài lòng,6,1,0"))
    _, bad = _mismatches(linear)
    assert len(bad) > 100 and all(" 5.4:" in b for b in bad)


def test_score_rule_knee_cap_and_zero_denominator():
    rules = read_index766(SHIPPED)
    assert index766.score(7, 8, rules["3.5b"]) == 2  # capped (Sở Công Thương's 7/8)
    assert index766.score(45.03, 100, rules["4.3"]) == pytest.approx(1.1258, abs=1e-4)
    assert index766.score(0, 0, rules["2.1"]) == 0
    assert index766.score(0, 0, rules["4.1"]) is None  # no score, not 0
    assert index766.ratio(0, 0) is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("4.3,Tái", "4.2,Tái", "index766.csv row 6: indicator '4.2' is not one the cases determine"),
        ("4.3,Tái", "2.1,Tái", "index766.csv rows 2 and 6: indicator 2.1 is listed twice"),
        (",Số hóa,6,1,\n", ",Số hóa,six,1,\n", "index766.csv row 5: max_points 'six' is not a number"),
        ("Hài lòng,6,0.9,0", "Hài lòng,6,90,0", "index766.csv row 8: threshold '90' must be a fraction in (0, 1]"),
        ("Thanh toán,2,0.8,0", "Thanh toán,2,0.8,3", "index766.csv row 4: zero_denominator_score '3' is outside 0..max_points"),
        ("4.5b,Hồ sơ kết nối dữ liệu công dân,Số hóa,2,1,\n", "", "index766.csv: indicator(s) 4.5b missing"),
        ("zero_denominator_score", "zero_score", "index766.csv: missing column(s) zero_denominator_score"),
    ],
)
def test_list_errors_name_file_row_and_problem(tmp_path, old, new, message):
    with pytest.raises(ReferenceDataError) as err:
        read_index766(_edited(tmp_path, old, new))
    assert message in str(err.value)


def test_a_seeds_folder_without_the_list_uses_the_projects(tmp_path):
    from pipeline.ingest.reference import index766_path

    assert index766_path(tmp_path) == SHIPPED
    shutil.copy(SHIPPED, tmp_path / "index766.csv")
    assert index766_path(tmp_path) == tmp_path / "index766.csv"
