"""Drill-down marts (docs/definitions.md §5) against hand-computed figures (tests/fixtures/drill_cases.jsonl).

Month 2025-03 is 15 Feb – 14 Mar 2025. Seeds (tests/fixtures/seeds/procedures.csv): P1 field F1
eligible, P2 field F2 not eligible, P3 no field eligible; PX is missing from the catalogue.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline import marts
from pipeline.ingest.core import merge_pending_batches
from pipeline.ingest.landing import land_file
from pipeline.marts import statements
from pipeline.metrics import COUNT_COLUMNS, RATES
from pipeline.quality import checks
from tests.conftest import FIXTURES, copied_warehouse


def _load_drill_cases(con, folder) -> None:
    result = land_file(con, FIXTURES / "drill_cases.jsonl")
    assert result.records_quarantined == 0, result.reasons_preview
    merge_pending_batches(con)
    refreshed = marts.refresh_all(con)
    assert refreshed.procedure_rows > 0 and refreshed.late_rows > 0


@pytest.fixture
def drilled(warehouse_templates, warehouse_path, fixtures, monkeypatch):
    """drill_cases.jsonl landed and every window refreshed (built once, copied per test)."""
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    yield from copied_warehouse(warehouse_templates("drill_cases", _load_drill_cases), warehouse_path)


def rows(con, table: str, where: str, params: list) -> list[dict]:
    cur = con.execute(f"SELECT * FROM {table} WHERE {where}", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def one(con, table: str, where: str, params: list) -> dict:
    found = rows(con, table, where, params)
    assert len(found) == 1, found
    return found[0]


MARCH = "period_grain = 'month' AND period_label = '2025-03'"


def test_procedure_rows_carry_the_unit_table_columns(drilled):
    unit_columns = {r[0] for r in drilled.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'unit_period_stats'").fetchall()}
    expected = set(COUNT_COLUMNS) | {f"{r.name}{s}" for r in RATES for s in ("", "_numerator", "_denominator")}
    assert expected <= unit_columns
    for table in ("procedure_period_stats", "field_period_stats", "procedure_province_stats"):
        columns = {r[0] for r in drilled.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
        assert expected <= columns, (table, expected - columns)


def test_per_procedure_counts_and_names(drilled):
    p1 = one(drilled, "mart.procedure_period_stats", f"{MARCH} AND unit_code = 'U1' AND procedure_code = 'P1'", [])
    # D01 (late, online) and D05 (on time, in person, sent under field F9); D06 not received
    assert (p1["new_total"], p1["new_online"], p1["resolved_late"], p1["resolved_on_time"], p1["not_received"]) == (
        2, 1, 1, 1, 1)
    assert p1["procedure_name"] == "Thủ tục thử nghiệm"  # the catalogue's name wins over TenTTHC
    assert p1["field_code"] == "F1"  # D01 + D06 under F1, D05 under F9
    missing = one(drilled, "mart.procedure_period_stats", f"{MARCH} AND unit_code = 'U1' AND procedure_code = 'PX'", [])
    assert (missing["procedure_name"], missing["field_code"], missing["resolved_early"]) == ("Thủ tục lạ", "FX", 1)
    # not in the catalogue = not eligible: no denominator, no rate
    assert (missing["new_eligible"], missing["full_process_online_eligible_rate"]) == (0, None)


def test_fields_from_malinhvuc_else_catalogue_else_unknown(drilled):
    fields = {r["field_code"]: r for r in rows(drilled, "mart.field_period_stats", f"{MARCH} AND unit_code = 'U1'", [])}
    assert set(fields) == {"F1", "F2", "F9", "FX", "unknown"}
    assert (fields["F1"]["new_total"], fields["F1"]["not_received"]) == (1, 1)
    assert fields["F2"]["in_progress_overdue"] == 1  # D02: empty MaLinhVuc, P2's catalogue field
    assert fields["unknown"]["new_total"] == 1  # D03: no MaLinhVuc, P3 has no field
    assert fields["F2"]["field_name"] == "Lĩnh vực hai"
    assert fields["FX"]["field_name"] == "Lĩnh vực lạ"  # as sent
    assert fields["unknown"]["field_name"] is None


def test_eligible_rate_and_its_null_on_a_zero_denominator(drilled):
    u1 = one(drilled, "mart.unit_period_stats", f"{MARCH} AND unit_code = 'U1'", [])
    # eligible new: D01 (online, toàn trình), D03 (online, toàn trình), D05 (in person)
    assert (u1["full_process_online_eligible_rate_numerator"], u1["full_process_online_eligible_rate_denominator"]) == (2, 3)
    assert u1["full_process_online_eligible_rate"] == pytest.approx(2 / 3)
    u2 = one(drilled, "mart.unit_period_stats", f"{MARCH} AND unit_code = 'U2'", [])
    assert u2["new_total"] == 1 and u2["full_process_online_eligible_rate_denominator"] == 0
    assert u2["full_process_online_eligible_rate"] is None
    level = one(drilled, "mart.level_period_stats", f"{MARCH} AND unit_level = 'province_total'", [])
    assert (level["full_process_online_eligible_rate_numerator"], level["full_process_online_eligible_rate_denominator"]) == (2, 3)
    p1 = one(drilled, "mart.procedure_period_stats", f"{MARCH} AND unit_code = 'U1' AND procedure_code = 'P1'", [])
    assert p1["full_process_online_eligible_rate"] == 0.5


def test_province_rollup_sums_counts_then_divides(drilled):
    p2 = one(drilled, "mart.procedure_province_stats", f"{MARCH} AND procedure_code = 'P2'", [])
    assert (p2["units"], p2["new_total"], p2["new_online"], p2["online_rate"]) == (2, 2, 2, 1.0)
    assert p2["full_process_online_rate"] == 0.5  # D02 toàn trình, D07 một phần: 1 / 2, not a mean of rates


def test_day_sums_roll_up_exactly_in_any_order():
    """A roll-up of day sums does not depend on the order of its rows: 0.1 + 0.2 + 0.3 days is
    0.6000000000000001 added one way and 0.6 the other as DOUBLEs; as whole milliseconds both
    orders give 0.6 (so two recounts of the same cases publish the same bits)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")  # one thread: the rows are added in the order given
    rolled = statements.count_sums("d").split(",\n")
    days = next(line.strip() for line in rolled if line.strip().endswith("AS days_online_sum"))
    got, plain = set(), set()
    for order in ("ASC", "DESC"):
        con.execute("CREATE OR REPLACE TABLE d AS SELECT * FROM (VALUES (0.1::DOUBLE), (0.2::DOUBLE), (0.3::DOUBLE)) t(days_online_sum)")
        con.execute(f"CREATE OR REPLACE TABLE d AS SELECT * FROM d ORDER BY days_online_sum {order}")
        plain.add(con.execute("SELECT sum(days_online_sum) FROM d").fetchone()[0])
        got.add(con.execute(f"SELECT {days} FROM d").fetchone()[0])
    assert plain == {0.6, 0.6000000000000001}  # what a plain sum() of the DOUBLEs gives
    assert got == {0.6}


