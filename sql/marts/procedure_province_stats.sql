-- Province roll-up per procedure (METRICS.md §4.3, §5): counts summed over the units of a
-- province, then divided (pipeline/metrics.py adds the rates). The province is the one
-- mart.unit_period_stats gives the unit in that window, so both tables share one attribution.
-- The count_sums placeholder: sum(d.<count>) AS <count> for every count column.
SELECT d.period_grain, d.period_label, d.period_start, d.period_end, u.province_code, d.procedure_code,
       max(d.procedure_name) AS procedure_name,
       count(*) AS units,
       $count_sums
FROM mart.procedure_period_stats d
JOIN mart.unit_period_stats u
  ON u.period_grain = d.period_grain AND u.period_label = d.period_label AND u.unit_code = d.unit_code
WHERE (d.period_grain, d.period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)
GROUP BY d.period_grain, d.period_label, d.period_start, d.period_end, u.province_code, d.procedure_code
