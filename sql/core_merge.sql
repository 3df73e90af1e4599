-- Fold newly landed batches into core.cases (one row per case, newest valid version).
-- Runs inside one transaction (pipeline/core.py). A version replaces the current row only
-- when it is newer: larger NgayCapNhat, or the same NgayCapNhat and a later arrival.
-- The newest version per case is found on narrow keys (a hash aggregate, no sort of wide
-- rows); the wide rows are fetched once, by arrival_seq (unique per stored version).
CREATE OR REPLACE TEMP TABLE pending_batches AS
SELECT b.batch_id FROM raw.batches b
WHERE NOT EXISTS (SELECT 1 FROM core.merged_batches m WHERE m.batch_id = b.batch_id);

CREATE OR REPLACE TEMP TABLE candidates AS
SELECT case_id, max(updated_at) AS updated_at,
       arg_max(arrival_seq, (updated_at, arrival_seq)) AS arrival_seq
FROM raw.case_versions
WHERE batch_id IN (SELECT batch_id FROM pending_batches)
GROUP BY case_id;

CREATE OR REPLACE TEMP TABLE winner_keys AS
SELECT n.case_id, n.arrival_seq, c.case_id IS NOT NULL AS replaces
FROM candidates n
LEFT JOIN core.cases c ON c.case_id = n.case_id
WHERE c.case_id IS NULL
   OR n.updated_at > c.updated_at
   OR (n.updated_at = c.updated_at AND n.arrival_seq > c.arrival_seq);

-- Dates the changed cases touch, old and new versions alike: a case counts in every period
-- from its submission/reception to its end (or to now while it is open).
CREATE OR REPLACE TEMP TABLE touched AS
SELECT least(submitted_at, received_at)::DATE AS first_day,
       CASE WHEN ended_at IS NULL AND status_code NOT IN ('1', '3') THEN NULL
            ELSE greatest(ended_at, received_at, submitted_at)::DATE END AS last_day,
       updated_at::DATE AS updated_day
FROM (
    SELECT v.submitted_at, v.received_at, v.ended_at, v.status_code, v.updated_at
    FROM raw.case_versions v SEMI JOIN winner_keys w ON w.arrival_seq = v.arrival_seq
    WHERE v.batch_id IN (SELECT batch_id FROM pending_batches)
    UNION ALL
    SELECT c.submitted_at, c.received_at, c.ended_at, c.status_code, c.updated_at
    FROM core.cases c SEMI JOIN (SELECT case_id FROM winner_keys WHERE replaces) w ON w.case_id = c.case_id
);

DELETE FROM core.cases WHERE case_id IN (SELECT case_id FROM winner_keys WHERE replaces);
INSERT INTO core.cases
SELECT v.* FROM raw.case_versions v SEMI JOIN winner_keys w ON w.arrival_seq = v.arrival_seq
WHERE v.batch_id IN (SELECT batch_id FROM pending_batches);

INSERT INTO core.merge_log
SELECT now()::TIMESTAMP,
       (SELECT count(*) FROM pending_batches),
       (SELECT count(*) FROM candidates),
       (SELECT count(*) FROM winner_keys),
       (SELECT min(first_day) FROM touched),
       (SELECT max(greatest(coalesce(last_day, updated_day), updated_day)) FROM touched);

INSERT INTO core.merged_batches SELECT batch_id, now()::TIMESTAMP FROM pending_batches;
