from pipeline import docs


def test_data_dictionary_is_up_to_date():
    assert docs.main(["--check"]) == 0, "run: python -m pipeline.docs"


def test_every_table_and_column_is_described():
    text = docs.render()
    assert "(no description)" not in text
    assert not [line for line in text.splitlines() if line.startswith("| `") and line.endswith("|  |")]
