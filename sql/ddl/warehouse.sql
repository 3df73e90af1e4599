-- Landing and reference tables. raw.case_versions and core.cases are created from the record
-- schema (pipeline/validation.py: case_version_columns) so their columns cannot drift from it.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;

CREATE SEQUENCE IF NOT EXISTS raw.batch_id_seq START 1;

CREATE TABLE IF NOT EXISTS raw.batches (
    batch_id BIGINT PRIMARY KEY,
    source_kind VARCHAR NOT NULL,
    source_name VARCHAR NOT NULL,
    source_format VARCHAR,
    content_sha256 VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    records_read BIGINT NOT NULL,
    records_landed BIGINT NOT NULL,
    records_new_versions BIGINT NOT NULL,
    records_quarantined BIGINT NOT NULL,
    min_updated_at TIMESTAMP,
    max_updated_at TIMESTAMP
);
COMMENT ON TABLE raw.batches IS 'One row per landed batch (an export file or an API window). Written in the same transaction as its records: a batch is here completely or not at all. records_read = records_landed + records_quarantined.';
COMMENT ON COLUMN raw.batches.batch_id IS 'Batch id (raw.batch_id_seq).';
COMMENT ON COLUMN raw.batches.source_kind IS '''file'' (inbox export file) or ''api'' (export API window).';
COMMENT ON COLUMN raw.batches.source_name IS 'File name, or the API window [tu_ngay, den_ngay).';
COMMENT ON COLUMN raw.batches.source_format IS 'jsonl, jsonl.gz, json, csv, xlsx or api.';
COMMENT ON COLUMN raw.batches.content_sha256 IS 'SHA-256 of the file bytes: the same file is landed once.';
COMMENT ON COLUMN raw.batches.records_read IS 'Records read from the source (blank lines are not records).';
COMMENT ON COLUMN raw.batches.records_landed IS 'Valid records (stored in raw.case_versions, or already there from an earlier batch).';
COMMENT ON COLUMN raw.batches.records_new_versions IS 'Valid records that were new versions (the rest were already landed).';
COMMENT ON COLUMN raw.batches.records_quarantined IS 'Invalid records, stored in raw.quarantine with their reasons.';
COMMENT ON COLUMN raw.batches.min_updated_at IS 'Smallest NgayCapNhat among the landed records.';
COMMENT ON COLUMN raw.batches.max_updated_at IS 'Largest NgayCapNhat among the landed records.';

CREATE TABLE IF NOT EXISTS raw.batch_failures (
    failed_at TIMESTAMP NOT NULL,
    source_kind VARCHAR NOT NULL,
    source_name VARCHAR NOT NULL,
    content_sha256 VARCHAR,
    error VARCHAR NOT NULL
);
COMMENT ON TABLE raw.batch_failures IS 'Sources that could not be landed at all (corrupt file, API error). Nothing of them is in the other raw tables.';

CREATE TABLE IF NOT EXISTS raw.quarantine (
    batch_id BIGINT NOT NULL,
    source_name VARCHAR NOT NULL,
    source_row BIGINT,
    case_id VARCHAR,
    reasons VARCHAR[] NOT NULL,
    record JSON,
    record_hash VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE raw.quarantine IS 'Invalid records (docs/portal_export.md §6), kept with every reason found. Personal data is masked (first character + ***).';
COMMENT ON COLUMN raw.quarantine.source_row IS 'JSONL line, CSV/XLSX sheet row (header = 1), JSON element or API record index.';
COMMENT ON COLUMN raw.quarantine.case_id IS 'MaHoSo as sent, when there was one.';
COMMENT ON COLUMN raw.quarantine.reasons IS 'Every rule the record breaks, in words.';
COMMENT ON COLUMN raw.quarantine.record IS 'The record as sent, personal data masked.';
COMMENT ON COLUMN raw.quarantine.record_hash IS 'MD5 of the record as sent: the same broken record is quarantined once.';

CREATE TABLE IF NOT EXISTS core.merge_log (
    merged_at TIMESTAMP NOT NULL,
    batches BIGINT NOT NULL,
    versions_considered BIGINT NOT NULL,
    cases_changed BIGINT NOT NULL,
    affected_from DATE,
    affected_to DATE
);
COMMENT ON TABLE core.merge_log IS 'Each refresh of core.cases: how many cases changed and the date range their old and new versions touch (drives incremental aggregate refreshes).';

CREATE TABLE IF NOT EXISTS core.merged_batches (
    batch_id BIGINT PRIMARY KEY,
    merged_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE core.merged_batches IS 'Batches already folded into core.cases.';
COMMENT ON COLUMN raw.batches.started_at IS 'When landing of the batch started (local machine time).';
COMMENT ON COLUMN raw.batches.finished_at IS 'When the batch was committed.';
COMMENT ON COLUMN raw.batch_failures.failed_at IS 'When the source failed to land.';
COMMENT ON COLUMN raw.batch_failures.source_kind IS '''file'' or ''api''.';
COMMENT ON COLUMN raw.batch_failures.source_name IS 'File name, or API window.';
COMMENT ON COLUMN raw.batch_failures.content_sha256 IS 'SHA-256 of the file bytes (files only).';
COMMENT ON COLUMN raw.batch_failures.error IS 'Why it could not be landed, in words.';
COMMENT ON COLUMN raw.quarantine.batch_id IS 'Batch (raw.batches) the record came with.';
COMMENT ON COLUMN raw.quarantine.source_name IS 'File name or API window.';
COMMENT ON COLUMN raw.quarantine.quarantined_at IS 'When the record was quarantined.';
COMMENT ON COLUMN core.merge_log.merged_at IS 'When core.cases was refreshed.';
COMMENT ON COLUMN core.merge_log.batches IS 'Landed batches folded in by this refresh.';
COMMENT ON COLUMN core.merge_log.versions_considered IS 'Newest version per case among those batches.';
COMMENT ON COLUMN core.merge_log.cases_changed IS 'Cases whose row in core.cases was inserted or replaced.';
COMMENT ON COLUMN core.merge_log.affected_from IS 'First local day the changed cases touch (old and new versions).';
COMMENT ON COLUMN core.merge_log.affected_to IS 'Last local day the changed cases touch.';
COMMENT ON COLUMN core.merged_batches.batch_id IS 'Batch folded into core.cases.';
COMMENT ON COLUMN core.merged_batches.merged_at IS 'When it was folded in.';

CREATE TABLE IF NOT EXISTS raw.pii_key (
    fingerprint VARCHAR NOT NULL,
    set_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE raw.pii_key IS 'Fingerprint (one-way digest) of the DVC_PII_KEY the personal-data hashes are made with: writing with another key is refused unless DVC_PII_REKEY=1.';
COMMENT ON COLUMN raw.pii_key.fingerprint IS 'SHA-256 digest (truncated) of a domain-separated DVC_PII_KEY; the key itself is never stored.';
COMMENT ON COLUMN raw.pii_key.set_at IS 'When this key became the warehouse key (first write, or re-keying with DVC_PII_REKEY=1).';
