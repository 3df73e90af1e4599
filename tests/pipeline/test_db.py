"""The database kit (pipeline/db.py): transactions, literals, catalog questions, SQL templates."""

from __future__ import annotations

import duckdb
import pytest

from pipeline import db


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA s; CREATE TABLE s.t (a INTEGER, b VARCHAR)")
    yield con
    con.close()


def test_transaction_commits_the_block(con):
    with db.transaction(con):
        con.execute("INSERT INTO s.t VALUES (1, 'x')")
    assert con.execute("SELECT count(*) FROM s.t").fetchone()[0] == 1


def test_transaction_rolls_back_on_error_and_reraises(con):
    with pytest.raises(RuntimeError, match="boom"), db.transaction(con):
        con.execute("INSERT INTO s.t VALUES (1, 'x')")
        raise RuntimeError("boom")
    assert con.execute("SELECT count(*) FROM s.t").fetchone()[0] == 0
    with db.transaction(con):  # the connection is usable again: no transaction left open
        con.execute("INSERT INTO s.t VALUES (2, 'y')")
    assert con.execute("SELECT count(*) FROM s.t").fetchone()[0] == 1


def test_transaction_refuses_to_nest(con):
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.TransactionException), db.transaction(con):
        pass
    con.execute("ROLLBACK")


def test_sql_literal_round_trips_quotes(con):
    text = "Sở Kế hoạch và Đầu tư's \"unit\" -- ; DROP TABLE s.t"
    assert con.execute(f"SELECT {db.sql_literal(text)}").fetchone()[0] == text


def test_catalog_questions(con, tmp_path):
    assert db.table_exists(con, "s.t")
    assert not db.table_exists(con, "s.missing")
    assert not db.table_exists(con, "temp.scratch")
    con.execute("CREATE TEMP TABLE scratch (x INTEGER)")
    assert db.table_exists(con, "temp.scratch")
    assert not db.table_exists(con, "main.scratch")  # a temporary table is not the database's
    assert db.list_tables(con) == {"s.t"}
    con.execute(f"ATTACH {db.sql_literal(str(tmp_path / 'other.duckdb'))} AS other")
    con.execute("CREATE SCHEMA other.s2; CREATE TABLE other.s2.u (c DOUBLE)")
    assert db.table_exists(con, "other.s2.u") and not db.table_exists(con, "s2.u")
    assert db.list_tables(con, "other") == {"s2.u"}
    con.execute("COMMENT ON COLUMN s.t.a IS 'the a'")
    assert db.table_columns(con, "s.t") == [("a", "INTEGER", "the a"), ("b", "VARCHAR", "")]
    assert db.table_columns(con, "other.s2.u") == [("c", "DOUBLE", "")]
    assert db.table_columns(con, "s.missing") == []


def test_fill_placeholders_is_order_free_and_refuses_leftovers():
    # "$count" must not eat the start of "$count_sums" (the order bug of chained replace calls).
    assert db.fill_placeholders("$count_sums, $count", {"count": "1", "count_sums": "2"}) == "2, 1"
    assert db.fill_placeholders("SELECT $1, $a", {"a": "x"}) == "SELECT $1, x"  # $1 stays a parameter
    with pytest.raises(ValueError, match=r"without a value \['b'\]"):
        db.fill_placeholders("$a $b", {"a": "x"})
    with pytest.raises(ValueError, match=r"without a placeholder \['c'\]"):
        db.fill_placeholders("$a", {"a": "x", "c": "y"})


def test_render_sql_fills_a_shipped_template():
    sql = db.render_sql("marts/case_facts.sql", case_filter="TRUE")
    assert "$case_filter" not in sql and "TRUE" in sql
    with pytest.raises(ValueError, match="sql/marts/case_facts.sql"):
        db.render_sql("marts/case_facts.sql")


def test_sql_identifier_quotes_contract_names(con):
    name = 'Lệ phí (VND) "x"'
    con.execute(f"CREATE TABLE q ({db.sql_identifier(name)} INTEGER)")
    assert db.table_columns(con, "main.q")[0][0] == name


def test_no_sql_file_names_a_hole_in_a_comment():
    """render_sql fills every $name, comments included: a multi-line value would turn the rest of
    a comment into SQL. Comments name holes without the $."""
    from pipeline import config

    offenders = [
        f"{path.relative_to(config.SQL_DIR)}:{number}"
        for path in sorted(config.SQL_DIR.rglob("*.sql"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "--" in line and db._PLACEHOLDER.search(line.split("--", 1)[1])
    ]
    assert offenders == []
