-- Mart bookkeeping (the mart tables themselves are typed from the SELECTs that fill them).
CREATE TABLE IF NOT EXISTS mart.refresh_log (
    refreshed_at TIMESTAMP, windows BIGINT, first_day DATE, last_day DATE,
    unit_rows BIGINT, seconds DOUBLE, covers_pending BOOLEAN
);
COMMENT ON TABLE mart.refresh_log IS 'Each mart refresh: how many windows were recomputed, the days they span, how long it took, and whether it covered every pending change.';
COMMENT ON COLUMN mart.refresh_log.refreshed_at IS 'When the refresh committed.';
COMMENT ON COLUMN mart.refresh_log.windows IS 'Windows (all grains) recomputed.';
COMMENT ON COLUMN mart.refresh_log.first_day IS 'First day of the earliest window.';
COMMENT ON COLUMN mart.refresh_log.last_day IS 'Last day of the latest window.';
COMMENT ON COLUMN mart.refresh_log.unit_rows IS 'Rows written to mart.unit_period_stats.';
COMMENT ON COLUMN mart.refresh_log.seconds IS 'Duration of the unit-stats refresh.';
COMMENT ON COLUMN mart.refresh_log.covers_pending IS 'TRUE when every core change before it is reflected.';
