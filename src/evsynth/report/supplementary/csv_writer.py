"""Tables as CSV: one data file per table plus a sidecar notes file.

Each table ``KEY`` becomes two UTF-8 files:

* ``KEY.csv`` holds exactly the header row and the data rows (RFC 4180
  quoting, ``\\n`` line ends, no byte-order mark), so that pandas, R and a
  spreadsheet read it as a rectangle of data with nothing to skip;
* ``KEY.notes.txt`` holds what is not data: the title, the footnotes and the
  source note, one per line.

Footnotes are kept out of the CSV on purpose: a footnote written as an extra
row would be read as a data row by every program that loads the file. Text
cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or CR) get a leading apostrophe
(:func:`evsynth.core.csv_text.neutralise`, as OWASP recommends); numbers
such as ``-3`` are written as they are.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.csv_text import csv_row, neutralise, writer
from evsynth.report.tables import Table, cell_text, check_unique_keys

CSV_SUFFIX = ".csv"
NOTES_SUFFIX = ".notes.txt"


def render_csv(table: Table) -> str:
    """The CSV text of *table*: header row, then data rows (empty string for ``None``)."""
    buffer = io.StringIO()
    out = writer(buffer)
    out.writerow(csv_row(table.columns))
    for row in table.rows:
        out.writerow([neutralise(cell) if isinstance(cell, str) else cell_text(cell) for cell in row])
    return buffer.getvalue()


def render_notes(table: Table) -> str:
    """The sidecar notes of *table*: title, a blank line, then footnotes and source, one a line."""
    lines = [table.title, ""]
    lines.extend(note.replace("\r\n", "\n").replace("\r", "\n") for note in table.notes)
    if not table.notes:
        lines.append("(no footnotes)")
    return "\n".join(lines) + "\n"


def csv_paths(table: Table, out_dir: Path) -> tuple[Path, Path]:
    """Where *table*'s CSV file and notes file go in *out_dir*."""
    return out_dir / f"{table.key}{CSV_SUFFIX}", out_dir / f"{table.key}{NOTES_SUFFIX}"


def write_csv(tables: Iterable[Table], out_dir: str | Path) -> list[Path]:
    """Write ``KEY.csv`` and ``KEY.notes.txt`` for every table into *out_dir*; return the paths.

    Every file is rendered before any is written, and each is written
    atomically, so a failure leaves each file either as it was or complete.
    """
    directory = Path(out_dir)
    rendered: list[tuple[Path, str]] = []
    for table in check_unique_keys(tables):
        data_path, notes_path = csv_paths(table, directory)
        rendered.append((data_path, render_csv(table)))
        rendered.append((notes_path, render_notes(table)))
    for path, text in rendered:
        write_text(path, text)
    return [path for path, _ in rendered]
