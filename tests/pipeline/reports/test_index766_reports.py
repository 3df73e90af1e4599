"""The Decision 766 index for people: the «Chỉ số 766» sheet, the dashboard section and the
summary line, on the hand-made province of tests/pipeline/marts/test_index766_marts.py
(figures worked out by hand from docs/definitions.md §7)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from pipeline import marts, periods
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.reports.dashboard import render_dashboard
from pipeline.reports.index766 import index_window, read_index, summary_lines
from pipeline.reports.model import build_report
from pipeline.reports.xlsx import write_quarter_report
from tests.pipeline.marts.test_index766_marts import CASES, write_seeds


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from pipeline.warehouse import open_warehouse

    root = tmp_path_factory.mktemp("index766-reports")
    with pytest.MonkeyPatch.context() as env, open_warehouse(root / "w.duckdb") as con:
        env.setenv("DVC_SEEDS_DIR", str(write_seeds(root / "seeds")))
        env.setenv("DVC_PROVINCE_CODE", "PA")
        path = root / "cases.jsonl"
        path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES), encoding="utf-8")
        land_file(con, path)
        merge_pending_batches(con)
        marts.refresh_all(con)
        yield con, root


JULY = periods.parse_label("cal-2026-07")
# D1 in July (by hand): 2.1 6/11, 3.6 1/7, 3.5b 1/2 (knee 0.8), 4.1 1/11, 4.3 2/11 (knee 0.8), 4.5b 1/11, 5.4 5/11 (knee 0.9)
D1_JULY = 20 * 6 / 11 + 6 / 7 + 2 * 0.5 / 0.8 + 6 / 11 + 2 * (2 / 11) / 0.8 + 2 / 11 + 6 * (5 / 11) / 0.9
D1_JUNE = 20 + 0 + 0 + 0 + 0 + 0 + 6  # K3 alone: on time, fee-bearing but not paid


def test_units_total_rank_and_change_from_the_previous_month(world):
    con, _ = world
    view = read_index(con, JULY)
    assert view is not None and view.window == JULY and view.previous.label == "cal-2026-06"
    assert view.computable_max == 44
    units = {u["unit_code"]: u for u in view.units}
    assert units["D1"]["total"] == pytest.approx(D1_JULY)
    assert units["D1"]["change"] == pytest.approx(D1_JULY - D1_JUNE)
    assert (units["D1"]["rank_in_level"], units["D1"]["units_in_level"]) == (1, 1)
    # communes: CO 20 + 6 + 2 + 0 + 0 + 0 + 6 = 34 ranks above C1 20 + 0 + 0 + 0 + 0 + 0 + 6 = 26
    assert units["CO"]["total"] == pytest.approx(34) and units["C1"]["total"] == pytest.approx(26)
    assert (units["CO"]["rank_in_level"], units["C1"]["rank_in_level"]) == (1, 2)
    assert units["CO"]["change"] is None  # no row in June
    assert view.province["unit_name"] == "Tỉnh A" and view.province["total"] == pytest.approx(
        20 * 8 / 13 + 6 * 2 / 8 + 1.25 + 6 / 13 + 2 * (2 / 13) / 0.8 + 2 / 13 + 6 * (7 / 13) / 0.9)


def test_cases_that_cost_the_most_points(world):
    con, _ = world
    view = read_index(con, JULY)
    worst = {u["unit_code"]: u["cases"] for u in view.worst}
    assert list(worst) == ["D1", "C1", "CO"]  # fewest points first (D1 about 17.2, C1 26, CO 34)
    # K5, K6, K11 fail 2.1, 3.6, 4.1, 4.3, 4.5b and 5.4: what one more success would add to D1
    each = 20 / 11 + 6 / 7 + 6 / 11 + 2 / (0.8 * 11) + 2 / 11 + 6 / (0.9 * 11)
    top = worst["D1"][:3]
    assert [c["case_id"] for c in top] == ["K11", "K5", "K6"]
    assert all(c["points_lost"] == pytest.approx(each) for c in top)
    assert "không đúng hạn" in top[0]["reasons"] and "chưa thanh toán trực tuyến" in top[0]["reasons"]
    # K2 is on time and its zero-fee line keeps it out of 3.6: it loses 4.1, 4.3 and 4.5b only
    k2 = next(c for c in worst["D1"] if c["case_id"] == "K2")
    assert k2["points_lost"] == pytest.approx(6 / 11 + 2 / (0.8 * 11) + 2 / 11)
    # CO's one case is paid online and on time: 3.6, 2.1, 5.4 are full; it loses 4.1, 4.3, 4.5b
    assert worst["CO"][0]["points_lost"] == pytest.approx(6 + 2 / 0.8 + 2)


def test_a_reporting_period_shows_the_last_calendar_month_it_covers(world):
    assert index_window(periods.parse_label("2026-Q3")).label == "cal-2026-08"  # ends 14/9
    assert index_window(periods.parse_label("2026-08")).label == "cal-2026-07"  # ends 14/8
    assert index_window(periods.parse_label("cal-2026-Q3")).label == "cal-2026-Q3"


def test_sheet_dashboard_and_summary(world, tmp_path):
    con, _ = world
    book = write_quarter_report(con, None, "cal-2026-07", tmp_path / "b.xlsx")
    assert book.sheets[-1] == "Chỉ số 766"
    ws = load_workbook(tmp_path / "b.xlsx")["Chỉ số 766"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    d1 = next(r for r in rows if r[-1] == "D1")
    assert d1[1] == "Sở Một" and d1[10] == pytest.approx(D1_JULY) and d1[11] == 1
    assert any(r[-1] == "province_total" for r in rows)
    assert any(isinstance(v, str) and "44/100 điểm" in v and "4.5a" in v for r in rows for v in r)
    page, _ = render_dashboard(build_report(con, JULY))
    section = page[page.index('<section id="index766">'):]
    section = section[:section.index("</section>")]
    assert "44/100 điểm" in section and "Sở Một" in section and "K11" in section and "không đúng hạn" in section
    lines = summary_lines(read_index(con, JULY))
    assert "case-computable part: 44 of 100 points" in lines[0]
    assert lines[1].startswith("  province Tỉnh A: ")


def test_no_index_rows_says_so_instead_of_zeros(world):
    con, _ = world
    march = periods.parse_label("cal-2026-03")
    assert read_index(con, march) is None  # before the data
    # A period before the data has no report at all (NoReportData): July's model with March's
    # (empty) index reading shows how the section renders a missing index.
    page, _ = render_dashboard(replace(build_report(con, JULY), period=march, index=read_index(con, march)))
    assert "Chưa có số liệu Chỉ số 766" in page
