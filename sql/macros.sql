-- Scalar macros shared by the landing SQL. Loaded on every connection (pipeline/warehouse.py).
-- portal_ts mirrors schemas.case_record.parse_portal_datetime; tests check they agree.

-- Any accepted portal date form (docs/portal_export.md §3) -> naive local TIMESTAMP (UTC+7).
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
-- The ISO regexp runs once per value: its parts reach the arithmetic through a lambda
-- parameter (referencing the macro's struct directly re-ran the regexp for every part).
CREATE OR REPLACE MACRO portal_iso_ts(s) AS (
    list_transform([portal_iso_parts(s)], lambda p: portal_iso_from_parts(p))[1]
);

-- The main form is tried first on the value as sent (no trim: ~94 % of values); only the
-- rest is trimmed once and dispatched on its shape. Same results as trying every form on
-- every value: a value of 14 digits is never blank.
CREATE OR REPLACE MACRO portal_ts_other(s) AS (
    CASE
        WHEN s = '' THEN NULL
        WHEN regexp_full_match(s, '[0-9]{14}') THEN try_strptime(s, '%Y%m%d%H%M%S')
        WHEN regexp_full_match(s, '[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}')
            THEN try_strptime(s, '%d/%m/%Y %H:%M:%S')
        WHEN regexp_full_match(s, '[0-9]{2}/[0-9]{2}/[0-9]{4}') THEN try_strptime(s, '%d/%m/%Y')
        WHEN regexp_full_match(s, '[0-9]{4}-[0-9]{2}-[0-9]{2}.*') THEN portal_iso_ts(s)
        ELSE NULL
    END
);
CREATE OR REPLACE MACRO portal_ts(raw) AS (
    CASE
        -- fast path for the main form; the regexp keeps "2025031423595 " (strptime allows
        -- surrounding blanks) out
        WHEN length(raw) = 14 AND regexp_full_match(raw, '[0-9]{14}') THEN try_strptime(raw, '%Y%m%d%H%M%S')
        WHEN raw IS NULL THEN NULL
        ELSE portal_ts_other(trim(raw))
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

-- Amounts arrive as strings ("50000", "50,000", "50000.0"). Anything else (negative, "1e30",
-- words, 10^15 VND or more) is NULL, and vnd_amount_invalid() makes it a quarantine reason:
-- stripping the non-digits silently turned "1e30" into 130.00 VND.
CREATE OR REPLACE MACRO vnd_amount(raw) AS (
    CASE WHEN regexp_full_match(trim(raw), '([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\.[0-9]{1,2}0*)?')
         THEN try_cast(replace(trim(raw), ',', '') AS DECIMAL(18, 2)) END
);
CREATE OR REPLACE MACRO vnd_amount_invalid(raw) AS (
    raw IS NOT NULL AND trim(raw) <> '' AND vnd_amount(raw) IS NULL
);

-- Yes/no flags of the flattened export columns: 1/0, Có/Không, true/false, x.
CREATE OR REPLACE MACRO yes_flag(raw) AS (
    CASE
        WHEN raw IS NULL OR trim(raw) = '' THEN NULL
        ELSE lower(trim(nfc(raw))) IN ('1', 'có', 'co', 'true', 'x', 'yes', 'y')
    END
);

-- A bad value as quoted in a quarantine reason. Reasons are published to analysts
-- (quality.quarantine_reasons), so they never echo a value that may be personal data: values
-- shaped like a date or a short code are quoted as sent, anything else by its shape only
-- (upper-case letter X, other letter x, digit 0, first 24 characters):
-- 'Nguyễn Văn An 0912345678' -> 'Xxxxxx Xxx Xx 0000000000'. Mirrors
-- schemas.case_record.reason_value.
CREATE OR REPLACE MACRO reason_value(v) AS (
    CASE
        WHEN v IS NULL THEN ''
        WHEN regexp_full_match(v, '[0-9]{1,3}|[0-9]{14}|[0-9]{2}/[0-9]{2}/[0-9]{4}( [0-9]{2}:[0-9]{2}:[0-9]{2})?|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?')
            THEN v
        ELSE regexp_replace(regexp_replace(regexp_replace(regexp_replace(
                 left(regexp_replace(v, '\p{M}', '', 'g'), 24),
                 '[\p{Ll}\p{Lt}\p{Lm}\p{Lo}]', 'x', 'g'), '\p{Lu}', 'X', 'g'), '[0-9]', '0', 'g'), '[^X0x ./:+-]', '?', 'g')
             || CASE WHEN length(regexp_replace(v, '\p{M}', '', 'g')) > 24 THEN '…' ELSE '' END
    END
);
-- A bad fee as quoted in its reason: numbers (negative, scientific) as sent, else the shape.
CREATE OR REPLACE MACRO fee_reason_value(v) AS (
    CASE WHEN regexp_full_match(trim(v), '[-+]?[0-9][0-9.,]{0,20}([eE][-+]?[0-9]{1,4})?') AND length(trim(v)) <= 24
         THEN trim(v) ELSE reason_value(v) END
);

-- Unknown (extra) fields named like personal data (HoTenNguoiNop, CCCD_NguoiNop, Số điện
-- thoại 2, email_lien_he, ...): compared without case, diacritics or separators. Mirrors
-- schemas.case_record.PII_NAME_PATTERN.
CREATE OR REPLACE MACRO pii_like_key(k) AS (
    regexp_matches(
        regexp_replace(lower(strip_accents(replace(replace(k, 'đ', 'd'), 'Đ', 'D'))), '[^a-z0-9]', '', 'g'),
        'hoten|hovaten|cccd|cmnd|dienthoai|sdt|email|diachi|sogiayto|ngaysinh|hochieu|chuhoso|nguoinop|phone|address|passport')
);
-- extra_fields with the personal-data-like members replaced by their keyed hash (never clear).
-- A member's text: a JSON string unquoted, anything else as its JSON text.
CREATE OR REPLACE MACRO json_member_text(v) AS (
    CASE WHEN json_type(v) = 'VARCHAR' THEN v ->> '$' ELSE v::VARCHAR END
);
CREATE OR REPLACE MACRO pii_seal_extra(e) AS (
    CASE WHEN e IS NULL OR NOT list_bool_or(list_transform(json_keys(e), lambda k: pii_like_key(k))) THEN e
    ELSE to_json(map_from_entries(list_transform(map_entries(e::MAP(VARCHAR, JSON)), lambda m: {
        'k': m.key,
        'v': CASE WHEN pii_like_key(m.key) THEN to_json(pii_hash(json_member_text(m.value), 'text')) ELSE m.value END})))
    END
);
-- The same members masked (first character + ***), for raw.quarantine's record.
CREATE OR REPLACE MACRO pii_mask_extra(e) AS (
    CASE WHEN e IS NULL OR json_type(e) <> 'OBJECT'
              OR NOT list_bool_or(list_transform(json_keys(e), lambda k: pii_like_key(k))) THEN e
    ELSE to_json(map_from_entries(list_transform(map_entries(e::MAP(VARCHAR, JSON)), lambda m: {
        'k': m.key,
        'v': CASE WHEN pii_like_key(m.key) THEN to_json(pii_mask(json_member_text(m.value))) ELSE m.value END})))
    END
);
