-- Decision 766 index scores (docs/definitions.md §7) of the refreshed calendar windows, from
-- mart.index766_cases (already refreshed for them): one row per (window, unit, indicator) and
-- per (window, province, indicator) with unit_level = 'province_total'. The province rows
-- apply the formula to the POOLED counts of all its units (never an average of unit scores);
-- their distinct procedures (3.5b) are distinct over the whole province. Units and provinces
-- as of the window's last day (TEMP TABLE period_units); codes with no row in force that day
-- roll up on their own with an empty province (§4.3).
-- Each indicator's maximum, threshold and zero-denominator score: core.index766 (seeds/index766.csv).
-- The score hole (db.render_sql): pipeline.index766.score_sql over numerator, denominator and the list's columns.
WITH cases AS (
    SELECT k.period_grain, k.period_label, k.period_start, k.period_end, k.unit_code, k.procedure_code,
           k.on_time, k.payment_counted, k.paid_online, k.electronic_result, k.reused_digitised,
           k.vneid, k.dissatisfied,
           u.unit_name, coalesce(u.unit_level, 'unknown') AS unit_level, u.province_code
    FROM mart.index766_cases k
    LEFT JOIN period_units u ON u.period_end = k.period_end AND u.unit_code = k.unit_code
    WHERE (k.period_grain, k.period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)
),
-- Each case twice: under its unit, and pooled under its province; one aggregation counts both.
grouped AS (
    SELECT *, FALSE AS pooled, unit_code AS group_code FROM cases
    UNION ALL
    SELECT *, TRUE AS pooled, province_code AS group_code FROM cases
),
counted AS (
    SELECT period_grain, period_label, period_start, period_end, group_code AS unit_code,
           CASE WHEN pooled THEN NULL ELSE max(unit_name) END AS unit_name,
           CASE WHEN pooled THEN 'province_total' ELSE max(unit_level) END AS unit_level,
           CASE WHEN pooled THEN group_code ELSE max(province_code) END AS province_code,
           count(*) AS received,
           count(*) FILTER (on_time) AS on_time,
           count(*) FILTER (payment_counted) AS payment_counted,
           count(*) FILTER (paid_online) AS paid_online,
           count(DISTINCT procedure_code) FILTER (payment_counted) AS payment_procedures,
           count(DISTINCT procedure_code) FILTER (paid_online) AS paid_online_procedures,
           count(*) FILTER (electronic_result) AS electronic_result,
           count(*) FILTER (reused_digitised) AS reused_digitised,
           count(*) FILTER (vneid) AS vneid,
           count(*) FILTER (on_time AND NOT dissatisfied) AS on_time_not_dissatisfied
    FROM grouped
    GROUP BY period_grain, period_label, period_start, period_end, pooled, group_code
),
indicator_counts AS (
    SELECT c.period_grain, c.period_label, c.period_start, c.period_end, c.unit_code,
           CASE WHEN c.unit_level = 'province_total' THEN coalesce(p.unit_name, c.province_code, 'unknown')
                ELSE coalesce(c.unit_name, s.unit_name, c.unit_code) END AS unit_name,
           c.unit_level, c.province_code,
           i.indicator, i.name AS indicator_name, i.indicator_group, i.sort_order,
           CAST(CASE i.indicator
               WHEN '2.1' THEN c.on_time
               WHEN '3.6' THEN c.paid_online
               WHEN '3.5b' THEN c.paid_online_procedures
               WHEN '4.1' THEN c.electronic_result
               WHEN '4.3' THEN c.reused_digitised
               WHEN '4.5b' THEN c.vneid
               WHEN '5.4' THEN c.on_time_not_dissatisfied
           END AS BIGINT) AS numerator,
           CAST(CASE i.indicator
               WHEN '3.6' THEN c.payment_counted
               WHEN '3.5b' THEN c.payment_procedures
               ELSE c.received
           END AS BIGINT) AS denominator,
           i.max_points, i.threshold, i.zero_denominator_score
    FROM counted c
    CROSS JOIN core.index766 i
    LEFT JOIN period_units p ON c.unit_level = 'province_total' AND p.period_end = c.period_end AND p.unit_code = c.province_code
    LEFT JOIN mart.unit_period_stats s
      ON c.unit_level <> 'province_total' AND s.period_grain = c.period_grain
     AND s.period_label = c.period_label AND s.unit_code = c.unit_code
)
SELECT period_grain, period_label, period_start, period_end, unit_code, unit_name, unit_level, province_code,
       indicator, indicator_name, indicator_group, numerator, denominator,
       CASE WHEN denominator = 0 THEN NULL ELSE numerator / denominator END AS ratio,
       max_points, threshold,
       CAST($score AS DOUBLE) AS score
FROM indicator_counts
ORDER BY period_grain, period_label, unit_level = 'province_total', unit_code, sort_order
