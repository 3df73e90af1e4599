"""A first draft of a province's own reference lists, from the cases it landed (issue 27).

The shipped lists (seeds/) are Quảng Trị's. A province whose codes they do not know gets its
cases counted under level ``unknown`` and no report. ``draft_reference`` writes a folder that
``DVC_SEEDS_DIR`` can point at, to be reviewed before it is trusted:

- ``units.csv``: every unit code of core.cases. Codes the current list knows keep their rows;
  the others get the name the data sends most (DonViXuLy), and a level and parent guessed
  from the code (``000.00.00.Hxx`` the province, ``000.00.NN.Hxx`` a department or district,
  ``000.NN.MM.Hxx`` a commune) and the name (Sở …, Huyện …, Xã/Phường …); a province row is
  added when the data has none. Column ``draft_note`` says what was guessed (columns beyond
  docs/definitions.md §4.1's are allowed).
- ``procedures.csv``: every MaTTHC of core.cases with its names and field as the data sends
  them; ``full_process_eligible`` and ``fee_bearing`` come from the current catalogue when it
  lists the code (procedure codes are national), else are left empty (= not known, read as 0).
- ``targets.csv``, ``unit_crosswalk.csv``: the headers only — both depend on the province (its
  plan's targets, its reorganisations) and nothing in the data can say them.

The draft passes ``validate_reference`` (tested), so the quarter's workbook is produced with it.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.ingest.reference import ReferenceDataError, read_units, validate_reference

DRAFT_FILES = ("units.csv", "procedures.csv", "targets.csv", "unit_crosswalk.csv")
UNIT_COLUMNS = ("unit_code", "unit_name", "unit_level", "parent_code", "valid_from", "valid_to", "draft_note")
PROCEDURE_COLUMNS = ("procedure_code", "procedure_name", "field_code", "field_name", "service_level",
                     "full_process_eligible", "fee_bearing", "draft_note")
TARGET_COLUMNS = ("unit_code", "unit_name", "year", "metric", "target_rate", "baseline_rate_prev_year")
CROSSWALK_COLUMNS = ("old_unit_code", "new_unit_code", "valid_from", "is_primary", "note")

# Portal unit codes: 000.<district or 00>.<unit or commune>.<province> (e.g. 000.31.02.H48).
CODE = re.compile(r"^(?P<head>\d{3})\.(?P<mid>\d{2})\.(?P<low>\d{2})\.(?P<province>[A-Z]\d{2})$")
# Name words (lower case, prefix "UBND"/"Ủy ban nhân dân" removed) that say a level.
NAME_LEVELS: tuple[tuple[str, str], ...] = (
    (r"^(tỉnh|thành phố trực thuộc trung ương)\b", "province"),
    (r"^(huyện|quận|thị xã|thành phố)\b", "district"),
    (r"^(xã|phường|thị trấn|đặc khu)\b", "commune"),
    (r"^(sở|ban|văn phòng|thanh tra|công an|cục|chi cục|bộ chỉ huy|kho bạc|bảo hiểm|trung tâm)\b",
     "province_department"),
)


@dataclass(frozen=True)
class Draft:
    folder: Path
    units: int  # rows written
    guessed: int  # of them guessed from the data (the rest copied from the current list)
    provinces: list[str]  # province codes of the draft
    procedures: int
    procedures_known: int  # with eligibility and fees from the current catalogue


def _plain(name: str) -> str:
    text = unicodedata.normalize("NFC", name or "").strip().lower()
    return re.sub(r"^(ubnd|ủy ban nhân dân|uỷ ban nhân dân)\s+", "", text)


def level_from_name(name: str | None) -> str | None:
    plain = _plain(name or "")
    for pattern, level in NAME_LEVELS:
        if re.search(pattern, plain):
            return level
    return None


def guess_unit(code: str, name: str | None, seen: set[str]) -> tuple[str, str | None, str]:
    """(level, parent code, note) of a code the unit list lacks, from its shape and name;
    ``seen`` = every code of the draft (a commune's district parent only when it exists)."""
    by_name = level_from_name(name)
    match = CODE.match(code)
    if match is None:
        level = by_name or "province_department"
        why = f"level from the name ({by_name})" if by_name else "level UNKNOWN (neither code nor name says it)"
        return level, None, f"DRAFT: {why}; parent unknown: fill in parent_code"
    province = f"000.00.00.{match['province']}"
    if match["mid"] == "00" and match["low"] == "00":
        return "province", None, "DRAFT: province unit (code 000.00.00.*)"
    if match["mid"] == "00":  # a department of the province, or a district (before 1/7/2025)
        level = "district" if by_name == "district" else "province_department"
        why = "name says a district" if level == "district" else (
            "name says a department" if by_name == "province_department" else "code 000.00.NN.*, name says no level")
        return level, province, f"DRAFT: {level} ({why}); parent = the province"
    district = f"000.00.{match['mid']}.{match['province']}"
    parent = district if district in seen else province
    why = "name says a commune" if by_name == "commune" else "code 000.NN.MM.*"
    return "commune", parent, f"DRAFT: commune ({why}); parent = {'its district' if parent == district else 'the province'}"


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})


def _current_catalogue(seeds: Path) -> dict[str, dict[str, str]]:
    path = seeds / "procedures.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {r["procedure_code"].strip(): r for r in csv.DictReader(fh) if r.get("procedure_code")}


