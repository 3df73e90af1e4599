-- The official reporting cycle (docs/definitions.md §6): period status, restatements, issued periods.
-- The issued copies of the mart tables (issued.unit_period_stats, ...) are typed from the marts
-- themselves (pipeline/issue.py); the bookkeeping tables are here.
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS issued;

CREATE TABLE IF NOT EXISTS mart.period_status (
    period_grain VARCHAR, period_label VARCHAR, period_start DATE, period_end DATE,
    due_date DATE, status VARCHAR, as_of DATE, latest_issue INTEGER
);
COMMENT ON TABLE mart.period_status IS 'Status of every window in the marts as of the run''s date (docs/definitions.md §6), rebuilt on every refresh: open until its last day has passed, provisional until it is issued or its report is due (due day included), final afterwards. A window can be issued from the day after it closes through its due day (and later, once final); issuing makes it final.';
COMMENT ON COLUMN mart.period_status.period_grain IS 'Window grain (as in mart.unit_period_stats).';
COMMENT ON COLUMN mart.period_status.period_label IS 'Window label (as in mart.unit_period_stats).';
COMMENT ON COLUMN mart.period_status.period_start IS 'First day of the window (local date, inclusive).';
COMMENT ON COLUMN mart.period_status.period_end IS 'Last day of the window (local date, inclusive).';
COMMENT ON COLUMN mart.period_status.due_date IS 'Day the report is due: period_end + DVC_REPORT_DUE_DAYS (default 6: the 20th of the window''s last month).';
COMMENT ON COLUMN mart.period_status.status IS 'open (as_of <= period_end), provisional (period_end < as_of <= due_date, not issued) or final (as_of > due_date, or issued).';
COMMENT ON COLUMN mart.period_status.as_of IS 'The day the status was computed for ("today": --as-of, else DVC_AS_OF, else the local date in Asia/Ho_Chi_Minh).';
COMMENT ON COLUMN mart.period_status.latest_issue IS 'Number of the latest official issue of the window (issued.issues); NULL when never issued.';

CREATE TABLE IF NOT EXISTS mart.restatements (
    period_grain VARCHAR, period_label VARCHAR, issue INTEGER, table_name VARCHAR, row_key VARCHAR,
    unit_code VARCHAR, unit_level VARCHAR, column_name VARCHAR,
    issued_value DOUBLE, current_value DOUBLE, difference DOUBLE, computed_at TIMESTAMP
);
COMMENT ON TABLE mart.restatements IS 'For every issued window (its latest issue), each cell whose current mart value differs from the issued one (docs/definitions.md §6): rows matched on their full key (unit; province and level; as-of period, unit and metric; unit and procedure or field; case), counts compared exactly, rates and other fractional values beyond rounding (1e-9, relative above 1), so recomputing unchanged data records nothing. Rebuilt after every refresh and every issue. A row missing on one side shows NULL there. Target rows: those judged as of the issued period (the year''s own row for a yearly issue); the year''s other as-of rows move by design while the year runs.';
COMMENT ON COLUMN mart.restatements.period_grain IS 'Grain of the issued window.';
COMMENT ON COLUMN mart.restatements.period_label IS 'Label of the issued window.';
COMMENT ON COLUMN mart.restatements.issue IS 'The issue compared with (the window''s latest in issued.issues).';
COMMENT ON COLUMN mart.restatements.table_name IS 'The mart table of the cell (unit_period_stats, level_period_stats, target_attainment, and the drill-down tables when present).';
COMMENT ON COLUMN mart.restatements.row_key IS 'The row within the window: the table''s full key values joined by " / " (e.g. the unit code; province code / level, "—" for no province; as-of period / unit code / metric; unit code / procedure code).';
COMMENT ON COLUMN mart.restatements.unit_code IS 'Unit code of the row, when the table has one.';
COMMENT ON COLUMN mart.restatements.unit_level IS 'Unit level of the row (roll-up level for level_period_stats), when the table has one.';
ALTER TABLE mart.restatements ADD COLUMN IF NOT EXISTS province_code VARCHAR;
COMMENT ON COLUMN mart.restatements.province_code IS 'Province of the row, when the table has one (NULL also for the roll-up of codes with no row in force).';
COMMENT ON COLUMN mart.restatements.column_name IS 'The column whose value moved.';
COMMENT ON COLUMN mart.restatements.issued_value IS 'Value in the issue (NULL: no value, or the row was not in the issue).';
COMMENT ON COLUMN mart.restatements.current_value IS 'Value in the mart now (NULL: no value, or the row is no longer in the mart).';
COMMENT ON COLUMN mart.restatements.difference IS 'current_value − issued_value; NULL when either is NULL.';
COMMENT ON COLUMN mart.restatements.computed_at IS 'When this comparison was made.';

