-- Per (window, unit, field) counts: a roll-up of drill_counts (drill_counts.sql) over procedures.
-- The count_sums placeholder: sum(d.<count>) AS <count> for every count column; pipeline/metrics.py adds the rates.
SELECT d.period_grain, d.period_label, d.period_start, d.period_end, d.unit_code, d.field_code,
       coalesce(any_value(fc.field_name), max(d.field_name_sent)) AS field_name,
       $count_sums
FROM drill_counts d
LEFT JOIN field_catalogue fc ON fc.field_code = d.field_code
GROUP BY d.period_grain, d.period_label, d.period_start, d.period_end, d.unit_code, d.field_code
