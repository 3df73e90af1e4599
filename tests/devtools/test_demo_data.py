"""Demo data: the generator's records follow the contract, the writers' files read back, and
the seed files are consistent with each other and with the plan's reference table."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from devtools import demo_data as dd
from schemas.case_record import FIELD_SPECS, FIELDS_BY_NAME, CaseRecord, Kind, parse_portal_datetime

SEEDS = Path(dd.__file__).resolve().parent.parent / "seeds"
REFERENCE = Path("/work/shared/reference/quang_tri_targets_2025.csv")
STATUS_RANK = {"1": 0, "2": 1, "4": 2, "5": 3, "6": 3, "9": 4, "3": 5, "7": 5, "8": 5, "10": 5}


@pytest.fixture(scope="module")
def cases() -> pl.DataFrame:
    return dd.generate_cases(20_000, seed=11, invalid_share=0.01)


@pytest.fixture(scope="module")
def clean() -> pl.DataFrame:
    return dd.generate_cases(20_000, seed=5, invalid_share=0.0)


def _invalid_count(df: pl.DataFrame) -> int:
    bad = 0
    for record in df.to_dicts():
        try:
            CaseRecord.model_validate(record)
        except ValidationError:
            bad += 1
    return bad


def _read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------
def test_field_lists_match_the_record_schema():
    assert [f.name for f in FIELD_SPECS if f.spec.kind is not Kind.FLAT] == dd.CONTRACT_FIELDS
    for header, field in dd.VIETNAMESE_HEADERS.items():
        assert FIELDS_BY_NAME[field].spec.vi_header == header
    assert len(dd.VIETNAMESE_HEADERS) == 23


def test_generation_is_deterministic():
    a = dd.generate_cases(3_000, seed=3)
    assert a.equals(dd.generate_cases(3_000, seed=3))
    assert not a.equals(dd.generate_cases(3_000, seed=4))
    chunks = list(dd.iter_case_chunks(5_000, chunk_size=2_000, seed=3))
    assert [c.height for c in chunks] == [2_000, 2_000, 1_000]
    again = pl.concat(dd.iter_case_chunks(5_000, chunk_size=2_000, seed=3))
    assert pl.concat(chunks).equals(again)
    # a case never spans two chunks, and ids are unique across chunks
    ids = [set(c["MaHoSo"].to_list()) - {""} for c in chunks]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])


def test_every_value_is_a_string_or_a_list_of_string_structs(cases):
    assert cases.height == 20_000
    assert cases.columns == [*dd.CONTRACT_FIELDS, dd.EXTRA_FIELD]
    for name, dtype in cases.schema.items():
        if name in dd.LIST_FIELDS:
            assert isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)
            assert all(f.dtype == pl.String for f in dtype.inner.fields)
        else:
            assert dtype == pl.String, name
    scalars = [c for c in dd.CONTRACT_FIELDS if c not in dd.LIST_FIELDS]
    assert cases.select(pl.col(scalars).null_count()).sum_horizontal().item() == 0
    extra = cases[dd.EXTRA_FIELD]
    assert 0 < extra.drop_nulls().len() < cases.height * 0.05


def test_invalid_share_is_respected_and_the_rest_is_valid(cases, clean):
    assert _invalid_count(cases) == 200  # 1 % of 20,000, each broken in one §6 way
    assert _invalid_count(clean.head(5_000)) == 0


def test_versions_advance_with_newer_ngaycapnhat(clean):
    parsed = clean.select(
        "MaHoSo", "TrangThaiHoSo",
        pl.Series("t", [parse_portal_datetime(v) for v in clean["NgayCapNhat"].to_list()]),
        pl.int_range(pl.len()).alias("row"),
    )  # fmt: skip
    per_case = parsed.group_by("MaHoSo").agg(pl.len().alias("n"), pl.col("t").n_unique().alias("distinct"))
    assert per_case["n"].max() == 3
    assert (per_case["n"] == per_case["distinct"]).all()
    assert 0.12 < (per_case["n"] > 1).mean() < 0.3
    ordered = parsed.sort("MaHoSo", "t").with_columns(
        rank=pl.col("TrangThaiHoSo").replace_strict(STATUS_RANK, return_dtype=pl.Int8)
    )
    steps = ordered.with_columns(prev=pl.col("rank").shift().over("MaHoSo")).drop_nulls("prev")
    assert (steps["rank"] >= steps["prev"]).all()
    # in file order, some older versions come after a newer one
    late = ordered.with_columns(prev_row=pl.col("row").shift().over("MaHoSo")).filter(
        pl.col("row") < pl.col("prev_row")
    )
    assert late.height > 0


def test_realistic_mix(clean):
    assert set(clean["TrangThaiHoSo"].unique()) == {str(s) for s in range(1, 11)}
    assert set(clean["KenhThucHien"].unique()) == {"", "1", "2", "3"}
    assert {"4", "3", "2", "toan_trinh", "mot_phan"} <= set(clean["MucDo"].unique())
    assert {"", "0", "1", "2", "9"} == set(clean["DuocThanhToanTrucTuyen"].unique())
    received = clean["NgayTiepNhan"]
    assert received.str.contains(r"^\d{14}$").mean() > 0.8
    for pattern in (r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$", r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$"):
        assert received.str.contains(pattern).any()
    assert clean["NgayHenTra"].str.contains(r"^\d{2}/\d{2}/\d{4}$").any()
    fees = clean["DanhSachLePhi"].list.len() > 0
    assert 0.25 < fees.mean() < 0.6
    gia = clean["DanhSachLePhi"].explode().struct.field("Gia").drop_nulls()
    assert gia.str.contains(r"^\d+$").all()
    links = clean["DanhSachGiayToKetQua"].explode().struct.field("DuongDanTepTinKetQua").drop_nulls()
    assert (links != "").any() and (links == "").any()
    # personal data is present and looks real
    ids = clean["SoGiayToChuHoSo"]
    assert ids.str.contains(r"^0\d{11}$").mean() > 0.6
    assert clean["SoDienThoai"].str.contains(r"^0\d{9}$").mean() > 0.9
    assert clean["Email"].str.contains("@").mean() > 0.4
    assert clean["ChuHoSo"].str.starts_with("Nguyễn ").mean() > 0.1
    assert clean["DiaChi"].str.ends_with("Quảng Trị").all()


def test_dates_are_consistent(clean):
    start, end = datetime(2024, 12, 15), datetime(2025, 12, 15)
    rows = clean.filter(pl.col("NgayTiepNhan") != "").head(4_000).to_dicts()
    same_date_later = 0
    for r in rows:
        received = parse_portal_datetime(r["NgayTiepNhan"])
        assert start <= received < end
        finish = parse_portal_datetime(r["NgayKetThucXuLy"])
        due = parse_portal_datetime(r["NgayHenTra"])
        if finish is not None:
            assert finish >= received
        if r["TrangThaiHoSo"] in ("9", "10") and finish and due and r["NgayHenTra"].isdigit():
            same_date_later += finish.date() == due.date() and finish > due
    assert same_date_later > 0


def test_cases_go_to_units_valid_on_the_reception_day(clean):
    # A code may have several rows with non-overlapping validity (docs/definitions.md §4.1).
    units: dict[str, list[dict]] = {}
    for r in dd.load_seed_units().iter_rows(named=True):
        units.setdefault(r["unit_code"], []).append(r)
    checked = 0
    unknown = set()
    for code, received in clean.filter(pl.col("NgayTiepNhan") != "").select("MaDonVi", "NgayTiepNhan").head(6_000).iter_rows():
        rows = units.get(code)
        if rows is None:
            unknown.add(code)
            continue
        day = parse_portal_datetime(received).date()
        assert all(unit["unit_level"] != "province" for unit in rows)
        assert any((unit["valid_from"] is None or date.fromisoformat(unit["valid_from"]) <= day)
                   and (unit["valid_to"] is None or day <= date.fromisoformat(unit["valid_to"]))
                   for unit in rows), (code, day)
        checked += 1
    assert checked > 5_000
    assert unknown and not (unknown & set(units))
    levels = {u["unit_level"] for c in clean["MaDonVi"].unique() if c in units for u in units[c]}
    assert levels == {"province_department", "district", "commune"}


def test_explicit_and_synthetic_unit_codes():
    codes = dd.synthetic_unit_codes(2_000)
    assert len(codes) == len(set(codes)) == 2_000
    assert codes == dd.synthetic_unit_codes(2_000)
    df = dd.generate_cases(4_000, unit_codes=codes[100:600], invalid_share=0.0)
    used = set(df["MaDonVi"].unique())
    known_unknown = {"000.00.99.H48", "000.40.01.H48", "000.00.19.H48"}
    assert used <= set(codes[100:600]) | known_unknown
    assert len(used & set(codes[100:600])) > 400


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------
def test_jsonl_and_gzip(tmp_path, cases):
    small = cases.head(2_000)
    plain = dd.write_jsonl(small, tmp_path / "a.jsonl")
    lines = plain.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2_000
    records = [json.loads(line) for line in lines]
    assert set(dd.CONTRACT_FIELDS) <= set(records[0])
    assert sum(dd.EXTRA_FIELD in r for r in records) == small[dd.EXTRA_FIELD].drop_nulls().len()
    assert all(isinstance(r["DanhSachLePhi"], list) and isinstance(r["TrangThaiHoSo"], str) for r in records)
    assert records[0]["MaHoSo"] == small["MaHoSo"][0]
    # chunks streamed into a gzip file
    gz = dd.write_jsonl(dd.iter_case_chunks(2_500, chunk_size=1_000), tmp_path / "b.jsonl.gz")
    with gzip.open(gz, "rt", encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 2_500


def test_json_page_and_bare_array(tmp_path, cases):
    small = cases.head(300)
    page = json.loads(dd.write_json(small, tmp_path / "p.json").read_text(encoding="utf-8"))
    assert {k: page[k] for k in ("error_code", "message", "tong_so", "trang", "so_trang")} == {
        "error_code": 0, "message": "", "tong_so": 300, "trang": 1, "so_trang": 1,
    }  # fmt: skip
    assert len(page["data"]) == 300 and page["data"][5]["MaHoSo"] == small["MaHoSo"][5]
    bare = json.loads(dd.write_json(small, tmp_path / "b.json", as_page=False).read_text(encoding="utf-8"))
    assert isinstance(bare, list) and len(bare) == 300


def test_csv_with_contract_headers(tmp_path, cases):
    small = cases.head(1_000)
    path = dd.write_csv(small, tmp_path / "c.csv")
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == [*dd.CONTRACT_FIELDS, dd.EXTRA_FIELD]
    assert len(rows) == 1_001
    col = rows[0].index("DanhSachLePhi")
    fees = [json.loads(r[col]) for r in rows[1:] if r[col]]
    assert fees and all(isinstance(f, list) and "Gia" in f[0] for f in fees)
    assert sum(1 for r in rows[1:] if r[col]) == (small["DanhSachLePhi"].list.len() > 0).sum()


def test_csv_vietnamese_nfd_semicolon_bom(tmp_path, cases):
    small = cases.head(1_000)
    path = dd.write_csv(small, tmp_path / "v.csv", headers="vietnamese", delimiter=";", bom=True, nfd=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header = rows[0]
    assert header == [unicodedata.normalize("NFD", h) for h in dd.VIETNAMESE_HEADERS]
    assert [unicodedata.normalize("NFC", h) for h in header] == list(dd.VIETNAMESE_HEADERS)
    assert header != list(dd.VIETNAMESE_HEADERS)  # really decomposed
    assert len(rows) == 1_001
    body = rows[1:]
    h = {unicodedata.normalize("NFC", name): i for i, name in enumerate(header)}
    assert any(r[h["Tên TTHC"]] != unicodedata.normalize("NFC", r[h["Tên TTHC"]]) for r in body)
    assert all(re.fullmatch(r"\d+", r[h["Lệ phí (VND)"]]) for r in body)
    assert {r[h["Có kết quả điện tử"]] for r in body} == {"0", "1"}
    # no NgayTuChoi column: withdrawn/stopped cases carry their end in "Ngày kết thúc xử lý"
    ended = [r for r in body if r[h["Trạng thái"]] in ("7", "8")]
    assert ended and all(r[h["Ngày kết thúc xử lý"]] for r in ended)


def test_xlsx_native_dates(tmp_path, cases):
    from openpyxl import load_workbook

    small = cases.head(400)
    path = dd.write_xlsx(small, tmp_path / "x.xlsx")
    wb = load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert list(rows[0]) == list(dd.VIETNAMESE_HEADERS)
    assert len(rows) == 401
    col = rows[0].index("Ngày cập nhật")
    values = [r[col] for r in rows[1:]]
    assert all(isinstance(v, datetime) for v in values)
    assert values[0].strftime("%Y%m%d%H%M%S") == parse_portal_datetime(small["NgayCapNhat"][0]).strftime("%Y%m%d%H%M%S")


def test_demo_inbox_lands_through_the_pipeline(tmp_path, con):
    from pipeline.ingest.landing import land_file

    paths = dd.write_demo_inbox(tmp_path / "inbox", n_versions=6_000, seed=7)
    suffixes = {p.name.split(".", 1)[1] for p in paths}
    assert suffixes == {"jsonl", "jsonl.gz", "json", "csv", "xlsx"}
    results = [land_file(con, p) for p in paths]
    assert all(r.status == "landed" for r in results), [r.error for r in results]
    assert sum(r.records_read for r in results) == 6_000
    expected_bad = _invalid_count(dd.generate_cases(6_000, seed=7))
    assert sum(r.records_quarantined for r in results) == expected_bad


# ---------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------
def test_seed_files_are_nfc():
    for path in SEEDS.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        assert text == unicodedata.normalize("NFC", text), path.name
        assert not text.startswith("\ufeff")


def test_units_are_consistent():
    units = _read_csv(SEEDS / "units.csv")
    assert units.columns == ["unit_code", "unit_name", "unit_level", "parent_code", "valid_from", "valid_to"]
    # several rows per code with non-overlapping validity are allowed (docs/definitions.md §4.1)
    assert units.select("unit_code", "valid_from").is_unique().all()
    assert set(units["unit_level"]) == {"province", "province_department", "district", "commune"}
    codes = set(units["unit_code"])
    assert all(re.fullmatch(r"000\.\d{2}\.\d{2}\.H(48|44)", c) for c in codes)  # Quảng Bình merges in
    assert set(units["parent_code"].drop_nulls()) <= codes
    for col in ("valid_from", "valid_to"):
        for value in units[col].drop_nulls():
            date.fromisoformat(value)
    by_level = units.group_by("unit_level").len().to_dict(as_series=False)
    counts = dict(zip(by_level["unit_level"], by_level["len"], strict=True))
    assert counts["district"] == 9 + 2 and counts["province_department"] == 18 + 1  # + Quảng Bình's
    # districts and old communes end on 30/6/2025; new communes start on 1/7/2025
    assert set(units.filter(pl.col("unit_level") == "district")["valid_to"]) == {"2025-06-30"}
    communes = units.filter(pl.col("unit_level") == "commune")
    assert set(communes["valid_to"].drop_nulls()) == {"2025-06-30"}
    assert set(communes["valid_from"].drop_nulls()) == {"2025-07-01"}


def test_crosswalk_is_consistent():
    units = _read_csv(SEEDS / "units.csv")
    valid_to = dict(zip(units["unit_code"], units["valid_to"], strict=True))
    valid_from = dict(zip(units["unit_code"], units["valid_from"], strict=True))
    xw = _read_csv(SEEDS / "unit_crosswalk.csv")
    assert xw.columns == ["old_unit_code", "new_unit_code", "valid_from", "is_primary", "note"]
    assert set(xw["old_unit_code"]) | set(xw["new_unit_code"]) <= set(units["unit_code"])
    assert set(xw["is_primary"]) == {"true", "false"}
    primaries = xw.group_by("old_unit_code").agg((pl.col("is_primary") == "true").sum().alias("p"))
    assert (primaries["p"] == 1).all()
    for old, new, since in xw.select("old_unit_code", "new_unit_code", "valid_from").iter_rows():
        day = date.fromisoformat(since)
        assert date.fromisoformat(valid_to[old]) < day  # the old unit has ended
        assert valid_from[new] is None or date.fromisoformat(valid_from[new]) <= day
    # every district and every old commune is mapped; some old codes split over several new ones
    last_rows = units.sort("valid_from", nulls_last=False).group_by("unit_code").last()
    ended = set(last_rows.filter(pl.col("valid_to").is_not_null())["unit_code"])
    assert ended == set(xw["old_unit_code"])
    assert (xw.group_by("old_unit_code").len()["len"] > 1).any()


def test_targets_match_units_and_reference():
    units = _read_csv(SEEDS / "units.csv")
    name_of = dict(zip(units["unit_code"], units["unit_name"], strict=True))
    targets = _read_csv(SEEDS / "targets.csv")
    assert targets.columns == ["unit_code", "unit_name", "year", "metric", "target_rate", "baseline_rate_prev_year"]
    assert set(targets["metric"]) == {"full_process_online_rate", "online_payment_rate"}
    assert set(targets["year"]) == {"2025"}
    assert targets.select("unit_code", "metric").is_unique().all()
    for code, name in targets.select("unit_code", "unit_name").iter_rows():
        assert name_of[code] == name
    for col in ("target_rate", "baseline_rate_prev_year"):
        values = targets[col].cast(pl.Float64)
        assert values.is_between(0, 1).all()
    assert targets.height == 52
    if REFERENCE.exists():
        ref = _read_csv(REFERENCE)
        assert set(ref["unit_name"]) == set(targets["unit_name"])
        row = ref.filter(pl.col("unit_name") == "Sở Giáo dục và Đào tạo").row(0, named=True)
        t = targets.filter((pl.col("unit_name") == "Sở Giáo dục và Đào tạo") & (pl.col("metric") == "full_process_online_rate"))
        assert float(t["baseline_rate_prev_year"][0]) == pytest.approx(float(row["online_full_process_rate_2024"]) / 100)
        assert float(t["target_rate"][0]) == pytest.approx(float(row["online_full_process_rate_target_2025"]) / 100)


def test_procedures_seed():
    procs = _read_csv(SEEDS / "procedures.csv")
    assert procs.columns == ["procedure_code", "procedure_name", "field_code", "field_name", "service_level",
                             "full_process_eligible", "fee_bearing"]  # docs/definitions.md §4.1
    assert set(procs["full_process_eligible"]) == set(procs["fee_bearing"]) == {"0", "1"}
    assert procs["procedure_code"].is_unique().all()
    assert all(re.fullmatch(r"[12]\.\d{6}", c) for c in procs["procedure_code"])
    assert set(procs["service_level"]) == {"2", "3", "4"}
    assert procs.height >= 40
