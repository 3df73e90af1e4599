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
