"""Analysts query the published copy at any time, even while the pipeline writes."""

from __future__ import annotations

import csv
import fcntl
import json
import logging
import shutil
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from app.cli import main
from pipeline.config import REPO_ROOT
from pipeline.publish.analyst_copy import (
    PUBLISHED,
    analytics_path,
    parquet_file,
    parquet_path,
    publish,
)


@pytest.mark.slow
def test_published_database_has_marts_and_no_personal_data(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixtures / "metrics_cases.jsonl", inbox)
    warehouse = tmp_path / "w.duckdb"
    assert main(["-q", "run", "--inbox", str(inbox), "--warehouse", str(warehouse)]) == 0
    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    tables = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    assert {"mart.unit_period_stats", "mart.level_period_stats", "mart.target_attainment", "core.cases",
            "quality.batches", "quality.quarantine_reasons"} <= tables
    assert "raw.case_versions" not in tables
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'cases'").fetchall()}
    assert "summary" not in columns and "extra_fields" not in columns and "applicant_name_hash" in columns
    comment = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'unit_period_stats' "
                          "AND column_name = 'carried_over'").fetchone()[0]
    assert comment.startswith("từ kỳ trước")
    con.close()


@pytest.mark.slow
def test_reader_never_sees_a_lock_or_half_written_table(tmp_path, fixtures, monkeypatch):
    monkeypatch.setenv("DVC_SEEDS_DIR", str(fixtures / "seeds"))
    warehouse = tmp_path / "w.duckdb"
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("reader_loop.py")), str(analytics_path(warehouse)), str(stop)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        # A first publish, then one over it while the reader keeps reading.
        for i, name in enumerate(("metrics_cases.jsonl", "cases_small.jsonl")):
            inbox = tmp_path / f"inbox{i}"
            inbox.mkdir()
            shutil.copy(fixtures / name, inbox)
            assert main(["-q", "run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--full-refresh"]) == 0
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["inconsistent"] == 0
    assert result["queries"] > 0


# ---------------------------------------------------------------------------------------
# The formats analysts open: DuckDB 1.x clients and Parquet (issue 17)
# ---------------------------------------------------------------------------------------
# Each client runs the same SQL, so a 1.x CLI, a 1.x Python package and DuckDB 2.0 on the
# working warehouse are compared value for value: rows are fingerprinted by the md5 of their
# sorted text form (the same in DuckDB 1.4, 1.5 and 2.0, checked; DuckDB 1.0 renders rows as
# text differently, so the Python clients also compare the rows as Python values).
TABLES_SQL = (
    "SELECT schema_name || '.' || table_name AS name, coalesce(comment, '') AS comment "
    "FROM duckdb_tables() WHERE database_name = current_database() ORDER BY name"
)
# Joined with duckdb_tables(): DuckDB 1.0 also lists its system views' columns here.
COLUMNS_SQL = (
    "SELECT c.schema_name || '.' || c.table_name AS name, c.column_name, c.data_type, "
    "coalesce(c.comment, '') AS comment FROM duckdb_columns() c JOIN duckdb_tables() t "
    "ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name "
    "WHERE c.database_name = current_database() ORDER BY name, c.column_index"
)
COMPAT_CLIENTS = {"duckdb": "1.5.6", "duckdb-cli": "1.5.6"}  # what `pip install` gives an analyst today
OLDEST_CLIENT = "1.0.0"  # the oldest client the README names (storage v1.0.0)


def _fingerprint_sql(relations: dict[str, str]) -> str:
    """One row per table: (name, rows, md5 of the sorted rows as text)."""
    return " UNION ALL ".join(
        f"SELECT '{name}' AS name, count(*) AS n, "
        f"md5(coalesce(string_agg(CAST(x AS VARCHAR), chr(10) ORDER BY CAST(x AS VARCHAR)), '')) AS digest "
        f"FROM {relation} x"
        for name, relation in relations.items()
    ) + " ORDER BY name"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _published(root: Path) -> tuple[Path, Path]:
    warehouse = root / "var" / "demo" / "warehouse.duckdb"
    return warehouse, analytics_path(warehouse)


