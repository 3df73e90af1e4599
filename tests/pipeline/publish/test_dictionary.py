from pipeline.publish import dictionary


def test_data_dictionary_is_up_to_date():
    assert dictionary.main(["--check"]) == 0, "run: python -m pipeline.docs"


def test_every_table_and_column_is_described():
    text = dictionary.render()
    assert "(no description)" not in text
    assert not [line for line in text.splitlines() if line.startswith("| `") and line.endswith("|  |")]
