-- Unit codes of core.cases with no row at all in the unit list (core.units, from units.csv),
-- with the name the source sends most often (DonViXuLy) and their cases, most cases first.
-- Their cases count under level 'unknown' with no province (docs/definitions.md §4.2 step 3), so no
-- province's report shows them.
SELECT c.unit_code,
       mode(nullif(trim(c.unit_name_source), '')) AS unit_name,
       count(*) AS cases
FROM core.cases c
WHERE c.unit_code IS NOT NULL
  AND c.unit_code NOT IN (SELECT unit_code FROM core.units WHERE unit_code IS NOT NULL)
GROUP BY c.unit_code
ORDER BY cases DESC, c.unit_code
