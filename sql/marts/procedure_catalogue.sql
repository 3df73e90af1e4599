-- The procedure catalogue as the drill-down marts read it (docs/definitions.md §4.1, §5): one row
-- per procedure code even if seeds/procedures.csv repeats a code (a join must never
-- duplicate a case), and the field names per field code.
CREATE OR REPLACE TEMP VIEW procedure_catalogue AS
SELECT procedure_code,
       min(procedure_name) AS procedure_name,
       min(nullif(field_code, '')) AS field_code
FROM core.procedures
GROUP BY procedure_code;  -- one row per code, even if the catalogue repeats a code

CREATE OR REPLACE TEMP VIEW field_catalogue AS
SELECT field_code, min(field_name) AS field_name
FROM core.procedures
WHERE nullif(field_code, '') IS NOT NULL
GROUP BY field_code;
