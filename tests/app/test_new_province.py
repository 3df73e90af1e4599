"""A new province's first day (issue 27): province code H50, seven unit codes that the shipped
lists (seeds/, Quảng Trị's) do not have. The hidden cases are named where the user looks, the
reports say why they are missing, and the drafted lists give the province its workbook."""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path

import duckdb
import pytest

from app.cli import main
from pipeline.config import SEEDS_DIR
from tests.new_province import H50_CODES, H50_UNITS, write_h50_inbox


def _build(path: Path, inbox: Path) -> Path:
    """Land H50's cases and refresh every window with the shipped seeds (no Dagster: fast)."""
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.warehouse import open_warehouse

    source = write_h50_inbox(inbox)
    with pytest.MonkeyPatch.context() as env, open_warehouse(path) as con:
        env.setenv("DVC_SEEDS_DIR", str(SEEDS_DIR))
        land_file(con, source)
        merge_pending_batches(con)
        marts.refresh_all(con)
    return path


@pytest.fixture(scope="module")
def h50(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("h50")
    return _build(root / "w.duckdb", root / "inbox")


@pytest.fixture
def h50_copy(h50, tmp_path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(h50, path)
    return path


def test_missing_units_are_counted_with_their_names(h50):
    from pipeline.reports.unit_gaps import missing_units

    con = duckdb.connect(str(h50), read_only=True)
    try:
        gap = missing_units(con)
        total = con.execute("SELECT count(*) FROM core.cases").fetchone()[0]
    finally:
        con.close()
    assert sorted(code for code, _, _ in gap.codes) == sorted(H50_CODES)
    assert gap.cases == gap.all_cases == total and gap.share == 1.0
    names = {code: name for code, name, _ in gap.codes}
    assert names == {code: name for code, name, _ in H50_UNITS}
    assert [n for _, _, n in gap.codes] == sorted((n for _, _, n in gap.codes), reverse=True)


def test_summary_names_codes_cases_file_setting_and_the_draft(h50, capsys, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(SEEDS_DIR))
    assert main(["summary", "--warehouse", str(h50)]) == 0
    out = capsys.readouterr().out
    assert out.count("have no row in the unit list") == 1
    assert "7 unit code(s) with" in out and "(100.0% of all" in out
    assert str(SEEDS_DIR.resolve() / "units.csv") in out and "DVC_SEEDS_DIR" in out
    assert f"python -m pipeline reference draft --warehouse {h50}" in out
    assert "and 2 more" in out  # five largest by name, the rest counted
    # The empty headline table and the targets say why, not "every unit … met its targets".
    assert "its units are missing from the unit list" in out
    assert "every unit with data met its targets" not in out
    assert "no unit with a target has data in this period" in out


def test_reports_say_which_units_are_missing_not_no_case(h50, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(SEEDS_DIR))
    code = main(["report", "--period", "2025-Q3", "--warehouse", str(h50), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1
    assert "with no case" not in err
    assert "unit code(s) missing from the unit list units.csv" in err
    assert any(c in err for c in H50_CODES)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_known_province_gets_no_warning(tmp_path):
    """Negative: every code in the unit list, no warning; the counts and names of the missing
    ones otherwise."""
    from pipeline.reports.unit_gaps import missing_units, missing_units_lines

    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.units AS SELECT 'A' AS unit_code")
    con.execute("CREATE TABLE core.cases AS SELECT 'A' AS unit_code, 'Sở A' AS unit_name_source")
    gap = missing_units(con)
    assert gap.codes == [] and missing_units_lines(gap, "w.duckdb") == []
    con.execute("INSERT INTO core.cases VALUES ('B', 'Xã B'), ('B', 'Xã B'), ('C', NULL)")
    gap = missing_units(con)
    assert gap.codes == [("B", "Xã B", 2), ("C", None, 1)] and gap.share == 0.75
    lines = missing_units_lines(gap, "w.duckdb", tmp_path)
    assert "2 unit code(s) with 3 cases (75.0% of all 4 cases)" in lines[0]
    assert "C (no name sent) (1 cases)" in lines[1]


def test_draft_holds_every_code_and_gives_the_province_its_workbook(h50_copy, tmp_path, capsys, monkeypatch):
    from pipeline import marts
    from pipeline.ingest.reference import validate_reference
    from pipeline.reports.unit_gaps import missing_units
    from pipeline.warehouse import open_warehouse

    monkeypatch.setenv("DVC_SEEDS_DIR", str(SEEDS_DIR))
    out = tmp_path / "my_seeds"
    assert main(["reference", "draft", "--warehouse", str(h50_copy), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "7 units (7 guessed" in printed and "000.00.00.H50" in printed
    with (out / "units.csv").open(encoding="utf-8") as fh:
        units = {r["unit_code"]: r for r in csv.DictReader(fh)}
    assert set(units) == set(H50_CODES)
    for code, name, level in H50_UNITS:
        assert units[code]["unit_level"] == level, code
        assert units[code]["draft_note"].startswith("DRAFT")
        if level != "province":
            assert units[code]["unit_name"] == name and units[code]["parent_code"] == "000.00.00.H50"
    assert units["000.00.00.H50"]["unit_name"] == "Tỉnh Hòa Bình Mới"
    with (out / "procedures.csv").open(encoding="utf-8") as fh:
        procedures = list(csv.DictReader(fh))
    con = duckdb.connect(str(h50_copy), read_only=True)
    seen = {c for (c,) in con.execute("SELECT DISTINCT procedure_code FROM core.cases").fetchall()}
    con.close()
    assert {p["procedure_code"] for p in procedures} == seen and all(p["procedure_name"] for p in procedures)
    assert (out / "targets.csv").read_text(encoding="utf-8").count("\n") == 1  # header only
    validate_reference(out)
    # A second draft does not overwrite the reviewed one.
    assert main(["reference", "draft", "--warehouse", str(h50_copy), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err

    monkeypatch.setenv("DVC_SEEDS_DIR", str(out))
    with open_warehouse(h50_copy) as con:
        marts.refresh_all(con)
        assert missing_units(con).codes == []
    reports = tmp_path / "reports"
    assert main(["report", "--period", "2025-Q3", "--warehouse", str(h50_copy), "--out", str(reports)]) == 0
    assert (reports / "bieu_II06a_2025-Q3.xlsx").exists() and (reports / "dashboard_2025-Q3.html").exists()
    assert main(["summary", "--warehouse", str(h50_copy)]) == 0
    out_text = capsys.readouterr().out
    assert "have no row in the unit list" not in out_text
    assert "province_total             7" in out_text


def test_draft_guesses_levels_from_code_and_name():
    from pipeline.ingest.reference_draft import guess_unit, level_from_name

    seen = {"000.00.31.H60", "000.31.02.H60"}
    assert guess_unit("000.00.00.H60", "UBND tỉnh X", seen)[:2] == ("province", None)
    assert guess_unit("000.00.31.H60", "UBND Huyện Cam Lộ", seen)[:2] == ("district", "000.00.00.H60")
    assert guess_unit("000.00.05.H60", "Sở Công Thương", seen)[:2] == ("province_department", "000.00.00.H60")
    assert guess_unit("000.31.02.H60", "Xã Cam Thành", seen)[:2] == ("commune", "000.00.31.H60")
    assert guess_unit("000.40.02.H60", "Phường 5", seen)[:2] == ("commune", "000.00.00.H60")
    level, parent, note = guess_unit("XYZ", "Trung tâm gì đó", seen)
    assert (level, parent) == ("province_department", None) and "parent unknown" in note
    assert level_from_name("Văn phòng đăng ký đất đai") == "province_department"
    assert level_from_name("Nhóm không rõ") is None


def test_the_run_log_says_a_line_once():
    """The command line's Dagster logger drops a line it already printed in the run (the
    workbook's and the dashboard's asset skip the same quarter with the same reason)."""
    from assets.loggers import RUN_LOGGER, _Forward

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    target = logging.getLogger(RUN_LOGGER)
    keep = Keep()
    target.addHandler(keep)
    previous = target.level
    target.setLevel(logging.INFO)
    try:
        forward = _Forward()
        for text in ("2025-Q1: skipped, x", "2025-Q1: skipped, x", "2025-Q2: skipped, x"):
            forward.emit(logging.LogRecord("d", logging.INFO, "", 0, text, None, None))
    finally:
        target.removeHandler(keep)
        target.setLevel(previous)
    assert records == ["2025-Q1: skipped, x", "2025-Q2: skipped, x"]


@pytest.mark.slow
def test_run_names_the_missing_units_once_and_skips_each_report_once(tmp_path, capsys, monkeypatch):
    """The whole `run` (Dagster jobs) on H50's files with the shipped lists."""
    monkeypatch.setenv("DVC_SEEDS_DIR", str(SEEDS_DIR))
    inbox = tmp_path / "inbox"
    write_h50_inbox(inbox, n_versions=1500)
    assert main(["run", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb")]) == 0
    captured = capsys.readouterr()
    out, err = captured.out, captured.err
    assert out.count("have no row in the unit list") == 1 and "7 unit code(s) with" in out
    assert "DVC_SEEDS_DIR" in out and "reference draft" in out
    skipped = [line.split(" ", 1)[1] for line in err.splitlines() if ": skipped, no report for" in line]
    assert skipped and len(skipped) == len(set(skipped))  # the workbook's and the dashboard's asset: once
    assert any("missing from the unit list" in line for line in skipped)
    assert not any("with no case" in line for line in skipped)
