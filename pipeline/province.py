"""The reporting province: its unit (code, name) in core.units, on a day. Ground floor: read by
the reports (header, per-province marts) and by the cycle (the name recorded with an issue)."""

from __future__ import annotations

import os
from datetime import date

import duckdb

from pipeline.db import table_exists

ENV_PROVINCE_CODE = "DVC_PROVINCE_CODE"


def province_row(con: duckdb.DuckDBPyConnection, day: date | None = None) -> tuple[str, str] | None:
    """(code, name) of the province unit in force on ``day`` (any, when no day is given): the
    one still in force today first (a province merged into it later is not the reporter),
    DVC_PROVINCE_CODE picks one when the warehouse holds several."""
    if not table_exists(con, "core.units"):
        return None
    wanted = os.environ.get(ENV_PROVINCE_CODE, "").strip() or None
    row = con.execute(
        """
        SELECT unit_code, unit_name FROM core.units
        WHERE unit_level = 'province' AND (? IS NULL OR unit_code = ?)
          AND (CAST(? AS DATE) IS NULL OR ((valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to >= ?)))
        ORDER BY valid_to IS NULL DESC, valid_to DESC, unit_code LIMIT 1
        """,
        [wanted, wanted, day, day, day],
    ).fetchone()
    return (row[0], row[1]) if row else None


def province_name(con: duckdb.DuckDBPyConnection, day: date | None = None) -> str | None:
    """The root unit's name (seeds/units.csv level 'province'), e.g. Tỉnh Quảng Trị."""
    row = province_row(con, day)
    return row[1] if row else None
