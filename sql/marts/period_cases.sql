-- The (period, case) rows every mart counts, as two TEMP VIEWs (docs/definitions.md §2 and §4.2):
--   period_handled_cases      every case of the handled population in every window it
--                             overlaps (received by the window's end, not ended before its start);
--   period_not_received_cases status 1/3 cases, in the window of their submission.
-- Both carry `unit_code`, the unit the case counts under in that window: the one shared
-- attribution step of the unit, level, target, procedure, field and late-case marts. The
-- unit's name, level, parent and province on the window's last day are in TEMP TABLE
-- period_units(period_end, unit_code, ...): join it after aggregating (a code with no row
-- there has level 'unknown', no province, and the name the source sent: unit_name_source).
-- Input: TEMP TABLE refresh_periods(period_grain, period_label, period_start DATE, period_end DATE),
--        TEMP TABLE mart_case_facts (case_facts.sql: core.cases, narrowed), core.case_unit_history (sql/marts/case_unit_history.sql),
--        core.unit_resolution and core.unit_calendar (pipeline/reference.py).
--
-- Attribution (docs/definitions.md §4.2), for a window whose last day is E:
--   1. recorded unit as of E: the case's MaDonVi in core.cases, unless the case's versions
--      disagree on it: then the version history's unit for day E (core.case_unit_history);
--   2. forward through the primary crosswalk as of E (core.unit_resolution holds the chains
--      already followed to their end, per span of days);
--   3. name, level, parent, province of the row in force on E (core.unit_calendar); a code with
--      no row in force on E gets level 'unknown', no province and the name the source sent.
-- Everything else about a case comes from its newest version (core.cases, via mart_case_facts).
--
-- Instants: a period covers [period_start 00:00, period_end + 1 day 00:00) in local time, so
-- "by e" is "< period_end + 1 day" and 14th 23:59:59 / 15th 00:00:00 land on the right side.
-- Deadlines compare DATES (early = end date before due date; same date = on time).
-- window_id: a small key the marts group by instead of four period columns (joined back per group).
CREATE OR REPLACE TEMP TABLE refresh_windows AS
SELECT CAST(row_number() OVER (ORDER BY period_grain, period_label) AS INTEGER) AS window_id,
       period_grain, period_label, period_start, period_end,
       CAST(period_start AS TIMESTAMP) AS s,
       CAST(period_end + INTERVAL 1 DAY AS TIMESTAMP) AS e_excl
FROM refresh_periods;

-- Steps 2 and 3 depend only on (E, code): resolved once per distinct last day, so the case
-- rows need one equality join on a tiny table (and the marts join period_units per group).
CREATE OR REPLACE TEMP TABLE period_unit_resolution AS
SELECT e.period_end, r.unit_code AS recorded_code, r.resolved_code
FROM (SELECT DISTINCT period_end FROM refresh_periods) e
JOIN core.unit_resolution r ON e.period_end BETWEEN r.from_day AND r.to_day;

CREATE OR REPLACE TEMP TABLE period_units AS
SELECT e.period_end, u.unit_code, u.unit_name, u.unit_level, u.parent_code, u.province_code
FROM (SELECT DISTINCT period_end FROM refresh_periods) e
JOIN core.unit_calendar u ON e.period_end BETWEEN u.from_day AND u.to_day;

-- Every (window, case) of both populations, before attribution. Two joins (each a range
-- join DuckDB plans well); the population tag lets each view below keep only its own branch.
CREATE OR REPLACE TEMP VIEW period_windowed_cases AS
SELECT 'handled' AS population, p.window_id, p.period_grain, p.period_label, p.period_start, p.period_end,
       p.s, p.e_excl, c.*
FROM mart_case_facts c
JOIN refresh_windows p
  ON c.received_at < p.e_excl
 AND (c.ended_at IS NULL OR c.ended_at >= p.s)
WHERE c.status_code NOT IN ('1', '3')
UNION ALL
SELECT 'not_received' AS population, p.window_id, p.period_grain, p.period_label, p.period_start, p.period_end,
       p.s, p.e_excl, c.*
FROM mart_case_facts c
JOIN refresh_windows p
  ON coalesce(c.submitted_at, c.received_at) >= p.s
 AND coalesce(c.submitted_at, c.received_at) < p.e_excl
WHERE c.status_code IN ('1', '3');

-- Steps 1 and 2. A case that never moved between units and whose code the crosswalk does not
-- move (needs_attribution false: most cases) counts under its MaDonVi: no join. The others:
-- recorded unit as of E from the version history, then forward through the crosswalk as of E.
CREATE OR REPLACE TEMP VIEW period_attributed_cases AS
SELECT w.*,
       w.unit_code AS recorded_unit_code,
       w.unit_name_source AS recorded_unit_name_source,
       w.unit_code AS attributed_unit_code
FROM period_windowed_cases w
WHERE NOT w.needs_attribution
UNION ALL
SELECT c.*,
       coalesce(r.resolved_code, c.recorded_unit_code) AS attributed_unit_code
FROM (
    SELECT w.*,
           coalesce(h.unit_code, w.unit_code) AS recorded_unit_code,
           coalesce(h.unit_name_source, w.unit_name_source) AS recorded_unit_name_source
    FROM period_windowed_cases w
    LEFT JOIN core.case_unit_history h
      ON h.case_id = w.case_id AND w.period_end BETWEEN h.from_day AND h.to_day
    WHERE w.needs_attribution
) c
LEFT JOIN period_unit_resolution r
  ON r.period_end = c.period_end AND r.recorded_code = c.recorded_unit_code;

CREATE OR REPLACE TEMP VIEW period_handled_cases AS
SELECT window_id, period_grain, period_label, period_start, period_end,
       attributed_unit_code AS unit_code,
       recorded_unit_name_source AS unit_name_source,
       case_id, procedure_code, procedure_name, field_code, field_name,
       drill_field_code, field_name_sent,
       received_at, due_at, ended_at, status_code,
       received_at < s AS is_carried_over,
       received_at >= s AS is_new,
       ended_at IS NOT NULL AND ended_at < e_excl AS is_resolved,
       ended_at IS NULL OR ended_at >= e_excl AS is_in_progress,
       status_code IN ('9', '10') AS is_result,
       status_code IN ('7', '8') AS is_withdrawn,
       status_code IN ('5', '6') AS is_waiting,
       CAST(ended_at AS DATE) AS end_date,
       CAST(due_at AS DATE) AS due_date,
       channel, service_level, fee_total_vnd, online_payment_code,
       digitised_components_code, has_electronic_result, satisfaction_code,
       -- whole milliseconds: the day sums add integers, so they do not depend on the order in
       -- which DuckDB's threads add them (pipeline/marts/statements.py day_sum)
       CAST(round(epoch(ended_at - received_at) * 1000) AS BIGINT) AS ms_to_end,
       is_eligible_procedure, supplement_requests
FROM period_attributed_cases
WHERE population = 'handled';

CREATE OR REPLACE TEMP VIEW period_not_received_cases AS
SELECT window_id, period_grain, period_label, period_start, period_end,
       attributed_unit_code AS unit_code,
       recorded_unit_name_source AS unit_name_source,
       case_id, procedure_code, procedure_name, field_code, field_name,
       drill_field_code, field_name_sent
FROM period_attributed_cases
WHERE population = 'not_received';
