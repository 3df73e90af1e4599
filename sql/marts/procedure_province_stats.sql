-- Province roll-up per procedure (docs/definitions.md §4.3, §5): counts summed over the units of a
-- province, then divided (pipeline/metrics.py adds the rates). The province is the unit's on
-- the window's last day (period_units, the very join mart.unit_period_stats takes it from), so
-- both tables share one attribution; a code with no row in force rolls up with no province.
-- Input: TEMP TABLE batch_procedure_stats, the procedure rows of the batch being refreshed
-- (pipeline/marts.py refresh_drilldown), and period_units (period_cases.sql).
-- The count_sums placeholder: sum(d.<count>) AS <count> for every count column.
SELECT d.period_grain, d.period_label, d.period_start, d.period_end, u.province_code, d.procedure_code,
       max(d.procedure_name) AS procedure_name,
       count(*) AS units,
       $count_sums
FROM batch_procedure_stats d
LEFT JOIN period_units u
  ON u.period_end = d.period_end AND u.unit_code = d.unit_code
GROUP BY d.period_grain, d.period_label, d.period_start, d.period_end, u.province_code, d.procedure_code
