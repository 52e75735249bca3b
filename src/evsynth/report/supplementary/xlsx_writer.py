"""Tables as one Excel workbook: a sheet per table, ready to hand to a journal.

Each sheet has the table's title in A1, the header row in row 3 (bold, filled,
frozen so it stays on screen while scrolling, repeated on every printed page,
with an autofilter; printed pages are one table wide, landscape for wide tables), the data rows under it, and the footnotes and source note
under the data, one per row. Numbers stay numbers; text that Excel would take
for a formula (``=...``) is stored as text. Column widths follow the longest
entry of the header and data (the title and footnotes are left to overflow).

Written with openpyxl, which the project already depends on and which the
tests use to read the workbook back; the archive is then made byte-for-byte
reproducible by :func:`evsynth.report.ooxml.reproducible_package`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from evsynth.core.atomic import write_bytes
from evsynth.report.ooxml import FIXED_TIMESTAMP, fit_cell, reproducible_package
from evsynth.report.tables import Table, cell_text, check_unique_keys, column_kinds, is_number

#: Excel's limit on the length of a sheet name.
MAX_SHEET_NAME = 31
#: Excel refuses this sheet name (in any case) because it reserves it for change tracking.
RESERVED_SHEET_NAMES = frozenset({"history"})

#: The largest magnitude an Excel cell can hold as a number (Excel's specifications and
#: limits: 9.99999999999999E+307); larger numbers are stored as their text.
EXCEL_MAX_NUMBER = 9.99999999999999e307

TITLE_ROW = 1
HEADER_ROW = 3
MIN_WIDTH, MAX_WIDTH = 8, 60

_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
_HEADER_BORDER = Border(top=Side(style="thin"), bottom=Side(style="thin"))
_FONT = "Calibri"  # openpyxl's default body font; named so every viewer uses the same
_TITLE_FONT = Font(name=_FONT, bold=True, size=12)
_HEADER_FONT = Font(name=_FONT, bold=True, size=11)
_NOTE_FONT = Font(name=_FONT, italic=True, size=9)
#: Sheets with more columns than this print in landscape.
LANDSCAPE_FROM_COLUMNS = 6


def sheet_names(tables: Sequence[Table]) -> list[str]:
    """A valid, unique sheet name per table, made from its key.

    Names are cut to 31 characters; a name that clashes (Excel compares sheet
    names case-insensitively) or is reserved gets a ``~2``, ``~3``... suffix
    within the 31.
    """
    names: list[str] = []
    taken: set[str] = set()
    for table in tables:
        base = table.key[:MAX_SHEET_NAME]
        name, counter = base, 1
        while name.casefold() in taken or name.casefold() in RESERVED_SHEET_NAMES:
            counter += 1
            suffix = f"~{counter}"
            name = base[:MAX_SHEET_NAME - len(suffix)] + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


def column_widths(table: Table) -> list[float]:
    """Column widths (in Excel character units) from the longest line of header and cells."""
    widths = []
    for index, header in enumerate(table.columns):
        texts = [header, *(cell_text(row[index]) for row in table.rows)]
        longest = max(len(line) for text in texts for line in (text.splitlines() or [""]))
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
    return widths


def _fill_sheet(sheet: Worksheet, table: Table) -> None:
    """Write title, header, rows and footnotes of *table* into *sheet* and style them."""
    full = f"{table.key}.csv"
    title = sheet.cell(row=TITLE_ROW, column=1, value=fit_cell(table.title, full))
    title.font = _TITLE_FONT
    numeric = column_kinds(table)
    for col, name in enumerate(table.columns, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=col, value=fit_cell(name, full))
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.border = _HEADER_BORDER
        cell.alignment = Alignment(horizontal="right" if numeric[col - 1] else "left",
                                   vertical="bottom", wrap_text=True)
    for offset, row in enumerate(table.rows, start=1):
        for col, value in enumerate(row, start=1):
            cell = sheet.cell(row=HEADER_ROW + offset, column=col)
            if is_number(value) and abs(value) <= EXCEL_MAX_NUMBER:
                cell.value = value
            elif value is not None:
                text = fit_cell(cell_text(value), full)
                cell.value = text
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if "\n" in text:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    last_row = HEADER_ROW + len(table.rows)
    for offset, note in enumerate(table.notes, start=2):
        cell = sheet.cell(row=last_row + offset, column=1, value=fit_cell(note, f"{table.key}.notes.txt"))
        cell.data_type = "s"
        cell.font = _NOTE_FONT
    for col, width in enumerate(column_widths(table), start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    last_col = get_column_letter(len(table.columns))
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{max(last_row, HEADER_ROW)}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    if len(table.columns) > LANDSCAPE_FROM_COLUMNS:
        sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True  # print all columns on one page width
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0


def render_xlsx(tables: Iterable[Table], title: str = "Supplementary tables") -> bytes:
    """The workbook holding *tables*, one sheet each, as reproducible bytes."""
    table_list = check_unique_keys(tables)
    if not table_list:
        raise ValueError("no tables to write")
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table, name in zip(table_list, sheet_names(table_list)):
        _fill_sheet(workbook.create_sheet(title=name), table)
    workbook.properties.title = title
    workbook.properties.creator = "evsynth"
    workbook.properties.lastModifiedBy = "evsynth"
    workbook.properties.created = FIXED_TIMESTAMP.replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return reproducible_package(buffer.getvalue())


def write_xlsx(tables: Iterable[Table], path: str | Path) -> Path:
    """Write *tables* as one workbook to *path* atomically; return the path."""
    target = Path(path)
    write_bytes(target, render_xlsx(tables))
    return target
