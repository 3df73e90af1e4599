-- The (period, case) rows every mart counts, as two TEMP VIEWs (METRICS.md §2 and §4.2):
--   period_handled_cases      every case of the handled population in every window it
--                             overlaps (received by the window's end, not ended before its start);
--   period_not_received_cases status 1/3 cases, in the window of their submission.
-- Both carry `unit_code`, the unit the case counts under in that window: the one shared
-- attribution step of the unit, level, procedure, field and late-case marts.
-- Input: TEMP TABLE refresh_periods(period_grain, period_label, period_start DATE, period_end DATE),
--        core.cases, core.unit_crosswalk.
--
-- Instants: a period covers [period_start 00:00, period_end + 1 day 00:00) in local time, so
-- "by e" is "< period_end + 1 day" and 14th 23:59:59 / 15th 00:00:00 land on the right side.
-- Deadlines compare DATES (early = end date before due date; same date = on time).
CREATE OR REPLACE TEMP VIEW refresh_windows AS
SELECT period_grain, period_label, period_start, period_end,
       CAST(period_start AS TIMESTAMP) AS s,
       CAST(period_end + INTERVAL 1 DAY AS TIMESTAMP) AS e_excl
FROM refresh_periods;

CREATE OR REPLACE TEMP VIEW primary_crosswalk AS
SELECT old_unit_code, new_unit_code, valid_from FROM core.unit_crosswalk WHERE is_primary;

CREATE OR REPLACE TEMP VIEW period_handled_cases AS
SELECT p.period_grain, p.period_label, p.period_start, p.period_end,
       CASE WHEN x.new_unit_code IS NOT NULL AND x.valid_from <= p.period_start
            THEN x.new_unit_code ELSE c.unit_code END AS unit_code,
       c.unit_name_source,
       c.case_id, c.procedure_code, c.procedure_name, c.field_code, c.field_name,
       c.received_at, c.due_at, c.ended_at, c.status_code,
       c.received_at < p.s AS is_carried_over,
       c.received_at >= p.s AS is_new,
       c.ended_at IS NOT NULL AND c.ended_at < p.e_excl AS is_resolved,
       c.ended_at IS NULL OR c.ended_at >= p.e_excl AS is_in_progress,
       c.status_code IN ('9', '10') AS is_result,
       c.status_code IN ('7', '8') AS is_withdrawn,
       c.status_code IN ('5', '6') AS is_waiting,
       CAST(c.ended_at AS DATE) AS end_date,
       CAST(c.due_at AS DATE) AS due_date,
       c.channel, c.service_level, c.fee_total_vnd, c.online_payment_code,
       c.digitised_components_code, c.has_electronic_result, c.satisfaction_code,
       epoch(c.ended_at - c.received_at) / 86400.0 AS days_to_end,
       -- drill-down (METRICS.md §5): a procedure missing from the catalogue is not eligible;
       -- supplement requests = entries of DanhSachHoSoBoSung in the newest version
       coalesce(c.procedure_code IN (SELECT procedure_code FROM core.procedures WHERE full_process_eligible), false)
           AS is_eligible_procedure,
       coalesce(json_array_length(c.supplement_requests), 0) AS supplement_requests
FROM core.cases c
JOIN refresh_windows p
  ON c.received_at < p.e_excl
 AND (c.ended_at IS NULL OR c.ended_at >= p.s)
LEFT JOIN primary_crosswalk x ON x.old_unit_code = c.unit_code
WHERE c.status_code NOT IN ('1', '3');

CREATE OR REPLACE TEMP VIEW period_not_received_cases AS
SELECT p.period_grain, p.period_label, p.period_start, p.period_end,
       CASE WHEN x.new_unit_code IS NOT NULL AND x.valid_from <= p.period_start
            THEN x.new_unit_code ELSE c.unit_code END AS unit_code,
       c.unit_name_source,
       c.case_id, c.procedure_code, c.procedure_name, c.field_code, c.field_name
FROM core.cases c
JOIN refresh_windows p
  ON coalesce(c.submitted_at, c.received_at) >= p.s
 AND coalesce(c.submitted_at, c.received_at) < p.e_excl
LEFT JOIN primary_crosswalk x ON x.old_unit_code = c.unit_code
WHERE c.status_code IN ('1', '3');
