-- docs/definitions.md §7: per unit and calendar window the flags of mart.index766_cases add up exactly
-- to the numerators and denominators of mart.index766_scores, and per province to its pooled
-- row (distinct procedures over the province; a case's province is that of its unit's rows).
-- One row per (window, unit or province, indicator) that breaks it (none = pass).
WITH case_units AS (
    SELECT DISTINCT period_grain, period_label, unit_code, province_code
    FROM mart.index766_scores WHERE unit_level <> 'province_total'
),
flags AS (
    SELECT k.*, cu.province_code FROM mart.index766_cases k
    LEFT JOIN case_units cu
      ON cu.period_grain = k.period_grain AND cu.period_label = k.period_label AND cu.unit_code = k.unit_code
),
grouped AS (
    SELECT period_grain, period_label, FALSE AS is_province, unit_code AS code,
           count(*) AS received, count(*) FILTER (on_time) AS on_time,
           count(*) FILTER (payment_counted) AS payment_counted, count(*) FILTER (paid_online) AS paid_online,
           count(DISTINCT procedure_code) FILTER (payment_counted) AS payment_procedures,
           count(DISTINCT procedure_code) FILTER (paid_online) AS paid_online_procedures,
           count(*) FILTER (electronic_result) AS electronic_result,
           count(*) FILTER (reused_digitised) AS reused_digitised, count(*) FILTER (vneid) AS vneid,
           count(*) FILTER (on_time AND NOT dissatisfied) AS satisfied_on_time
    FROM flags GROUP BY period_grain, period_label, unit_code
    UNION ALL
    SELECT period_grain, period_label, TRUE, province_code,
           count(*), count(*) FILTER (on_time),
           count(*) FILTER (payment_counted), count(*) FILTER (paid_online),
           count(DISTINCT procedure_code) FILTER (payment_counted),
           count(DISTINCT procedure_code) FILTER (paid_online),
           count(*) FILTER (electronic_result),
           count(*) FILTER (reused_digitised), count(*) FILTER (vneid),
           count(*) FILTER (on_time AND NOT dissatisfied)
    FROM flags GROUP BY period_grain, period_label, province_code
),
expected AS (
    SELECT g.period_grain, g.period_label, g.is_province, g.code, i.indicator,
           CASE i.indicator WHEN '2.1' THEN on_time WHEN '3.6' THEN paid_online
                WHEN '3.5b' THEN paid_online_procedures WHEN '4.1' THEN electronic_result
                WHEN '4.3' THEN reused_digitised WHEN '4.5b' THEN vneid WHEN '5.4' THEN satisfied_on_time END AS numerator,
           CASE i.indicator WHEN '3.6' THEN payment_counted WHEN '3.5b' THEN payment_procedures
                ELSE received END AS denominator
    FROM grouped g CROSS JOIN core.index766 i
),
actual AS (
    SELECT period_grain, period_label, unit_level = 'province_total' AS is_province, unit_code AS code,
           indicator, numerator, denominator, count(*) OVER (
               PARTITION BY period_grain, period_label, unit_level = 'province_total', unit_code, indicator) AS copies
    FROM mart.index766_scores
)
SELECT coalesce(e.period_grain, a.period_grain) AS period_grain,
       coalesce(e.period_label, a.period_label) AS period_label,
       coalesce(e.code, a.code) AS code,
       coalesce(e.indicator, a.indicator) AS indicator,
       CASE WHEN coalesce(e.is_province, a.is_province) THEN 'province' ELSE 'unit' END AS row_kind,
       e.numerator AS flag_numerator, a.numerator AS score_numerator,
       e.denominator AS flag_denominator, a.denominator AS score_denominator
FROM expected e
FULL OUTER JOIN actual a
  ON a.period_grain = e.period_grain AND a.period_label = e.period_label AND a.is_province = e.is_province
 AND a.code IS NOT DISTINCT FROM e.code AND a.indicator = e.indicator
WHERE e.numerator IS DISTINCT FROM a.numerator OR e.denominator IS DISTINCT FROM a.denominator
   OR coalesce(a.copies, 1) > 1