def _expected_from_working_warehouse(warehouse: Path, published: list[str]) -> dict[str, list[dict]]:
    """What the analyst copy must hold, read from the working warehouse (DuckDB 2.0)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    tables, columns, relations = [], [], {}
    for source, name, dropped in PUBLISHED:
        schema, table = source.split(".")
        tables += [{"name": name, "comment": r["comment"]} for r in _rows(con, TABLES_SQL.replace(
            "ORDER BY", f"AND schema_name = '{schema}' AND table_name = '{table}' ORDER BY"))]
        kept = [dict(r, name=name) for r in _rows(con, COLUMNS_SQL.replace(
            "ORDER BY", f"AND c.schema_name = '{schema}' AND c.table_name = '{table}' ORDER BY"))
            if r["column_name"] not in dropped]
        if not kept:  # not in this warehouse (e.g. no issue made yet): not published either
            continue
        columns += kept
        relations[name] = "(SELECT " + ", ".join(f'"{c["column_name"]}"' for c in kept) + f" FROM {source})"
    fingerprints = _rows(con, _fingerprint_sql(relations))
    con.close()
    # quality.quarantine_reasons is derived, not copied: it is compared through the 2.0 reading.
    assert [n for n in published if n not in relations] == ["quality.quarantine_reasons"]
    return {"tables": sorted(tables, key=lambda r: r["name"]),
            "columns": sorted(columns, key=lambda r: r["name"]),  # stable sort: keeps column order
            "fingerprints": fingerprints}


def _read_with(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, list[dict]]:
    return {"tables": _rows(con, TABLES_SQL), "columns": _rows(con, COLUMNS_SQL),
            "fingerprints": _rows(con, _fingerprint_sql({n: n for n in names}))}


def _without(result: dict[str, list[dict]], name: str) -> dict[str, list[dict]]:
    return {key: [r for r in rows if r["name"] != name] for key, rows in result.items()}


def test_analyst_database_is_in_the_1x_storage_format_with_everything_of_the_warehouse(published_demo):
    warehouse, analytics = _published(published_demo)
    # Bytes 12..20 of a DuckDB file hold its storage number: 64 is what DuckDB 0.10.3-1.5 read.
    assert int.from_bytes(analytics.read_bytes()[12:20], "little") == 64
    con = duckdb.connect(str(analytics), read_only=True)
    got = _read_with(con, [r["name"] for r in _rows(con, TABLES_SQL)])
    con.close()
    names = [r["name"] for r in got["tables"]]
    source = duckdb.connect(str(warehouse), read_only=True)
    present = {f"{s}.{t}" for s, t in source.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    source.close()
    # Every published table the working warehouse has (issues, drill-down marts exist only once made).
    assert names == sorted([name for src, name, _ in PUBLISHED if src in present] + ["quality.quarantine_reasons"])
    expected = _expected_from_working_warehouse(warehouse, names)
    assert _without(got, "quality.quarantine_reasons") == expected
    assert all(t["comment"] for t in got["tables"])
    assert sum(1 for c in got["columns"] if c["comment"]) > 100
    counts = {r["name"]: r["n"] for r in got["fingerprints"]}
    assert counts["core.cases"] > 20 and counts["quality.quarantine_reasons"] > 0


def test_storage_version_is_configuration(tmp_path, monkeypatch):
    from pipeline import config

    assert config.analytics_storage_version() == "v1.0.0"
    monkeypatch.setenv("DVC_ANALYTICS_STORAGE_VERSION", "v1.4.0")
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA mart; CREATE TABLE mart.refresh_log (refreshed_at TIMESTAMP)")
    publish(con, warehouse)
    con.close()
    assert int.from_bytes(analytics_path(warehouse).read_bytes()[12:20], "little") == 67  # v1.4.0
    monkeypatch.setenv("DVC_ANALYTICS_STORAGE_VERSION", "1.4")
    with pytest.raises(ValueError, match="DVC_ANALYTICS_STORAGE_VERSION"):
        config.analytics_storage_version()


def test_parquet_set_has_every_table_with_the_same_rows_and_a_dictionary(published_demo):
    warehouse, analytics = _published(published_demo)
    folder = parquet_path(warehouse)
    con = duckdb.connect(str(analytics), read_only=True)
    names = [r["name"] for r in _rows(con, TABLES_SQL)]
    expected = _rows(con, _fingerprint_sql({n: n for n in names}))
    con.close()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{n}.parquet" for n in names] + ["data_dictionary.csv", "data_dictionary.md"])
    reader = duckdb.connect()
    got = _rows(reader, _fingerprint_sql({n: f"read_parquet('{parquet_file(folder, n)}')" for n in names}))
    assert got == expected
    # pandas, R (arrow) and Power BI read Parquet through Arrow-compatible readers.
    counts = {r["name"]: r["n"] for r in expected}
    assert {n: pq.read_table(parquet_file(folder, n)).num_rows for n in names} == counts
    # Counts stay integers in Parquet (DuckDB would turn HUGEINT sums into DOUBLE).
    types = dict(reader.execute(
        f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
        f"read_parquet('{parquet_file(folder, 'mart.level_period_stats')}'))").fetchall())
    assert types["new_total"] == "BIGINT" and types["full_process_online_rate"] == "DOUBLE"
    with (folder / "data_dictionary.csv").open(encoding="utf-8-sig", newline="") as handle:
        dictionary = list(csv.DictReader(handle))
    assert {r["table"] for r in dictionary} == set(names)
    carried = next(r for r in dictionary if r["table"] == "mart.unit_period_stats" and r["column"] == "carried_over")
    assert carried["type"] == "BIGINT" and carried["meaning"].startswith("từ kỳ trước")
    assert "## `core.cases` (`core.cases.parquet`)" in (folder / "data_dictionary.md").read_text(encoding="utf-8")
    # Only the owner and the owner's group (the analysts) read them.
    assert stat.S_IMODE(analytics.stat().st_mode) == 0o640
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o640}


def test_parquet_set_is_swapped_whole_and_the_replaced_set_kept_until_the_next(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA core; CREATE TABLE core.units (unit_code VARCHAR)")
    folder = parquet_path(warehouse)
    seen = []
    for code in ("A", "B", "C"):
        con.execute("DELETE FROM core.units; INSERT INTO core.units VALUES (?)", [code])
        publish(con, warehouse)
        seen.append(folder.resolve())
        assert duckdb.sql(f"SELECT unit_code FROM read_parquet('{parquet_file(folder, 'core.units')}')").fetchall() == [(code,)]
    con.close()
    assert folder.is_symlink() and len(set(seen)) == 3
    assert not seen[0].exists()  # two publishes ago: removed
    assert duckdb.sql(f"SELECT unit_code FROM read_parquet('{parquet_file(seen[1], 'core.units')}')").fetchall() == [("B",)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["w.duckdb", "w.analytics.duckdb", ".w.analytics.duckdb.stamps.json", folder.name, seen[1].name,
         seen[2].name])


def test_failed_publish_leaves_the_previous_files_and_no_temporaries(tmp_path, monkeypatch):
    from pipeline.publish import analyst_copy as publish_module

    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA core; CREATE TABLE core.units (unit_code VARCHAR); INSERT INTO core.units VALUES ('A')")
    publish(con, warehouse)
    con.execute("CHECKPOINT")  # the working warehouse's own WAL is not the publish's business
    before = sorted(p.name for p in tmp_path.iterdir())

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(publish_module, "_write_dictionary", broken)
    con.execute("UPDATE core.units SET unit_code = 'B'")  # something to publish
    con.execute("CHECKPOINT")
    with pytest.raises(OSError, match="disk full"):
        publish(con, warehouse)
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert duckdb.connect(str(analytics_path(warehouse)), read_only=True).execute(
        "SELECT count(*) FROM core.units").fetchone() == (1,)


# ---------------------------------------------------------------------------------------
# DuckDB 1.x clients in a throwaway environment (cached per versions under var/compat/)
# ---------------------------------------------------------------------------------------
def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/duckdb-cli/", timeout=15):
            return True
    except OSError:
        return False


def _compat_env(packages: dict[str, str]) -> Path:
    """A venv with exactly these packages, created once and reused (the key names the versions)."""
    key = "py{}.{}-".format(*sys.version_info[:2]) + "-".join(f"{p}{v}" for p, v in sorted(packages.items()))
    venv = REPO_ROOT / "var" / "compat" / key
    stamp = venv / ".installed"
    if stamp.exists():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Test workers (pytest -n) may want the same environment at once: one creates it.
    with (venv.parent / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return venv
        return _create_compat_env(venv, packages)


def _create_compat_env(venv: Path, packages: dict[str, str]) -> Path:
    stamp = venv / ".installed"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *(f"{p}=={v}" for p, v in packages.items())],
        capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        if not _pypi_reachable():
            pytest.skip(f"PyPI is unreachable: cannot install the DuckDB 1.x clients {packages}")
        raise AssertionError(f"pip could not install {packages}:\n{proc.stderr[-2000:]}")
    stamp.touch()
    return venv


@pytest.fixture(scope="session")
def current_1x_env() -> Path:
    return _compat_env(COMPAT_CLIENTS)


@pytest.fixture(scope="session")
def oldest_1x_env() -> Path:
    return _compat_env({"duckdb": OLDEST_CLIENT})


# Runs under any DuckDB Python package. Values are compared as Python objects (the text form
# of a row changed between DuckDB 1.0 and 1.5; the Python values did not).
PY_CLIENT = """
import hashlib, json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
queries, names = json.loads(sys.argv[2]), json.loads(sys.argv[3])
out = {"version": duckdb.__version__}
for key, sql in queries.items():
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description]
    out[key] = [dict(zip(columns, row)) for row in cursor.fetchall()]
