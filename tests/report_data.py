"""Small warehouses for the report tests: generated demo cases (real seeds) or the fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def build_demo_warehouse(path: Path, *, n_versions: int = 4000, seed: int = 3) -> Path:
    """Generated cases of the seed province (every level, the 2025 reorganisation, targets)."""
    from devtools import demo_data
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.warehouse import open_warehouse

    source = demo_data.write_jsonl(
        demo_data.generate_cases(n_versions, seed=seed, invalid_share=0.01), path.with_suffix(".jsonl")
    )
    with open_warehouse(path) as con:
        land_file(con, source)
        merge_pending_batches(con)
        marts.refresh_all(con)
    return path


def build_fixture_warehouse(path: Path) -> Path:
    """The hand-checked metrics cases plus records with unknown units and broken fields."""
    from pipeline import marts
    from pipeline.ingest.core import merge_pending_batches
    from pipeline.ingest.landing import land_file
    from pipeline.warehouse import open_warehouse

    with pytest.MonkeyPatch.context() as mp, open_warehouse(path) as con:
        mp.setenv("DVC_SEEDS_DIR", str(FIXTURES / "seeds"))
        land_file(con, FIXTURES / "metrics_cases.jsonl")
        land_file(con, FIXTURES / "cases_small.jsonl")
        merge_pending_batches(con)
        marts.refresh_all(con)
    return path


OTHER_PROVINCE = "999.00.00.X99"


def add_new_marts(path: Path, *, province: str = "000.00.00.H48") -> Path:
    """Give a warehouse built by today's marts the shape the parallel branches are adding, so
    the reports can be tested against both (values are constructed, not recomputed):

    - ``province_code`` on mart.unit_period_stats / mart.level_period_stats, plus one unit and
      its roll-ups of another province (the reports must leave them out);
    - mart.target_attainment per docs/definitions.md §4.4: one row per (year, as_of_period, unit,
      metric) for every quarter of 2025 and the year itself, actual = year to date summed
      from the month rows up to the as-of period's last day; units abolished before that day
      judged on their partial window; one target set to 0 (not applicable);
    - mart.field_period_stats: every unit row split over two fields of the catalogue, the
      counts adding up exactly to the unit's;
    - mart.late_cases: one row per case resolved late or in progress overdue.
    """
    import duckdb

    from pipeline import metrics

    counts = list(metrics.COUNT_COLUMNS)
    con = duckdb.connect(str(path))

    def has(table: str, column: str | None = None) -> bool:
        schema, name = table.split(".")
        if column is None:
            sql, args = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, name]
        else:
            sql = ("SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                   "AND column_name = ?")
            args = [schema, name, column]
        return bool(con.execute(sql, args).fetchone()[0])

    # Marts that already have a piece (the parallel branches merged) keep their own.
    try:
        for table in ("mart.unit_period_stats", "mart.level_period_stats"):
            if not has(table, "province_code"):
                con.execute(f"ALTER TABLE {table} ADD COLUMN province_code VARCHAR")
                con.execute(f"UPDATE {table} SET province_code = ?", [province])
        # Another province in the same warehouse: never part of this province's report.
        con.execute(f"""
            INSERT INTO mart.unit_period_stats BY NAME
            SELECT * REPLACE ('{OTHER_PROVINCE}' AS province_code, 'X99.OTHER' AS unit_code,
                              'Xã Của Tỉnh Khác' AS unit_name)
            FROM mart.unit_period_stats WHERE unit_level = 'commune'
            QUALIFY row_number() OVER (PARTITION BY period_grain, period_label ORDER BY unit_code) = 1""")
        con.execute(f"""
            INSERT INTO mart.level_period_stats BY NAME
            SELECT * REPLACE ('{OTHER_PROVINCE}' AS province_code, 1 AS units)
            FROM mart.level_period_stats WHERE unit_level IN ('commune', 'province_total')""")

        ytd = f"""
            WITH as_of AS (
                SELECT period_label AS as_of_period, 'quarter' AS as_of_grain, period_end AS as_of_end
                FROM mart.level_period_stats WHERE period_grain = 'quarter' AND unit_level = 'province_total'
                  AND period_label LIKE '2025-%' AND province_code = '{province}'
                UNION ALL SELECT '2025', 'year', DATE '2025-12-14'
            ),
            life AS (
                SELECT unit_code, CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS last_day
                FROM core.units GROUP BY unit_code
            ),
            windows AS (
                SELECT t.year, a.as_of_grain, a.as_of_period, a.as_of_end, t.unit_code, t.metric,
                       DATE '2024-12-15' AS window_start,
                       CASE WHEN l.last_day < a.as_of_end THEN l.last_day ELSE a.as_of_end END AS window_end,
                       coalesce(l.last_day < a.as_of_end, FALSE) AS partial_window,
                       CASE WHEN t.unit_code = '000.00.05.H48' AND t.metric = 'online_payment_rate'
                            THEN 0 ELSE t.target_rate END AS target
                FROM core.targets t CROSS JOIN as_of a LEFT JOIN life l ON l.unit_code = t.unit_code
                WHERE t.year = 2025
            ),
            sums AS (
                SELECT w.*, sum(CASE w.metric WHEN 'full_process_online_rate' THEN s.new_online_full_process
                                               ELSE s.new_paid_online_portal END) AS numerator,
                       sum(CASE w.metric WHEN 'full_process_online_rate' THEN s.new_total
                                         ELSE s.new_with_fees END) AS denominator
                FROM windows w LEFT JOIN mart.unit_period_stats s
                  ON s.period_grain = 'month' AND s.unit_code = w.unit_code
                 AND s.period_start >= w.window_start AND s.period_end <= w.window_end
                GROUP BY ALL
            ),
            judged AS (
                SELECT s.*, u.unit_name, u.unit_level, '{province}' AS province_code,
                       coalesce(s.numerator, 0)::BIGINT AS num, coalesce(s.denominator, 0)::BIGINT AS den,
                       CASE WHEN s.denominator > 0 THEN s.numerator / s.denominator END AS actual,
                       coalesce(s.target, 0) <> 0 AS applicable
                FROM sums s JOIN (SELECT unit_code, any_value(unit_name) AS unit_name,
                                         any_value(unit_level) AS unit_level FROM core.units GROUP BY unit_code) u
                  USING (unit_code)
            )
            SELECT year, as_of_grain, as_of_period, unit_code, unit_name, province_code, unit_level, metric,
                   window_start, window_end, partial_window, actual, num AS numerator, den AS denominator,
                   target, applicable,
                   CASE WHEN applicable THEN actual - target END AS gap,
                   CASE WHEN applicable THEN actual >= target END AS met,
                   CASE WHEN applicable AND actual IS NOT NULL THEN rank() OVER (
                       PARTITION BY year, as_of_period, metric, province_code, unit_level,
                                    applicable AND actual IS NOT NULL ORDER BY actual DESC) END AS rank_in_level,
                   count(*) FILTER (WHERE applicable AND actual IS NOT NULL)
                       OVER (PARTITION BY year, as_of_period, metric, province_code, unit_level) AS units_in_level
            FROM judged"""
        if not has("mart.target_attainment", "as_of_period"):
            con.execute("DROP TABLE mart.target_attainment")
            con.execute(f"CREATE TABLE mart.target_attainment AS {ytd}")

        fields = [r for r in con.execute(
            "SELECT field_code, any_value(field_name) FROM core.procedures GROUP BY 1 ORDER BY 1").fetchall()]
        con.execute("CREATE TEMP TABLE fields(i INTEGER, field_code VARCHAR, field_name VARCHAR)")
        con.executemany("INSERT INTO fields VALUES (?, ?, ?)", [(i, c, n) for i, (c, n) in enumerate(fields)])
        half = ", ".join(f"CASE WHEN part = 0 THEN s.{c} // 2 ELSE s.{c} - s.{c} // 2 END AS {c}" for c in counts)
        con.execute(f"""
            CREATE TABLE IF NOT EXISTS mart.field_period_stats AS
            SELECT s.period_grain, s.period_label, s.period_start, s.period_end, s.unit_code,
                   f.field_code, f.field_name, {half}
            FROM mart.unit_period_stats s
            CROSS JOIN (VALUES (0), (1)) AS p(part)
            JOIN fields f ON f.i = (hash(s.unit_code) + p.part * 7) % {len(fields)}""")
        con.execute("""
            CREATE TABLE IF NOT EXISTS mart.late_cases AS
            SELECT s.period_grain, s.period_label, s.unit_code,
                   'HS-' || s.unit_code || '-' || k.kind || '-' || g.i AS case_id,
                   '1.001193' AS procedure_code, 'HOTICH' AS field_code, k.kind AS late_kind,
                   TIMESTAMP '2025-05-01 08:00:00' AS received_at, TIMESTAMP '2025-06-01 17:00:00' AS due_at,
                   NULL::TIMESTAMP AS ended_at, 3 * g.i + 1 AS days_late, NULL::TIMESTAMP AS first_due_at,
                   0 AS due_changes, 0 AS supplement_requests
            FROM mart.unit_period_stats s
            CROSS JOIN (VALUES ('resolved_late'), ('overdue')) AS k(kind)
            CROSS JOIN LATERAL (SELECT unnest(range(CASE k.kind WHEN 'overdue' THEN s.in_progress_overdue
                                                   ELSE s.resolved_late END)) AS i) g""")
    finally:
        con.close()
    return path


def to_legacy_marts(path: Path) -> Path:
    """The marts as they were before the parallel branches (one target row per year, no
    as-of columns, no field or late-case mart), to test that the reports degrade clearly."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        has_as_of = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'mart' AND table_name = 'target_attainment' "
            "AND column_name = 'as_of_period'").fetchone()[0]
        if has_as_of:
            con.execute("""CREATE TABLE mart.target_legacy AS
                SELECT year, unit_code, unit_name, unit_level, metric, actual, numerator, denominator, target,
                       gap, met, rank_in_level, units_in_level
                FROM mart.target_attainment WHERE as_of_period = CAST(year AS VARCHAR)""")
            con.execute("DROP TABLE mart.target_attainment")
            con.execute("ALTER TABLE mart.target_legacy RENAME TO target_attainment")
        for table in ("mart.field_period_stats", "mart.late_cases"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        con.close()
    return path
