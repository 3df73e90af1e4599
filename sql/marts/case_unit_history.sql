-- Version history of the recorded unit, only for cases whose MaDonVi differs between versions
-- (docs/definitions.md §4.2 step 1). Rebuilt at each mart refresh (pipeline/marts.py); the other cases
-- count under the MaDonVi of core.cases, so they cost nothing here.
-- A version is the "recorded unit as of E" for every day E from its NgayCapNhat day to the day
-- before the next version's NgayCapNhat day (versions on the same day: the later one, ordered
-- as in §2 by NgayCapNhat then arrival); the oldest version also covers every E before it.
CREATE OR REPLACE TABLE core.case_unit_history AS
WITH moved AS (
    SELECT case_id FROM raw.case_versions
    GROUP BY case_id
    HAVING min(unit_code) <> max(unit_code)  -- cheaper than count(DISTINCT)
),
versions AS (
    SELECT v.case_id, v.unit_code, v.unit_name_source,
           CAST(v.updated_at AS DATE) AS day,
           lead(CAST(v.updated_at AS DATE)) OVER w AS next_day,
           row_number() OVER w AS n
    FROM raw.case_versions v SEMI JOIN moved m ON m.case_id = v.case_id
    WINDOW w AS (PARTITION BY v.case_id ORDER BY v.updated_at, v.arrival_seq)
),
spans AS (
    SELECT case_id, unit_code, unit_name_source,
           CASE WHEN n = 1 THEN DATE '0001-01-01' ELSE day END AS from_day,
           coalesce(next_day - 1, DATE '9999-12-31') AS to_day
    FROM versions
)
SELECT case_id, unit_code, unit_name_source, from_day, to_day
FROM spans
WHERE from_day <= to_day;
COMMENT ON TABLE core.case_unit_history IS 'Cases whose unit code (MaDonVi) differs between their valid versions: for each span of days from_day..to_day, the unit recorded as of that day (the newest version with NgayCapNhat on or before it; before the first version, the oldest). Rebuilt by each mart refresh; used to attribute such cases in periods that ended before the move (docs/definitions.md §4.2).';
COMMENT ON COLUMN core.case_unit_history.case_id IS 'MaHoSo.';
COMMENT ON COLUMN core.case_unit_history.unit_code IS 'MaDonVi recorded as of the days of the span.';
COMMENT ON COLUMN core.case_unit_history.unit_name_source IS 'DonViXuLy of that version.';
COMMENT ON COLUMN core.case_unit_history.from_day IS 'First day of the span (0001-01-01 = every day before the first version).';
COMMENT ON COLUMN core.case_unit_history.to_day IS 'Last day of the span (9999-12-31 = open).';
