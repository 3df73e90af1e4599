-- Per-unit, per-period counts of docs/definitions.md §2 (Biểu II.06a) and the rate numerators of §3.
-- Input: the TEMP VIEWs of period_cases.sql (which unit a case counts under in each window) and
--        its TEMP TABLE period_units (the units in force on each window's last day).
-- Output: one row per (period_grain, period_label, unit_code) with any activity.
-- Grouped by window_id (refresh_windows, a small key) and unit; the period columns are joined back.
WITH handled_counts AS (
    SELECT window_id, unit_code,
        max(unit_name_source) AS unit_name_source,
        count(*) FILTER (is_carried_over) AS carried_over,
        count(*) FILTER (is_new AND channel = 'online') AS new_online,
        count(*) FILTER (is_new AND channel = 'in_person') AS new_in_person,
        count(*) FILTER (is_new AND channel = 'postal') AS new_postal,
        count(*) FILTER (is_new) AS new_total,
        count(*) AS received_total,
        count(*) FILTER (is_resolved) AS resolved_total,
        count(*) FILTER (is_resolved AND is_result AND (end_date < due_date)) AS resolved_early,
        count(*) FILTER (is_resolved AND ((is_result AND (due_date IS NULL OR end_date = due_date)) OR is_withdrawn)) AS resolved_on_time,
        count(*) FILTER (is_resolved AND is_result AND end_date > due_date) AS resolved_late,
        count(*) FILTER (is_resolved AND is_withdrawn) AS withdrawn_or_stopped,
        count(*) FILTER (is_in_progress) AS in_progress_total,
        count(*) FILTER (is_in_progress AND (due_date IS NULL OR due_date >= period_end OR is_waiting)) AS in_progress_within,
        count(*) FILTER (is_in_progress AND NOT (due_date IS NULL OR due_date >= period_end OR is_waiting)) AS in_progress_overdue,
        -- rate numerators/denominators over new cases
        count(*) FILTER (is_new AND service_level = '4') AS new_full_process,
        count(*) FILTER (is_new AND channel = 'online' AND service_level = '4') AS new_online_full_process,
        count(*) FILTER (is_new AND fee_total_vnd > 0) AS new_with_fees,
        count(*) FILTER (is_new AND fee_total_vnd > 0 AND online_payment_code = '1') AS new_paid_online_portal,
        count(*) FILTER (is_new AND fee_total_vnd > 0 AND online_payment_code IN ('1', '2')) AS new_paid_online_any,
        count(*) FILTER (is_new AND digitised_components_code = '1') AS new_digitised,
        -- over cases resolved in the period
        count(*) FILTER (is_resolved AND is_result) AS resolved_with_result,
        count(*) FILTER (is_resolved AND is_result AND has_electronic_result) AS resolved_electronic_result,
        count(*) FILTER (is_resolved AND satisfaction_code IN ('1', '2', '3')) AS resolved_rated,
        count(*) FILTER (is_resolved AND satisfaction_code = '1') AS resolved_satisfied,
        count(*) FILTER (is_resolved AND is_result AND channel = 'online') AS resolved_result_online,
        coalesce(sum(ms_to_end) FILTER (is_resolved AND is_result AND channel = 'online') / CAST(86400000 AS DOUBLE), 0) AS days_online_sum,
        count(*) FILTER (is_resolved AND is_result AND channel = 'in_person') AS resolved_result_in_person,
        coalesce(sum(ms_to_end) FILTER (is_resolved AND is_result AND channel = 'in_person') / CAST(86400000 AS DOUBLE), 0) AS days_in_person_sum,
        -- full-process online rate over eligible procedures (docs/definitions.md §5)
        count(*) FILTER (is_new AND is_eligible_procedure) AS new_eligible,
        count(*) FILTER (is_new AND channel = 'online' AND service_level = '4' AND is_eligible_procedure) AS new_online_full_process_eligible
    FROM period_handled_cases
    GROUP BY window_id, unit_code
),
not_received_counts AS (
    SELECT window_id, unit_code,
           max(unit_name_source) AS unit_name_source,
           count(*) AS not_received
    FROM period_not_received_cases
    GROUP BY window_id, unit_code
)
SELECT
    w.period_grain, w.period_label, w.period_start, w.period_end,
    coalesce(h.unit_code, n.unit_code) AS unit_code,
    coalesce(u.unit_name, h.unit_name_source, n.unit_name_source, h.unit_code, n.unit_code) AS unit_name,
    coalesce(u.unit_level, 'unknown') AS unit_level,
    u.province_code,
    coalesce(h.carried_over, 0) AS carried_over,
    coalesce(h.new_online, 0) AS new_online,
    coalesce(h.new_in_person, 0) AS new_in_person,
    coalesce(h.new_postal, 0) AS new_postal,
    coalesce(h.new_total, 0) AS new_total,
    coalesce(h.received_total, 0) AS received_total,
    coalesce(h.resolved_total, 0) AS resolved_total,
    coalesce(h.resolved_early, 0) AS resolved_early,
    coalesce(h.resolved_on_time, 0) AS resolved_on_time,
    coalesce(h.resolved_late, 0) AS resolved_late,
    coalesce(h.withdrawn_or_stopped, 0) AS withdrawn_or_stopped,
    coalesce(h.in_progress_total, 0) AS in_progress_total,
    coalesce(h.in_progress_within, 0) AS in_progress_within,
    coalesce(h.in_progress_overdue, 0) AS in_progress_overdue,
    coalesce(n.not_received, 0) AS not_received,
    coalesce(h.new_full_process, 0) AS new_full_process,
    coalesce(h.new_online_full_process, 0) AS new_online_full_process,
    coalesce(h.new_with_fees, 0) AS new_with_fees,
    coalesce(h.new_paid_online_portal, 0) AS new_paid_online_portal,
    coalesce(h.new_paid_online_any, 0) AS new_paid_online_any,
    coalesce(h.new_digitised, 0) AS new_digitised,
    coalesce(h.resolved_with_result, 0) AS resolved_with_result,
    coalesce(h.resolved_electronic_result, 0) AS resolved_electronic_result,
    coalesce(h.resolved_rated, 0) AS resolved_rated,
    coalesce(h.resolved_satisfied, 0) AS resolved_satisfied,
    coalesce(h.resolved_result_online, 0) AS resolved_result_online,
    coalesce(h.days_online_sum, 0) AS days_online_sum,
    coalesce(h.resolved_result_in_person, 0) AS resolved_result_in_person,
    coalesce(h.days_in_person_sum, 0) AS days_in_person_sum,
    coalesce(h.new_eligible, 0) AS new_eligible,
    coalesce(h.new_online_full_process_eligible, 0) AS new_online_full_process_eligible,
FROM handled_counts h
FULL OUTER JOIN not_received_counts n
  ON n.window_id = h.window_id AND n.unit_code = h.unit_code
JOIN refresh_windows w
  ON w.window_id = coalesce(h.window_id, n.window_id)
LEFT JOIN period_units u
  ON u.period_end = w.period_end AND u.unit_code = coalesce(h.unit_code, n.unit_code)
