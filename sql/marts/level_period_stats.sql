-- Roll-ups of the refreshed windows per province (of each unit on the window's last day) and
-- unit level, plus 'province_total' per province (docs/definitions.md §4.3). Codes with no row in force
-- roll up on their own, with an empty (NULL) province: provinces never mix.
-- Counts are summed first (cast back to BIGINT, as in the unit table: sum() widens them to
-- HUGEINT, which pandas reads as floats); pipeline/metrics.py adds the rates from the sums.
SELECT period_grain, period_label, period_start, period_end, province_code, unit_level,
       count(*) AS units, $count_sums
FROM mart.unit_period_stats u
WHERE (period_grain, period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)
GROUP BY period_grain, period_label, period_start, period_end, province_code, unit_level
UNION ALL
SELECT period_grain, period_label, period_start, period_end, province_code, 'province_total' AS unit_level,
       count(*) AS units, $count_sums
FROM mart.unit_period_stats u
WHERE (period_grain, period_label) IN (SELECT (period_grain, period_label) FROM refresh_periods)
GROUP BY period_grain, period_label, period_start, period_end, province_code
