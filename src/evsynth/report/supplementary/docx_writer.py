"""Tables as a Word document: one journal-style table per page.

Each table starts a new section (so a new page): its title above in bold,
then a "three-line" table as journals print them (rules above and below the
header row and under the last row, no vertical rules), then its footnotes and
source note in smaller type. The header row repeats at the top of every page
a long table runs onto, and no row is split across two pages. A table with
more than :data:`LANDSCAPE_FROM_COLUMNS` columns gets a landscape page.

Written with python-docx; the two row properties it has no API for
(``w:tblHeader``, ``w:cantSplit``: ISO/IEC 29500-1 §17.4.50 and §17.4.6) and
the table borders are set on the underlying XML. The archive is then made
byte-for-byte reproducible by :func:`evsynth.report.ooxml.reproducible_package`.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Emu, Pt
from docx.table import Table as DocxTable
from docx.table import _Cell, _Row
from lxml import etree

from evsynth.core.atomic import write_bytes
from evsynth.report.ooxml import FIXED_TIMESTAMP, fit_cell, reproducible_package
from evsynth.report.tables import Table, cell_text, check_unique_keys, column_kinds

#: Tables with more columns than this are laid out on a landscape page.
LANDSCAPE_FROM_COLUMNS = 6
BODY_SIZE = Pt(10)
TABLE_SIZE = Pt(9)
NOTE_SIZE = Pt(8)
MARGIN = Cm(2)
#: Child order of ``w:tblPr`` and ``w:tcPr`` in the WordprocessingML schema (wml.xsd).
TBLPR_ORDER = ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize",
               "tblStyleColBandSize", "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders",
               "shd", "tblLayout", "tblCellMar", "tblLook", "tblCaption", "tblDescription")
TCPR_ORDER = ("cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap",
              "tcMar", "textDirection", "tcFitText", "vAlign", "hideMark")
_EMU_PER_TWIP = 635
#: Lines longer than this many characters are left to wrap inside their cell.
WRAP_AT = 40
_CHAR_WIDTH = int(TABLE_SIZE * 0.6)  # average width of a character, bold, in EMU
_CELL_PADDING = int(Cm(0.4))  # Word's default left and right cell margins together
_RULE = {"val": "single", "sz": "8", "space": "0", "color": "000000"}
_THIN_RULE = {"val": "single", "sz": "4", "space": "0", "color": "000000"}


def _set_row_flag(row: _Row, tag: str) -> None:
    """Switch on the on/off row property *tag* (``w:tblHeader`` or ``w:cantSplit``)."""
    properties = row._tr.get_or_add_trPr()
    flag = OxmlElement(tag)
    flag.set(qn("w:val"), "true")
    properties.append(flag)


def _borders(parent_tag: str, edges: dict[str, dict[str, str]]) -> OxmlElement:
    """A ``w:tblBorders``/``w:tcBorders`` element with the given edges."""
    element = OxmlElement(parent_tag)
    for edge, attributes in edges.items():
        line = OxmlElement(f"w:{edge}")
        for name, value in attributes.items():
            line.set(qn(f"w:{name}"), value)
        element.append(line)
    return element


def _insert_ordered(parent: BaseOxmlElement, child: BaseOxmlElement,
                    order: tuple[str, ...]) -> None:
    """Insert *child* into *parent* where the schema's sequence *order* puts it.

    Word rejects a ``w:tblPr`` or ``w:tcPr`` whose children are out of the
    order the WordprocessingML schema (ECMA-376 Part 1, ``wml.xsd``,
    ``CT_TblPrBase`` and ``CT_TcPrBase``) declares, so appending is not enough.
    """
    rank = order.index(etree.QName(child).localname)
    for existing in parent:
        name = etree.QName(existing).localname
        if name in order and order.index(name) > rank:
            existing.addprevious(child)
            return
    parent.append(child)


def _three_line_rules(table: DocxTable) -> None:
    """Journal rules: above and below the table, and under the header row."""
    none = {"val": "nil"}
    _insert_ordered(table._tbl.tblPr, _borders("w:tblBorders", {
        "top": _RULE, "left": none, "bottom": _RULE, "right": none,
        "insideH": none, "insideV": none}), TBLPR_ORDER)
    for cell in table.rows[0].cells:
        _insert_ordered(cell._tc.get_or_add_tcPr(),
                        _borders("w:tcBorders", {"bottom": _THIN_RULE}), TCPR_ORDER)


def _caption(table: DocxTable, title: str) -> None:
    """The table's title as its accessible caption (``w:tblCaption``, read by screen readers)."""
    caption = OxmlElement("w:tblCaption")
    caption.set(qn("w:val"), title)
    _insert_ordered(table._tbl.tblPr, caption, TBLPR_ORDER)


