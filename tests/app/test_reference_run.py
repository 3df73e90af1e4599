"""`run` with no new data after the reference lists changed (reliability issue, item 1): the
marts, the analyst copy, Parquet and the reports show the new name and target; the sensor asks
for the same refresh; unchanged lists stay "up to date"."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest
from openpyxl import load_workbook

from app.cli import main
from assets.sensors import marts_run_request
from pipeline.publish.analyst_copy import analytics_path, parquet_path

NEW_NAME = "Sở Đổi Tên Thử Nghiệm"


@pytest.mark.slow
def test_a_rename_and_a_new_target_alone_reach_every_output(tmp_path, fixtures, monkeypatch, capsys):
    seeds = tmp_path / "seeds"
    shutil.copytree(fixtures / "seeds", seeds)
    monkeypatch.setenv("DVC_SEEDS_DIR", str(seeds))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "metrics_cases.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"
    argv = ["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]
    assert main(argv) == 0
    assert isinstance(marts_run_request(str(warehouse)), dg.SkipReason)  # nothing changed

    units = (seeds / "units.csv").read_text(encoding="utf-8")
    (seeds / "units.csv").write_text(units.replace("U1,Sở Thử Nghiệm,", f"U1,{NEW_NAME},"), encoding="utf-8")
    targets = (seeds / "targets.csv").read_text(encoding="utf-8")
    (seeds / "targets.csv").write_text(
        targets.replace("2025,full_process_online_rate,0.60", "2025,full_process_online_rate,0.85"), encoding="utf-8")
    request = marts_run_request(str(warehouse), trigger="reference_lists")  # the sensors' path
    assert isinstance(request, dg.RunRequest)
    assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"],
            request.tags["trigger"]) == ("2025-Q1", "2025-Q2", "reference_lists")

    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "marts are up to date" not in err
    assert "reference lists changed since the marts were built (units.csv, targets.csv)" in err

    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    try:
        names = {r[0] for t in ("unit_period_stats", "target_attainment")
                 for r in con.execute(f"SELECT DISTINCT unit_name FROM mart.{t} WHERE unit_code = 'U1'").fetchall()}
        assert names == {NEW_NAME}
        assert con.execute("SELECT DISTINCT target FROM mart.target_attainment WHERE unit_code = 'U1' "
                           "AND metric = 'full_process_online_rate'").fetchall() == [(0.85,)]
        folder = parquet_path(warehouse)
        assert con.execute(
            f"SELECT DISTINCT target FROM '{folder}/mart.target_attainment.parquet' "
            "WHERE unit_code = 'U1' AND metric = 'full_process_online_rate'").fetchall() == [(0.85,)]
    finally:
        con.close()
    book = load_workbook(warehouse.parent / "reports" / "bieu_II06a_2025-Q1.xlsx")
    cells = {str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None}
    assert any(NEW_NAME in c for c in cells) and not any("Sở Thử Nghiệm" in c for c in cells)

    capsys.readouterr()
    assert main(argv) == 0  # applied: unchanged lists trigger nothing
    assert "marts are up to date: no core or reference-list changes" in capsys.readouterr().err
    assert isinstance(marts_run_request(str(warehouse)), dg.SkipReason)
