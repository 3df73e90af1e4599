-- carried over of a window = in progress of the window before it (METRICS.md §2), per unit.
-- Compared where the previous window is materialised. Units whose code the crosswalk remaps
-- between the two windows are compared at province level only (their cases move to the new
-- unit on the reorganisation date). One row per violation (none = pass).
WITH windows AS (
    SELECT DISTINCT period_grain, period_label, period_start, period_end FROM mart.unit_period_stats
),
pairs AS (
    SELECT cur.period_grain, cur.period_label, prev.period_label AS prev_label,
           prev.period_start AS prev_start, cur.period_start AS cur_start
    FROM windows cur JOIN windows prev
      ON prev.period_grain = cur.period_grain AND prev.period_end + INTERVAL 1 DAY = cur.period_start
),
remapped AS (
    SELECT p.period_grain, p.period_label, x.old_unit_code AS unit_code
    FROM pairs p JOIN core.unit_crosswalk x ON x.valid_from > p.prev_start AND x.valid_from <= p.cur_start
    UNION
    SELECT p.period_grain, p.period_label, x.new_unit_code
    FROM pairs p JOIN core.unit_crosswalk x ON x.valid_from > p.prev_start AND x.valid_from <= p.cur_start
),
both_sides AS (
    SELECT p.period_grain, p.period_label, c.unit_code, c.carried_over, 0 AS prev_in_progress
    FROM pairs p JOIN mart.unit_period_stats c
      ON c.period_grain = p.period_grain AND c.period_label = p.period_label
    UNION ALL
    SELECT p.period_grain, p.period_label, pr.unit_code, 0, pr.in_progress_total
    FROM pairs p JOIN mart.unit_period_stats pr
      ON pr.period_grain = p.period_grain AND pr.period_label = p.prev_label
),
per_unit AS (
    SELECT period_grain, period_label, unit_code,
           sum(carried_over) AS carried_over, sum(prev_in_progress) AS prev_in_progress
    FROM both_sides GROUP BY period_grain, period_label, unit_code
)
SELECT period_grain, period_label, unit_code, 'carried_over = previous in_progress_total' AS identity,
       carried_over AS lhs, prev_in_progress AS rhs
FROM per_unit u
WHERE carried_over <> prev_in_progress
  AND NOT EXISTS (SELECT 1 FROM remapped r WHERE r.period_grain = u.period_grain
                  AND r.period_label = u.period_label AND r.unit_code = u.unit_code)
UNION ALL
SELECT period_grain, period_label, '*province*', 'province carried_over = previous in_progress_total',
       sum(carried_over), sum(prev_in_progress)
FROM per_unit
GROUP BY period_grain, period_label
HAVING sum(carried_over) <> sum(prev_in_progress)
