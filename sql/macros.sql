-- Scalar macros shared by the landing SQL. Loaded on every connection (pipeline/warehouse.py).
-- portal_ts mirrors schemas.case_record.parse_portal_datetime; tests check they agree.

-- Any accepted portal date form (PORTAL_EXPORT.md §3) -> naive local TIMESTAMP (UTC+7).
-- NULL for empty input AND for unparseable input: callers tell the two apart with
-- portal_ts_invalid(). Impossible dates such as 20250231120000 are unparseable.
-- ISO 8601 (2025-03-14T23:59:59+07:00, Z, fractions, or no zone = local). No subquery: a
-- correlated subquery here would be planned as a join over every row, not just ISO ones.
CREATE OR REPLACE MACRO portal_iso_parts(s) AS (
    regexp_extract(
        s,
        '^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$',
        ['day', 'clock', 'fraction', 'zone'])
);
CREATE OR REPLACE MACRO portal_iso_from_parts(p) AS (
    try_strptime(p.day || ' ' || coalesce(nullif(p.clock, ''), '00:00:00'), '%Y-%m-%d %H:%M:%S')
        + to_microseconds(coalesce(try_cast(rpad(nullif(substr(p.fraction, 2), ''), 6, '0') AS BIGINT), 0))
        - CASE
            WHEN p.zone IN ('', 'Z') THEN INTERVAL 0 HOUR
            ELSE (CASE WHEN p.zone[1] = '-' THEN -1 ELSE 1 END)
                * (to_hours(CAST(substr(replace(p.zone, ':', ''), 2, 2) AS BIGINT))
                   + to_minutes(CAST(substr(replace(p.zone, ':', ''), 4, 2) AS BIGINT)))
          END
        + CASE WHEN p.zone = '' THEN INTERVAL 0 HOUR ELSE INTERVAL 7 HOUR END
);
CREATE OR REPLACE MACRO portal_iso_ts(s) AS (portal_iso_from_parts(portal_iso_parts(s)));

CREATE OR REPLACE MACRO portal_ts(raw) AS (
    CASE
        WHEN raw IS NULL OR trim(raw) = '' THEN NULL
        -- fast path for the main form; the regexp keeps "2025031423595" (13 digits) out
        WHEN length(raw) = 14 AND regexp_full_match(raw, '[0-9]{14}') THEN try_strptime(raw, '%Y%m%d%H%M%S')
        WHEN regexp_full_match(trim(raw), '[0-9]{14}') THEN try_strptime(trim(raw), '%Y%m%d%H%M%S')
        WHEN regexp_full_match(trim(raw), '[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}')
            THEN try_strptime(trim(raw), '%d/%m/%Y %H:%M:%S')
        WHEN regexp_full_match(trim(raw), '[0-9]{2}/[0-9]{2}/[0-9]{4}') THEN try_strptime(trim(raw), '%d/%m/%Y')
        WHEN regexp_full_match(trim(raw), '[0-9]{4}-[0-9]{2}-[0-9]{2}.*') THEN portal_iso_ts(trim(raw))
        ELSE NULL
    END
);

-- TRUE when a value was given but does not parse: a quarantine reason.
CREATE OR REPLACE MACRO portal_ts_invalid(raw) AS (
    raw IS NOT NULL AND trim(raw) <> '' AND portal_ts(raw) IS NULL
);

-- Blank strings mean "no value" everywhere in the contract.
CREATE OR REPLACE MACRO blank_null(raw) AS (nullif(trim(raw), ''));

-- Text is compared and stored in Unicode NFC (feeds send NFD too). NFD text carries combining
-- marks (Vietnamese diacritics are U+0300-U+036F); only such values pay for nfc_normalize,
-- which costs ~4x a plain copy on already-composed text.
CREATE OR REPLACE MACRO nfc(raw) AS (
    CASE WHEN regexp_matches(raw, '[\x{0300}-\x{036F}\x{1AB0}-\x{1AFF}\x{1DC0}-\x{1DFF}\x{20D0}-\x{20FF}\x{FE20}-\x{FE2F}\x{2126}\x{212A}\x{212B}]')
         THEN nfc_normalize(raw) ELSE raw END
);
CREATE OR REPLACE MACRO clean_text(raw) AS (nullif(trim(nfc(raw)), ''));

-- Personal data -> keyed hash. The key is a session variable set from the environment
-- (never a literal in SQL, so it cannot leak through query logs). Values are normalised
-- first so the same applicant hashes the same across feeds.
CREATE OR REPLACE MACRO pii_normalise(raw, kind) AS (
    CASE kind
        WHEN 'digits' THEN nullif(regexp_replace(raw, '[^0-9]', '', 'g'), '')
        WHEN 'email' THEN nullif(lower(trim(raw)), '')
        ELSE nullif(lower(regexp_replace(trim(nfc(raw)), '\s+', ' ', 'g')), '')
    END
);
-- NULL in, NULL out: concatenation with NULL is NULL, so the value is normalised only once.
CREATE OR REPLACE MACRO pii_hash(raw, kind) AS (
    sha256(getvariable('pii_key') || ':' || sha256(getvariable('pii_key') || ':' || pii_normalise(raw, kind)))
);

-- Quarantine shows personal data masked: first character, then ***.
CREATE OR REPLACE MACRO pii_mask(raw) AS (
    CASE WHEN raw IS NULL OR trim(raw) = '' THEN raw ELSE left(trim(raw), 1) || '***' END
);

-- Amounts arrive as strings ("50000", "50,000", "50000.0").
CREATE OR REPLACE MACRO vnd_amount(raw) AS (
    coalesce(try_cast(trim(raw) AS DECIMAL(18, 2)), try_cast(regexp_replace(raw, '[^0-9]', '', 'g') AS DECIMAL(18, 2)))
);

-- Yes/no flags of the flattened export columns: 1/0, Có/Không, true/false, x.
CREATE OR REPLACE MACRO yes_flag(raw) AS (
    CASE
        WHEN raw IS NULL OR trim(raw) = '' THEN NULL
        ELSE lower(trim(nfc(raw))) IN ('1', 'có', 'co', 'true', 'x', 'yes', 'y')
    END
);
