"""The document's cells written from copied properties are the cells python-docx writes.

:class:`evsynth.report.supplementary.docx_writer._CellWriter` writes the first cell of each
kind through python-docx and builds the others from copies of its properties (the document
of the bundled review took seconds otherwise); the bytes must be those of python-docx alone.
"""

import random

from evsynth.report.supplementary import docx_writer
from evsynth.report.tables import Table

TEXTS = ["", " ", "12", "3.5 (1.2–4.8)", " leading", "trailing ", "two\nlines", "\nstarts broken",
         "ends broken\n", "a\n\nb", "tab\tinside", "<&> \"quoted\"", "ü é ñ", "x" * 40_000, "12 %", "n = 5"]


def _tables(seed: int) -> list[Table]:
    rng = random.Random(seed)
    tables = []
    for number in range(4):
        width = rng.randint(1, 9)
        columns = [rng.choice(["Study", "n", "Events", "Rate (%)", " Note ", "a\nb"]) + str(i) for i in range(width)]
        rows = [[rng.choice(TEXTS + [str(rng.randint(0, 999))]) for _ in range(width)]
                for _ in range(rng.randint(0, 12))]
        tables.append(Table(f"t{number}", f"Table {number}", columns, rows, footnotes=["a note"] * rng.randint(0, 2)))
    return tables


def test_copied_cells_give_the_bytes_python_docx_gives(monkeypatch):
    for seed in range(6):
        tables = _tables(seed)
        fast = docx_writer.render_docx(tables)
        with monkeypatch.context() as patch:  # every cell through python-docx
            patch.setattr(docx_writer._CellWriter, "write",
                          lambda self, cell, text, bold, right, full_text_in="": docx_writer._write_cell(
                              cell, text, bold, right, full_text_in))
            slow = docx_writer.render_docx(tables)
        assert fast == slow, seed
