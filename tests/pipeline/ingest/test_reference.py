"""Reference data (docs/definitions.md §4.1): validation errors name file, row and problem; the derived
unit calendar (province as of a day) and crosswalk resolution (chains as of a day)."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.ingest import reference
from pipeline.ingest.reference import ReferenceDataError, validate_reference
from tests.pipeline.marts.test_attribution import CROSSWALK, TARGETS, UNITS, write_seeds


def test_valid_seeds_of_the_repo_load(con):
    ref = reference.load_reference(con)  # seeds/ of the repository, with the Quảng Bình merger
    assert con.execute("SELECT count(*) FROM core.procedures WHERE full_process_eligible").fetchone()[0] > 0
    phu = {(r.from_day, r.province_code) for r in ref.calendar if r.unit_code == "000.42.05.H44"}
    assert phu == {(reference.FIRST_DAY, "000.00.00.H44"), (date(2025, 7, 1), "000.00.00.H48")}


def test_province_as_of_a_day_follows_the_rows_in_force(tmp_path):
    ref = validate_reference(write_seeds(tmp_path))
    bc = sorted((r.from_day, r.to_day, r.parent_code, r.province_code) for r in ref.calendar if r.unit_code == "BC")
    assert bc == [(reference.FIRST_DAY, date(2025, 6, 30), "BD", "PB"), (date(2025, 7, 1), reference.LAST_DAY, "PA", "PA")]
    assert {r.province_code for r in ref.calendar if r.unit_code == "PA"} == {"PA"}  # a province is its own


def test_chain_a_b_c_resolves_per_span_of_days(tmp_path):
    ref = validate_reference(write_seeds(tmp_path))
    ca = sorted((r.from_day, r.to_day, r.resolved_code) for r in ref.resolution if r.unit_code == "CA")
    assert ca == [(date(2025, 3, 1), date(2025, 6, 30), "CB"), (date(2025, 7, 1), reference.LAST_DAY, "CC")]
    assert not [r for r in ref.resolution if r.unit_code == "BD" and r.resolved_code == "CC"]  # non-primary


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"units": UNITS + "D2,Sở Hai bis,province_department,PA,2025-01-01,\n"},
         "units.csv rows 6 and 14: overlapping validity for unit D2"),
        ({"units": UNITS.replace("DN,Sở Mới,province_department,PA,2025-03-01,", "DN,Sở Mới,province_department,PA,01/03/2025,")},
         "units.csv row 5: unparseable date in valid_from: '01/03/2025'"),
        ({"unit_crosswalk": CROSSWALK + "CC,CA,2025-08-01,1,back again\n"},
         "crosswalk cycle CA -> CB -> CC -> CA"),
        ({"unit_crosswalk": CROSSWALK + "D2,ZZ,2025-08-01,1,to nowhere\n"},
         "unit_crosswalk.csv row 7: primary successor ZZ of D2 is missing from units.csv"),
        ({"unit_crosswalk": CROSSWALK.replace("2025-07-01,1,step two", "2025-13-01,1,step two")},
         "unit_crosswalk.csv row 4: unparseable date in valid_from: '2025-13-01'"),
        ({"targets": TARGETS + "D2,Sở Hai,2025,online_payments,0.5,\n"},
         "targets.csv row 6: metric 'online_payments' is not a rate column"),
        ({"targets": TARGETS + "CA,Xã A,2026,on_time_rate,0.99,\n"},
         "targets.csv row 6: unit CA is in force on no day of the 2026 window (2025-12-15..2026-12-14)"),
    ],
)
def test_reference_errors_name_file_row_and_problem(tmp_path, files, message):
    with pytest.raises(ReferenceDataError) as err:
        validate_reference(write_seeds(tmp_path, **files))
    assert message in str(err.value)


def test_eligible_rate_of_the_drill_down_is_a_valid_target_metric(tmp_path):
    ref = validate_reference(write_seeds(tmp_path, targets=TARGETS + "D2,Sở Hai,2025,full_process_online_eligible_rate,0.95,\n"))
    assert ref.targets[-1].metric == "full_process_online_eligible_rate"


def test_a_cycle_stops_the_mart_refresh(con, tmp_path, monkeypatch):
    from pipeline import marts

    monkeypatch.setenv("DVC_SEEDS_DIR", str(write_seeds(tmp_path, unit_crosswalk=CROSSWALK + "CB,CA,2025-08-01,1,\n")))
    with pytest.raises(ReferenceDataError, match="CA -> CB -> CA|CB -> CA -> CB"):
        marts.refresh(con, [])
