"""Vectorised validation SQL, generated from the record schema (schemas/case_record.py).

The contract rules (docs/portal_export.md §6) run as one DuckDB SELECT over a staging table in
which every contract field is a VARCHAR column named by its contract name. Each row gets
the typed warehouse columns plus ``reasons``: the list of every rule it breaks (empty =
valid). Nothing here loops over rows in Python.
"""

from __future__ import annotations

from pipeline import config
from pipeline.case_tables import (
    BOOKKEEPING_COLUMNS,
    case_version_columns,
    warehouse_column,
)
from pipeline.db import sql_identifier, sql_literal
from schemas.case_record import (
    CHANNEL_CODES,
    FIELD_SPECS,
    PII_NAME_PATTERN,
    RESOLVED_STATUSES,
    SERVICE_LEVEL_WORDS,
    STATUS_CODES,
    WITHDRAWN_STATUSES,
    ContractField,
    Kind,
    reason_text,
)

# A line longer than the reader's limit reaches the staging table as this marker + its size
# in bytes (pipeline/ingest/duckdb_source.py): quarantined as too long, under its own line number.
TOO_LONG_MARKER = "#dvc-line-too-long:"

# Words that make an unknown field's name personal data (schemas/case_record.py).
PII_NAME_WORDS = tuple(PII_NAME_PATTERN.pattern.split("|"))

PII_NORMALISATION = {"SoGiayToChuHoSo": "digits", "SoDienThoai": "digits", "Email": "email"}

def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


# ---------------------------------------------------------------------------------------
# Staging: JSON text lines -> one VARCHAR column per contract field
# ---------------------------------------------------------------------------------------
def json_struct_type() -> str:
    """from_json() structure: every field VARCHAR (numbers become text), lists stay JSON."""
    parts = [f'"{f.name}": "{"JSON" if f.spec.kind is Kind.LIST else "VARCHAR"}"' for f in FIELD_SPECS]
    return "{" + ", ".join(parts) + "}"


def _known_keys_nulls() -> str:
    return "{" + ", ".join(f'"{f.name}": null' for f in FIELD_SPECS) + "}"


def stage_from_lines_sql(lines_table: str) -> str:
    """Stage rows from a table (source_row, raw_line) of JSON texts; empty lines are dropped."""
    struct_type = json_struct_type().replace("'", "''")
    nulls = _known_keys_nulls()
    field_cols = ",\n        ".join(
        f"CASE WHEN parse_error IS NULL THEN rec.{sql_identifier(f.name)} END AS {sql_identifier(f.name)}" for f in FIELD_SPECS
    )
    known = "[" + ", ".join(sql_literal(f.name) for f in FIELD_SPECS) + "]"
    return f"""
    WITH typed AS (
        SELECT source_row, raw_line, try(json_type(raw_line)) AS json_kind  -- NULL: not JSON
        FROM {lines_table}
        -- trim() walks the whole line (~1 KB): a line starting with '{{' is not blank anyway
        WHERE starts_with(raw_line, '{{') OR trim(raw_line) <> ''
    ), checked AS (
        SELECT source_row, raw_line,
            CASE
                WHEN starts_with(raw_line, {sql_literal(TOO_LONG_MARKER)}) THEN
                    {_template_sql(reason_text("line_too_long"), size=f"substr(raw_line, {len(TOO_LONG_MARKER) + 1})", limit=sql_literal(str(config.max_line_bytes() >> 20)))}
                WHEN json_kind IS NULL THEN {sql_literal(reason_text("malformed_json"))}
                WHEN json_kind <> 'OBJECT' THEN {sql_literal(reason_text("not_object"))}
            END AS parse_error
        FROM typed
    ), parsed AS (
        SELECT source_row, raw_line, parse_error,
            CASE WHEN parse_error IS NULL THEN from_json(raw_line, '{struct_type}') END AS rec,
            -- unknown keys are rare: only lines that have some pay for rebuilding the JSON
            CASE WHEN parse_error IS NULL
                  AND len(list_filter(json_keys(raw_line), lambda k: NOT list_contains({known}, k))) > 0
                THEN pii_seal_extra(nullif(json_merge_patch(raw_line, '{nulls}'), '{{}}')::JSON) END AS extra_fields
        FROM checked
    )
    SELECT source_row, raw_line,
        {field_cols},
        extra_fields, parse_error
    FROM parsed
    """


