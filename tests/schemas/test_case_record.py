"""The pydantic model (one source of truth) and its agreement with the SQL rules."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pydantic import ValidationError

from schemas.case_record import (
    FIELD_SPECS,
    CaseRecord,
    field_for_header,
    parse_portal_datetime,
    record_rule_violations,
)

DATE_CASES = [
    ("20240115083000", datetime(2024, 1, 15, 8, 30)),
    ("20250314235959", datetime(2025, 3, 14, 23, 59, 59)),
    ("14/03/2025 23:59:59", datetime(2025, 3, 14, 23, 59, 59)),
    ("14/03/2025", datetime(2025, 3, 14)),
    ("2025-03-14T23:59:59+07:00", datetime(2025, 3, 14, 23, 59, 59)),
    ("2025-03-14T16:59:59Z", datetime(2025, 3, 14, 23, 59, 59)),
    ("2025-03-14T23:59:59.5+05:30", datetime(2025, 3, 15, 1, 29, 59, 500000)),
    ("2025-03-14", datetime(2025, 3, 14)),
    ("", None),
]
BAD_DATES = ["20250231120000", "31/02/2025", "2025031423595", "1/3/2025", "abc", "2025-13-01"]


@pytest.mark.parametrize(("raw", "expected"), DATE_CASES)
def test_every_accepted_date_form(raw, expected):
    assert parse_portal_datetime(raw) == expected


def test_fourteen_digit_string_is_not_a_unix_timestamp():
    record = CaseRecord.model_validate(
        {"MaHoSo": "A", "MaDonVi": "U", "MaTTHC": "P", "TrangThaiHoSo": "2",
         "NgayTiepNhan": "20240115083000", "NgayCapNhat": "20240115083000"}
    )
    assert record.received_at == datetime(2024, 1, 15, 8, 30)  # not year 2611


@pytest.mark.parametrize("raw", BAD_DATES)
def test_impossible_dates_rejected(raw):
    with pytest.raises(ValueError):
        parse_portal_datetime(raw)


def test_sql_macro_agrees_with_python_parser(warehouse_path):
    from pipeline.warehouse import connect

    con = connect(warehouse_path)
    for raw, expected in DATE_CASES:
        got, invalid = con.execute("SELECT portal_ts(?), portal_ts_invalid(?)", [raw, raw]).fetchone()
        assert got == expected and invalid is False, raw
    for raw in BAD_DATES:
        got, invalid = con.execute("SELECT portal_ts(?), portal_ts_invalid(?)", [raw, raw]).fetchone()
        assert got is None and invalid is True, raw
    con.close()


def test_model_and_sql_validation_agree_on_fixture(con, fixtures):
    from pipeline.ingest.landing import land_file

    land_file(con, fixtures / "cases_small.jsonl")
    quarantined_rows = {r[0] for r in con.execute("SELECT source_row FROM raw.quarantine").fetchall()}
    for line_no, line in enumerate((fixtures / "cases_small.jsonl").read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            CaseRecord.model_validate(json.loads(line))
            model_valid = True
        except (ValidationError, ValueError, TypeError):
            model_valid = False
        assert model_valid == (line_no not in quarantined_rows), line_no


def test_rule_messages_are_shared():
    record = CaseRecord.model_construct(status_code="10", channel_code="2", received_at=datetime(2025, 1, 2),
                                        processing_finished_at=datetime(2025, 1, 1), returned_at=None)
    assert record_rule_violations(record) == ["end date is before NgayTiepNhan"]


def test_aliases_headers_and_columns_come_from_one_place():
    names = [f.name for f in FIELD_SPECS]
    assert names[:3] == ["MaHoSo", "MaHoSoKhac", "MaDonVi"]
    assert len({f.spec.column for f in FIELD_SPECS}) == len(FIELD_SPECS)
    assert field_for_header("Mã hồ sơ") == "MaHoSo"
    assert field_for_header("Ma\u0303 ho\u0302\u0300 so\u031b") == "MaHoSo"  # NFD header
    assert field_for_header(" ngày  cập nhật ") == "NgayCapNhat"
    assert field_for_header("Lệ phí (VND)") == "TongLePhi"
    assert field_for_header("Unknown") is None


def test_warehouse_columns_follow_the_model(con):
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'cases'").fetchall()}
    for f in FIELD_SPECS:
        expected = f"{f.spec.column}_hash" if f.spec.kind == "pii" else f.spec.column
        assert expected in cols
    assert not {"applicant_name", "applicant_phone"} & cols
    comment = con.execute(
        "SELECT comment FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'cases' "
        "AND column_name = 'applicant_name_hash'").fetchone()[0]
    assert "never clear text" in comment
