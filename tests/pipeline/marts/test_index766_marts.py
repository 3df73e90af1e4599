"""mart.index766_cases and mart.index766_scores (docs/definitions.md §7) on a small hand-made province,
every expected figure worked out by hand from §7.

Province PA: department D1; communes C1 and CM (case K13 moves from C1 to CM in a version of
5/8/2026); commune CO is merged into CN on 1/8/2026 (primary crosswalk). Procedures P1, P2 fee
bearing, P3 not. Calendar July 2026: s = 1/7 00:00:00, e = 31/7 23:59:59.
"""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline import config, index766, marts
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.ingest.reference import read_index766
from pipeline.quality import checks

UNITS = """unit_code,unit_name,unit_level,parent_code,valid_from,valid_to
PA,Tỉnh A,province,,,
D1,Sở Một,province_department,PA,,
D2,Sở Hai,province_department,PA,,
C1,Xã Một,commune,PA,,
CM,Xã Mới,commune,PA,,
CO,Xã Cũ,commune,PA,,2026-07-31
CN,Xã Nhập,commune,PA,2026-08-01,
"""
CROSSWALK = """old_unit_code,new_unit_code,valid_from,is_primary,note
CO,CN,2026-08-01,1,merged
"""
TARGETS = "unit_code,unit_name,year,metric,target_rate,baseline_rate_prev_year\n"
PROCEDURES = """procedure_code,procedure_name,field_code,field_name,service_level,full_process_eligible,fee_bearing
P1,Thủ tục một,F1,Lĩnh vực,4,1,1
P2,Thủ tục hai,F1,Lĩnh vực,4,1,1
P3,Thủ tục ba,F1,Lĩnh vực,3,0,0
"""


