-- Roll-ups of the refreshed windows: per unit level, and the whole province.
-- Counts are summed first; pipeline/metrics.py adds the rates from the sums.
SELECT period_grain, period_label, period_start, period_end, unit_level,
       count(*) AS units, $count_sums
FROM mart.unit_period_stats
WHERE (period_grain, period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)
GROUP BY period_grain, period_label, period_start, period_end, unit_level
UNION ALL
SELECT period_grain, period_label, period_start, period_end, 'province_total' AS unit_level,
       count(*) AS units, $count_sums
FROM mart.unit_period_stats
WHERE (period_grain, period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)
GROUP BY period_grain, period_label, period_start, period_end
