"""Vietnamese words wherever a reader meets a name (issue 27): every rate has its Vietnamese
label (the «Chỉ tiêu» sheet, the dashboard), every quarantine rule its Vietnamese reason, and
`summary` writes the numbers of a Vietnamese line the Vietnamese way."""

from __future__ import annotations

import re

import pytest

from pipeline.ingest.reference import target_metrics
from pipeline.metrics import RATE_TITLES, RATES
from pipeline.reports.data import REASONS_VI, reason_vi
from schemas.case_record import REASONS, reason_text


@pytest.mark.parametrize("metric", [r.name for r in RATES] + list(target_metrics()))
def test_every_rate_and_target_metric_has_a_vietnamese_label(metric):
    label = RATE_TITLES[metric]
    assert label != metric and not re.search(r"[a-z]_[a-z]", label), label
    assert label[0].isupper()


SAMPLES = {  # a reason of each rule as validation writes it (values masked as on the dashboard)
    "line_too_long": {"size": 40_000_000, "limit": 32},
    "implausible_date": {"field": "NgayTiepNhan", "start": "2019-12-15", "end": "2027-12-07", "value": "…"},
    "bad_fee": {"field": "DanhSachLePhi", "value": "…"},
    "bad_date": {"field": "NgayHenTra", "value": "…"},
    "missing": {"field": "MaHoSo"},
    "no_end": {"value": "10"},
}


@pytest.mark.parametrize("key", sorted(REASONS))
def test_every_quarantine_rule_reads_in_vietnamese(key):
    assert key in REASONS_VI
    values = {"field": "MaTTHC", "value": "…"} | SAMPLES.get(key, {})
    text = REASONS[key].format(**values)
    vi = reason_vi(text)
    assert not vi.startswith("Lỗi khác"), (key, text, vi)
    assert "2019-12-15" not in vi and "40000000" not in vi  # bounds and sizes are not repeated


def test_an_unknown_reason_still_says_it_is_another_error():
    assert reason_vi("something new") == "Lỗi khác: something new"


def test_reason_text_of_validation_is_translated():
    assert reason_vi(reason_text("bad_fee", field="Gia", value="'…'")).startswith("Lệ phí ở trường Gia")


def test_summary_target_lines_write_numbers_the_vietnamese_way(demo_warehouse, capsys, monkeypatch):
    from pipeline.reports.summary import print_summary

    monkeypatch.setenv("DVC_AS_OF", "2026-01-31")
    print_summary(demo_warehouse, "2025")
    lines = [ln for ln in capsys.readouterr().out.splitlines() if " gap " in ln and "điểm" in ln]
    assert lines, "no unit below target in the demo warehouse"
    for line in lines:
        numbers = line.split(" actual ", 1)[1]
        assert not re.search(r"\d\.\d", numbers), line  # no decimal point beside "−55,6 điểm"
        assert re.search(r"actual +\d+,\d%", line) and re.search(r"target +\d+,\d%", line), line