def fee(*amounts: str) -> list[dict]:
    return [{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP", "Gia": a, "LoaiPhiLePhi": "1"} for a in amounts]


def request(when: str) -> dict:
    return {"NgayYeuCau": when, "NgayHenTraTruoc": "", "NgayHenTraMoi": ""}


def case(case_id: str, unit: str, procedure: str, received: str, *, status: str = "4",
         updated: str | None = None, **extra: object) -> dict:
    return {"MaHoSo": case_id, "MaDonVi": unit, "MaTTHC": procedure, "TrangThaiHoSo": status,
            "NgayTiepNhan": received, "NgayCapNhat": updated or received} | extra


CASES = [
    # first instant of July; ended exactly at the due instant: on time; paid on the portal
    case("K1", "D1", "P1", "20260701000000", status="10", NgayKetThucXuLy="20260710100000",
         NgayHenTra="20260710100000", DuocThanhToanTrucTuyen="1", DanhSachLePhi=fee("10000"),
         DanhSachGiayToKetQua=[{"TenGiayTo": "KQ", "MaGiayToKetQua": "1", "DuongDanTepTinKetQua": "https://kq/1"}],
         HoSoCoThanhPhanSoHoa="1", TaiKhoanDuocXacThucVoiVNeID="1", MucDoHaiLong="1"),
    # last instant of July; open, due date = the last day (instant before e): on time;
    # every fee line is 0: not in 3.6 although marked paid
    case("K2", "D1", "P1", "20260731235959", NgayHenTra="20260731080000",
         DuocThanhToanTrucTuyen="1", DanhSachLePhi=fee("0", "0")),
    case("K3", "D1", "P1", "20260630235959"),  # June
    case("K4", "D1", "P1", "20260801000000", status="2"),  # August, no due: on time
    # one second late on the due day: late for the index (§2 would say on time)
    case("K5", "D1", "P2", "20260705080000", status="9", NgayKetThucXuLy="20260710100001",
         NgayHenTra="20260710100000", DuocThanhToanTrucTuyen="0", DanhSachLePhi=fee("5000"), MucDoHaiLong="3"),
    # withdrawn after its due instant: late (no exception for withdrawn cases)
    case("K6", "D1", "P2", "20260706080000", status="7", NgayTuChoi="20260720080000", NgayHenTra="20260715170000"),
    # waiting for supplements: one request before the due instant: on time
    case("K7", "D1", "P3", "20260707080000", status="5", NgayHenTra="20260720170000",
         DanhSachHoSoBoSung=[request("20260715080000")], HoSoCoThanhPhanSoHoa="1"),
    case("K8", "D1", "P3", "20260707090000", status="5", NgayHenTra="20260720170000",
         DanhSachHoSoBoSung=[request("21/07/2026 08:00:00")]),  # requested after the due instant: late
    case("K9", "D1", "P3", "20260707100000", status="5", NgayHenTra="20261220170000",
         DanhSachHoSoBoSung=[request("20260708080000"), request("20260710080000")]),  # two requests: late
    # waiting, no request, due long past: on time; rated dissatisfied: not in 5.4
    case("K10", "D1", "P1", "20260708080000", status="5", NgayHenTra="20260702170000", MucDoHaiLong="3"),
    case("K11", "D1", "P1", "20260708090000", NgayHenTra="20260730170000"),  # open, due before the last day: late
    # resolved in August (after July's e) before its due: July judges it as open (due date 10/8 >= 31/7)
    case("K12", "D1", "P1", "20260725080000", status="10", NgayKetThucXuLy="20260805080000",
         NgayHenTra="20260810170000",
         DanhSachGiayToKetQua=[{"TenGiayTo": "KQ", "MaGiayToKetQua": "2", "DuongDanTepTinKetQua": "https://kq/2"}]),
    # a zero line beside a paid one: still counted; not paid online
    case("K16", "D1", "P1", "20260703080000", status="10", NgayKetThucXuLy="20260704080000",
         DuocThanhToanTrucTuyen="0", DanhSachLePhi=fee("0", "20000")),
    case("K20", "D2", "P1", "20260810080000", NgayHenTra="20260820170000"),  # August: open, due passed: late
    case("K15", "D1", "P1", "", status="3", NgayNopHoSo="20260710080000", updated="20260710080000"),  # not received
    # moves from C1 to CM on 5/8: July (E = 31/7) under C1, Q3 under CM
    case("K13", "C1", "P3", "20260720080000", updated="20260720080000"),
    case("K13", "CM", "P3", "20260720080000", updated="20260805080000"),
    # CO merged into CN on 1/8: July under CO, Q3 under CN; paid online through a gateway
    case("K14", "CO", "P1", "20260712080000", status="10", NgayKetThucXuLy="20260713080000",
         DuocThanhToanTrucTuyen="2", DanhSachLePhi=fee("30000")),
]


def write_seeds(folder, index_text: str | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("units", UNITS), ("unit_crosswalk", CROSSWALK), ("targets", TARGETS),
                       ("procedures", PROCEDURES)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    if index_text is not None:
        (folder / "index766.csv").write_text(index_text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from pipeline.warehouse import open_warehouse

    root = tmp_path_factory.mktemp("index766")
    with pytest.MonkeyPatch.context() as env, open_warehouse(root / "w.duckdb") as con:
        env.setenv("DVC_SEEDS_DIR", str(write_seeds(root / "seeds")))  # no index766.csv: the project's
        path = root / "cases.jsonl"
        path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES), encoding="utf-8")
        result = land_file(con, path)
        assert result.records_quarantined == 0, result.reasons_preview
        merge_pending_batches(con)
        refreshed = marts.refresh_all(con)
        yield con, refreshed, root


def scores(con, label: str) -> dict[tuple, dict]:
    cur = con.execute("SELECT * FROM mart.index766_scores WHERE period_label = ?", [label])
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {(r["unit_level"] == "province_total", r["unit_code"], r["indicator"]): r for r in rows}


def nd(rows: dict, key: tuple) -> tuple:
    return rows[key]["numerator"], rows[key]["denominator"]


def test_july_department_counts_and_scores_by_hand(world):
    con, _, _ = world
    july = scores(con, "cal-2026-07")
    d1 = {i: july[(False, "D1", i)] for i in index766.COMPUTED_INDICATORS}
    # R = K1 K2 K5 K6 K7 K8 K9 K10 K11 K12 K16 (K3 June, K4 August, K15 not received)
    assert d1["2.1"]["denominator"] == 11
    assert d1["2.1"]["numerator"] == 6  # K1 K2 K7 K10 K12 K16
    assert d1["2.1"]["score"] == pytest.approx(20 * 6 / 11)
    assert nd(july, (False, "D1", "3.6")) == (1, 7)  # K1 of K1 K5 K6 K10 K11 K12 K16 (K2 zero fees, P3 no fee)
    assert d1["3.6"]["score"] == pytest.approx(6 / 7)
    assert nd(july, (False, "D1", "3.5b")) == (1, 2)  # P1 of P1, P2
    assert d1["3.5b"]["score"] == pytest.approx(2 * 0.5 / 0.8)
    assert nd(july, (False, "D1", "4.1")) == (1, 11)  # K1 (K12 ended in August)
    assert nd(july, (False, "D1", "4.3")) == (2, 11)
    assert d1["4.3"]["score"] == pytest.approx(2 * (2 / 11) / 0.8)
    assert nd(july, (False, "D1", "4.5b")) == (1, 11)
    assert nd(july, (False, "D1", "5.4")) == (5, 11)  # on time less K10 (dissatisfied)
    assert d1["5.4"]["score"] == pytest.approx(6 * (5 / 11) / 0.9)
    assert d1["4.1"]["ratio"] == pytest.approx(1 / 11) and d1["2.1"]["unit_name"] == "Sở Một"


def test_july_flags_of_the_edge_cases(world):
    con, _, _ = world
    flags = {r[0]: r[1:] for r in con.execute(
        "SELECT case_id, unit_code, on_time, payment_counted, paid_online, electronic_result, dissatisfied "
        "FROM mart.index766_cases WHERE period_label = 'cal-2026-07'").fetchall()}
    assert set(flags) == {"K1", "K2", "K5", "K6", "K7", "K8", "K9", "K10", "K11", "K12", "K16", "K13", "K14"}
    assert flags["K2"] == ("D1", True, False, False, False, False)
    assert flags["K5"][1] is False and flags["K6"][1] is False and flags["K8"][1] is False
    assert flags["K12"] == ("D1", True, True, False, False, False)
    assert flags["K13"][0] == "C1" and flags["K14"][0] == "CO"


def test_units_moving_between_periods_count_where_they_are_on_the_last_day(world):
    con, _, _ = world
    july, q3 = scores(con, "cal-2026-07"), scores(con, "cal-2026-Q3")
    assert nd(july, (False, "C1", "2.1")) == (1, 1) and (False, "CM", "2.1") not in july
    assert nd(q3, (False, "CM", "2.1")) == (1, 1) and (False, "C1", "2.1") not in q3
    assert nd(july, (False, "CO", "3.6")) == (1, 1) and (False, "CN", "3.6") not in july
    assert nd(q3, (False, "CN", "3.6")) == (1, 1) and (False, "CO", "3.6") not in q3
    assert (False, "CM", "2.1") not in scores(con, "cal-2026-08")  # received in July: not in August's R
    # C1 has no fee-bearing case: 3.6 and 3.5b score their zero-denominator 0, never NULL
    assert nd(july, (False, "C1", "3.6")) == (0, 0)
    assert july[(False, "C1", "3.6")]["ratio"] is None and july[(False, "C1", "3.6")]["score"] == 0
    assert july[(False, "C1", "5.4")]["score"] == pytest.approx(6)


def test_province_pools_counts_and_counts_procedures_distinct_over_the_province(world):
    con, _, _ = world
    july = scores(con, "cal-2026-07")
    pa = {i: july[(True, "PA", i)] for i in index766.COMPUTED_INDICATORS}
    assert pa["2.1"]["unit_name"] == "Tỉnh A" and pa["2.1"]["province_code"] == "PA"
    assert nd(july, (True, "PA", "2.1")) == (8, 13)
    assert pa["2.1"]["score"] == pytest.approx(20 * 8 / 13)
    assert nd(july, (True, "PA", "3.6")) == (2, 8)
    # distinct over the province: num {P1}, den {P1, P2}; the sum of the units' would be 2/3
    assert nd(july, (True, "PA", "3.5b")) == (1, 2)
    assert pa["3.5b"]["score"] == pytest.approx(1.25)
    assert nd(july, (True, "PA", "5.4")) == (7, 13)
    assert pa["5.4"]["score"] == pytest.approx(6 * (7 / 13) / 0.9)


def test_quarter_judges_at_its_own_end(world):
    con, _, _ = world
    q3 = scores(con, "cal-2026-Q3")
    # R of D1 adds K4; K2 (open, due 31/7) is late at 30/9; K12 is resolved by then with a result
    assert nd(q3, (False, "D1", "2.1")) == (6, 12)  # K1 K4 K7 K10 K12 K16
    assert nd(q3, (False, "D1", "4.1")) == (2, 12)


def test_scores_are_the_python_rule_over_the_list_and_flags_add_up(world):
    con, refreshed, _ = world
    rules = read_index766(config.SEEDS_DIR / "index766.csv")
    rows = con.execute("SELECT indicator, numerator, denominator, score, max_points FROM mart.index766_scores").fetchall()
    assert len(rows) == refreshed.index766_score_rows > 0
    for indicator, num, den, points, max_points in rows:
        expected = index766.score(num, den, rules[indicator])
        assert (points is None) == (expected is None)
        assert points is None or points == pytest.approx(expected)
        assert max_points == rules[indicator].max_points
    assert checks.index766_add_up_violations(con).passed
    assert {g for (g,) in con.execute("SELECT DISTINCT period_grain FROM mart.index766_scores").fetchall()} == {
        "cal_month", "cal_quarter", "cal_year"}


def test_the_readme_sql_examples_run_verbatim(world):
    import re

    text = (config.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- index766-example -->\s*```sql\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 3
    con, _, _ = world
    province, units, late = (con.execute(sql).fetchall() for sql in blocks)
    assert [r[0] for r in province] == sorted(index766.COMPUTED_INDICATORS)
    assert province[0][2:4] == (1, 2)  # August: K4 on time, K20 late
    assert [(r[0], r[1], r[4]) for r in units] == [("province_department", "D1", 1), ("province_department", "D2", 2)]
    assert [(r[0], r[1]) for r in late] == [("D2", "K20")]


def test_the_add_up_check_fails_when_a_flag_disagrees(world):
    con, _, _ = world
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("UPDATE mart.index766_cases SET paid_online = TRUE WHERE case_id = 'K16' AND period_label = 'cal-2026-07'")
        outcome = checks.index766_add_up_violations(con)
    finally:
        con.execute("ROLLBACK")
    assert not outcome.passed
    assert {(r[1], r[2], r[3]) for r in outcome.sample} >= {("cal-2026-07", "D1", "3.6"), ("cal-2026-07", "PA", "3.6")}


def test_a_changed_maximum_in_the_list_changes_the_mart_and_nothing_else(world, monkeypatch):
    con, _, root = world
    before = con.execute("SELECT unit_code, indicator, score FROM mart.index766_scores "
                         "WHERE period_label = 'cal-2026-07' ORDER BY ALL").fetchall()
    text = (config.SEEDS_DIR / "index766.csv").read_text(encoding="utf-8")
    seeds = root / "seeds_changed"
    shutil.copytree(root / "seeds", seeds)
    (seeds / "index766.csv").write_text(text.replace("Tiến độ,20,1,0", "Tiến độ,25,1,0"), encoding="utf-8")
    monkeypatch.setenv("DVC_SEEDS_DIR", str(seeds))
    july = [w for w in marts.windows_for_days(*marts.data_day_range(con)) if w.label == "cal-2026-07"]
    try:
        marts.refresh_index766(con, july)
        after = con.execute("SELECT unit_code, indicator, score FROM mart.index766_scores "
                            "WHERE period_label = 'cal-2026-07' ORDER BY ALL").fetchall()
    finally:
        monkeypatch.setenv("DVC_SEEDS_DIR", str(root / "seeds"))
        marts.refresh_index766(con, july)
    changed = {(u, i): (a[2], b[2]) for a, b in zip(before, after, strict=True) for u, i in [a[:2]] if a != b}
    assert changed and all(i == "2.1" for _, i in changed)
    assert all(new == pytest.approx(old * 25 / 20) for old, new in changed.values())
    restored = con.execute("SELECT unit_code, indicator, score FROM mart.index766_scores "
                           "WHERE period_label = 'cal-2026-07' ORDER BY ALL").fetchall()
    assert restored == before  # unchanged input: the same rows again
