"""Which unit a case counts under (docs/definitions.md §4.2), per-province roll-ups (§4.3) and targets
(§4.4), on a small hand-made province pair.

Reference data (written per test):
  provinces PA (open) and PB (merged into PA on 1/7/2025);
  departments DA (ends 28/2) -> DN from 1/3/2025, and D2;
  chain CA -> CB (1/3/2025) -> CC (1/7/2025);
  PB's district BD -> commune BC (1/7/2025); BC itself moves from PB to PA on 1/7 (two rows);
  district X ends 30/6/2025 with no successor.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline import marts
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.quality import checks
from tests.conftest import copied_warehouse

UNITS = """unit_code,unit_name,unit_level,parent_code,valid_from,valid_to
PA,Tỉnh A,province,,,
PB,Tỉnh B,province,,,2025-06-30
DA,Sở Cũ,province_department,PA,,2025-02-28
DN,Sở Mới,province_department,PA,2025-03-01,
D2,Sở Hai,province_department,PA,,
CA,Xã A,commune,PA,,2025-02-28
CB,Xã B,commune,PA,2025-03-01,2025-06-30
CC,Xã C,commune,PA,2025-07-01,
X,Huyện X,district,PA,,2025-06-30
BD,Huyện BD,district,PB,,2025-06-30
BC,Xã BC,commune,BD,,2025-06-30
BC,Xã BC,commune,PA,2025-07-01,
"""
CROSSWALK = """old_unit_code,new_unit_code,valid_from,is_primary,note
DA,DN,2025-03-01,1,merged on 1/3
CA,CB,2025-03-01,1,step one
CB,CC,2025-07-01,1,step two
BD,BC,2025-07-01,1,district abolished
BD,CC,2025-07-01,0,part of the area
"""
TARGETS = """unit_code,unit_name,year,metric,target_rate,baseline_rate_prev_year
X,Huyện X,2025,full_process_online_rate,0.5,0.1
DN,Sở Mới,2025,online_payment_rate,0,0
DN,Sở Mới,2025,full_process_online_rate,0.5,0.1
D2,Sở Hai,2025,full_process_online_rate,0.6,0.1
"""
PROCEDURES = """procedure_code,procedure_name,field_code,field_name,service_level,full_process_eligible,fee_bearing
P1,Thủ tục,F1,Lĩnh vực,4,1,1
"""


def case(case_id: str, unit: str, received: str, updated: str, *, status: str = "4", channel: str = "1",
         level: str = "3", **extra: object) -> dict:
    record = {"MaHoSo": case_id, "MaDonVi": unit, "MaTTHC": "P1", "TrangThaiHoSo": status,
              "KenhThucHien": channel, "MucDo": level, "NgayTiepNhan": received, "NgayCapNhat": updated}
    return record | extra


CASES = [
    case("C1", "CA", "20250201080000", "20250201080000"),  # open: CA -> CB -> CC over the year
    # MaDonVi changes in a later version: the day-E boundary is the end of day E
    case("C2", "DN", "20250601080000", "20250614235959"),
    case("C2", "D2", "20250601080000", "20250615000000"),
    # every version later than the early windows' E: the oldest version's unit counts there
    case("C3", "DA", "20250110080000", "20250320080000"),
    case("C3", "D2", "20250110080000", "20250501080000"),
    case("C4", "BC", "20250502080000", "20250502080000"),
    case("C5", "BD", "20250503080000", "20250503080000"),
    case("C6", "X", "20250501080000", "20250501080000", channel="2", level="4"),
    case("C7", "X", "20250501090000", "20250501090000", channel="2", level="4"),
    case("C8", "X", "20250620080000", "20250620080000", level="4"),
    case("C9", "X", "20250705080000", "20250705080000"),  # code used after X ended: expired
    case("C10", "DN", "20250401080000", "20250405080000", status="10", channel="2", level="4",
         NgayKetThucXuLy="20250405080000", DuocThanhToanTrucTuyen="1",
         DanhSachLePhi=[{"TenPhiLePhi": "Phí", "MaPhiLePhi": "F", "Gia": "10000", "LoaiPhiLePhi": "1"}]),
    case("C11", "D2", "20250402080000", "20250403080000", status="10", NgayKetThucXuLy="20250403080000"),
]


def write_seeds(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"units": UNITS, "unit_crosswalk": CROSSWALK, "targets": TARGETS, "procedures": PROCEDURES} | files
    for name, text in texts.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def _build_world(con, folder) -> None:
    path = folder / "cases.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES), encoding="utf-8")
    result = land_file(con, path)
    assert result.records_quarantined == 0, result.reasons_preview
    merge_pending_batches(con)
    marts.refresh_all(con)


@pytest.fixture(scope="session")
def world_seeds(tmp_path_factory) -> Path:
    return write_seeds(tmp_path_factory.mktemp("world") / "seeds")


@pytest.fixture
def world(warehouse_templates, world_seeds, warehouse_path, monkeypatch):
    """The reorganisation year landed and every window refreshed (built once, copied per test)."""
    monkeypatch.setenv("DVC_SEEDS_DIR", str(world_seeds))
    yield from copied_warehouse(warehouse_templates("attribution_world", _build_world), warehouse_path)


def units(con, grain: str, label: str) -> dict[str, dict]:
    cur = con.execute("SELECT * FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ?",
                      [grain, label])
    names = [d[0] for d in cur.description]
    return {r[names.index("unit_code")]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_chain_a_b_c_follows_every_hop_as_of_the_last_day(world):
    assert units(world, "month", "2025-02")["CA"]["new_total"] == 1
    assert units(world, "quarter", "2025-Q1")["CB"]["new_total"] == 1  # E = 14/3: one hop
    q3 = units(world, "quarter", "2025-Q3")
    assert q3["CC"]["carried_over"] == 1 and q3["CC"]["unit_name"] == "Xã C"  # E = 14/9: two hops
    assert not {"CA", "CB"} & set(q3)


def test_window_spanning_1_3_and_1_7_shows_the_units_in_force_on_its_last_day(world):
    year = units(world, "year", "2025")
    assert set(year) == {"CC", "D2", "DN", "BC", "X"}
    assert year["CC"]["new_total"] == 1 and year["BC"]["new_total"] == 2  # BD's case followed it
    assert year["D2"]["new_total"] == 3  # C2, C3 (moved to D2 by the portal) and C11
    # X ended on 30/6 with no successor: its code has no row in force on E
    assert (year["X"]["unit_level"], year["X"]["province_code"], year["X"]["new_total"]) == ("unknown", None, 4)
    assert year["DN"]["province_code"] == "PA" and year["DN"]["unit_level"] == "province_department"


def test_madonvi_change_counts_under_the_unit_recorded_by_the_end_of_day_e(world):
    june, july = units(world, "month", "2025-06"), units(world, "month", "2025-07")
    # v1 at 14/6 23:59:59 is June's (E = 14/6); v2 at 15/6 00:00:00 only from July on
    assert june["DN"]["in_progress_total"] == 1 and june["DN"]["new_total"] == 1  # C2
    assert june["D2"]["in_progress_total"] == 1  # C3 only
    assert july["D2"]["carried_over"] == 2  # C2 and C3
    assert "DN" not in july


def test_all_versions_later_than_e_use_the_oldest_version(world):
    jan = units(world, "month", "2025-01")
    assert jan["DA"]["new_total"] == 1  # C3's versions are from 20/3 and 1/5: oldest = DA
    assert units(world, "month", "2025-03")["DN"]["carried_over"] == 1  # DA, forwarded to DN as of 14/3
    assert units(world, "month", "2025-05")["D2"]["carried_over"] == 1  # C3's 1/5 version (C11 ended in April)


def test_two_provinces_merging_roll_up_under_the_province_of_the_last_day(world):
    def totals(label):
        return {r[0]: r[1:] for r in world.execute(
            "SELECT province_code, units, new_total, carried_over FROM mart.level_period_stats "
            "WHERE period_grain = 'quarter' AND period_label = ? AND unit_level = 'province_total'",
            [label]).fetchall()}

    q2 = totals("2025-Q2")
    assert q2["PB"] == (2, 2, 0)  # BC and BD, each with its new case
    assert set(q2) == {"PA", "PB"}
    q3 = totals("2025-Q3")
    assert set(q3) == {"PA", None}  # X's expired code rolls up on its own
    assert units(world, "quarter", "2025-Q3")["BC"]["carried_over"] == 2
    assert units(world, "quarter", "2025-Q2")["BC"]["province_code"] == "PB"
    assert units(world, "quarter", "2025-Q3")["BC"]["province_code"] == "PA"


def test_carry_over_and_identities_hold_across_the_reorganisation(world):
    assert checks.identity_violations(world).passed
    carry = checks.carry_over_violations(world)
    assert carry.passed, carry.sample
    world.execute("UPDATE mart.unit_period_stats SET carried_over = carried_over + 1 "
                  "WHERE period_grain = 'month' AND period_label = '2025-07' AND unit_code = 'D2'")
    broken = checks.carry_over_violations(world)
    assert {r[2] for r in broken.sample} == {"D2", "*province PA*"}


def test_expired_and_unknown_codes_are_reported_with_case_counts(world):
    assert checks.unit_code_problems(world) == [("X", "expired", 1)]


def target(con, unit, metric, as_of="2025"):
    cur = con.execute("SELECT * FROM mart.target_attainment WHERE year = 2025 AND unit_code = ? AND metric = ? "
                      "AND as_of_period = ?", [unit, metric, as_of])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1
    return dict(zip(names, rows[0], strict=True))


def test_abolished_unit_is_judged_on_its_partial_window(world):
    x = target(world, "X", "full_process_online_rate")
    assert x["partial_window"] is True
    assert (x["window_start"], x["window_end"]) == (date(2024, 12, 15), date(2025, 6, 30))
    assert (x["numerator"], x["denominator"]) == (2, 3) and x["met"] is True
    assert (x["unit_level"], x["province_code"], x["rank_in_level"]) == ("district", "PA", 1)
    # year to date at the end of Q2 (14/6): not cut short yet, C8 (20/6) not in it
    q2 = target(world, "X", "full_process_online_rate", "2025-Q2")
    assert q2["partial_window"] is False and (q2["numerator"], q2["denominator"]) == (2, 2)


def test_zero_target_is_not_applicable(world):
    dn = target(world, "DN", "online_payment_rate")
    assert dn["actual"] == 1.0 and dn["target"] == 0 and dn["applicable"] is False
    assert (dn["gap"], dn["met"], dn["rank_in_level"]) == (None, None, None)


def test_ranks_within_year_metric_province_and_level(world):
    dn, d2 = target(world, "DN", "full_process_online_rate"), target(world, "D2", "full_process_online_rate")
    assert (dn["actual"], dn["rank_in_level"], dn["met"]) == (1.0, 1, True)
    assert (d2["actual"], d2["rank_in_level"], d2["gap"]) == (0.0, 2, pytest.approx(-0.6))
    assert dn["units_in_level"] == 2
    # as of Q2, C2 still counted under DN (recorded there on 14/6)
    assert target(world, "DN", "full_process_online_rate", "2025-Q2")["denominator"] == 2
    labels = {r[0] for r in world.execute("SELECT DISTINCT as_of_period FROM mart.target_attainment").fetchall()}
    assert {"2025", "2025-H1", "2025-Q3", "2025-01", "2025-12"} <= labels