def stage_from_tabular_sql(table: str, column_for_field: dict[str, str], extra_columns: list[str]) -> str:
    """Stage rows from a tabular source (CSV/XLSX) whose columns were mapped to contract fields.

    ``column_for_field`` maps contract name -> the source table's column; ``extra_columns``
    are the source columns the contract does not know (kept in extra_fields).
    """
    cols = []
    for f in FIELD_SPECS:
        src = column_for_field.get(f.name)
        cols.append(f"{sql_identifier(src)} AS {sql_identifier(f.name)}" if src else f"NULL::VARCHAR AS {sql_identifier(f.name)}")
    if extra_columns:
        # Unknown columns are kept where they hold a value (an empty cell is no value).
        entries = ", ".join(f"{{'k': {sql_literal(c)}, 'v': {sql_identifier(c)}}}" for c in extra_columns)
        # Only rows with a value in some unknown column pay for building the JSON.
        any_value = " OR ".join(f"coalesce(trim({sql_identifier(c)}), '') <> ''" for c in extra_columns)
        # Unknown columns named like personal data are kept as keyed hashes (pii_seal_extra).
        extra = (
            f"CASE WHEN {any_value} THEN pii_seal_extra(nullif(to_json(map_from_entries(list_filter([{entries}], "
            "lambda e: coalesce(trim(e.v), '') <> ''))), '{}')::JSON) END"
        )
    else:
        extra = "NULL::JSON"
    # raw_line stays NULL for rows that were split into fields: the record as sent is rebuilt
    # from them only for the few rows that are quarantined (source_record_sql). Rows the
    # reader could not split carry their text.
    return f"""
    SELECT source_row,
        raw_line,
        {", ".join(cols)},
        {extra} AS extra_fields,
        parse_error
    FROM {table}
    """


# ---------------------------------------------------------------------------------------
# Typing + rules
# ---------------------------------------------------------------------------------------
def _typed_expr(field: ContractField) -> str:
    src = f"s.{sql_identifier(field.name)}"
    kind = field.spec.kind
    if kind is Kind.DATE:
        return f"portal_ts({src})"
    if kind is Kind.LIST:
        return f"try_cast(blank_null({src}) AS JSON)"
    if kind is Kind.PII:
        return f"{_pii_lookup(field)}.h"
    return f"clean_text({src})"


def _pii_lookup(field: ContractField) -> str:
    return sql_identifier(f"pii${field.name}")


def _pii_lookups_sql(stage_table: str) -> tuple[str, str]:
    """(CTEs, joins): each personal-data field is hashed once per distinct value of the chunk
    and joined back. Values repeat a lot (one applicant, many versions and cases), and the
    keyed double SHA-256 with its normalisation was the largest cost of validation."""
    ctes, joins = [], []
    for f in FIELD_SPECS:
        if f.spec.kind is not Kind.PII:
            continue
        name, col = _pii_lookup(f), sql_identifier(f.name)
        kind = sql_literal(PII_NORMALISATION.get(f.name, "text"))
        ctes.append(
            f"{name} AS (SELECT v, pii_hash(v, {kind}) AS h "
            f"FROM (SELECT DISTINCT {col} AS v FROM {stage_table} WHERE {col} IS NOT NULL))"
        )
        # NULL never matches: its hash stays NULL, as pii_hash(NULL) is
        joins.append(f"LEFT JOIN {name} ON {name}.v = s.{col}")
    return ",\n    ".join(ctes), "\n        ".join(joins)


def _template_sql(template: str, **exprs: str) -> str:
    """Turn a reason template such as "{field}: unparseable date '{value}'" into SQL."""
    out: list[str] = []
    rest = template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        if head:
            out.append(sql_literal(head))
        out.append(exprs[name])
    if rest:
        out.append(sql_literal(rest))
    return " || ".join(out)


