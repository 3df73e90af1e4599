-- Delta maintenance of the drill-down (pipeline/marts/drill_state.py): which (unit, procedure)
-- groups a night's changes can move. Every drill-down row is a sum over the cases of one
-- (window, unit, procedure, field) group, so a group none of the changed cases was or is in
-- keeps its rows; the groups the changed cases can be in are recomputed from all their cases.
-- The merged_after placeholder: a TIMESTAMP literal, the newest merge the windows' rows reflect.
-- The null_key placeholder: the text standing for a NULL code in the pair keys (unit_key,
-- procedure_key), so that the pairs compare as tuples.

-- Cases with a version merged since: new cases, corrections, late versions that lost (they
-- can still change the case's unit history, core.case_unit_history).
CREATE OR REPLACE TEMP TABLE drill_changed_cases AS
SELECT DISTINCT v.case_id
FROM raw.case_versions v
WHERE v.batch_id IN (SELECT batch_id FROM core.merged_batches WHERE merged_at > $merged_after);

-- The (unit, procedure) pairs those cases count under in any window, before or after the
-- change: a case counts under its MaDonVi of some version (core.case_unit_history takes them
-- from the versions), forwarded through the crosswalk (core.unit_resolution, any span), with
-- the procedure of some version. The reference lists are unchanged on this path
-- (drill_state.reference_digest), so this is a superset of the groups the change moved.
CREATE OR REPLACE TEMP TABLE drill_affected_pairs AS
WITH versions AS (
    SELECT DISTINCT v.unit_code, v.procedure_code
    FROM raw.case_versions v SEMI JOIN drill_changed_cases c ON c.case_id = v.case_id
)
SELECT coalesce(unit_code, $null_key) AS unit_key, coalesce(procedure_code, $null_key) AS procedure_key
FROM versions
UNION
SELECT coalesce(r.resolved_code, $null_key), coalesce(v.procedure_code, $null_key)
FROM versions v JOIN core.unit_resolution r ON r.unit_code = v.unit_code;
