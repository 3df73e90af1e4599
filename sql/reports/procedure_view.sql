-- The dashboard's per-procedure view (issue 27): per unit level of the report's province and
-- procedure, the late cases (resolved late in the window + in progress overdue at its end) and
-- the numerators and denominators of two headline rates, summed over the level's units from
-- mart.procedure_period_stats (rates = sum of numerators / sum of denominators, never averaged).
-- Parameters: grain, label (units), grain, label (procedures). Hole province_where: the province filter.
WITH units AS (
    SELECT unit_code, unit_level
    FROM mart.unit_period_stats
    WHERE period_grain = ? AND period_label = ?$province_where
)
SELECT u.unit_level, p.procedure_code,
       max(p.procedure_name) AS procedure_name,
       count(DISTINCT p.unit_code) AS units,
       CAST(sum(p.resolved_late + p.in_progress_overdue) AS BIGINT) AS late,
       CAST(sum(p.resolved_total) AS BIGINT) AS resolved_total,
       CAST(sum(p.on_time_rate_numerator) AS BIGINT) AS on_time_num,
       CAST(sum(p.on_time_rate_denominator) AS BIGINT) AS on_time_den,
       CAST(sum(p.full_process_online_rate_numerator) AS BIGINT) AS fpo_num,
       CAST(sum(p.full_process_online_rate_denominator) AS BIGINT) AS fpo_den
FROM mart.procedure_period_stats p
JOIN units u ON u.unit_code = p.unit_code
WHERE p.period_grain = ? AND p.period_label = ?
GROUP BY u.unit_level, p.procedure_code