def test_late_cases(drilled):
    late = {r["case_id"]: r for r in rows(drilled, "mart.late_cases", f"{MARCH}", [])}
    assert set(late) == {"D01", "D02"}
    d01 = late["D01"]
    assert (d01["late_kind"], d01["unit_code"], d01["procedure_code"], d01["field_code"]) == (
        "resolved_late", "U1", "P1", "F1")
    assert (d01["due_at"], d01["ended_at"]) == (datetime(2025, 3, 4, 17), datetime(2025, 3, 6, 10))
    assert d01["days_late"] == 2  # 6 Mar − 4 Mar
    # NgayHenTra 1 Mar 17:00 (twice: 20250301170000 and 01/03/2025 17:00:00), 3 Mar, 4 Mar
    assert (d01["first_due_at"], d01["due_changes"]) == (datetime(2025, 3, 1, 17), 2)
    assert d01["supplement_requests"] == 2  # the newest version's DanhSachHoSoBoSung
    d02 = late["D02"]
    assert (d02["late_kind"], d02["field_code"], d02["ended_at"]) == ("overdue", "F2", None)
    assert (d02["days_late"], d02["due_changes"], d02["supplement_requests"]) == (9, 0, 0)  # 14 Mar − 5 Mar
    half = one(drilled, "mart.late_cases", "period_grain = 'half' AND period_label = '2025-H1' AND case_id = 'D02'", [])
    assert half["days_late"] == 101  # 14 Jun − 5 Mar: E is the window's last day
    columns = [r[0] for r in drilled.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'late_cases' ORDER BY column_index").fetchall()]
    assert columns == ["period_grain", "period_label", "unit_code", "case_id", "procedure_code", "field_code",
                       "late_kind", "received_at", "due_at", "ended_at", "days_late", "first_due_at",
                       "due_changes", "supplement_requests"]


def test_add_up_checks_pass_and_fail_when_broken(drilled):
    for check in (checks.procedure_add_up_violations, checks.field_add_up_violations,
                  checks.late_case_count_violations):
        outcome = check(drilled)
        assert outcome.passed, (check.__name__, outcome.sample)
    drilled.execute(f"UPDATE mart.procedure_period_stats SET new_online = new_online + 1 "
                    f"WHERE {MARCH} AND unit_code = 'U1' AND procedure_code = 'P1'")
    broken = checks.procedure_add_up_violations(drilled)
    assert not broken.passed and broken.violations == 1
    assert broken.sample[0][:3] == ("month", "2025-03", "U1") and broken.sample[0][-1] == ["new_online"]
    drilled.execute(f"DELETE FROM mart.field_period_stats WHERE {MARCH} AND unit_code = 'U2'")
    assert checks.field_add_up_violations(drilled).violations == 1
    drilled.execute(f"DELETE FROM mart.late_cases WHERE {MARCH} AND case_id = 'D02'")
    late = checks.late_case_count_violations(drilled)
    assert not late.passed and late.sample[0][:3] == ("month", "2025-03", "U1")


def test_drill_counts_use_the_unit_tables_expressions():
    exprs = marts.handled_count_expressions()
    assert list(exprs) == [c for c in COUNT_COLUMNS if c != "not_received"]
    assert marts.count_condition("resolved_late") == "is_resolved AND is_result AND end_date > due_date"
    assert exprs["new_eligible"] in statements.drill_counts_sql()


def test_drill_refresh_is_idempotent(drilled):
    tables = ("procedure_period_stats", "field_period_stats", "procedure_province_stats", "late_cases")
    before = {t: drilled.execute(f"SELECT * FROM mart.{t} ORDER BY ALL").fetchall() for t in tables}
    marts.refresh_all(drilled)
    assert {t: drilled.execute(f"SELECT * FROM mart.{t} ORDER BY ALL").fetchall() for t in tables} == before


def test_readme_drilldown_queries_run(drilled):
    from pipeline import config

    readme = (config.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Drill-down**", 1)[1].split("\n## ", 1)[0]
    queries = [block.split("```", 1)[0] for block in section.split("```sql\n")[1:]]
    assert len(queries) == 2

    def run(sql: str) -> list[tuple]:
        return drilled.execute(sql.replace("2025-Q2", "2025-Q1").replace("000.00.01.H48", "U1")).fetchall()

    worst = run(queries[0])
    # Q1, U1: 5 new cases, all online toàn trình but D05 (P1, in person): P1 costs the unit 1/5.
    assert [(r[0], r[-1]) for r in worst] == [("P1", 0.2), ("P2", 0.0), ("P3", 0.0), ("PX", 0.0)]
    overdue = run(queries[1])
    assert [(r[0], r[5]) for r in overdue] == [("D02", 9)]
