-- Actuals against yearly targets (docs/definitions.md §4.4), one row per (year, as_of_period, unit,
-- metric). Rows with as_of_period = the year's label are the verdict; the others judge the
-- target year to date, up to that period's last day.
-- Input: TEMP TABLE target_windows (sql/marts/target_windows.sql), TEMP TABLE
--        target_window_stats (the unit mart's SELECT over those windows, with attribution as
--        of each window's last day), core.targets, core.unit_calendar.
-- The holes actual, numerator and denominator are CASE expressions over every rate column
-- (pipeline/marts.py builds them from pipeline/metrics.py RATES).
WITH first_rows AS (
    SELECT unit_code, arg_min(unit_name, from_day) AS unit_name, arg_min(unit_level, from_day) AS unit_level,
           arg_min(province_code, from_day) AS province_code
    FROM core.unit_calendar
    GROUP BY unit_code
),
joined AS (
    SELECT t.year, w.as_of_grain, w.as_of_period, t.unit_code,
           coalesce(cal.unit_name, f.unit_name, t.unit_name) AS unit_name,
           -- level and province as of the unit's own last day of the window
           coalesce(cal.unit_level, f.unit_level, 'unknown') AS unit_level,
           CASE WHEN cal.unit_code IS NOT NULL THEN cal.province_code ELSE f.province_code END AS province_code,
           t.metric, w.window_start, w.window_end, w.window_end < w.as_of_end AS partial_window,
           $actual AS actual,
           coalesce($numerator, 0) AS numerator,
           coalesce($denominator, 0) AS denominator,
           t.target_rate AS target,
           coalesce(t.target_rate, 0) <> 0 AS applicable
    FROM core.targets t
    JOIN target_windows w ON w.year = t.year AND w.unit_code = t.unit_code
    LEFT JOIN target_window_stats s
      ON s.period_start = w.window_start AND s.period_end = w.window_end AND s.unit_code = t.unit_code
    LEFT JOIN core.unit_calendar cal
      ON cal.unit_code = t.unit_code AND w.window_end BETWEEN cal.from_day AND cal.to_day
    LEFT JOIN first_rows f ON f.unit_code = t.unit_code
)
SELECT year, as_of_grain, as_of_period, unit_code, unit_name, province_code, unit_level, metric,
       window_start, window_end, partial_window,
       actual, numerator, denominator, target, applicable,
       CASE WHEN applicable THEN actual - target END AS gap,
       CASE WHEN applicable THEN actual >= target END AS met,
       CASE WHEN applicable AND actual IS NOT NULL THEN
           rank() OVER (PARTITION BY year, as_of_period, metric, province_code, unit_level,
                                     applicable AND actual IS NOT NULL
                        ORDER BY actual DESC)
       END AS rank_in_level,
       count(*) FILTER (WHERE applicable AND actual IS NOT NULL)
           OVER (PARTITION BY year, as_of_period, metric, province_code, unit_level) AS units_in_level
FROM joined
