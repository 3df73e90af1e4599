"""Great Expectations suites (schemas/expectations/, pipeline/quality.py): they pass on the
hand-checked fixture warehouse and fail, naming the broken rule, when a table is broken on purpose."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipeline.metrics import FRACTION_RATES, RATES
from pipeline.quality import expectations

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The fixture warehouse (metrics_cases.jsonl, every window refreshed), built once."""
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.warehouse import open_warehouse

    path = tmp_path_factory.mktemp("quality") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
        with open_warehouse(path) as con:
            assert land_file(con, FIXTURES / "metrics_cases.jsonl").records_quarantined == 0
            merge_pending_batches(con)
            marts.refresh_all(con)
            con.execute("CHECKPOINT")
    return path


@pytest.fixture
def wh(template, tmp_path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private copy of the fixture warehouse, to break."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(template, path)
    con = duckdb.connect(str(path))
    try:
        yield con
    finally:
        con.close()


def run(con, suite: str, **kwargs) -> expectations.SuiteResult:
    return expectations.run_suite(con, suite, **kwargs)


# ---------------------------------------------------------------------------------------
# The suite files (no GX needed)
# ---------------------------------------------------------------------------------------
def test_every_suite_loads_and_the_rates_match_metrics_py():
    names = expectations.suite_names()
    assert {"mart_unit_period_stats", "mart_level_period_stats", "mart_target_attainment",
            "raw_batches", "core_unit_codes", "core_cases_sample"} <= set(names)
    for name in names:
        expectations.load_suite(name)
    for name in ("mart_unit_period_stats", "mart_level_period_stats"):
        suite = expectations.load_suite(name)
        bounded = {e["kwargs"]["column"] for e in suite.expectations
                   if e["type"] == "expect_column_values_to_be_between"
                   and e["kwargs"].get("min_value") == 0 and e["kwargs"].get("max_value") == 1}
        assert set(FRACTION_RATES) <= bounded, name
        for rate in FRACTION_RATES:  # every fraction rate is recomputed from its numerator
            assert f"CAST({rate}_numerator AS DOUBLE) / {rate}_denominator" in suite.derived_columns["max_rate_error"]
        for rate in RATES:  # and every stored numerator/denominator is its count expression
            if rate.kind != "reduction":
                assert (f"{rate.name}_numerator <> ({rate.numerator}) OR {rate.name}_denominator <> "
                        f"({rate.denominator})") in suite.derived_columns["rate_terms_mismatch"]


def test_a_broken_suite_file_is_refused(tmp_path):
    bad = json.loads((expectations.SUITES_DIR / "raw_batches.json").read_text())
    bad["name"] = "bad"
    bad["expectations"][0]["meta"] = {"severity": "fatal"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="severity 'fatal'"):
        expectations.load_suite(path)


def test_bounded_read_takes_only_the_run_windows(wh):
    suite = expectations.load_suite("mart_unit_period_stats")
    sql, params, bound = expectations.bounded_select(suite, [("month", "2025-03"), ("quarter", "2025-Q1")])
    rows = wh.execute(sql, params).fetchall()
    expected = wh.execute(
        "SELECT count(*) FROM mart.unit_period_stats WHERE (period_grain, period_label) IN "
        "(('month', '2025-03'), ('quarter', '2025-Q1'))").fetchone()[0]
    assert len(rows) == expected > 0 and bound.endswith("2 windows of this run")
    sql, params, _ = expectations.bounded_select(expectations.load_suite("mart_target_attainment"), [("month", "2025-03")])
    assert wh.execute(sql, params).fetchall() == []  # no yearly window in the run: no target rows
    whole, params, bound = expectations.bounded_select(suite, None)
    assert "LIMIT 200000" in whole and "first 200,000 rows" in bound


def test_threshold_parameters_come_from_the_environment(wh, monkeypatch):
    suite = expectations.load_suite("raw_batches")
    assert expectations.resolve_parameters(wh, suite) == {"max_quarantine_share": 0.05, "max_days_since_landed": 3.0}
    monkeypatch.setenv("DVC_FRESHNESS_MAX_DAYS", "10")
    assert expectations.resolve_parameters(wh, suite)["max_days_since_landed"] == 10.0
    monkeypatch.setenv("DVC_MAX_QUARANTINE_SHARE", "lots")
    with pytest.raises(ValueError, match="DVC_MAX_QUARANTINE_SHARE"):
        expectations.resolve_parameters(wh, suite)


def test_quality_folder_sits_next_to_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv(expectations.ENV_QUALITY_DIR, raising=False)
    assert expectations.quality_dir(tmp_path / "w.duckdb") == tmp_path / "quality"
    monkeypatch.setenv(expectations.ENV_QUALITY_DIR, str(tmp_path / "elsewhere"))
    assert expectations.quality_dir(tmp_path / "w.duckdb") == tmp_path / "elsewhere"


# ---------------------------------------------------------------------------------------
# GX on good data, with Data Docs
# ---------------------------------------------------------------------------------------
def test_every_suite_passes_on_the_fixture_and_data_docs_are_built(wh, tmp_path, monkeypatch):
    monkeypatch.setenv(expectations.ENV_KEEP, "2")
    docs = tmp_path / "quality"
    results = {name: run(wh, name, quality=docs, run_name="good") for name in expectations.suite_names()}
    for name, result in results.items():
        if name == "core_unit_codes":
            continue
        assert result.success, (name, [o.summary() for o in result.failed])
        assert result.rows > 0
    # The one unknown unit code of the fixture is listed, as a warning.
    codes = results["core_unit_codes"]
    assert not codes.success and codes.severity == "warn"
    assert codes.failed_names == ["expect_column_values_to_be_in_set(unit_code)"]
    assert codes.failed[0].unexpected_rows == [{"unit_code": "ZZ-UNKNOWN", "unit_name_source": "Đơn vị lạ", "cases": 1}]
    # Data Docs: one site for every suite, a page per validation.
    index = docs / "data_docs" / "index.html"
    assert index.is_file()
    html = index.read_text(encoding="utf-8")
    for name, result in results.items():
        assert result.data_docs_index == index
        assert result.validation_page is not None and result.validation_page.is_file(), name
        assert name in html
    # Only the newest DVC_QUALITY_KEEP results per suite are kept.
    for i in range(2):
        run(wh, "raw_batches", quality=docs, run_name=f"again{i}")
    assert len(list((docs / "gx" / "validations" / "raw_batches").rglob("*.json"))) == 2
    assert len(list((docs / "data_docs" / "validations" / "raw_batches").rglob("*.html"))) == 2


# ---------------------------------------------------------------------------------------
# GX on broken data: the matching expectation fails
# ---------------------------------------------------------------------------------------
U1_MARCH = "period_grain = 'month' AND period_label = '2025-03' AND unit_code = 'U1'"


def test_rate_above_one_fails(wh):
    wh.execute(f"UPDATE mart.unit_period_stats SET on_time_rate = 1.5 WHERE {U1_MARCH}")
    result = run(wh, "mart_unit_period_stats")
    assert not result.success and result.severity == "error"
    assert set(result.failed_names) == {
        "expect_column_values_to_be_between(on_time_rate)",
        "expect_column_values_to_be_between(max_rate_error)",  # rate != numerator / denominator
    }
    rate = result.outcome("expect_column_values_to_be_between(on_time_rate)")
    assert rate.unexpected_count == 1
    assert rate.unexpected_rows == [
        {"on_time_rate": 1.5, "period_grain": "month", "period_label": "2025-03", "unit_code": "U1"}]


def test_duplicate_grain_period_unit_fails(wh):
    wh.execute(f"INSERT INTO mart.unit_period_stats SELECT * FROM mart.unit_period_stats WHERE {U1_MARCH}")
    result = run(wh, "mart_unit_period_stats")
    assert result.failed_names == ["expect_compound_columns_to_be_unique(period_grain, period_label, unit_code)"]
    assert result.failed[0].unexpected_count == 2


def test_broken_identity_fails(wh):
    wh.execute(f"UPDATE mart.unit_period_stats SET carried_over = carried_over + 1 WHERE {U1_MARCH}")
    result = run(wh, "mart_unit_period_stats")
    assert result.failed_names == ["expect_column_pair_values_to_be_equal(received_total, carried_over_plus_new)"]
    assert result.severity == "error"


def test_only_the_run_windows_are_checked(wh):
    wh.execute(f"UPDATE mart.unit_period_stats SET on_time_rate = 1.5 WHERE {U1_MARCH}")
    assert run(wh, "mart_unit_period_stats", windows=[("month", "2025-04")]).success
    assert not run(wh, "mart_unit_period_stats", windows=[("month", "2025-03")]).success


def test_rollup_that_does_not_sum_the_units_fails(wh):
    wh.execute("UPDATE mart.level_period_stats SET new_online = new_online + 1, new_total = new_total + 1, "
               "received_total = received_total + 1, resolved_total = resolved_total + 1, "
               "resolved_on_time = resolved_on_time + 1 "
               "WHERE period_grain = 'month' AND period_label = '2025-03' AND unit_level = 'province_total'")
    result = run(wh, "mart_level_period_stats")
    assert set(result.failed_names) == {
        "expect_column_pair_values_to_be_equal(new_total, unit_mart_new_total)",
        "expect_column_pair_values_to_be_equal(received_total, unit_mart_received_total)",
        "expect_column_pair_values_to_be_equal(resolved_total, unit_mart_resolved_total)",
        "expect_column_values_to_be_between(rate_terms_mismatch)",  # numerators/denominators stale
    }


def test_target_met_flag_that_contradicts_actual_fails(wh):
    wh.execute("UPDATE mart.target_attainment SET met = NOT met WHERE unit_code = 'U1' AND metric = 'full_process_online_rate'")
    result = run(wh, "mart_target_attainment")
    assert result.failed_names == ["expect_column_values_to_be_between(met_error)"]


def test_unreconciled_batch_fails_as_an_error(wh):
    wh.execute("UPDATE raw.batches SET records_read = records_read + 1")
    result = run(wh, "raw_batches")
    assert result.failed_names == ["expect_column_pair_values_to_be_equal(records_read, records_accounted)"]
    assert result.severity == "error"
    assert result.failed[0].unexpected_rows[0]["source_name"] == "metrics_cases.jsonl"


def test_stale_data_and_quarantine_share_are_warnings(wh, monkeypatch):
    wh.execute("UPDATE raw.batches SET finished_at = finished_at - INTERVAL 10 DAY, "
               "records_read = 3 * records_read, records_quarantined = 2 * records_read")
    result = run(wh, "raw_batches")
    assert set(result.failed_names) == {
        "expect_column_min_to_be_between(days_since_landed)",
        "expect_column_max_to_be_between(overall_quarantine_share)",
        "expect_column_values_to_be_between(quarantine_share)",
    }
    assert result.severity == "warn"
    monkeypatch.setenv("DVC_FRESHNESS_MAX_DAYS", "30")
    monkeypatch.setenv("DVC_MAX_QUARANTINE_SHARE", "0.7")
    assert run(wh, "raw_batches").failed_names == ["expect_column_values_to_be_between(quarantine_share)"]


def test_core_sample_catches_a_case_ending_before_it_was_received(wh):
    wh.execute("UPDATE core.cases SET ended_at = received_at - INTERVAL 1 DAY WHERE case_id = 'C01'")
    result = run(wh, "core_cases_sample")
    assert result.failed_names == ["expect_column_pair_values_a_to_be_greater_than_b(ended_at, received_at)"]
    assert result.failed[0].unexpected_rows[0]["case_id"] == "C01"


def test_a_missing_column_fails_with_its_reason(wh):
    wh.execute("ALTER TABLE mart.target_attainment DROP COLUMN unit_level")
    result = run(wh, "mart_target_attainment")
    assert result.failed_names == ["expect_column_values_to_be_in_set(unit_level)"]
    assert "unit_level" in (result.failed[0].error or "")


# ---------------------------------------------------------------------------------------
# Data Docs: offline, escaped (operator issue; hardening issue item 5)
# ---------------------------------------------------------------------------------------
HOSTILE = "<script>alert(1)</script>"


def test_data_docs_escape_what_the_data_says(wh, tmp_path):
    wh.execute(f"UPDATE core.cases SET unit_code = '{HOSTILE}', unit_name_source = '<img src=x onerror=alert(2)>' "
               "WHERE unit_code = 'ZZ-UNKNOWN'")
    docs = tmp_path / "quality"
    result = run(wh, "core_unit_codes", quality=docs, run_name="hostile")
    assert not result.success  # the hostile code is an unknown unit code, listed as such
    for page in (result.validation_page, result.data_docs_index):
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text and "<img" not in text
        assert "http://" not in text and "https://" not in text  # nothing to fetch
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.validation_page.read_text(encoding="utf-8")


def test_data_docs_open_offline_in_a_browser(wh, tmp_path):
    from tests.browser import CHROMIUM, Chromium

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs Debian's chromium when it runs as root)")
    docs = tmp_path / "quality"
    result = run(wh, "mart_unit_period_stats", quality=docs, run_name="browse",
                 windows=[("month", "2025-03")])
    probe = "({scripts: document.scripts.length, links: document.querySelectorAll('a').length, title: document.title})"
    with Chromium(tmp_path / "profile") as browser:
        for page in (result.data_docs_index, result.validation_page):
            report = browser.load(page, probe=probe, ready="true")
            assert report.requests == [page.resolve().as_uri()]  # nothing leaves the machine
            assert report.console_errors == []
            assert report.value["scripts"] == 0 and report.value["links"] >= 1
            assert "mart_unit_period_stats" in report.value["title"] or "validations" in report.value["title"]
        artifacts = Path(__file__).resolve().parents[3] / "var" / "test-artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "data_docs_index.png").write_bytes(browser.load(result.data_docs_index, probe="1", ready="true").screenshot)
        (artifacts / "data_docs_validation.png").write_bytes(report.screenshot)
