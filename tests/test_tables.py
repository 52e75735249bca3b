"""The Table data type: what it accepts, what it refuses, how cells read."""

import pytest

from evsynth.report.tables import Table, cell_text, check_unique_keys, column_kinds


def test_lists_are_stored_as_tuples_and_table_is_hashable():
    table = Table("t1", "T", ["a", "b"], [[1, "x"], [2, None]], ["note"])
    assert table.columns == ("a", "b")
    assert table.rows == ((1, "x"), (2, None))
    assert table.footnotes == ("note",)
    assert hash(table) == hash(Table("t1", "T", ("a", "b"), ((1, "x"), (2, None)), ("note",)))


def test_notes_append_source():
    table = Table("t1", "T", ("a",), (), ("first",), source="Seed paper, Table 2")
    assert table.notes == ("first", "Source: Seed paper, Table 2")
    assert Table("t2", "T", ("a",), ()).notes == ()


@pytest.mark.parametrize("key", ["", "a/b", "../x", "a b", "_x", ".hidden", "x.", "t" * 101, "tåble"])
def test_unsafe_keys_refused(key):
    with pytest.raises(ValueError, match="file-safe"):
        Table(key, "T", ("a",), ())


@pytest.mark.parametrize("row, message", [
    ((1,), "row 1 has 1 cells, expected 2"),
    ((1, True), "type bool"),
    ((1, [1]), "type list"),
    ((1, float("nan")), "non-finite"),
    ((1, float("inf")), "non-finite"),
])
def test_bad_rows_refused(row, message):
    with pytest.raises(ValueError, match=message):
        Table("t", "T", ("a", "b"), (row,))


def test_no_columns_or_blank_column_refused():
    with pytest.raises(ValueError, match="no columns"):
        Table("t", "T", (), ())
    with pytest.raises(ValueError, match="non-empty"):
        Table("t", "T", ("a", " "), ())


def test_cell_text():
    assert cell_text(None) == ""
    assert cell_text(0.1 + 0.2) == "0.30000000000000004"
    assert cell_text(42.0) == "42.0"
    assert cell_text(7) == "7"
    assert cell_text("PR 3 (n = 5)") == "PR 3 (n = 5)"


def test_duplicate_keys_refused_case_insensitively():
    a = Table("Table1", "A", ("x",), ())
    b = Table("table1", "B", ("x",), ())
    with pytest.raises(ValueError, match="share the key"):
        check_unique_keys([a, b])
    assert check_unique_keys(iter([a])) == [a]


def test_column_kinds():
    table = Table("t", "T", ("n", "name", "empty", "mixed"),
                  ((1, "a", None, 1), (2.5, "b", None, "x"), (None, None, None, 2)))
    assert list(column_kinds(table)) == [True, False, False, False]


def test_title_and_source_must_be_text():
    with pytest.raises(ValueError, match="must be text"):
        Table("t", None, ("a",), ())
    with pytest.raises(ValueError, match="must be text"):
        Table("t", "T", ("a",), (), source=3)
