"""Supplementary files: every table of the review as CSV, one XLSX workbook and one DOCX document.

Call :func:`write_supplementary` with the review's :class:`~evsynth.report.tables.Table`
list and a folder; it writes (each file atomically, each byte-for-byte
reproducible)::

    OUT/KEY.csv, OUT/KEY.notes.txt     one pair per table (see csv_writer)
    OUT/supplementary_tables.xlsx      a sheet per table (see xlsx_writer)
    OUT/supplementary_tables.docx      a table per page (see docx_writer)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from evsynth.core.atomic import write_bytes
from evsynth.report.supplementary.csv_writer import csv_paths, render_csv, render_notes, write_csv
from evsynth.report.supplementary.docx_writer import render_docx, write_docx
from evsynth.report.supplementary.xlsx_writer import render_xlsx, sheet_names, write_xlsx
from evsynth.report.tables import Table, check_unique_keys

#: The formats :func:`write_supplementary` knows, in the order it writes them.
FORMATS: tuple[str, ...] = ("csv", "xlsx", "docx")
XLSX_NAME = "supplementary_tables.xlsx"
DOCX_NAME = "supplementary_tables.docx"

__all__ = ["DOCX_NAME", "FORMATS", "XLSX_NAME", "render_csv", "render_docx", "render_notes",
           "render_supplementary", "render_xlsx", "sheet_names", "write_csv", "write_docx", "write_supplementary",
           "write_xlsx"]


def render_supplementary(tables: Iterable[Table], formats: Sequence[str] = FORMATS) -> dict[str, bytes]:
    """Every supplementary file of *tables* in *formats*, by file name, rendered in memory.

    Raises ``ValueError`` for an unknown format, duplicate table keys or no tables.
    """
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r} (choose from {', '.join(FORMATS)})")
    table_list = check_unique_keys(tables)
    if not table_list:
        raise ValueError("no tables to write")
    files: dict[str, bytes] = {}
    for name in FORMATS:
        if name not in formats:
            continue
        if name == "csv":
            for table in table_list:
                data_path, notes_path = csv_paths(table, Path("."))
                files[data_path.name] = render_csv(table).encode("utf-8")
                files[notes_path.name] = render_notes(table).encode("utf-8")
        elif name == "xlsx":
            files[XLSX_NAME] = render_xlsx(table_list)
        else:
            files[DOCX_NAME] = render_docx(table_list)
    return files


def write_supplementary(tables: Iterable[Table], out_dir: str | Path,
                        formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write *tables* into *out_dir* in each of *formats*; return the files written, in order.

    Everything is rendered before anything is written; each file is written
    atomically. Raises ``ValueError`` for an unknown format, duplicate table
    keys or no tables.
    """
    directory = Path(out_dir)
    written: list[Path] = []
    for name, data in render_supplementary(tables, formats).items():
        write_bytes(directory / name, data)
        written.append(directory / name)
    return written
