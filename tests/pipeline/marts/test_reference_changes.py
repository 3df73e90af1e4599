"""A change of the reference lists alone is an input like new cases (reliability issue, item 1):
the next refresh recomputes exactly the windows it moves, and the marts then equal a clean build
on the new lists; unchanged lists leave nothing pending."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline import marts, periods
from pipeline.cycle import issue
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.marts import reference_state
from pipeline.marts.reference_state import ReferenceChange, affected_quarters, diff
from pipeline.reports.issue_files import write_issue_files
from pipeline.warehouse import open_warehouse
from tests.pipeline.marts.test_attribution import CASES, CROSSWALK, TARGETS, UNITS, write_seeds

MART_TABLES = (marts.UNIT_TABLE, marts.LEVEL_TABLE, marts.TARGET_TABLE, *marts.DRILL_TABLES, marts.LATE_TABLE)


def _land(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    path = folder / "cases.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES), encoding="utf-8")
    land_file(con, path)
    merge_pending_batches(con)


def _refresh_pending(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a run does: refresh every window of the pending quarters."""
    quarters = marts.pending_quarters(con)
    if quarters:
        marts.refresh(con, periods.windows_of_quarters(quarters))
    return [q.label for q in quarters]


def _differences(con: duckdb.DuckDBPyConnection, oracle: Path) -> dict[str, int]:
    con.execute(f"ATTACH '{oracle}' AS oracle (READ_ONLY)")
    try:
        return {t: n for t in MART_TABLES if (n := con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {t} EXCEPT ALL SELECT * FROM oracle.{t})) "
            f"+ (SELECT count(*) FROM (SELECT * FROM oracle.{t} EXCEPT ALL SELECT * FROM {t}))"
        ).fetchone()[0])}
    finally:
        con.execute("DETACH oracle")


