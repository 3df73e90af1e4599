-- carried over of a window = in progress of the window before it, as restated in docs/definitions.md §4.2:
-- the previous window's in-progress cases are counted under the unit they count under in the
-- later window. From the marts: the previous window's unit rows are forwarded through the
-- crosswalk as of the later window's last day, and each case whose recorded unit changed between
-- the two last days (core.case_unit_history) and was in progress at the previous window's end
-- moves from its earlier unit to its later one. Exact per unit and per province (of the later
-- window). Compared where the previous window is materialised. One row per violation.
WITH windows AS (
    SELECT DISTINCT period_grain, period_label, period_start, period_end FROM mart.unit_period_stats
),
pairs AS (
    SELECT cur.period_grain, cur.period_label, prev.period_label AS prev_label,
           prev.period_end AS prev_end, cur.period_start AS cur_start, cur.period_end AS cur_end
    FROM windows cur JOIN windows prev
      ON prev.period_grain = cur.period_grain AND prev.period_end + INTERVAL 1 DAY = cur.period_start
),
prev_forwarded AS (
    SELECT p.period_grain, p.period_label, p.cur_end,
           coalesce(r.resolved_code, pr.unit_code) AS unit_code, pr.in_progress_total AS n
    FROM pairs p
    JOIN mart.unit_period_stats pr ON pr.period_grain = p.period_grain AND pr.period_label = p.prev_label
    LEFT JOIN core.unit_resolution r ON r.unit_code = pr.unit_code AND p.cur_end BETWEEN r.from_day AND r.to_day
),
moved AS (
    SELECT p.period_grain, p.period_label, p.prev_end, p.cur_end,
           hp.unit_code AS recorded_prev, hc.unit_code AS recorded_cur
    FROM pairs p
    JOIN core.case_unit_history hp ON p.prev_end BETWEEN hp.from_day AND hp.to_day
    JOIN core.case_unit_history hc ON hc.case_id = hp.case_id AND p.cur_end BETWEEN hc.from_day AND hc.to_day
    JOIN core.cases c ON c.case_id = hp.case_id
    WHERE hp.unit_code <> hc.unit_code
      AND c.status_code NOT IN ('1', '3')
      AND c.received_at < CAST(p.cur_start AS TIMESTAMP)
      AND (c.ended_at IS NULL OR c.ended_at >= CAST(p.cur_start AS TIMESTAMP))
),
moved_units AS (
    SELECT m.period_grain, m.period_label, m.cur_end,
           coalesce(r2.resolved_code, r1.resolved_code, m.recorded_prev) AS from_unit,
           coalesce(r3.resolved_code, m.recorded_cur) AS to_unit
    FROM moved m
    LEFT JOIN core.unit_resolution r1
      ON r1.unit_code = m.recorded_prev AND m.prev_end BETWEEN r1.from_day AND r1.to_day
    LEFT JOIN core.unit_resolution r2
      ON r2.unit_code = coalesce(r1.resolved_code, m.recorded_prev) AND m.cur_end BETWEEN r2.from_day AND r2.to_day
    LEFT JOIN core.unit_resolution r3
      ON r3.unit_code = m.recorded_cur AND m.cur_end BETWEEN r3.from_day AND r3.to_day
),
both_sides AS (
    SELECT p.period_grain, p.period_label, p.cur_end, c.unit_code, c.carried_over, 0 AS prev_in_progress
    FROM pairs p JOIN mart.unit_period_stats c
      ON c.period_grain = p.period_grain AND c.period_label = p.period_label
    UNION ALL
    SELECT period_grain, period_label, cur_end, unit_code, 0, n FROM prev_forwarded
    UNION ALL
    SELECT period_grain, period_label, cur_end, from_unit, 0, -1 FROM moved_units
    UNION ALL
    SELECT period_grain, period_label, cur_end, to_unit, 0, 1 FROM moved_units
),
per_unit AS (
    SELECT b.period_grain, b.period_label, b.unit_code, u.province_code,
           sum(b.carried_over) AS carried_over, sum(b.prev_in_progress) AS prev_in_progress
    FROM both_sides b
    LEFT JOIN core.unit_calendar u ON u.unit_code = b.unit_code AND b.cur_end BETWEEN u.from_day AND u.to_day
    GROUP BY b.period_grain, b.period_label, b.unit_code, u.province_code
)
SELECT period_grain, period_label, unit_code, 'carried_over = previous in_progress_total' AS identity,
       carried_over AS lhs, prev_in_progress AS rhs
FROM per_unit
WHERE carried_over <> prev_in_progress
UNION ALL
SELECT period_grain, period_label, '*province ' || coalesce(province_code, '(none)') || '*',
       'province carried_over = previous in_progress_total', sum(carried_over), sum(prev_in_progress)
FROM per_unit
GROUP BY period_grain, period_label, province_code
HAVING sum(carried_over) <> sum(prev_in_progress)