def _raw(field_name: str) -> str:
    """Column carrying the staged (untyped) value through the typed layer."""
    return sql_identifier(f"raw${field_name}")


_RAW_KEPT = tuple(f.name for f in FIELD_SPECS if f.spec.kind in (Kind.DATE, Kind.LIST))


def _reason_exprs() -> list[str]:
    lo, hi = config.plausible_date_range()
    reasons = ["t.parse_error"]
    status = "t.status_code"
    for f in FIELD_SPECS:
        raw = f"t.{_raw(f.name)}"
        if f.spec.kind is Kind.DATE:
            # given but not parsed (the typed layer parsed it once)
            reasons.append(
                f"CASE WHEN t.{sql_identifier(f.spec.column)} IS NULL AND blank_null({raw}) IS NOT NULL THEN "
                f"{_template_sql(reason_text('bad_date'), field=sql_literal(f.name), value='reason_value(trim(' + raw + '))')} END"
            )
            # parsed, but outside the plausible range: such a date falls outside every
            # reporting partition and would block every later refresh
            reasons.append(
                f"CASE WHEN t.{sql_identifier(f.spec.column)} < {sql_literal(str(lo))}::TIMESTAMP "
                f"OR t.{sql_identifier(f.spec.column)} >= {sql_literal(str(hi))}::TIMESTAMP THEN "
                f"{_template_sql(reason_text('implausible_date'), field=sql_literal(f.name), start=sql_literal(str(lo)), end=sql_literal(str(hi)), value='reason_value(trim(' + raw + '))')} END"
            )
        if f.spec.kind is Kind.LIST:
            reasons.append(
                f"CASE WHEN blank_null({raw}) IS NOT NULL AND (t.{sql_identifier(f.spec.column)} IS NULL "
                f"OR json_type(t.{sql_identifier(f.spec.column)}) <> 'ARRAY') THEN "
                f"{sql_literal(reason_text('bad_list', field=f.name))} END"
            )
        if f.spec.required:
            invalid_date = f" AND blank_null({raw}) IS NULL" if f.spec.kind is Kind.DATE else ""
            reasons.append(
                f"CASE WHEN t.parse_error IS NULL AND t.{sql_identifier(warehouse_column(f))} IS NULL{invalid_date} "
                f"THEN {sql_literal(reason_text('missing', field=f.name))} END"
            )
    reasons.append(
        f"CASE WHEN {status} IS NOT NULL AND {status} NOT IN {_in_list(tuple(STATUS_CODES))} THEN "
        f"{_template_sql(reason_text('bad_status'), value=f'reason_value({status})')} END"
    )
    channels = tuple(c for c in CHANNEL_CODES if c)
    reasons.append(
        f"CASE WHEN t.channel_code IS NOT NULL AND t.channel_code NOT IN {_in_list(channels)} THEN "
        f"{_template_sql(reason_text('bad_channel'), value='reason_value(t.channel_code)')} END"
    )
    # Fees: every Gia of DanhSachLePhi and the flattened TongLePhi must be an amount of VND.
    bad_gia = (
        "list_filter(CAST(json_extract_string(t.fees, '$[*].Gia') AS VARCHAR[]), "
        "lambda g: vnd_amount_invalid(g))[1]"
    )
    reasons.append(
        f"CASE WHEN json_type(t.fees) = 'ARRAY' AND {bad_gia} IS NOT NULL THEN "
        f"{_template_sql(reason_text('bad_fee'), field=sql_literal('DanhSachLePhi[].Gia'), value=f'fee_reason_value({bad_gia})')} END"
    )
    reasons.append(
        "CASE WHEN vnd_amount_invalid(t.fee_total_flat) THEN "
        f"{_template_sql(reason_text('bad_fee'), field=sql_literal('TongLePhi'), value='fee_reason_value(t.fee_total_flat)')} END"
    )
    reasons.append(
        f"CASE WHEN t.received_at IS NULL AND blank_null(t.{_raw('NgayTiepNhan')}) IS NULL "
        f"AND {status} IN {_in_list(tuple(c for c in STATUS_CODES if c not in ('1', '3')))} "
        f"THEN {sql_literal(reason_text('received_required'))} END"
    )
    reasons.append(
        f"CASE WHEN {status} IN {_in_list(WITHDRAWN_STATUSES + RESOLVED_STATUSES)} AND t.ended_at IS NULL "
        f"THEN {_template_sql(reason_text('no_end'), value=status)} END"
    )
    reasons.append(
        "CASE WHEN t.ended_at < t.received_at THEN "
        f"{sql_literal(reason_text('end_before_received'))} END"
    )
    return reasons


