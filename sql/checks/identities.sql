-- METRICS.md §2 identities, per unit and window. One row per violation (none = pass).
SELECT period_grain, period_label, unit_code, 'received_total = resolved_total + in_progress_total' AS identity,
       received_total AS lhs, resolved_total + in_progress_total AS rhs
FROM mart.unit_period_stats WHERE received_total <> resolved_total + in_progress_total
UNION ALL
SELECT period_grain, period_label, unit_code, 'resolved_total = early + on_time + late',
       resolved_total, resolved_early + resolved_on_time + resolved_late
FROM mart.unit_period_stats WHERE resolved_total <> resolved_early + resolved_on_time + resolved_late
UNION ALL
SELECT period_grain, period_label, unit_code, 'in_progress_total = within + overdue',
       in_progress_total, in_progress_within + in_progress_overdue
FROM mart.unit_period_stats WHERE in_progress_total <> in_progress_within + in_progress_overdue
UNION ALL
SELECT period_grain, period_label, unit_code, 'new_total = online + in_person + postal',
       new_total, new_online + new_in_person + new_postal
FROM mart.unit_period_stats WHERE new_total <> new_online + new_in_person + new_postal
UNION ALL
SELECT period_grain, period_label, unit_code, 'received_total = carried_over + new_total',
       received_total, carried_over + new_total
FROM mart.unit_period_stats WHERE received_total <> carried_over + new_total
