-- docs/definitions.md §5: per unit and window, mart.late_cases holds exactly resolved_late rows of
-- kind 'resolved_late' and in_progress_overdue rows of kind 'overdue' (mart.unit_period_stats),
-- and no case twice. One row per (window, unit) that breaks it (none = pass).
WITH late AS (
    SELECT period_grain, period_label, unit_code,
           count(*) FILTER (late_kind = 'resolved_late') AS resolved_late_rows,
           count(*) FILTER (late_kind = 'overdue') AS overdue_rows,
           count(*) - count(DISTINCT case_id) AS repeated_cases
    FROM mart.late_cases
    GROUP BY period_grain, period_label, unit_code
)
SELECT coalesce(u.period_grain, l.period_grain) AS period_grain,
       coalesce(u.period_label, l.period_label) AS period_label,
       coalesce(u.unit_code, l.unit_code) AS unit_code,
       'late_cases rows = resolved_late + in_progress_overdue' AS identity,
       coalesce(u.resolved_late, 0) AS resolved_late, coalesce(l.resolved_late_rows, 0) AS resolved_late_rows,
       coalesce(u.in_progress_overdue, 0) AS in_progress_overdue, coalesce(l.overdue_rows, 0) AS overdue_rows
FROM mart.unit_period_stats u
FULL OUTER JOIN late l
  ON l.period_grain = u.period_grain AND l.period_label = u.period_label AND l.unit_code = u.unit_code
WHERE coalesce(u.resolved_late, 0) <> coalesce(l.resolved_late_rows, 0)
   OR coalesce(u.in_progress_overdue, 0) <> coalesce(l.overdue_rows, 0)
   OR coalesce(l.repeated_cases, 0) > 0
