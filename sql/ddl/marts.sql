-- Mart bookkeeping (the mart tables themselves are typed from the SELECTs that fill them).
CREATE TABLE IF NOT EXISTS mart.refresh_log (
    refreshed_at TIMESTAMP, windows BIGINT, first_day DATE, last_day DATE,
    unit_rows BIGINT, seconds DOUBLE, covers_pending BOOLEAN
);
-- Added with the two-step mark (warehouses made before it gain the columns).
ALTER TABLE mart.refresh_log ADD COLUMN IF NOT EXISTS refresh_id VARCHAR;
ALTER TABLE mart.refresh_log ADD COLUMN IF NOT EXISTS covers_candidate BOOLEAN;
ALTER TABLE mart.refresh_log ADD COLUMN IF NOT EXISTS completed_at TIMESTAMP;
COMMENT ON TABLE mart.refresh_log IS 'Each mart refresh: how many windows were recomputed, the days they span, how long it took, and whether it covered every pending change.';
COMMENT ON COLUMN mart.refresh_log.refreshed_at IS 'When the refresh started (before it read core.cases): changes merged after it are still pending.';
COMMENT ON COLUMN mart.refresh_log.windows IS 'Windows (all grains) recomputed.';
COMMENT ON COLUMN mart.refresh_log.first_day IS 'First day of the earliest window.';
COMMENT ON COLUMN mart.refresh_log.last_day IS 'Last day of the latest window.';
COMMENT ON COLUMN mart.refresh_log.unit_rows IS 'Rows written to mart.unit_period_stats.';
COMMENT ON COLUMN mart.refresh_log.seconds IS 'Duration of the unit-stats refresh.';
COMMENT ON COLUMN mart.refresh_log.covers_pending IS 'TRUE once the refresh completed (every mart, check, analyst copy and report written) and it covered every core change pending when it started; until then the changes stay pending and the next run redoes them.';
COMMENT ON COLUMN mart.refresh_log.refresh_id IS 'The run that made the refresh (Dagster run id).';
COMMENT ON COLUMN mart.refresh_log.covers_candidate IS 'Whether the refreshed windows cover every change pending when it started (takes effect at completion).';
COMMENT ON COLUMN mart.refresh_log.completed_at IS 'When every output of the refresh was written; NULL = interrupted or failed.';

-- The windows each refresh recomputes (mart.refresh_log.windows of them): a publish after a
-- night compares only their rows.
CREATE TABLE IF NOT EXISTS mart.refresh_windows (refresh_id VARCHAR, period_grain VARCHAR, period_label VARCHAR);
COMMENT ON TABLE mart.refresh_windows IS 'The windows each mart refresh recomputed (one row per refresh and window; refreshes before this table have none).';
COMMENT ON COLUMN mart.refresh_windows.refresh_id IS 'The refresh (mart.refresh_log.refresh_id).';
COMMENT ON COLUMN mart.refresh_windows.period_grain IS 'Window grain, as in the mart tables.';
COMMENT ON COLUMN mart.refresh_windows.period_label IS 'Window label, as in the mart tables.';

-- The reference lists the marts were built on (pipeline/marts/reference_state.py): a change of
-- the lists is pending until a refresh that covers it completes, like a change of the cases.
CREATE TABLE IF NOT EXISTS mart.reference_applied (
    list_name VARCHAR, item VARCHAR, from_day DATE, to_day DATE, value VARCHAR
);
COMMENT ON TABLE mart.reference_applied IS 'The reference lists (seeds/) as last applied to the marts, one row per item and span of days: the next run compares the lists of now with it and refreshes the windows a change moves.';
COMMENT ON COLUMN mart.reference_applied.list_name IS 'calendar (unit in force: name, level, parent, province), resolution (crosswalk: unit cases count under), targets, procedures, file (digest of a seed file) or settings (cut-off day).';
COMMENT ON COLUMN mart.reference_applied.item IS 'Unit code, unit|year|metric of a target, procedure code, file name or setting name.';
COMMENT ON COLUMN mart.reference_applied.from_day IS 'First day the value holds (0001-01-01 = always).';
COMMENT ON COLUMN mart.reference_applied.to_day IS 'Last day the value holds (9999-12-31 = open-ended).';
COMMENT ON COLUMN mart.reference_applied.value IS 'The item''s value on those days (JSON or text).';
CREATE TABLE IF NOT EXISTS mart.reference_candidate (
    refresh_id VARCHAR, list_name VARCHAR, item VARCHAR, from_day DATE, to_day DATE, value VARCHAR
);
COMMENT ON TABLE mart.reference_candidate IS 'The reference lists a refresh in progress read; they become mart.reference_applied when it completes and covered every pending change.';
COMMENT ON COLUMN mart.reference_candidate.refresh_id IS 'The refresh (mart.refresh_log.refresh_id).';
COMMENT ON COLUMN mart.reference_candidate.list_name IS 'As in mart.reference_applied.';
COMMENT ON COLUMN mart.reference_candidate.item IS 'As in mart.reference_applied.';
COMMENT ON COLUMN mart.reference_candidate.from_day IS 'As in mart.reference_applied.';
COMMENT ON COLUMN mart.reference_candidate.to_day IS 'As in mart.reference_applied.';
COMMENT ON COLUMN mart.reference_candidate.value IS 'As in mart.reference_applied.';

-- The drill-down's delta state (pipeline/marts/drill_state.py): per window, what its rows reflect.
CREATE TABLE IF NOT EXISTS mart.drill_state (
    period_grain VARCHAR, period_label VARCHAR, merged_through TIMESTAMP, reference_digest VARCHAR,
    refreshed_at TIMESTAMP, table_rows VARCHAR
);
COMMENT ON TABLE mart.drill_state IS 'Per window, the merges and reference lists its drill-down rows (mart.drill_counts and its roll-ups) reflect: the next refresh of the window recounts only the groups of the cases merged since, or the whole window when the lists changed or it has no row.';
COMMENT ON COLUMN mart.drill_state.period_grain IS 'Window grain, as in the mart tables.';
COMMENT ON COLUMN mart.drill_state.period_label IS 'Window label, as in the mart tables.';
COMMENT ON COLUMN mart.drill_state.merged_through IS 'The newest core.merged_batches.merged_at the rows reflect (NULL: no merge yet).';
COMMENT ON COLUMN mart.drill_state.reference_digest IS 'Digest of the cut-off day and the reference tables the rows were computed on (core.unit_resolution, core.unit_calendar, core.procedures).';
COMMENT ON COLUMN mart.drill_state.refreshed_at IS 'When the rows were last written.';
COMMENT ON COLUMN mart.drill_state.table_rows IS 'Rows the window then had in mart.drill_counts and its three roll-ups: a window whose counts differ now (rows deleted or written by another path) is recounted whole.';