def _oracle(tmp_path: Path, name: str) -> Path:
    """A clean build of the same cases on the lists of now."""
    path = tmp_path / f"{name}.duckdb"
    with open_warehouse(path) as con:
        _land(con, tmp_path)
        assert _refresh_pending(con)
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Built once: the cases on the lists of test_attribution, 2025-Q3 issued."""
    folder = tmp_path_factory.mktemp("reference_base")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DVC_SEEDS_DIR", str(write_seeds(folder / "seeds")))
        with open_warehouse(folder / "w.duckdb") as con:
            _land(con, folder)
            assert _refresh_pending(con) == ["2025-Q1", "2025-Q2", "2025-Q3"]
            # The attribution fixture's cases stop before 2025-Q3 ends: issued as incomplete, on purpose.
            outcome = issue.issue_period(con, periods.parse_label("2025-Q3"), write_files=write_issue_files,
                                         as_of=date(2025, 10, 1), out_dir=folder / "issued", confirm_incomplete=True)
            assert outcome.action == "issued" and issue.refresh_restatements(con) == 0
    return folder / "w.duckdb"


@pytest.fixture
def built(base, tmp_path, monkeypatch):
    seeds = write_seeds(tmp_path / "seeds")
    monkeypatch.setenv("DVC_SEEDS_DIR", str(seeds))
    shutil.copy(base, tmp_path / "w.duckdb")
    with open_warehouse(tmp_path / "w.duckdb") as con:
        yield con, seeds


def test_unchanged_lists_leave_nothing_pending(built):
    con, seeds = built
    assert marts.pending_quarters(con) == []
    assert not marts.reference_pending(con)[0].changed
    (seeds / "units.csv").write_text(UNITS, encoding="utf-8")  # rewritten, same content
    assert marts.pending_quarters(con) == []


def test_a_re_pointed_crosswalk_row_re_attributes_every_affected_window_and_restates_issues(built, tmp_path):
    con, seeds = built
    write_seeds(seeds, unit_crosswalk=CROSSWALK.replace("CB,CC,2025-07-01,1", "CB,D2,2025-07-01,1"))
    change, quarters = marts.reference_pending(con)
    assert change.lists == ("unit_crosswalk.csv",) and not change.everything
    assert change.days == ((date(2025, 7, 1), date(9999, 12, 31)),)
    # Q3 shows the new attribution; Q1 and Q2 hold the year and the half windows ending later.
    assert [q.label for q in quarters] == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert _refresh_pending(con) == ["2025-Q1", "2025-Q2", "2025-Q3"]
    q3 = dict(con.execute(
        "SELECT unit_code, carried_over FROM mart.unit_period_stats WHERE period_label = '2025-Q3'").fetchall())
    assert q3["D2"] >= 1 and "CC" not in q3
    assert _differences(con, _oracle(tmp_path, "oracle")) == {}
    assert marts.pending_quarters(con) == []  # applied: the next run is up to date
    # The issued 2025-Q3 records the move as restatements, never silently.
    issue.refresh_restatements(con)
    assert {m.period_label for m in issue.moved_periods(con)} == {"2025-Q3"}


def test_a_rename_and_a_new_target_reach_every_mart_row_that_shows_them(built):
    con, seeds = built
    write_seeds(seeds, units=UNITS.replace("D2,Sở Hai,", "D2,Sở Hai Đổi Tên,"),
                targets=TARGETS.replace("D2,Sở Hai,2025,full_process_online_rate,0.6",
                                        "D2,Sở Hai,2025,full_process_online_rate,0.85"))
    change = marts.reference_pending(con)[0]
    assert change.lists == ("units.csv", "targets.csv") and change.target_years == {2025}
    before = con.execute("SELECT count(*) FROM mart.unit_period_stats").fetchone()[0]
    _refresh_pending(con)
    names = {r[0] for t in (marts.UNIT_TABLE, marts.TARGET_TABLE)
             for r in con.execute(f"SELECT DISTINCT unit_name FROM {t} WHERE unit_code = 'D2'").fetchall()}
    assert names == {"Sở Hai Đổi Tên"}
    targets = {r[0] for r in con.execute(
        "SELECT DISTINCT target FROM mart.target_attainment WHERE unit_code = 'D2'").fetchall()}
    assert targets == {0.85}
    assert con.execute("SELECT count(*) FROM mart.unit_period_stats").fetchone()[0] == before
    assert marts.pending_quarters(con) == []


# ---------------------------------------------------------------------------------------
# Which quarters a change moves (pure)
# ---------------------------------------------------------------------------------------
def _quarters(*labels: str) -> list[periods.Period]:
    return [periods.parse_label(label) for label in labels]


def test_a_change_after_the_data_moves_no_window_but_still_republishes_the_latest_quarter(tmp_path):
    old = reference_state.snapshot(write_seeds(tmp_path / "a"))
    later = UNITS + "Z,Xã Tương Lai,commune,PA,2027-01-01,\n"
    change = diff(old, reference_state.snapshot(write_seeds(tmp_path / "b", units=later)))
    assert change.days == ((date(2027, 1, 1), date(9999, 12, 31)),) and not change.target_years
    data = _quarters("2024-Q3", "2024-Q4")
    assert affected_quarters(change, data) == [data[-1]]


def test_a_target_change_moves_its_years_quarters_only(tmp_path):
    old = reference_state.snapshot(write_seeds(tmp_path / "a"))
    targets = (tmp_path / "a" / "targets.csv").read_text(encoding="utf-8").replace(",0.6,", ",0.7,")
    change = diff(old, reference_state.snapshot(write_seeds(tmp_path / "b", targets=targets)))
    assert change.lists == ("targets.csv",) and change.target_years == {2025} and not change.days
    data = _quarters("2024-Q3", "2024-Q4", "2025-Q1", "2025-Q4")
    assert [q.label for q in affected_quarters(change, data)] == ["2025-Q1", "2025-Q4"]


def test_procedures_or_no_record_move_every_quarter_with_data(tmp_path):
    old = reference_state.snapshot(write_seeds(tmp_path / "a"))
    procedures = "procedure_code,procedure_name,field_code,field_name,service_level,full_process_eligible,fee_bearing\n" \
                 "P1,Thủ tục,F1,Lĩnh vực,4,0,1\n"
    change = diff(old, reference_state.snapshot(write_seeds(tmp_path / "b", procedures=procedures)))
    data = _quarters("2024-Q3", "2024-Q4")
    assert change.everything and affected_quarters(change, data) == data
    assert diff(None, old).everything
    assert affected_quarters(diff(old, old), data) == [] and diff(old, old) == ReferenceChange()