CREATE TABLE IF NOT EXISTS issued.issues (
    period_grain VARCHAR, period_label VARCHAR, period_start DATE, period_end DATE, issue INTEGER,
    issued_at TIMESTAMP, data_as_of TIMESTAMP, as_of DATE, due_date DATE, content_hash VARCHAR,
    previous_issue INTEGER, cells_changed BIGINT, reason VARCHAR, province_name VARCHAR,
    xlsx_file VARCHAR, dashboard_file VARCHAR
);
COMMENT ON TABLE issued.issues IS 'One row per official issue of a window (docs/definitions.md §6). Written in the same transaction as the issued rows; never updated. Query a given issue with e.g. issued.unit_period_stats WHERE period_label = ''2025-Q3'' AND issue = 1.';
COMMENT ON COLUMN issued.issues.period_grain IS 'Grain of the issued window.';
COMMENT ON COLUMN issued.issues.period_label IS 'Label of the issued window.';
COMMENT ON COLUMN issued.issues.period_start IS 'First day of the window.';
COMMENT ON COLUMN issued.issues.period_end IS 'Last day of the window.';
COMMENT ON COLUMN issued.issues.issue IS 'Issue number: 1 for the first official issue, 2, 3 … for corrected issues.';
COMMENT ON COLUMN issued.issues.issued_at IS 'When the issue was committed (local time, Asia/Ho_Chi_Minh; the files print it with the zone named).';
COMMENT ON COLUMN issued.issues.data_as_of IS 'The data''s as-of time: the newest NgayCapNhat in core.cases when issued.';
COMMENT ON COLUMN issued.issues.as_of IS 'The run''s "today" when issued: after the window closed; on or before due_date when the report was issued in time (issuing made the window final).';
COMMENT ON COLUMN issued.issues.due_date IS 'The day the window''s report was due.';
COMMENT ON COLUMN issued.issues.content_hash IS 'SHA-256 over the issued rows of every table (issue bookkeeping columns excluded): equal hashes = equal numbers.';
COMMENT ON COLUMN issued.issues.previous_issue IS 'The issue this one replaces (NULL for issue 1).';
COMMENT ON COLUMN issued.issues.cells_changed IS 'Cells that differ from the previous issue (issued.changes); NULL for issue 1.';
COMMENT ON COLUMN issued.issues.reason IS 'Why this issue exists, in words.';
COMMENT ON COLUMN issued.issues.province_name IS 'Province shown on the files (seeds/units.csv) when issued.';
COMMENT ON COLUMN issued.issues.xlsx_file IS 'File name of the issued Biểu II.06a workbook (read-only, never overwritten).';
ALTER TABLE issued.issues ADD COLUMN IF NOT EXISTS confirmed_incomplete BOOLEAN;
COMMENT ON COLUMN issued.issues.confirmed_incomplete IS 'TRUE when the window was incomplete when issued (its newest case data, data_as_of, older than its last day) and the issue was confirmed explicitly (issue --confirm-incomplete); FALSE for a complete window; NULL for issues made before this was recorded.';
COMMENT ON COLUMN issued.issues.dashboard_file IS 'File name of the issued dashboard (read-only, never overwritten).';

CREATE TABLE IF NOT EXISTS issued.changes (
    period_grain VARCHAR, period_label VARCHAR, issue INTEGER, previous_issue INTEGER,
    table_name VARCHAR, row_key VARCHAR, unit_code VARCHAR, unit_level VARCHAR, column_name VARCHAR,
    previous_value DOUBLE, new_value DOUBLE, difference DOUBLE
);
COMMENT ON TABLE issued.changes IS 'What a corrected issue changed: the cells of mart.restatements of the window at the moment it was reissued (previous issue vs the new one). The «Thay đổi» sheet of the issued workbook lists them.';
COMMENT ON COLUMN issued.changes.period_grain IS 'Grain of the window.';
COMMENT ON COLUMN issued.changes.period_label IS 'Label of the window.';
COMMENT ON COLUMN issued.changes.issue IS 'The new issue.';
COMMENT ON COLUMN issued.changes.previous_issue IS 'The issue it replaces.';
COMMENT ON COLUMN issued.changes.table_name IS 'Table of the cell.';
COMMENT ON COLUMN issued.changes.row_key IS 'Row key within the window (as in mart.restatements).';
COMMENT ON COLUMN issued.changes.unit_code IS 'Unit code of the row, when the table has one.';
COMMENT ON COLUMN issued.changes.unit_level IS 'Unit level of the row, when the table has one.';
ALTER TABLE issued.changes ADD COLUMN IF NOT EXISTS province_code VARCHAR;
COMMENT ON COLUMN issued.changes.province_code IS 'Province of the row, when the table has one.';
COMMENT ON COLUMN issued.changes.column_name IS 'Column of the cell.';
COMMENT ON COLUMN issued.changes.previous_value IS 'Value in the previous issue.';
COMMENT ON COLUMN issued.changes.new_value IS 'Value in the new issue.';
COMMENT ON COLUMN issued.changes.difference IS 'new_value − previous_value.';
