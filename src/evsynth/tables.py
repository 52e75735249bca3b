"""A review table, independent of how it is rendered (HTML, CSV, XLSX, DOCX)."""

from __future__ import annotations

from dataclasses import dataclass

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """A titled table with footnotes; ``key`` is a file-safe id (``table2_literature``)."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    footnotes: tuple[str, ...] = ()
    source: str = ""
