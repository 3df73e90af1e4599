-- The cells of one issued table that moved since the latest issue of each issued window.
-- Holes filled by pipeline/cycle/issue.py (db.render_sql): issued, current (tables), join (key
-- match), window (the current rows of an issued window), key_text, unit_code, unit_level,
-- province_code, cells (a list of {column, issued, current, tolerance} structs, values cast to
-- DOUBLE; tolerance 0 for counts, 1e-9 for rates), table_name.
-- A cell moved when one side has a value and the other none, or when the values differ by more
-- than its tolerance (relative above 1): recomputing unchanged data records nothing (§6).
WITH latest AS (
    SELECT period_grain, period_label, max(issue) AS issue
    FROM issued.issues
    GROUP BY period_grain, period_label
),
i AS (
    SELECT x.* FROM $issued x
    JOIN latest l ON l.period_grain = x.period_grain AND l.period_label = x.period_label AND l.issue = x.issue
    WHERE $compared
),
c AS (
    SELECT l.period_grain AS issue_grain, l.period_label AS issue_label, l.issue AS issue_number, m.*
    FROM $current m
    JOIN latest l ON $window
    WHERE $compared_current
),
pairs AS (
    SELECT coalesce(i.period_grain, c.issue_grain) AS period_grain,
           coalesce(i.period_label, c.issue_label) AS period_label,
           coalesce(i.issue, c.issue_number) AS issue,
           $key_text AS row_key, $unit_code AS unit_code, $unit_level AS unit_level,
           $province_code AS province_code,
           unnest($cells, recursive := true)
    FROM i FULL OUTER JOIN c ON $join
)
SELECT period_grain, period_label, issue, '$table_name' AS table_name, row_key, unit_code, unit_level,
       province_code, "column" AS column_name, issued AS issued_value, "current" AS current_value,
       "current" - issued AS difference, now()::TIMESTAMP AS computed_at
FROM pairs
WHERE (issued IS NULL) <> ("current" IS NULL)
   OR abs("current" - issued) > tolerance * greatest(1.0, abs(issued), abs("current"))