def _ended_at_expr(p: str = "") -> str:
    return (
        f"CASE WHEN {p}status_code IN {_in_list(RESOLVED_STATUSES)} "
        f"THEN coalesce({p}processing_finished_at, {p}returned_at) "
        f"WHEN {p}status_code IN {_in_list(WITHDRAWN_STATUSES)} "
        f"THEN coalesce({p}refused_at, {p}processing_finished_at) END"
    )


def output_columns() -> list[str]:
    """Columns of a validated row that are stored (raw.case_versions minus bookkeeping)."""
    return [c for c, _, _ in case_version_columns() if c not in BOOKKEEPING_COLUMNS]


def validated_sql(stage_table: str) -> str:
    """Typed columns + derived columns + ``reasons`` for every staged row."""
    typed_cols = ",\n            ".join(
        f"{_typed_expr(f)} AS {sql_identifier(warehouse_column(f))}" for f in FIELD_SPECS
    )
    raw_cols = ", ".join(f"s.{sql_identifier(name)} AS {_raw(name)}" for name in _RAW_KEPT)
    words = " ".join(f"WHEN {sql_literal(w)} THEN {sql_literal(code)}" for w, code in SERVICE_LEVEL_WORDS.items())
    derived = f"""
            CASE lower(service_level_raw) {words}
                WHEN '4' THEN '4' WHEN '3' THEN '3' WHEN '2' THEN '2' END AS service_level,
            CASE channel_code WHEN '2' THEN 'online' WHEN '3' THEN 'postal'
                ELSE 'in_person' END AS channel,
            {_ended_at_expr()} AS ended_at,
            coalesce(
                list_sum(list_transform(
                    CAST(json_extract_string(fees, '$[*].Gia') AS VARCHAR[]), lambda g: vnd_amount(g))),
                vnd_amount(fee_total_flat)) AS fee_total_vnd,
            coalesce(
                len(list_filter(
                    CAST(json_extract_string(result_documents, '$[*].DuongDanTepTinKetQua') AS VARCHAR[]),
                    lambda u: coalesce(trim(u), '') <> '')) > 0,
                FALSE) OR coalesce(yes_flag(electronic_result_flat), FALSE) AS has_electronic_result"""
    reasons = ",\n                ".join(_reason_exprs())
    # NULL and '' cannot collide: text is blank-nulled before this point.
    hashed = ", ".join(
        f"coalesce(CAST(t.{sql_identifier(c)} AS VARCHAR), '')" for c in output_columns() if c != "version_hash"
    )
    kept = ", ".join(f"t.{sql_identifier(c)}" for c in output_columns() if c != "version_hash")
    pii_ctes, pii_joins = _pii_lookups_sql(stage_table)
    return f"""
    WITH {pii_ctes},
    typed AS (
        SELECT s.source_row, s.parse_error,
            {typed_cols},
            s.extra_fields,
            {raw_cols}
        FROM {stage_table} s
        {pii_joins}
    ), derived AS (
        SELECT *, {derived}
        FROM typed
    )
    SELECT t.source_row, t.parse_error, {kept},
        md5(concat_ws(chr(31), {hashed})) AS version_hash,
        list_filter([
                {reasons}
            ], lambda r: r IS NOT NULL) AS reasons
    FROM derived t
    """


