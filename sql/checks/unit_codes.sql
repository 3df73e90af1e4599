-- Unit codes the reference list cannot place (docs/definitions.md §4.2 step 3), with their case counts:
--   unknown  the code is not in seeds/units.csv at all;
--   expired  it is, but on the day the case was received (submitted, for status 1/3), after the
--            crosswalk as of that day, no row of it is in force: the portal used a code that did
--            not exist (yet or any more) and no crosswalk row moves it.
-- Such cases count under the code as sent, with level 'unknown' and no province.
WITH days AS (
    SELECT unit_code, CAST(coalesce(received_at, submitted_at, updated_at) AS DATE) AS day
    FROM core.cases
),
placed AS (
    SELECT d.unit_code, d.day, coalesce(r.resolved_code, d.unit_code) AS counted_code
    FROM days d
    LEFT JOIN core.unit_resolution r ON r.unit_code = d.unit_code AND d.day BETWEEN r.from_day AND r.to_day
)
SELECT p.unit_code,
       CASE WHEN p.unit_code IN (SELECT unit_code FROM core.units) THEN 'expired' ELSE 'unknown' END AS problem,
       count(*) AS cases
FROM placed p
WHERE NOT EXISTS (
    SELECT 1 FROM core.unit_calendar u
    WHERE u.unit_code = p.counted_code AND p.day BETWEEN u.from_day AND u.to_day
)
GROUP BY p.unit_code, problem
