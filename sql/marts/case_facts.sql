-- The case columns the marts count with, one narrow row per case (TEMP TABLE mart_case_facts),
-- derived once per refresh step rather than in every (window, case) row: the window joins of
-- period_cases.sql then carry 20 columns, not the ~45 of core.cases, and the per-case
-- expressions (catalogue eligibility and field, the supplement list's length, whether the case
-- needs the attribution joins) run once per case.
-- The case_filter placeholder: a condition on core.cases c that keeps the cases a step can
-- count (TRUE for the unit and drill-down marts; late candidates for mart.late_cases; the
-- cases that can count under a target unit for mart.target_attainment). pipeline/marts.py.
CREATE OR REPLACE TEMP TABLE mart_case_facts AS
SELECT c.case_id, c.unit_code, c.unit_name_source, c.procedure_code, c.procedure_name,
       c.field_code, c.field_name, c.status_code, c.submitted_at, c.received_at, c.due_at, c.ended_at,
       c.channel, c.service_level, c.fee_total_vnd, c.online_payment_code,
       c.digitised_components_code, c.has_electronic_result, c.satisfaction_code,
       -- drill-down (docs/definitions.md §5): a procedure missing from the catalogue is not eligible;
       -- supplement requests = entries of DanhSachHoSoBoSung in the newest version
       coalesce(c.procedure_code IN (SELECT procedure_code FROM core.procedures WHERE full_process_eligible), false)
           AS is_eligible_procedure,
       coalesce(json_array_length(c.supplement_requests), 0) AS supplement_requests,
       -- the drill-down's field: MaLinhVuc, else the catalogue's field, else 'unknown'; the field
       -- name only as sent with a MaLinhVuc (the catalogue names fields in field_catalogue)
       coalesce(c.field_code, pc.field_code, 'unknown') AS drill_field_code,
       CASE WHEN c.field_code IS NOT NULL THEN c.field_name END AS field_name_sent,
       -- attribution (docs/definitions.md §4.2): only a case whose versions disagree on MaDonVi or whose
       -- code the crosswalk moves can count under another unit than its MaDonVi in some window;
       -- every other case skips both attribution joins of period_cases.sql
       coalesce(c.case_id IN (SELECT case_id FROM core.case_unit_history)
                OR c.unit_code IN (SELECT unit_code FROM core.unit_resolution), false) AS needs_attribution
FROM core.cases c
-- TEMP VIEW procedure_catalogue (procedure_catalogue.sql): one row per procedure code
LEFT JOIN procedure_catalogue pc ON pc.procedure_code = c.procedure_code
WHERE $case_filter;
