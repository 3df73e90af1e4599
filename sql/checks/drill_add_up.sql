-- docs/definitions.md §5: per unit and window, the rows of a drill-down table (per procedure
-- or per field) add up exactly to the unit's row in mart.unit_period_stats, every count
-- column, the day sums too (sums of whole milliseconds). A unit or window on one side only
-- is a violation too. One row per (window, unit) that breaks it (none = pass).
-- Placeholders filled by pipeline/quality/checks.py: the table, the part sums (the roll-up
-- sums of the marts, statements.count_sums over alias d) and the list of the mismatching
-- column names (NULL for the matching ones).
WITH parts AS (
    SELECT period_grain, period_label, unit_code, count(*) AS part_rows, $part_sums
    FROM $table d
    GROUP BY period_grain, period_label, unit_code
),
compared AS (
    SELECT coalesce(u.period_grain, p.period_grain) AS period_grain,
           coalesce(u.period_label, p.period_label) AS period_label,
           coalesce(u.unit_code, p.unit_code) AS unit_code,
           coalesce(p.part_rows, 0) AS part_rows,
           list_filter($mismatches, lambda c: c IS NOT NULL) AS mismatched_columns
    FROM mart.unit_period_stats u
    FULL OUTER JOIN parts p
      ON p.period_grain = u.period_grain AND p.period_label = u.period_label AND p.unit_code = u.unit_code
)
SELECT period_grain, period_label, unit_code, '$table rows add up to mart.unit_period_stats' AS identity,
       part_rows, mismatched_columns
FROM compared
WHERE len(mismatched_columns) > 0
