"""Property tests: whatever text and numbers a table holds, the files give them back."""

import csv
import io

import openpyxl
import pytest
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evsynth.core.csv_text import FORMULA_START, restore
from evsynth.report.supplementary import render_csv, render_docx, render_xlsx
from evsynth.report.supplementary.xlsx_writer import EXCEL_MAX_NUMBER
from evsynth.report.tables import Table, cell_text, is_number

# Printable text of any script plus the characters that trip writers: quotes, commas,
# line feeds, leading '=' / '+' / '-' / '@', leading and trailing spaces.
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
               | st.sampled_from(['"', ",", "\n", "=", "+", "-", "@", " ", "\t"]), max_size=30)
CELL = st.one_of(st.none(), TEXT, st.integers(-10**12, 10**12),
                 st.floats(allow_nan=False, allow_infinity=False, width=64))


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and "_" not in text


@st.composite
def tables(draw) -> Table:
    width = draw(st.integers(1, 5))
    columns = tuple(draw(st.lists(TEXT.filter(str.strip), min_size=width, max_size=width)))
    rows = draw(st.lists(st.tuples(*[CELL] * width), max_size=6))
    notes = tuple(draw(st.lists(TEXT, max_size=2)))
    return Table("t", draw(TEXT), columns, tuple(rows), notes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_csv_round_trip(table):
    rows = list(csv.reader(io.StringIO(render_csv(table), newline="")))
    assert [restore(c) for c in rows[0]] == list(table.columns)
    assert [[restore(c) for c in row] for row in rows[1:]] == [[cell_text(c) for c in row] for row in table.rows]
    for row in rows:  # no text cell a spreadsheet would run: formula starts are neutralised
        assert not any(c.startswith(FORMULA_START) and not _is_number_text(c) for c in row)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_xlsx_round_trip(table):
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx([table]))).active
    assert [c.value for c in sheet[3]] == list(table.columns)
    for r, row in enumerate(table.rows, start=4):
        got = [sheet.cell(row=r, column=c).value for c in range(1, len(row) + 1)]
        # openpyxl writes floats with 16 significant digits (Excel itself keeps 15).
        expected = [cell_text(c) if is_number(c) and abs(c) > EXCEL_MAX_NUMBER
                    else pytest.approx(c, rel=1e-15) if isinstance(c, float) else c for c in row]
        assert got == [None if c == "" else c for c in expected]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_docx_round_trip(table):
    grid = Document(io.BytesIO(render_docx([table]))).tables[0]
    assert [c.text for c in grid.rows[0].cells] == list(table.columns)
    for row, values in zip(grid.rows[1:], table.rows):
        assert [c.text for c in row.cells] == [cell_text(v) for v in values]


KEYS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,45}[A-Za-z0-9_-]", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(KEYS, max_size=12, unique_by=str.casefold).map(
    lambda keys: [k for k in keys if k.casefold() != "history"] + ["History"]))
def test_sheet_names_always_valid_and_unique(keys):
    from evsynth.report.supplementary import sheet_names
    tables = [Table(k, k, ("a",), ()) for k in dict.fromkeys(keys)]
    names = sheet_names(tables)
    assert len(names) == len(tables)
    assert all(0 < len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == len(names)
    assert "history" not in {n.casefold() for n in names}
    assert all(n.startswith(t.key[:25]) for n, t in zip(names, tables))
