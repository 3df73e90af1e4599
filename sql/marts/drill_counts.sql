-- Drill-down stage (docs/definitions.md §5): the counts of mart.unit_period_stats at the finest
-- drill-down grain (window, unit, procedure, field), in ONE pass over the shared (period, case)
-- views of period_cases.sql. mart.procedure_period_stats and mart.field_period_stats are both
-- roll-ups of this TEMP TABLE, so neither scans the cases again.
-- The handled_counts placeholder: the count expressions of unit_period_counts.sql's handled_counts, verbatim
-- (pipeline/marts.py copies them, so per-procedure and per-unit counts cannot drift).
-- The coalesced_counts placeholder: coalesce(h.<count>, 0) AS <count> for every handled count.
CREATE OR REPLACE TEMP TABLE drill_counts AS
-- Grouped by window_id (refresh_windows) rather than the four period columns: a smaller key
-- for the largest aggregation of a refresh; the period columns are joined back per group.
-- The field (MaLinhVuc, else the catalogue's, else 'unknown') comes per case from case_facts.sql.
WITH handled_counts AS (
    SELECT window_id, unit_code, procedure_code,
        drill_field_code AS field_code,
        max(procedure_name) AS procedure_name_sent,
        max(field_name_sent) AS field_name_sent,
        $handled_counts
    FROM period_handled_cases
    GROUP BY window_id, unit_code, procedure_code, drill_field_code
),
not_received_counts AS (
    SELECT window_id, unit_code, procedure_code,
           drill_field_code AS field_code,
           max(procedure_name) AS procedure_name_sent,
           max(field_name_sent) AS field_name_sent,
           count(*) AS not_received
    FROM period_not_received_cases
    GROUP BY window_id, unit_code, procedure_code, drill_field_code
),
counts AS (
    SELECT
        coalesce(h.window_id, n.window_id) AS window_id,
        coalesce(h.unit_code, n.unit_code) AS unit_code,
        coalesce(h.procedure_code, n.procedure_code) AS procedure_code,
        coalesce(h.field_code, n.field_code) AS field_code,
        coalesce(h.procedure_name_sent, n.procedure_name_sent) AS procedure_name_sent,
        coalesce(h.field_name_sent, n.field_name_sent) AS field_name_sent,
        $coalesced_counts,
        coalesce(n.not_received, 0) AS not_received
    FROM handled_counts h
    FULL OUTER JOIN not_received_counts n
      ON n.window_id = h.window_id AND n.unit_code = h.unit_code
     AND n.procedure_code = h.procedure_code AND n.field_code = h.field_code
)
SELECT w.period_grain, w.period_label, w.period_start, w.period_end, c.* EXCLUDE (window_id)
FROM counts c
JOIN refresh_windows w ON w.window_id = c.window_id;
