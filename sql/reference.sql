-- Reference data from seeds/ (replaced on every load; the files are the source of truth).
-- $seeds is substituted with the seeds folder by pipeline/reference.py.
CREATE OR REPLACE TABLE core.units AS
SELECT trim(nfc_normalize(unit_code)) AS unit_code,
       trim(nfc_normalize(unit_name)) AS unit_name,
       trim(unit_level) AS unit_level,
       nullif(trim(parent_code), '') AS parent_code,
       try_cast(nullif(trim(valid_from), '') AS DATE) AS valid_from,
       try_cast(nullif(trim(valid_to), '') AS DATE) AS valid_to
FROM read_csv('$seeds/units.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.units IS 'Unit reference list of the province (seeds/units.csv): code, name, level, parent, validity dates.';
COMMENT ON COLUMN core.units.unit_code IS 'Unit code as used in MaDonVi.';
COMMENT ON COLUMN core.units.unit_name IS 'Official unit name (NFC).';
COMMENT ON COLUMN core.units.unit_level IS 'province_department, district, commune (or province for the root).';
COMMENT ON COLUMN core.units.parent_code IS 'Parent unit code.';
COMMENT ON COLUMN core.units.valid_from IS 'First day the unit exists (empty = always).';
COMMENT ON COLUMN core.units.valid_to IS 'Last day the unit exists (empty = still exists).';

CREATE OR REPLACE TABLE core.unit_crosswalk AS
SELECT trim(old_unit_code) AS old_unit_code,
       trim(new_unit_code) AS new_unit_code,
       CAST(valid_from AS DATE) AS valid_from,
       lower(trim(is_primary)) IN ('true', '1', 'yes') AS is_primary,
       note
FROM read_csv('$seeds/unit_crosswalk.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.unit_crosswalk IS 'Reorganisation crosswalk (seeds/unit_crosswalk.csv): old unit code -> new unit code from valid_from. One old unit may split into several; cases are reported under the primary one for windows starting on/after valid_from.';
COMMENT ON COLUMN core.unit_crosswalk.old_unit_code IS 'Unit code before the reorganisation.';
COMMENT ON COLUMN core.unit_crosswalk.new_unit_code IS 'Unit code after it.';
COMMENT ON COLUMN core.unit_crosswalk.valid_from IS 'Day the mapping takes effect; windows starting on/after it show the new unit.';
COMMENT ON COLUMN core.unit_crosswalk.is_primary IS 'The new unit the old unit''s cases are reported under (one per old code).';
COMMENT ON COLUMN core.unit_crosswalk.note IS 'Free text.';

CREATE OR REPLACE TABLE core.targets AS
SELECT trim(unit_code) AS unit_code,
       trim(nfc_normalize(unit_name)) AS unit_name,
       CAST(year AS INTEGER) AS year,
       trim(metric) AS metric,
       CAST(target_rate AS DOUBLE) AS target_rate,
       try_cast(baseline_rate_prev_year AS DOUBLE) AS baseline_rate_prev_year
FROM read_csv('$seeds/targets.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.targets IS 'Per-unit yearly targets (seeds/targets.csv, from the Quảng Trị 2025 plan Appendix 2) as fractions.';
COMMENT ON COLUMN core.targets.unit_code IS 'Unit code (matched to seeds/units.csv by NFC name).';
COMMENT ON COLUMN core.targets.unit_name IS 'Unit name as in the plan.';
COMMENT ON COLUMN core.targets.year IS 'Target year (yearly 15th-to-14th window label).';
COMMENT ON COLUMN core.targets.metric IS 'full_process_online_rate or online_payment_rate.';
COMMENT ON COLUMN core.targets.target_rate IS 'Target as a fraction.';
COMMENT ON COLUMN core.targets.baseline_rate_prev_year IS 'The previous year''s actual reported in the plan, as a fraction.';

CREATE OR REPLACE TABLE core.procedures AS
SELECT trim(procedure_code) AS procedure_code,
       trim(nfc_normalize(procedure_name)) AS procedure_name,
       trim(field_code) AS field_code,
       trim(nfc_normalize(field_name)) AS field_name,
       trim(service_level) AS service_level,
       coalesce(lower(trim(full_process_eligible)) IN ('1', 'true', 'yes'), false) AS full_process_eligible
FROM read_csv('$seeds/procedures.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.procedures IS 'Procedure reference list (seeds/procedures.csv).';
COMMENT ON COLUMN core.procedures.procedure_code IS 'MaTTHC.';
COMMENT ON COLUMN core.procedures.procedure_name IS 'TenTTHC.';
COMMENT ON COLUMN core.procedures.field_code IS 'MaLinhVuc.';
COMMENT ON COLUMN core.procedures.field_name IS 'TenLinhVuc.';
COMMENT ON COLUMN core.procedures.service_level IS 'Service level of the procedure: 4 full-process online, 3 partly online, 2 information.';
COMMENT ON COLUMN core.procedures.full_process_eligible IS 'TRUE when the law allows the procedure fully online (full_process_eligible = 1): its cases are the denominator of full_process_online_eligible_rate.';