def draft_units(con: duckdb.DuckDBPyConnection, seeds: Path) -> tuple[list[dict], int]:
    """The draft unit rows and how many of them were guessed."""
    seen = con.execute(
        "SELECT unit_code, mode(nullif(trim(unit_name_source), '')) AS name, count(*) AS cases "
        "FROM core.cases WHERE unit_code IS NOT NULL GROUP BY unit_code ORDER BY unit_code"
    ).fetchall()
    try:
        current = read_units(seeds / "units.csv")
    except ReferenceDataError:
        current = []
    known: dict[str, list] = {}
    for u in current:
        known.setdefault(u.unit_code, []).append(u)
    codes = {code for code, _, _ in seen}
    # Known codes bring their ancestors (parent chain to the province) from the current list.
    wanted = [c for c in codes if c in known]
    while wanted:
        parents = {u.parent_code for c in wanted for u in known[c] if u.parent_code in known}
        wanted = [p for p in parents if p not in codes]
        for p in wanted:
            seen.append((p, None, 0))
        codes |= set(wanted)
    provinces = sorted({f"000.00.00.{m['province']}" for c in codes if (m := CODE.match(c))})
    rows: list[dict] = []
    guessed = 0
    for code, name, _ in seen:
        for u in known.get(code, []):
            rows.append({"unit_code": u.unit_code, "unit_name": u.unit_name, "unit_level": u.unit_level,
                         "parent_code": u.parent_code, "valid_from": u.valid_from, "valid_to": u.valid_to,
                         "draft_note": f"from {seeds.name}/units.csv"})
        if code in known:
            continue
        level, parent, note = guess_unit(code, name, codes | set(provinces))
        if level == "province" and name:  # "UBND tỉnh X" sends the office; the unit list names the province
            name = re.sub(r"^(UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\s+tỉnh\s+", "Tỉnh ", name, flags=re.IGNORECASE)
        rows.append({"unit_code": code, "unit_name": name or code, "unit_level": level, "parent_code": parent,
                     "draft_note": note + ("" if name else "; no name in the data: fill in unit_name")})
        guessed += 1
    for province in provinces:  # a province unit the data never names: its roll-ups need it
        if province not in codes and province not in known:
            rows.insert(0, {"unit_code": province, "unit_name": f"Tỉnh {province.rsplit('.', 1)[1]}",
                            "unit_level": "province",
                            "draft_note": "DRAFT: province unit added (no case of its own): fill in its name"})
            guessed += 1
    rows.sort(key=lambda r: (r["unit_level"] != "province", r["parent_code"] or "", r["unit_code"]))
    return rows, guessed


def draft_procedures(con: duckdb.DuckDBPyConnection, seeds: Path) -> tuple[list[dict], int]:
    catalogue = _current_catalogue(seeds)
    seen = con.execute(
        """
        SELECT procedure_code, mode(nullif(trim(procedure_name), '')), mode(nullif(trim(field_code), '')),
               mode(nullif(trim(field_name), '')), mode(nullif(trim(service_level), ''))
        FROM core.cases WHERE procedure_code IS NOT NULL AND trim(procedure_code) <> ''
        GROUP BY procedure_code ORDER BY procedure_code
        """
    ).fetchall()
    rows, known = [], 0
    for code, name, field, field_name, level in seen:
        c = catalogue.get(code, {})
        if c:
            known += 1
        rows.append({
            "procedure_code": code,
            "procedure_name": name or c.get("procedure_name") or "",
            "field_code": field or c.get("field_code") or "",
            "field_name": field_name or c.get("field_name") or "",
            "service_level": c.get("service_level") or level or "",
            # Eligibility and fees are set by national law per procedure: known only from a catalogue.
            "full_process_eligible": c.get("full_process_eligible", ""),
            "fee_bearing": c.get("fee_bearing", ""),
            "draft_note": (f"DRAFT: eligibility and fee from {seeds.name}/procedures.csv" if c else
                           "DRAFT: full_process_eligible and fee_bearing not known (empty = 0): fill in"),
        })
    return rows, known


def draft_reference(con: duckdb.DuckDBPyConnection, out: Path, seeds: Path, *, force: bool = False) -> Draft:
    """Write the four draft lists to ``out`` (refusing to overwrite existing ones unless
    ``force``) and check them as a load would; returns what was written."""
    out = Path(out)
    existing = [name for name in DRAFT_FILES if (out / name).exists()]
    if existing and not force:
        raise FileExistsError(f"{out} already holds {', '.join(existing)} (a reviewed draft?): choose another "
                              "folder or pass --force to overwrite")
    if not con.execute("SELECT count(*) FROM core.cases").fetchone()[0]:
        raise ValueError("the warehouse has no case: land the province's export files first (python -m pipeline run)")
    units, guessed = draft_units(con, seeds)
    procedures, known = draft_procedures(con, seeds)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "units.csv", UNIT_COLUMNS, units)
    _write_csv(out / "procedures.csv", PROCEDURE_COLUMNS, procedures)
    _write_csv(out / "targets.csv", TARGET_COLUMNS, [])
    _write_csv(out / "unit_crosswalk.csv", CROSSWALK_COLUMNS, [])
    validate_reference(out)  # the draft must load as it is
    return Draft(out, len(units), guessed, sorted({r["unit_code"] for r in units if r["unit_level"] == "province"}),
                 len(procedures), known)
