-- The case fields the Decision 766 index needs beyond mart_case_facts (docs/definitions.md §7), one row
-- per case of this step's facts (TEMP TABLE index766_case_facts), from the newest version:
--   payment_counted: the case's procedure is fee_bearing in the catalogue (a procedure missing
--                    from it is not), less cases whose DanhSachLePhi is non-empty with every
--                    Gia = 0 (a fee line without a readable Gia is not a zero-fee line);
--   vneid_verified_code: TaiKhoanDuocXacThucVoiVNeID;
--   supplement_count / first_request_at: entries of DanhSachHoSoBoSung and the NgayYeuCau of
--                    its first entry (any accepted portal date form; NULL if missing/unparseable).
CREATE OR REPLACE TEMP TABLE index766_case_facts AS
SELECT c.case_id,
       coalesce(c.procedure_code IN (SELECT procedure_code FROM core.procedures WHERE fee_bearing), false)
       AND NOT coalesce(
           json_array_length(c.fees) > 0
           AND list_bool_and(list_transform(
               CAST(json_extract_string(c.fees, '$[*].Gia') AS VARCHAR[]),
               lambda g: coalesce(vnd_amount(g) = 0, false))),
           false) AS payment_counted,
       c.vneid_verified_code,
       coalesce(json_array_length(c.supplement_requests), 0) AS supplement_count,
       portal_ts(json_extract_string(c.supplement_requests, '$[0].NgayYeuCau')) AS first_request_at
FROM core.cases c
WHERE c.case_id IN (SELECT case_id FROM mart_case_facts);
