-- Drill-down stage (METRICS.md §5): the counts of mart.unit_period_stats at the finest
-- drill-down grain (window, unit, procedure, field), in ONE pass over the shared (period, case)
-- views of period_cases.sql. mart.procedure_period_stats and mart.field_period_stats are both
-- roll-ups of this TEMP TABLE, so neither scans the cases again.
-- The handled_counts placeholder: the count expressions of unit_period_counts.sql's handled_counts, verbatim
-- (pipeline/marts.py copies them, so per-procedure and per-unit counts cannot drift).
-- The coalesced_counts placeholder: coalesce(h.<count>, 0) AS <count> for every handled count.
CREATE OR REPLACE TEMP TABLE drill_counts AS
WITH handled AS (
    SELECT h.*,
           -- MaLinhVuc, else the catalogue's field, else 'unknown'
           coalesce(h.field_code, pc.field_code, 'unknown') AS drill_field_code,
           CASE WHEN h.field_code IS NOT NULL THEN h.field_name END AS field_name_sent
    FROM period_handled_cases h
    LEFT JOIN procedure_catalogue pc ON pc.procedure_code = h.procedure_code
),
not_received AS (
    SELECT n.*,
           coalesce(n.field_code, pc.field_code, 'unknown') AS drill_field_code,
           CASE WHEN n.field_code IS NOT NULL THEN n.field_name END AS field_name_sent
    FROM period_not_received_cases n
    LEFT JOIN procedure_catalogue pc ON pc.procedure_code = n.procedure_code
),
handled_counts AS (
    SELECT period_grain, period_label, period_start, period_end, unit_code, procedure_code,
        drill_field_code AS field_code,
        max(procedure_name) AS procedure_name_sent,
        max(field_name_sent) AS field_name_sent,
        $handled_counts
    FROM handled
    GROUP BY period_grain, period_label, period_start, period_end, unit_code, procedure_code, drill_field_code
),
not_received_counts AS (
    SELECT period_grain, period_label, period_start, period_end, unit_code, procedure_code,
           drill_field_code AS field_code,
           max(procedure_name) AS procedure_name_sent,
           max(field_name_sent) AS field_name_sent,
           count(*) AS not_received
    FROM not_received
    GROUP BY period_grain, period_label, period_start, period_end, unit_code, procedure_code, drill_field_code
)
SELECT
    coalesce(h.period_grain, n.period_grain) AS period_grain,
    coalesce(h.period_label, n.period_label) AS period_label,
    coalesce(h.period_start, n.period_start) AS period_start,
    coalesce(h.period_end, n.period_end) AS period_end,
    coalesce(h.unit_code, n.unit_code) AS unit_code,
    coalesce(h.procedure_code, n.procedure_code) AS procedure_code,
    coalesce(h.field_code, n.field_code) AS field_code,
    coalesce(h.procedure_name_sent, n.procedure_name_sent) AS procedure_name_sent,
    coalesce(h.field_name_sent, n.field_name_sent) AS field_name_sent,
    $coalesced_counts,
    coalesce(n.not_received, 0) AS not_received
FROM handled_counts h
FULL OUTER JOIN not_received_counts n
  ON n.period_grain = h.period_grain AND n.period_label = h.period_label AND n.unit_code = h.unit_code
 AND n.procedure_code = h.procedure_code AND n.field_code = h.field_code;
