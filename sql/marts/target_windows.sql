-- The window each target row is judged on, per as-of period (docs/definitions.md §4.4).
-- Input: TEMP TABLE target_as_of(year, as_of_grain, as_of_period, window_start, as_of_end):
--        every reporting period of each refreshed year; core.targets, core.units.
-- A report for a period judges the yearly target year to date: window_start .. the period's
-- last day. A unit abolished inside that span (its last valid_to falls in it) is judged on the
-- partial window window_start .. valid_to, with E = valid_to for the attribution (§4.2).
CREATE OR REPLACE TEMP TABLE target_windows AS
WITH lifetime AS (
    SELECT unit_code,
           CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS last_day
    FROM core.units
    GROUP BY unit_code
),
target_units AS (
    SELECT DISTINCT year, unit_code FROM core.targets
)
SELECT a.year, a.as_of_grain, a.as_of_period, a.window_start, a.as_of_end, t.unit_code,
       CASE WHEN l.last_day >= a.window_start AND l.last_day < a.as_of_end THEN l.last_day
            ELSE a.as_of_end END AS window_end
FROM target_as_of a
JOIN target_units t ON t.year = a.year
LEFT JOIN lifetime l ON l.unit_code = t.unit_code;
