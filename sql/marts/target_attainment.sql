-- Yearly (15th-to-14th) actuals against targets, for the refreshed year windows.
WITH years AS (
    SELECT CAST(period_label AS INTEGER) AS year, period_label
    FROM refresh_periods WHERE period_grain = 'year'
),
actuals AS (
    SELECT CAST(s.period_label AS INTEGER) AS year, s.unit_code, m.metric,
           CASE m.metric WHEN 'full_process_online_rate' THEN s.full_process_online_rate
                         WHEN 'online_payment_rate' THEN s.online_payment_rate END AS actual,
           CASE m.metric WHEN 'full_process_online_rate' THEN s.full_process_online_rate_numerator
                         WHEN 'online_payment_rate' THEN s.online_payment_rate_numerator END AS numerator,
           CASE m.metric WHEN 'full_process_online_rate' THEN s.full_process_online_rate_denominator
                         WHEN 'online_payment_rate' THEN s.online_payment_rate_denominator END AS denominator
    FROM mart.unit_period_stats s
    CROSS JOIN (VALUES ('full_process_online_rate'), ('online_payment_rate')) AS m(metric)
    WHERE s.period_grain = 'year' AND s.period_label IN (SELECT period_label FROM years)
),
joined AS (
    SELECT t.year, t.unit_code, coalesce(u.unit_name, t.unit_name) AS unit_name,
           coalesce(u.unit_level, 'unknown') AS unit_level, t.metric,
           a.actual, a.numerator, a.denominator, t.target_rate AS target
    FROM core.targets t
    JOIN years y ON y.year = t.year
    LEFT JOIN core.units u ON u.unit_code = t.unit_code
    LEFT JOIN actuals a ON a.year = t.year AND a.unit_code = t.unit_code AND a.metric = t.metric
)
SELECT year, unit_code, unit_name, unit_level, metric, actual, numerator, denominator, target,
       actual - target AS gap,
       actual >= target AS met,
       CASE WHEN actual IS NOT NULL THEN
           rank() OVER (PARTITION BY year, metric, unit_level, actual IS NULL ORDER BY actual DESC)
       END AS rank_in_level,
       count(actual) OVER (PARTITION BY year, metric, unit_level) AS units_in_level
FROM joined