def column_widths(table: Table, available: int) -> list[int]:
    """Column widths (EMU, whole twips) that fill *available* the way a browser lays out a table.

    Each column needs at least its longest word (so no word is broken) and
    would like its longest line, up to :data:`WRAP_AT` characters, on one line;
    both are estimated from character counts in the table's type size plus the
    cell padding. When everything fits, widths grow in proportion to fill the
    text width; otherwise each column gets its minimum and the rest is shared
    in proportion to what each still wants (the auto layout of CSS 2.1
    §17.5.2.2, simplified).
    """
    minimum, wanted = [], []
    for index, header in enumerate(table.columns):
        texts = [header, *(cell_text(row[index]) for row in table.rows)]
        lines = [line for text in texts for line in (text.splitlines() or [""])]
        longest_word = max((len(word) for line in lines for word in line.split()), default=1)
        longest_line = min(WRAP_AT, max(len(line) for line in lines))
        minimum.append(_CHAR_WIDTH * min(longest_word, WRAP_AT) + _CELL_PADDING)
        wanted.append(_CHAR_WIDTH * max(longest_line, longest_word, 1) + _CELL_PADDING)
    if sum(wanted) <= available:
        widths = [available * w / sum(wanted) for w in wanted]
    elif sum(minimum) >= available:
        widths = [available * m / sum(minimum) for m in minimum]
    else:
        spare, extra = available - sum(minimum), [w - m for w, m in zip(wanted, minimum)]
        widths = [m + spare * e / sum(extra) for m, e in zip(minimum, extra)]
    return [int(w) // _EMU_PER_TWIP * _EMU_PER_TWIP for w in widths]


def _set_widths(grid: DocxTable, widths: list[int]) -> None:
    """Set the grid and every cell to *widths* (Word reads the cells, LibreOffice the grid)."""
    for column, width in zip(grid.columns, widths):
        column.width = Emu(width)
    for row in grid.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = Emu(width)


class _CellWriter:
    """:func:`_write_cell` for every cell of a document, fast: the first cell of each kind (bold or
    not, right-aligned or not) is written through python-docx, its paragraph and run properties
    kept; the next ones get copies of them and their runs are built directly. The XML is the
    same element for element (python-docx spends most of a build's document in looking up
    where each property element goes, 5,000 cells on the bundled review)."""

    def __init__(self) -> None:
        self._templates: dict[tuple[bool, bool], tuple[Any, Any]] = {}

    def write(self, cell: _Cell, text: str, bold: bool, right: bool, full_text_in: str = "the CSV file") -> None:
        template = self._templates.get((bold, right))
        paragraph = cell._tc.p_lst[0]
        if template is None or len(paragraph) or paragraph.attrib:
            _write_cell(cell, text, bold, right, full_text_in)
            if template is None and len(paragraph) >= 2:
                self._templates[(bold, right)] = (copy.deepcopy(paragraph[0]), copy.deepcopy(paragraph[1][0]))
            return
        p_pr, r_pr = template
        paragraph.append(copy.deepcopy(p_pr))
        for number, line in enumerate(fit_cell(text, full_text_in).split("\n")):
            run = OxmlElement("w:r")
            run.append(copy.deepcopy(r_pr))
            if number:
                run.append(OxmlElement("w:br"))
            t = OxmlElement("w:t")
            t.text = line
            if len(line.strip()) < len(line):
                t.set(qn("xml:space"), "preserve")
            run.append(t)
            paragraph.append(run)


def _write_cell(cell: _Cell, text: str, bold: bool, right: bool, full_text_in: str = "the CSV file") -> None:
    """Put *text* (line breaks kept, cut at :data:`MAX_CELL_CHARS`) into a table cell in table type size."""
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if right else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.space_after = Pt(0)
    for number, line in enumerate(fit_cell(text, full_text_in).split("\n")):
        run = paragraph.add_run()
        if number:
            run.add_break()
        run.add_text(line)
        run.font.size = TABLE_SIZE
        run.bold = bold


def _page_setup(section: Section, landscape: bool) -> None:
    """Orientation and margins of one table's section (A4)."""
    short, long = Cm(21.0), Cm(29.7)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (long, short) if landscape else (short, long)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)