out["values"] = []
for name in names:
    rows = sorted(repr(row) for row in con.execute("SELECT * FROM " + name).fetchall())
    out["values"].append({"name": name, "n": len(rows), "digest": hashlib.sha1("\\n".join(rows).encode()).hexdigest()})
print(json.dumps(out))
"""


def _read_with_python(python: Path | str, db: Path, names: list[str]) -> dict:
    queries = {"tables": TABLES_SQL, "columns": COLUMNS_SQL}
    proc = subprocess.run([str(python), "-c", PY_CLIENT, str(db), json.dumps(queries), json.dumps(names)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _read_with_cli(venv: Path, db: Path, names: list[str]) -> dict:
    out = {}
    for key, sql in (("tables", TABLES_SQL), ("columns", COLUMNS_SQL), ("fingerprints", _fingerprint_sql({n: n for n in names}))):
        proc = subprocess.run([str(venv / "bin" / "duckdb"), "-readonly", "-json", str(db), sql],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out[key] = json.loads(proc.stdout or "[]")
    version = subprocess.run([str(venv / "bin" / "duckdb"), "--version"], capture_output=True, text=True, check=True)
    out["version"] = version.stdout.split()[0]
    return out


def _reference(published_demo: Path) -> tuple[Path, list[str], dict]:
    """DuckDB 2.0's reading of the analyst database (equal to the working warehouse: see
    test_analyst_database_is_in_the_1x_storage_format_with_everything_of_the_warehouse)."""
    _, analytics = _published(published_demo)
    con = duckdb.connect(str(analytics), read_only=True)
    names = [r["name"] for r in _rows(con, TABLES_SQL)]
    reference = _read_with(con, names)
    con.close()
    reference["values"] = _read_with_python(sys.executable, analytics, names)["values"]
    return analytics, names, reference


def test_duckdb_1x_cli_and_python_read_the_analyst_database(published_demo, current_1x_env):
    analytics, names, reference = _reference(published_demo)
    cli = _read_with_cli(current_1x_env, analytics, names)
    assert cli.pop("version") == "v" + COMPAT_CLIENTS["duckdb-cli"]
    assert cli == {k: reference[k] for k in ("tables", "columns", "fingerprints")}
    python = _read_with_python(current_1x_env / "bin" / "python", analytics, names)
    assert python.pop("version") == COMPAT_CLIENTS["duckdb"]
    assert python == {k: reference[k] for k in ("tables", "columns", "values")}


def test_oldest_named_duckdb_client_reads_the_analyst_database(published_demo, oldest_1x_env):
    analytics, names, reference = _reference(published_demo)
    python = _read_with_python(oldest_1x_env / "bin" / "python", analytics, names)
    assert python.pop("version") == OLDEST_CLIENT
    assert python == {k: reference[k] for k in ("tables", "columns", "values")}


def test_duckdb_1x_reads_the_parquet_set(published_demo, current_1x_env):
    warehouse, _ = _published(published_demo)
    _, names, reference = _reference(published_demo)
    folder = parquet_path(warehouse)
    sql = _fingerprint_sql({n: f"read_parquet('{parquet_file(folder, n)}')" for n in names})
    proc = subprocess.run([str(current_1x_env / "bin" / "duckdb"), "-json", "-c", sql],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == reference["fingerprints"]


# ---------------------------------------------------------------------------------------
# Nightly publish: the previous copy is updated, not rewritten, with the same result
# ---------------------------------------------------------------------------------------
def _change_warehouse(warehouse: Path) -> None:
    """What a night and a few hand edits do: changed, removed and duplicated rows, a new
    column, a new COMMENT, a table gone."""
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE mart.unit_period_stats SET carried_over = carried_over + 1 "
                "WHERE rowid = (SELECT min(rowid) FROM mart.unit_period_stats)")
    con.execute("DELETE FROM core.cases WHERE case_id = (SELECT min(case_id) FROM core.cases)")
    con.execute("UPDATE core.cases SET summary = 'only in the working warehouse' "
                "WHERE case_id = (SELECT max(case_id) FROM core.cases)")  # a left-out column
    con.execute("INSERT INTO mart.refresh_log SELECT * FROM mart.refresh_log")  # the same rows twice
    con.execute("COMMENT ON COLUMN core.units.unit_code IS 'mã đơn vị (changed)'")
    con.execute("ALTER TABLE mart.level_period_stats ADD COLUMN note VARCHAR DEFAULT 'x'")
    con.execute("DROP TABLE mart.procedure_province_stats")
    con.close()


def _publish_at(warehouse: Path, **kwargs) -> None:
    con = duckdb.connect(str(warehouse))
    publish(con, warehouse, **kwargs)
    con.close()


def _analyst_view(warehouse: Path) -> dict[str, list[dict]]:
    """Everything an analyst can see: tables, columns, COMMENTs and rows of both formats."""
    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    names = [r["name"] for r in _rows(con, TABLES_SQL)]
    seen = _read_with(con, names)
    con.close()
    folder = parquet_path(warehouse)
    reader = duckdb.connect()
    seen["parquet"] = _rows(reader, _fingerprint_sql({n: f"read_parquet('{parquet_file(folder, n)}')" for n in names}))
    seen["files"] = sorted(p.name for p in folder.iterdir())
    seen["dictionary"] = (folder / "data_dictionary.csv").read_text(encoding="utf-8-sig")
    return seen


@pytest.fixture
def updated_copy(tmp_path, published_demo, caplog) -> tuple[Path, Path, str]:
    """The demo's published warehouse copied, changed, published again over its previous copy;
    and the same changed warehouse published afresh elsewhere. Returns (updated, fresh, log)."""
    night = tmp_path / "night"
    shutil.copytree(published_demo / "var" / "demo", night, symlinks=True)
    warehouse = night / "warehouse.duckdb"
    previous_set = parquet_path(warehouse).resolve()
    _change_warehouse(warehouse)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(warehouse, fresh / "warehouse.duckdb")
    caplog.set_level(logging.INFO, logger="pipeline.publish")
    _publish_at(warehouse)
    text = caplog.text
    _publish_at(fresh / "warehouse.duckdb", reuse=False)
    assert previous_set.exists() and parquet_path(warehouse).resolve() != previous_set
    return warehouse, fresh / "warehouse.duckdb", text


def test_nightly_publish_updates_the_previous_copy_with_the_same_result_as_a_fresh_one(updated_copy):
    warehouse, fresh, log_text = updated_copy
    assert "updated:" in log_text and "afresh" not in log_text
    assert _analyst_view(warehouse) == _analyst_view(fresh)
    con = duckdb.connect(str(analytics_path(warehouse)), read_only=True)
    assert con.execute("SELECT count(*) FROM mart.refresh_log").fetchone()[0] % 2 == 0
    assert con.execute("SELECT count(*) FROM core.cases WHERE case_id = "
                       "(SELECT min(case_id) FROM core.cases)").fetchone()[0] == 1
    con.close()
    # Still DuckDB 1.x's storage, readable by the owner and group only.
    analytics = analytics_path(warehouse)
    assert int.from_bytes(analytics.read_bytes()[12:20], "little") == 64
    assert stat.S_IMODE(analytics.stat().st_mode) == 0o640
    folder = parquet_path(warehouse)
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o640}
    assert stat.S_IMODE(folder.resolve().stat().st_mode) == 0o750


def test_nightly_publish_links_the_parquet_files_of_unchanged_tables(tmp_path, published_demo):
    night = tmp_path / "night"
    shutil.copytree(published_demo / "var" / "demo", night, symlinks=True)
    warehouse = night / "warehouse.duckdb"
    before = parquet_path(warehouse).resolve()
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE core.units SET unit_name = unit_name || ' (mới)' "
                "WHERE unit_code = (SELECT min(unit_code) FROM core.units)")
    con.close()
    _publish_at(warehouse)
    after = parquet_path(warehouse).resolve()
    same = {p.name for p in after.iterdir() if p.stat().st_ino == (before / p.name).stat().st_ino}
    assert "core.units.parquet" not in same
    assert {"core.cases.parquet", "mart.unit_period_stats.parquet", "core.targets.parquet"} <= same
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{parquet_file(after, 'core.units')}') "
                      "WHERE unit_name LIKE '% (mới)'").fetchall() == [(1,)]


def test_nightly_publish_starts_afresh_when_the_storage_version_changes(tmp_path, monkeypatch, caplog):
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA core; CREATE TABLE core.units (unit_code VARCHAR); INSERT INTO core.units VALUES ('A')")
    publish(con, warehouse)
    assert int.from_bytes(analytics_path(warehouse).read_bytes()[12:20], "little") == 64
    monkeypatch.setenv("DVC_ANALYTICS_STORAGE_VERSION", "v1.4.0")
    caplog.set_level(logging.INFO, logger="pipeline.publish")
    publish(con, warehouse)
    assert "afresh" in caplog.text
    assert int.from_bytes(analytics_path(warehouse).read_bytes()[12:20], "little") == 67
    # A damaged previous copy is not a failure either: it is written afresh.
    analytics_path(warehouse).write_bytes(b"not a database")
    con.execute("INSERT INTO core.units VALUES ('B')")
    publish(con, warehouse)
    con.close()
    assert duckdb.connect(str(analytics_path(warehouse)), read_only=True).execute(
        "SELECT count(*) FROM core.units").fetchone() == (2,)
    assert sorted(p.name for p in tmp_path.iterdir() if "tmp" in p.name or "probe" in p.name) == []


def test_duckdb_1x_reads_an_updated_analyst_database(updated_copy, oldest_1x_env, current_1x_env):
    warehouse, _, _ = updated_copy
    analytics = analytics_path(warehouse)
    con = duckdb.connect(str(analytics), read_only=True)
    names = [r["name"] for r in _rows(con, TABLES_SQL)]
    reference = _read_with(con, names)
    con.close()
    reference["values"] = _read_with_python(sys.executable, analytics, names)["values"]
    python = _read_with_python(oldest_1x_env / "bin" / "python", analytics, names)
    assert python.pop("version") == OLDEST_CLIENT
    assert python == {k: reference[k] for k in ("tables", "columns", "values")}
    cli = _read_with_cli(current_1x_env, analytics, names)
    cli.pop("version")
    assert cli == {k: reference[k] for k in ("tables", "columns", "fingerprints")}
