-- Decision 766 index, per case (docs/definitions.md §7): one row per (calendar window, case of the
-- population R) under the unit the case counts under (§4.2, the shared period_cases views),
-- with one flag per indicator it enters. No personal data: codes, instants and flags only.
-- Input: the period_cases.sql views over calendar windows, TEMP TABLE index766_case_facts.
--
-- R: cases received in [s, e] (is_new; statuses 1 and 3 are never in period_handled_cases).
-- On time at e (instants, not dates; no exception for withdrawn or stopped cases):
--   ended by e (any status 7-10): no due instant, or ended_at <= NgayHenTra;
--   status 5 (waiting for supplements), not ended: no request, or exactly one request and
--     (no due instant, or its NgayYeuCau <= NgayHenTra; an unreadable NgayYeuCau is not shown
--     to be in time: late); two or more requests: late;
--   any other case not ended by e: no due instant, or due date >= the window's last day.
SELECT h.period_grain, h.period_label, h.period_start, h.period_end, h.unit_code, h.case_id,
       h.procedure_code, h.status_code, h.received_at, h.due_at, h.ended_at,
       x.supplement_count AS supplement_requests,
       CASE
           WHEN h.is_resolved THEN h.due_at IS NULL OR h.ended_at <= h.due_at
           WHEN h.status_code = '5' THEN x.supplement_count = 0
               OR (x.supplement_count = 1 AND (h.due_at IS NULL OR coalesce(x.first_request_at <= h.due_at, false)))
           ELSE h.due_at IS NULL OR h.due_date >= h.period_end
       END AS on_time,
       x.payment_counted,
       x.payment_counted AND coalesce(h.online_payment_code IN ('1', '2'), false) AS paid_online,
       h.is_resolved AND h.is_result AND coalesce(h.has_electronic_result, false) AS electronic_result,
       coalesce(h.digitised_components_code = '1', false) AS reused_digitised,
       coalesce(x.vneid_verified_code = '1', false) AS vneid,
       coalesce(h.satisfaction_code = '3', false) AS dissatisfied
FROM period_handled_cases h
JOIN index766_case_facts x ON x.case_id = h.case_id
WHERE h.is_new AND h.period_grain IN ('cal_month', 'cal_quarter', 'cal_year')
