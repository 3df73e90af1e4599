-- Per (window, unit, procedure) counts: a roll-up of drill_counts (drill_counts.sql) over fields.
-- The count_sums placeholder: sum(d.<count>) AS <count> for every count column; pipeline/metrics.py adds the rates.
SELECT d.period_grain, d.period_label, d.period_start, d.period_end, d.unit_code, d.procedure_code,
       coalesce(any_value(pc.procedure_name), max(d.procedure_name_sent)) AS procedure_name,
       -- the field of most of the row's cases (ties: the smallest code)
       arg_min(d.field_code, (-(d.received_total + d.not_received), d.field_code)) AS field_code,
       $count_sums
FROM drill_counts d
LEFT JOIN procedure_catalogue pc ON pc.procedure_code = d.procedure_code
GROUP BY d.period_grain, d.period_label, d.period_start, d.period_end, d.unit_code, d.procedure_code
