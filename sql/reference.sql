-- Reference data from seeds/ (replaced on every load; the files are the source of truth).
-- The seeds folder is filled in by pipeline/ingest/reference.py (db.render_sql, hole "seeds").
CREATE OR REPLACE TABLE core.units AS
SELECT trim(nfc_normalize(unit_code)) AS unit_code,
       trim(nfc_normalize(unit_name)) AS unit_name,
       trim(unit_level) AS unit_level,
       nullif(trim(parent_code), '') AS parent_code,
       try_cast(nullif(trim(valid_from), '') AS DATE) AS valid_from,
       try_cast(nullif(trim(valid_to), '') AS DATE) AS valid_to
FROM read_csv('$seeds/units.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.units IS 'Unit reference list (seeds/units.csv): code, name, level, parent, validity dates. A code may have several rows with non-overlapping validity; the row in force on a day gives its name, level and parent that day.';
COMMENT ON COLUMN core.units.unit_code IS 'Unit code as used in MaDonVi.';
COMMENT ON COLUMN core.units.unit_name IS 'Official unit name (NFC).';
COMMENT ON COLUMN core.units.unit_level IS 'province, province_department, district or commune.';
COMMENT ON COLUMN core.units.parent_code IS 'Parent unit code.';
COMMENT ON COLUMN core.units.valid_from IS 'First day this row is in force (empty = always).';
COMMENT ON COLUMN core.units.valid_to IS 'Last day this row is in force (empty = still in force).';

CREATE OR REPLACE TABLE core.unit_crosswalk AS
SELECT trim(old_unit_code) AS old_unit_code,
       trim(new_unit_code) AS new_unit_code,
       try_cast(nullif(trim(valid_from), '') AS DATE) AS valid_from,
       lower(trim(is_primary)) IN ('true', '1', 'yes') AS is_primary,
       note
FROM read_csv('$seeds/unit_crosswalk.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.unit_crosswalk IS 'Reorganisation crosswalk (seeds/unit_crosswalk.csv): old unit code -> new unit code from valid_from. One old unit may split into several; from valid_from on, its cases count under the primary one (in every period whose last day is on/after valid_from; chains are followed, see core.unit_resolution). Non-primary rows record partial transfers and move no counts.';
COMMENT ON COLUMN core.unit_crosswalk.old_unit_code IS 'Unit code before the reorganisation.';
COMMENT ON COLUMN core.unit_crosswalk.new_unit_code IS 'Unit code after it.';
COMMENT ON COLUMN core.unit_crosswalk.valid_from IS 'Day the mapping takes effect: periods whose last day is on/after it count the old unit''s cases under the new one.';
COMMENT ON COLUMN core.unit_crosswalk.is_primary IS 'The new unit the old unit''s cases count under (at most one per old code and valid_from).';
COMMENT ON COLUMN core.unit_crosswalk.note IS 'Free text.';

CREATE OR REPLACE TABLE core.targets AS
SELECT trim(unit_code) AS unit_code,
       trim(nfc_normalize(unit_name)) AS unit_name,
       CAST(year AS INTEGER) AS year,
       trim(metric) AS metric,
       try_cast(nullif(trim(target_rate), '') AS DOUBLE) AS target_rate,
       try_cast(baseline_rate_prev_year AS DOUBLE) AS baseline_rate_prev_year
FROM read_csv('$seeds/targets.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.targets IS 'Per-unit yearly targets (seeds/targets.csv, from the Quảng Trị 2025 plan Appendix 2) as fractions.';
COMMENT ON COLUMN core.targets.unit_code IS 'Unit code (seeds/units.csv); the unit must be in force on some day of the year''s window.';
COMMENT ON COLUMN core.targets.unit_name IS 'Unit name as in the plan.';
COMMENT ON COLUMN core.targets.year IS 'Target year (yearly 15th-to-14th window label).';
COMMENT ON COLUMN core.targets.metric IS 'Name of a rate column of mart.unit_period_stats (e.g. full_process_online_rate, online_payment_rate, on_time_rate).';
COMMENT ON COLUMN core.targets.target_rate IS 'Target as a fraction; empty or 0 = the target does not apply to the unit.';
COMMENT ON COLUMN core.targets.baseline_rate_prev_year IS 'The previous year''s actual reported in the plan, as a fraction.';

CREATE OR REPLACE TABLE core.procedures AS
SELECT trim(procedure_code) AS procedure_code,
       trim(nfc_normalize(procedure_name)) AS procedure_name,
       trim(field_code) AS field_code,
       trim(nfc_normalize(field_name)) AS field_name,
       trim(service_level) AS service_level,
       coalesce(lower(trim(full_process_eligible)) IN ('true', '1', 'yes'), false) AS full_process_eligible,
       coalesce(lower(trim(fee_bearing)) IN ('true', '1', 'yes'), false) AS fee_bearing
FROM read_csv('$seeds/procedures.csv', header = true, all_varchar = true);
COMMENT ON TABLE core.procedures IS 'Procedure reference list (seeds/procedures.csv).';
COMMENT ON COLUMN core.procedures.procedure_code IS 'MaTTHC.';
COMMENT ON COLUMN core.procedures.procedure_name IS 'TenTTHC.';
COMMENT ON COLUMN core.procedures.field_code IS 'MaLinhVuc.';
COMMENT ON COLUMN core.procedures.field_name IS 'TenLinhVuc.';
COMMENT ON COLUMN core.procedures.service_level IS 'Service level of the procedure: 4 full-process online, 3 partly online, 2 information.';
COMMENT ON COLUMN core.procedures.full_process_eligible IS 'TRUE when the law allows the procedure fully online (seeds/procedures.csv full_process_eligible = 1): its cases are the denominator of full_process_online_eligible_rate.';
COMMENT ON COLUMN core.procedures.fee_bearing IS 'The procedure carries a fee or charge (seeds/procedures.csv fee_bearing = 1).';

-- Derived from units.csv / unit_crosswalk.csv by pipeline/reference.py (filled after this file).
CREATE OR REPLACE TABLE core.unit_calendar (
    unit_code VARCHAR, from_day DATE, to_day DATE, unit_name VARCHAR, unit_level VARCHAR,
    parent_code VARCHAR, province_code VARCHAR
);
COMMENT ON TABLE core.unit_calendar IS 'Derived from seeds/units.csv: for each unit code and span of days from_day..to_day, the row in force (name, level, parent) and the unit''s province (its ancestor of level province through the rows in force; a province is its own). Days with no row in force have no span. Open ends are 0001-01-01 / 9999-12-31.';
COMMENT ON COLUMN core.unit_calendar.unit_code IS 'Unit code.';
COMMENT ON COLUMN core.unit_calendar.from_day IS 'First day of the span (inclusive).';
COMMENT ON COLUMN core.unit_calendar.to_day IS 'Last day of the span (inclusive).';
COMMENT ON COLUMN core.unit_calendar.unit_name IS 'Name of the row in force.';
COMMENT ON COLUMN core.unit_calendar.unit_level IS 'Level of the row in force.';
COMMENT ON COLUMN core.unit_calendar.parent_code IS 'Parent of the row in force.';
COMMENT ON COLUMN core.unit_calendar.province_code IS 'Province of the unit on these days (NULL when no ancestor of level province is in force).';

CREATE OR REPLACE TABLE core.unit_resolution (
    unit_code VARCHAR, from_day DATE, to_day DATE, resolved_code VARCHAR
);
COMMENT ON TABLE core.unit_resolution IS 'Derived from seeds/unit_crosswalk.csv: in a period whose last day E is in from_day..to_day, cases recorded under unit_code count under resolved_code (primary crosswalk rows with valid_from <= E, latest first, followed to the end of the chain). Codes that do not move have no row.';
COMMENT ON COLUMN core.unit_resolution.unit_code IS 'Recorded unit code (MaDonVi).';
COMMENT ON COLUMN core.unit_resolution.from_day IS 'First last-day-of-period E the mapping applies to.';
COMMENT ON COLUMN core.unit_resolution.to_day IS 'Last such E (inclusive).';
COMMENT ON COLUMN core.unit_resolution.resolved_code IS 'Unit the cases count under.';

-- Filled by pipeline/ingest/reference.py from the validated seeds/index766.csv.
CREATE OR REPLACE TABLE core.index766 (
    indicator VARCHAR, name VARCHAR, indicator_group VARCHAR, max_points DOUBLE, threshold DOUBLE,
    zero_denominator_score DOUBLE, sort_order INTEGER
);
COMMENT ON TABLE core.index766 IS 'Decision 766 index: the indicators the cases determine (docs/definitions.md §7) with their maximum, threshold and zero-denominator score (seeds/index766.csv; the project''s list when the seeds folder has none). score = max_points × min(1, r / threshold).';
COMMENT ON COLUMN core.index766.indicator IS 'Indicator code of the portal''s index (2.1, 3.6, 3.5b, 4.1, 4.3, 4.5b, 5.4).';
COMMENT ON COLUMN core.index766.name IS 'Indicator name.';
COMMENT ON COLUMN core.index766.indicator_group IS 'Group of the index the indicator belongs to (Tiến độ, Thanh toán, Số hóa, Hài lòng).';
COMMENT ON COLUMN core.index766.max_points IS 'Points of the indicator at full marks.';
COMMENT ON COLUMN core.index766.threshold IS 'Ratio at which full points are reached (1 = linear; 0.8 = full points from 80 %).';
COMMENT ON COLUMN core.index766.zero_denominator_score IS 'Score when the denominator is 0; NULL = no score.';
COMMENT ON COLUMN core.index766.sort_order IS 'Position of the row in the list (display order).';