def source_record_sql(stage_alias: str = "s") -> str:
    """The staged record as sent (JSON text): the line itself, or for rows read from a table
    (CSV/XLSX) its fields by contract name plus the unknown columns. Used for quarantine only."""
    a = stage_alias
    pairs = ", ".join(f"{sql_literal(f.name)}, {a}.{sql_identifier(f.name)}" for f in FIELD_SPECS)
    # merge-patch onto {} drops the fields the source did not have (NULL members)
    rebuilt = (
        f"json_merge_patch(json_merge_patch('{{}}', json_object({pairs})), "
        f"coalesce({a}.extra_fields, '{{}}'::JSON))::VARCHAR"
    )
    return f"coalesce({a}.raw_line, CASE WHEN {a}.parse_error IS NULL THEN {rebuilt} END)"


def masked_record_sql(stage_alias: str = "s") -> str:
    """The staged record as JSON with personal data masked (for raw.quarantine)."""
    pii = [f for f in FIELD_SPECS if f.spec.kind is Kind.PII]
    patch = ", ".join(f"{sql_literal(f.name)}, pii_mask({stage_alias}.{sql_identifier(f.name)})" for f in pii)
    # Lines that are not JSON cannot be patched: mask the values of personal-data keys (also a
    # value the line was cut inside: up to the end of the line), digit runs and e-mails.
    keys = "|".join(sorted({f.name.lower() for f in pii} | set(PII_NAME_WORDS)))
    scrub = (
        f"regexp_replace(regexp_replace(regexp_replace({stage_alias}.raw_line, "
        f"'\"([^\"]*(?i:{keys})[^\"]*)\"\\s*:\\s*(\"([^\"\\\\]|\\\\.)*(\"|$)|[^,{{}}\\s]+)', "
        "'\"\\1\":\"***\"', 'g'), "
        "'[0-9]{9,}', '***', 'g'), '[^\\s\"@]+@[^\\s\"@]*', '***', 'g')"
    )
    return (
        f"CASE WHEN {stage_alias}.parse_error IS NULL "
        f"THEN {_mask_mistyped(f'pii_mask_extra(json_merge_patch({source_record_sql(stage_alias)}, json_object({patch})))')} "
        f"ELSE to_json({{'unparsed_line': {scrub}}}) END"
    )


# A code as the portal writes it (MaDonVi 000.00.00.H44, MaTTHC 1.001234, MucDo toan_trinh).
_CODE_SHAPE = "[A-Za-z0-9._/:-]{1,40}"


def _mask_mistyped(record: str) -> str:
    """``record`` (a JSON object) with every date or code member whose value is not a date or
    a code replaced by its shape (reason_value, as in the reasons): a name or phone number typed
    into a date field is personal data like any other, also in a quarantined record."""
    dates = ", ".join(sql_literal(f.name) for f in FIELD_SPECS if f.spec.kind is Kind.DATE)
    codes = ", ".join(sql_literal(f.name) for f in FIELD_SPECS if f.spec.kind is Kind.CODE)
    text = "trim(json_member_text(m.value))"
    scalar = "json_type(m.value) NOT IN ('OBJECT', 'ARRAY', 'NULL')"
    # The record inline, not in a subquery: CASE then evaluates it only for the rows of its
    # branch (a subquery would be joined for every row, also the lines that are not JSON).
    return (
        f"CASE WHEN json_type({record}) <> 'OBJECT' THEN {record} "
        f"ELSE to_json(map_from_entries(list_transform(map_entries(({record})::MAP(VARCHAR, JSON)), lambda m: {{"
        f"'k': m.key, 'v': CASE "
        f"WHEN {scalar} AND list_contains([{dates}], m.key) AND portal_ts_invalid({text}) "
        f"THEN to_json(reason_value({text})) "
        f"WHEN {scalar} AND list_contains([{codes}], m.key) AND {text} <> '' "
        f"AND NOT regexp_full_match({text}, {sql_literal(_CODE_SHAPE)}) THEN to_json(reason_value({text})) "
        f"ELSE m.value END}}))) END"
    )