def _add_table(document: DocxDocument, table: Table, first: bool, writer: _CellWriter | None = None) -> None:
    """Append one table's section: title, table, footnotes."""
    writer = writer or _CellWriter()
    section = document.sections[0] if first else document.add_section(WD_SECTION.NEW_PAGE)
    _page_setup(section, landscape=len(table.columns) > LANDSCAPE_FROM_COLUMNS)
    title = document.add_paragraph()
    title.paragraph_format.keep_with_next = True
    title.paragraph_format.space_after = Pt(6)
    run = title.add_run(fit_cell(table.title, f"{table.key}.notes.txt"))
    run.bold = True
    numeric = column_kinds(table)
    grid = document.add_table(rows=1 + len(table.rows), cols=len(table.columns))
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    _three_line_rules(grid)
    _caption(grid, fit_cell(table.title, f"{table.key}.notes.txt"))
    available = section.page_width - section.left_margin - section.right_margin
    _set_widths(grid, column_widths(table, available))
    for index, row in enumerate(grid.rows):
        _set_row_flag(row, "w:cantSplit")
        values = table.columns if index == 0 else tuple(cell_text(c) for c in table.rows[index - 1])
        for col, (cell, text) in enumerate(zip(row.cells, values)):
            writer.write(cell, text, bold=index == 0, right=numeric[col], full_text_in=f"{table.key}.csv")
    _set_row_flag(grid.rows[0], "w:tblHeader")
    for number, note in enumerate(table.notes):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(4 if number == 0 else 0)
        paragraph.paragraph_format.space_after = Pt(0)
        note_run = paragraph.add_run(fit_cell(note, f"{table.key}.notes.txt"))
        note_run.font.size = NOTE_SIZE


def render_docx(tables: Iterable[Table], title: str = "Supplementary tables") -> bytes:
    """The document holding *tables*, one per page, as reproducible bytes."""
    table_list = check_unique_keys(tables)
    if not table_list:
        raise ValueError("no tables to write")
    document = Document()
    document.styles["Normal"].font.size = BODY_SIZE
    writer = _CellWriter()
    for index, table in enumerate(table_list):
        _add_table(document, table, first=index == 0, writer=writer)
    properties = document.core_properties
    properties.title = title
    properties.author = "evsynth"
    properties.last_modified_by = "evsynth"
    properties.revision = 1
    properties.comments = "Supplementary tables of the review, written by evsynth"
    properties.created = FIXED_TIMESTAMP
    properties.modified = FIXED_TIMESTAMP
    buffer = io.BytesIO()
    document.save(buffer)
    return reproducible_package(buffer.getvalue())


def write_docx(tables: Iterable[Table], path: str | Path) -> Path:
    """Write *tables* as one document to *path* atomically; return the path."""
    target = Path(path)
    write_bytes(target, render_docx(tables))
    return target
