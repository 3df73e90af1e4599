"""mart.* against hand-computed figures (tests/fixtures/metrics_cases.jsonl, docs/definitions.md)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from pipeline import marts, periods
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.quality import checks
from tests.conftest import copied_warehouse


@pytest.fixture
def loaded(metrics_cases_template, warehouse_path):
    """metrics_cases.jsonl landed and every window refreshed (built once, copied per test)."""
    yield from copied_warehouse(metrics_cases_template, warehouse_path)


def row(con, grain, label, unit):
    cur = con.execute(
        "SELECT * FROM mart.unit_period_stats WHERE period_grain = ? AND period_label = ? AND unit_code = ?",
        [grain, label, unit],
    )
    names = [d[0] for d in cur.description]
    found = cur.fetchall()
    assert len(found) == 1, (grain, label, unit, found)
    return dict(zip(names, found[0], strict=True))


def test_month_counts_by_hand(loaded):
    r = row(loaded, "month", "2025-03", "U1")
    assert (r["period_start"].isoformat(), r["period_end"].isoformat()) == ("2025-02-15", "2025-03-14")
    assert r["unit_name"] == "Sở Thử Nghiệm" and r["unit_level"] == "province_department"
    expected = dict(
        carried_over=1, new_online=6, new_in_person=5, new_postal=1, new_total=12, received_total=13,
        resolved_total=8, resolved_early=2, resolved_on_time=4, resolved_late=2, withdrawn_or_stopped=2,
        in_progress_total=5, in_progress_within=4, in_progress_overdue=1, not_received=2,
    )
    assert {k: r[k] for k in expected} == expected


def test_month_rates_by_hand(loaded):
    r = row(loaded, "month", "2025-03", "U1")
    assert (r["on_time_rate_numerator"], r["on_time_rate_denominator"], r["on_time_rate"]) == (6, 8, 0.75)
    assert r["online_rate"] == 0.5
    assert (r["full_process_online_rate_numerator"], r["full_process_online_rate"]) == (3, 0.25)
    assert (r["full_process_online_within_rate_denominator"], r["full_process_online_within_rate"]) == (4, 0.75)
    assert (r["online_payment_rate_numerator"], r["online_payment_rate_denominator"]) == (1, 3)
    assert r["online_payment_any_rate"] == pytest.approx(2 / 3)
    assert r["digitised_components_rate"] == pytest.approx(2 / 12)
    assert (r["electronic_result_rate_numerator"], r["electronic_result_rate_denominator"]) == (2, 6)
    assert (r["satisfaction_rate_numerator"], r["satisfaction_rate_denominator"]) == (2, 3)

    def days(a: str, b: str) -> float:
        fmt = "%Y%m%d%H%M%S"
        return (datetime.strptime(b, fmt) - datetime.strptime(a, fmt)).total_seconds() / 86400

    online = [days("20250220080000", "20250301180000"), days("20250222080000", "20250310080000"),
              days("20250301000000", "20250314235959")]
    in_person = [days("20250220080000", "20250304080000"), days("20250110080000", "20250220080000")]
    assert r["avg_days_online"] == pytest.approx(sum(online) / 3)
    assert r["avg_days_in_person"] == pytest.approx(sum(in_person) / 2)
    assert r["time_reduction_rate"] == pytest.approx(1 - (sum(online) / 3) / (sum(in_person) / 2))


def test_boundary_instants_and_carry_over_chain(loaded):
    april = row(loaded, "month", "2025-04", "U1")
    # C11 received 15 Mar 00:00:00 is April's; C16 ended 15 Mar 00:00:00 resolves in April.
    assert (april["carried_over"], april["new_total"], april["resolved_total"]) == (5, 1, 1)
    assert (april["in_progress_total"], april["in_progress_within"], april["in_progress_overdue"]) == (5, 3, 2)
    chain = [row(loaded, "month", label, "U1") for label in ("2025-01", "2025-02", "2025-03", "2025-04")]
    for before, after in zip(chain, chain[1:], strict=False):
        assert after["carried_over"] == before["in_progress_total"]
    feb = chain[1]
    assert (feb["carried_over"], feb["new_total"], feb["in_progress_overdue"]) == (1, 0, 1)


def test_zero_denominators_give_null(loaded):
    feb = row(loaded, "month", "2025-02", "U1")
    assert feb["online_rate"] is None and feb["online_rate_denominator"] == 0
    assert feb["on_time_rate"] is None
    u2 = row(loaded, "month", "2025-03", "U2")  # only a status-1 case
    assert u2["not_received"] == 1 and u2["received_total"] == 0
    assert all(u2[k] is None for k in ("on_time_rate", "online_rate", "satisfaction_rate", "time_reduction_rate"))


def test_every_grain_and_labels(loaded):
    grains = dict(loaded.execute(
        "SELECT period_grain, list(DISTINCT period_label ORDER BY period_label) FROM mart.unit_period_stats "
        "WHERE unit_code = 'U1' GROUP BY ALL").fetchall())
    assert set(grains) == set(periods.GRAINS)
    assert grains["quarter"] == ["2025-Q1", "2025-Q2"]
    assert grains["half"] == ["2025-H1"] and grains["year"] == ["2025"]
    assert "cal-2025-03" in grains["cal_month"] and "cal-2025-Q1" in grains["cal_quarter"]
    q1 = row(loaded, "quarter", "2025-Q1", "U1")
    assert (q1["carried_over"], q1["new_total"], q1["resolved_total"], q1["in_progress_total"]) == (0, 13, 8, 5)
    cal_march = row(loaded, "cal_month", "cal-2025-03", "U1")
    assert cal_march["new_total"] == 4  # C10, C11, C15, C16 received 1-31 March


def test_crosswalk_moves_old_unit_after_reorganisation(loaded):
    assert row(loaded, "month", "2025-03", "OLD")["new_total"] == 1
    april_new = row(loaded, "month", "2025-04", "NEW")
    assert april_new["carried_over"] == 1 and april_new["unit_name"] == "Xã Mới"
    assert loaded.execute(
        "SELECT count(*) FROM mart.unit_period_stats WHERE unit_code IN ('OLD', 'NEW2') AND period_label = '2025-04'"
    ).fetchone()[0] == 0


def test_unknown_unit_kept_with_level_unknown(loaded):
    r = row(loaded, "month", "2025-03", "ZZ-UNKNOWN")
    assert r["unit_level"] == "unknown" and r["unit_name"] == "Đơn vị lạ" and r["new_total"] == 1
    assert ("ZZ-UNKNOWN", 1) in checks.unknown_unit_codes(loaded)


def test_identities_hold_and_checks_catch_a_broken_mart(loaded):
    assert checks.identity_violations(loaded).passed
    assert checks.carry_over_violations(loaded).passed
    loaded.execute("UPDATE mart.unit_period_stats SET resolved_late = resolved_late + 1 "
                   "WHERE period_label = '2025-03' AND unit_code = 'U1' AND period_grain = 'month'")
    broken = checks.identity_violations(loaded)
    assert not broken.passed and broken.violations == 1
    loaded.execute("UPDATE mart.unit_period_stats SET carried_over = 7 "
                   "WHERE period_label = '2025-04' AND unit_code = 'U1' AND period_grain = 'month'")
    assert not checks.carry_over_violations(loaded).passed


def test_level_rollup_sums_counts_then_divides(loaded):
    level = loaded.execute(
        "SELECT units, new_total, new_online, online_rate, on_time_rate_numerator, on_time_rate_denominator "
        "FROM mart.level_period_stats WHERE period_grain = 'month' AND period_label = '2025-03' "
        "AND unit_level = 'province_total'").fetchone()
    units = loaded.execute(
        "SELECT count(*), sum(new_total), sum(new_online) FROM mart.unit_period_stats "
        "WHERE period_grain = 'month' AND period_label = '2025-03'").fetchone()
    assert level[:3] == units
    assert level[3] == pytest.approx(units[2] / units[1])


def test_target_attainment(loaded):
    rows = {(r[0], r[1]): r[2:] for r in loaded.execute(
        "SELECT unit_code, metric, actual, target, gap, met, rank_in_level FROM mart.target_attainment "
        "WHERE year = 2025 AND as_of_period = '2025'").fetchall()}
    year = row(loaded, "year", "2025", "U1")
    actual, target, gap, met, rank = rows[("U1", "full_process_online_rate")]
    assert actual == pytest.approx(year["full_process_online_rate"]) and target == 0.6
    assert gap == pytest.approx(actual - 0.6) and met is False and rank == 1
    assert rows[("U2", "full_process_online_rate")][0] is None  # no new cases: no actual, no rank


def test_refresh_is_idempotent(loaded):
    before = loaded.execute("SELECT * FROM mart.unit_period_stats ORDER BY ALL").fetchall()
    marts.refresh_all(loaded)
    assert loaded.execute("SELECT * FROM mart.unit_period_stats ORDER BY ALL").fetchall() == before


def test_every_column_is_documented(loaded):
    undocumented = loaded.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'mart' "
        "AND table_name <> 'refresh_log' AND (comment IS NULL OR comment = '')").fetchall()
    assert undocumented == []


def test_identities_hold_on_generated_province_data(con, tmp_path):
    """Realistic generated data (all statuses, channels, the 2025 reorganisation) keeps every identity."""
    from datetime import date

    from devtools import demo_data

    path = demo_data.write_jsonl(
        demo_data.generate_cases(6000, seed=21, start=date(2025, 1, 1), end=date(2025, 9, 14)),
        tmp_path / "generated.jsonl",
    )
    land_file(con, path)
    merge_pending_batches(con)
    result = marts.refresh_all(con)
    assert result.unit_rows > 0
    identities = checks.identity_violations(con)
    carry = checks.carry_over_violations(con)
    assert identities.passed, identities.sample
    assert carry.passed, carry.sample
    for check in (checks.procedure_add_up_violations, checks.field_add_up_violations,
                  checks.late_case_count_violations):
        outcome = check(con)
        assert outcome.passed, (check.__name__, outcome.sample)
    assert result.procedure_rows > result.unit_rows and result.late_rows > 0
    grains = {g for (g,) in con.execute("SELECT DISTINCT period_grain FROM mart.unit_period_stats").fetchall()}
    assert grains == set(periods.GRAINS)


def test_window_batches_group_consecutive_windows_of_a_grain():
    windows = periods.periods_overlapping(datetime(2025, 1, 1).date(), datetime(2025, 12, 31).date(), cutoff_day=15)
    batches = marts.window_batches(windows)
    assert sorted(w for batch in batches for w in batch) == sorted(set(windows))
    for batch in batches:
        assert len({w.grain for w in batch}) == 1
        assert len(batch) == 1 or (batch[-1].end - batch[0].start).days < marts.BATCH_DAYS
    months = [b for b in batches if b[0].grain == "month"]
    assert [len(b) for b in months[:2]] == [3, 3]  # three 15th-to-14th months span under 92 days
    assert all(len(b) == 1 for b in batches if b[0].grain in ("half", "year"))


MART_TABLES = (marts.UNIT_TABLE, marts.LEVEL_TABLE, marts.TARGET_TABLE, marts.PROCEDURE_TABLE,
               marts.FIELD_TABLE, marts.PROCEDURE_PROVINCE_TABLE, marts.LATE_TABLE)


def test_batching_the_windows_does_not_change_any_row(con, tmp_path, monkeypatch):
    """Windows are aggregated batch by batch (memory); one window per batch gives the same rows."""
    from datetime import date

    from devtools import demo_data

    path = demo_data.write_jsonl(
        demo_data.generate_cases(3000, seed=5, start=date(2024, 11, 1), end=date(2025, 9, 14)),
        tmp_path / "generated.jsonl",
    )
    land_file(con, path)
    merge_pending_batches(con)
    marts.refresh_all(con)
    batched = {t: _rounded(con, t) for t in MART_TABLES}
    monkeypatch.setattr(marts, "BATCH_DAYS", 1)
    marts.refresh_all(con)
    for table in MART_TABLES:
        rows = _rounded(con, table)
        assert len(rows) == len(batched[table]), table
        for got, want in zip(rows, batched[table], strict=True):
            assert len(got) == len(want) and all(
                math.isclose(g, w, rel_tol=1e-9) if isinstance(w, float) else g == w
                for g, w in zip(got, want, strict=True)), (table, got, want)
    assert all(batched[t] for t in (marts.UNIT_TABLE, marts.PROCEDURE_TABLE, marts.LATE_TABLE))



def _rounded(con, table):
    """Rows in order, floats to 6 places for the order (day sums add up in a thread-dependent
    order, so their last bits differ); the comparison itself allows a relative 1e-9."""
    rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    return sorted(rows, key=lambda r: tuple(round(v, 6) if isinstance(v, float) else (v is None, v) for v in r))
