from pipeline.publish import dictionary


def test_data_dictionary_is_up_to_date():
    assert dictionary.main(["--check"]) == 0, "run: python -m pipeline.publish.dictionary"


def test_every_table_and_column_is_described():
    text = dictionary.render()
    assert "(no description)" not in text
    assert not [line for line in text.splitlines() if line.startswith("| `") and line.endswith("|  |")]


def test_the_registry_describes_every_table_it_names_with_real_key_columns():
    """The registry (pipeline/tables.py) names only tables the code creates, with key columns
    they have, and the dictionary prints its line under each of them."""
    from pipeline import tables
    from pipeline.db import table_columns

    con = dictionary.scratch_warehouse()
    text = dictionary.render()
    for spec in tables.TABLES:
        columns = {c for c, _, _ in table_columns(con, spec.name)}
        assert columns, f"{spec.name} is registered but not created"
        assert set(spec.key) <= columns, f"{spec.name}: key {spec.key} not among its columns"
        assert set(spec.dropped) <= columns
        assert f"## `{spec.name}`\n\n" in text and dictionary.registry_line(spec) in text


def test_published_and_issued_lists_come_from_the_registry():
    from pipeline import tables
    from pipeline.publish.analyst_copy import PUBLISHED

    names = [name for _, name, _ in PUBLISHED]
    assert len(names) == len(set(names))
    assert {t.published_as for t in tables.TABLES if t.published_as} <= set(names)
    assert {f"issued.{t.table}" for t in tables.issued()} <= set(names)  # every issue reaches analysts
    assert ("core.cases", "core.cases", ("summary", "extra_fields", "source_name")) in PUBLISHED
