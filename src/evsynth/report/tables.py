"""The review's tables as plain data, shared by the HTML page and the supplementary files.

A :class:`Table` is what a journal calls a table: a title above, a header row,
data rows, and footnotes below. The build (``evsynth.report.build``) produces them;
the writers in :mod:`evsynth.report.supplementary` turn them into CSV, XLSX and DOCX.

Cells hold ``str``, ``int``, ``float`` or ``None`` (an empty cell). Writers show
numbers as given, so a producer that wants "42.0 %" or "0.31 (0.18–0.47)"
passes the formatted string; a producer that wants a number a reader can
compute with in a spreadsheet passes the number, rounded as it should appear.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Cell = str | int | float | None
"""One cell of a table: text, a number, or ``None`` for an empty cell."""

#: A key must be usable as a file name on every system: letters, digits, ``_``, ``-``, ``.``.
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class Table:
    """One table of the review.

    ``key`` names the table's files (``table2_literature.csv``) and must be
    file-safe (see :data:`KEY_PATTERN`) and unique within one set of tables.
    Every row has exactly one cell per column. Lists passed for ``columns``,
    ``rows`` or ``footnotes`` are stored as tuples, so a table is hashable and
    immutable once built.
    """

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    footnotes: tuple[str, ...] = ()
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))
        object.__setattr__(self, "footnotes", tuple(self.footnotes))
        if not KEY_PATTERN.fullmatch(self.key) or self.key.endswith("."):
            raise ValueError(f"table key {self.key!r} is not file-safe "
                             "(letters, digits, '_', '-', '.'; at most 100 characters)")
        if not isinstance(self.title, str) or not (self.source is None or isinstance(self.source, str)):
            raise ValueError(f"table {self.key}: title and source must be text")
        if not self.columns:
            raise ValueError(f"table {self.key}: no columns")
        for name in self.columns:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"table {self.key}: column names must be non-empty text")
        for number, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.key}: row {number} has {len(row)} cells, "
                                 f"expected {len(self.columns)}")
            for cell in row:
                _check_cell(self.key, number, cell)
        for note in self.footnotes:
            if not isinstance(note, str):
                raise ValueError(f"table {self.key}: footnotes must be text")

    @property
    def notes(self) -> tuple[str, ...]:
        """Footnotes followed by the source note (``Source: ...``) when there is one."""
        if self.source:
            return (*self.footnotes, f"Source: {self.source}")
        return self.footnotes


def _check_cell(key: str, row_number: int, cell: object) -> None:
    """Reject cells a writer cannot represent faithfully."""
    if cell is None or isinstance(cell, str):
        return
    if isinstance(cell, bool) or not isinstance(cell, (int, float)):
        raise ValueError(f"table {key}: row {row_number} has a cell of type "
                         f"{type(cell).__name__}; use str, int, float or None")
    if isinstance(cell, float) and not math.isfinite(cell):
        raise ValueError(f"table {key}: row {row_number} has a non-finite number "
                         f"({cell}); use None for a missing value")


def cell_text(cell: Cell) -> str:
    """The text a reader sees for *cell*: ``""`` for ``None``, shortest round-trip form for floats."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        return repr(cell)
    return str(cell)


def is_number(cell: Cell) -> bool:
    """True for ``int`` and ``float`` cells (which writers align right and keep numeric)."""
    return isinstance(cell, (int, float)) and not isinstance(cell, bool)


def check_unique_keys(tables: Iterable[Table]) -> list[Table]:
    """Return *tables* as a list after checking their keys are unique (case-insensitively).

    Case matters nowhere a key ends up as a file name on macOS or Windows, so
    ``Table1`` and ``table1`` are taken as the same key.
    """
    result = list(tables)
    seen: dict[str, str] = {}
    for table in result:
        if not isinstance(table, Table):
            raise TypeError(f"expected Table, got {type(table).__name__}")
        folded = table.key.casefold()
        if folded in seen:
            raise ValueError(f"two tables share the key {table.key!r}")
        seen[folded] = table.key
    return result


def column_kinds(table: Table) -> Sequence[bool]:
    """For each column, whether every non-empty cell in it is a number."""
    kinds = []
    for index in range(len(table.columns)):
        values = [row[index] for row in table.rows if row[index] is not None]
        kinds.append(bool(values) and all(is_number(value) for value in values))
    return kinds
