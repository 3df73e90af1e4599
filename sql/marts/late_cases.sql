-- Late cases (docs/definitions.md §5): one row per (window, case) resolved late in the window or in
-- progress overdue at its end, under the unit it counts under (the shared period_cases views).
-- The resolved_late / overdue placeholders: the FILTER conditions of resolved_late / in_progress_overdue in
-- unit_period_counts.sql, verbatim (pipeline/marts.py), so the rows match those counts.
-- No personal data and no free text: codes, instants and counts only.
WITH late AS (
    SELECT h.period_grain, h.period_label, h.unit_code, h.case_id, h.procedure_code,
           h.drill_field_code AS field_code,
           CASE WHEN $resolved_late THEN 'resolved_late' ELSE 'overdue' END AS late_kind,
           h.received_at, h.due_at, h.ended_at,
           CASE WHEN $resolved_late THEN date_diff('day', h.due_date, h.end_date)
                ELSE date_diff('day', h.due_date, h.period_end) END AS days_late,
           h.supplement_requests
    FROM period_handled_cases h
    WHERE ($resolved_late) OR ($overdue)
),
-- NgayHenTra history over the case's valid versions (raw.case_versions holds only valid
-- ones), read for the late candidates only (mart_case_facts of this step: cases whose due
-- date passed before they ended or that are open; a superset of `late`, read without
-- evaluating `late` a second time). Timestamps are parsed, so the same instant written in
-- another date format is one value.
due_history AS (
    SELECT v.case_id, min(v.due_at) AS first_due_at,
           greatest(count(DISTINCT v.due_at) - 1, 0) AS due_changes
    FROM raw.case_versions v
    WHERE v.case_id IN (SELECT case_id FROM mart_case_facts)
    GROUP BY v.case_id
)
SELECT l.period_grain, l.period_label, l.unit_code, l.case_id, l.procedure_code, l.field_code,
       l.late_kind, l.received_at, l.due_at, l.ended_at, l.days_late,
       d.first_due_at, coalesce(d.due_changes, 0) AS due_changes,
       l.supplement_requests
FROM late l
LEFT JOIN due_history d ON d.case_id = l.case_id
