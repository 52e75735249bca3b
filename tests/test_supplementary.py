"""The supplementary writers, checked by reading every file back."""

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

import evsynth.core.atomic
from evsynth.report.ooxml import ZIP_ENTRY_DATE
from evsynth.report.supplementary.docx_writer import column_widths
from evsynth.report.supplementary import (DOCX_NAME, XLSX_NAME, render_docx, render_xlsx, sheet_names,
                                   write_csv, write_docx, write_supplementary, write_xlsx)
from evsynth.core.csv_text import restore
from evsynth.report.tables import Table, cell_text

CASES = Table(
    key="table1_case_series",
    title="Table 1  Main data about MTC and DTC patients treated with LRTs for LMs",
    columns=("Patient", "Histology (age*)", "LRT", "No. of treated LM", "Size of largest (mm)",
             "Response"),
    rows=(
        (1, "MTC (41 years)", "TACE", 3, 18, "PR"),
        (2, "MTC (23 years)", "TACE", 2, 42.5, "PD"),
        (2, "MTC (23 years)", "RFA", 2, None, "PR"),
        (3, "DTC, \"follicular\"", "MWA + TACE", 1, 50, "SD\nconfirmed at 7 months"),
        (4, "DTC — Größe ≥ 5 cm", "=SUM(A1:A9)", 4, 32, "SD"),
    ),
    footnotes=("*Age at diagnosis of LM",
               "LRT loco-regional treatment, PR partial response, SD stable disease"),
    source="Seed paper, Table 1",
)

LITERATURE = Table(
    key="table2_literature_review_of_all_studies",
    title="Table 2  Summary of the available English articles",
    columns=("Author", "Type of LRT", "Histology", "Patients", "CR", "PR", "SD", "PD"),
    rows=tuple((f"Author {i} [{i}]", "TACE", "MTC", i, 0, i // 2, i - i // 2, 0)
               for i in range(1, 61)),
    footnotes=("NA* mixed cohort without a thyroid subgroup",),
)

# Keys differing only after the 31st character: their sheet names must still be unique.
TWIN_A = Table("pooled_proportions_by_subgroup_histology_a", "Pooled A", ("Outcome", "p"),
               (("PR", 0.42),), ())
TWIN_B = Table("pooled_proportions_by_subgroup_histology_b", "Pooled B", ("Outcome", "p"),
               (("PR", 0.31),), ())
EMPTY = Table("claims_check", "Claims check", ("Claim", "Status"), (), ())

TABLES = [CASES, LITERATURE, TWIN_A, TWIN_B, EMPTY]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- CSV -------------------------------------------------------------------------------------

def test_csv_holds_header_and_every_cell_and_nothing_else(tmp_path):
    paths = write_csv(TABLES, tmp_path)
    assert [p.name for p in paths[:2]] == ["table1_case_series.csv", "table1_case_series.notes.txt"]
    assert len(paths) == 2 * len(TABLES)
    for table in TABLES:
        with open(tmp_path / f"{table.key}.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == list(table.columns)
        assert [[restore(cell) for cell in row] for row in rows[1:]] == [
            [cell_text(cell) for cell in row] for row in table.rows]
        frame = pd.read_csv(tmp_path / f"{table.key}.csv", keep_default_na=False, dtype=str)
        assert frame.shape == (len(table.rows), len(table.columns))


def test_csv_neutralises_formulas_and_keeps_negative_numbers(tmp_path):
    table = Table("hostile", "t", ("text", "n"),
                  (("=SUM(A1:A9)", -3), ("-3", 2.5), ("@cmd", None), ("\tx", 1), ("+1 555", 0), ("a=b", 1)))
    write_csv([table], tmp_path)
    with open(tmp_path / "hostile.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows[1:]] == ["'=SUM(A1:A9)", "-3", "'@cmd", "'\tx", "'+1 555", "a=b"]
    assert [r[1] for r in rows[1:]] == ["-3", "2.5", "", "1", "0", "1"]


def test_csv_is_utf8_without_bom_and_lf(tmp_path):
    write_csv([CASES], tmp_path)
    data = (tmp_path / "table1_case_series.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert "Größe ≥ 5 cm".encode("utf-8") in data
    assert b"\r\n" not in data
    assert b'"DTC, ""follicular"""' in data


def test_footnotes_go_to_the_notes_file_not_the_csv(tmp_path):
    write_csv([CASES, EMPTY], tmp_path)
    data = (tmp_path / "table1_case_series.csv").read_text(encoding="utf-8")
    notes = (tmp_path / "table1_case_series.notes.txt").read_text(encoding="utf-8")
    assert "Age at diagnosis" not in data and CASES.title not in data
    assert notes.splitlines() == [CASES.title, "", *CASES.footnotes, "Source: Seed paper, Table 1"]
    assert "(no footnotes)" in (tmp_path / "claims_check.notes.txt").read_text(encoding="utf-8")


# --- XLSX ------------------------------------------------------------------------------------

def test_xlsx_one_sheet_per_table_with_title_header_cells_and_footnotes(tmp_path):
    path = write_xlsx(TABLES, tmp_path / "t.xlsx")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == sheet_names(TABLES)
    for table, sheet in zip(TABLES, workbook.worksheets):
        assert sheet["A1"].value == table.title
        assert sheet["A1"].font.bold
        header = [sheet.cell(row=3, column=c).value for c in range(1, len(table.columns) + 1)]
        assert header == list(table.columns)
        for c in range(1, len(table.columns) + 1):
            cell = sheet.cell(row=3, column=c)
            assert cell.font.bold
            assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == "FFD9E1F2"
        assert sheet.freeze_panes == "A4"
        assert sheet.print_title_rows == "$3:$3"
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.page_setup.orientation == ("landscape" if len(table.columns) > 6 else None)
        for r, row in enumerate(table.rows, start=4):
            got = tuple(sheet.cell(row=r, column=c).value for c in range(1, len(row) + 1))
            assert got == row
        below = 4 + len(table.rows) + 1
        notes = [sheet.cell(row=below + i, column=1).value for i in range(len(table.notes))]
        assert notes == list(table.notes)
        assert sheet.max_row == (3 + len(table.rows) + (1 + len(table.notes) if table.notes else 0))


def test_xlsx_formula_like_text_stays_text(tmp_path):
    sheet = openpyxl.load_workbook(write_xlsx([CASES], tmp_path / "t.xlsx")).active
    cell = sheet.cell(row=8, column=3)
    assert cell.value == "=SUM(A1:A9)"
    assert cell.data_type == "s"
    assert isinstance(sheet.cell(row=5, column=5).value, float)
    assert isinstance(sheet.cell(row=4, column=1).value, int)


def test_xlsx_column_widths_follow_content(tmp_path):
    sheet = openpyxl.load_workbook(write_xlsx([CASES], tmp_path / "t.xlsx")).active
    widths = {c: sheet.column_dimensions[c].width for c in "ABCDEF"}
    # "Size of largest (mm)" is 20 characters, "Patient" 7: widths follow, within bounds.
    assert widths["E"] == 22 and widths["A"] == 9
    assert widths["F"] == len("confirmed at 7 months") + 2
    assert all(8 <= w <= 60 for w in widths.values())


def test_sheet_names_short_unique_and_valid():
    names = sheet_names(TABLES)
    assert all(len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == len(names)
    assert names[2] == "pooled_proportions_by_subgroup_"
    assert names[3] == "pooled_proportions_by_subgrou~2"
    assert sheet_names([Table("History", "H", ("a",), ())]) == ["History~2"]


# --- DOCX ------------------------------------------------------------------------------------

def body_blocks(document):
    """The document body as a list of ("p", text) and ("tbl", table) in order."""
    tables = iter(document.tables)
    paragraphs = iter(document.paragraphs)
    blocks = []
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:tbl"):
            blocks.append(("tbl", next(tables)))
        elif child.tag == qn("w:p"):
            blocks.append(("p", next(paragraphs)))
    return blocks


def test_docx_title_table_footnotes_per_page(tmp_path):
    document = Document(str(write_docx(TABLES, tmp_path / "t.docx")))
    blocks = body_blocks(document)
    position = 0
    for table in TABLES:
        kind, title = blocks[position]
        assert kind == "p" and title.text == table.title
        assert all(run.bold for run in title.runs)
        assert title.paragraph_format.keep_with_next
        kind, grid = blocks[position + 1]
        assert kind == "tbl"
        assert [cell.text for cell in grid.rows[0].cells] == list(table.columns)
        for row, values in zip(grid.rows[1:], table.rows):
            assert [cell.text for cell in row.cells] == [cell_text(v) for v in values]
        assert len(grid.rows) == 1 + len(table.rows)
        notes = blocks[position + 2: position + 2 + len(table.notes)]
        assert [p.text for _, p in notes] == list(table.notes)
        position += 2 + len(table.notes)
        if table is not TABLES[-1]:  # Word ends a section with an empty paragraph holding sectPr
            kind, end = blocks[position]
            assert kind == "p" and end.text == "" and end._p.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None
            position += 1
    assert position == len(blocks)
    # One section (hence one page at least) per table; wide tables on landscape pages.
    sections = document.sections
    assert len(sections) == len(TABLES)
    assert all(s.start_type == WD_SECTION.NEW_PAGE for s in list(sections)[1:])
    orientations = [s.orientation for s in sections]
    assert orientations == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT,
                            WD_ORIENT.PORTRAIT, WD_ORIENT.PORTRAIT]
    assert sections[1].page_width > sections[1].page_height


def test_docx_header_repeats_and_rows_do_not_split(tmp_path):
    document = Document(str(write_docx([LITERATURE], tmp_path / "t.docx")))
    grid = document.tables[0]
    for index, row in enumerate(grid.rows):
        properties = row._tr.trPr
        assert properties is not None
        assert properties.find(qn("w:cantSplit")) is not None
        header_flag = properties.find(qn("w:tblHeader"))
        assert (header_flag is not None) == (index == 0)
    borders = grid._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders.find(qn("w:top")).get(qn("w:val")) == "single"
    assert borders.find(qn("w:insideV")).get(qn("w:val")) == "nil"


def test_docx_keeps_line_breaks_in_cells(tmp_path):
    document = Document(str(write_docx([CASES], tmp_path / "t.docx")))
    assert document.tables[0].cell(4, 5).text == "SD\nconfirmed at 7 months"


# --- determinism ------------------------------------------------------------------------------

@pytest.mark.parametrize("render", [render_xlsx, render_docx])
def test_two_renders_are_byte_identical_with_pinned_dates(render):
    first, second = render(TABLES), render(TABLES)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        names = archive.namelist()
        assert names[0] == "[Content_Types].xml"
        assert names[1:] == sorted(names[1:])
        assert {info.date_time for info in archive.infolist()} == {ZIP_ENTRY_DATE}
        core = archive.read("docProps/core.xml").decode()
    assert "<dcterms:created" in core and "2000-01-01T00:00:00Z</dcterms:created>" in core
    assert "2000-01-01T00:00:00Z</dcterms:modified>" in core


def test_supplementary_files_identical_across_two_writes(tmp_path):
    first = write_supplementary(TABLES, tmp_path / "a")
    second = write_supplementary(TABLES, tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    assert {p.name for p in first} >= {XLSX_NAME, DOCX_NAME}
    assert [sha(p) for p in first] == [sha(p) for p in second]


def test_changed_table_changes_the_bytes():
    changed = Table(CASES.key, CASES.title, CASES.columns, CASES.rows[:-1], CASES.footnotes)
    assert render_xlsx([CASES]) != render_xlsx([changed])
    assert render_docx([CASES]) != render_docx([changed])


# --- write_supplementary and atomicity ------------------------------------------------------

def test_write_supplementary_formats_subset(tmp_path):
    written = write_supplementary(TABLES, tmp_path, formats=("xlsx",))
    assert written == [tmp_path / XLSX_NAME]
    assert sorted(p.name for p in tmp_path.iterdir()) == [XLSX_NAME]


@pytest.mark.parametrize("tables, formats, message", [
    (TABLES, ("pdf",), "unknown format 'pdf'"),
    ([], ("csv",), "no tables"),
    ([CASES, CASES], ("csv",), "share the key"),
])
def test_write_supplementary_refuses_bad_requests(tmp_path, tables, formats, message):
    with pytest.raises(ValueError, match=message):
        write_supplementary(tables, tmp_path, formats=formats)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "docx"])
def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch, fmt):
    written = write_supplementary([CASES], tmp_path, formats=(fmt,))
    before = {p.name: p.read_bytes() for p in written}

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evsynth.core.atomic.os, "fsync", disk_full)
    changed = Table(CASES.key, "Changed", CASES.columns, CASES.rows[:2], ())
    with pytest.raises(OSError, match="No space left"):
        write_supplementary([changed], tmp_path, formats=(fmt,))
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # old files intact, no new file, no temporary file left behind


def test_control_characters_from_pdf_copy_paste_do_not_break_xlsx_or_docx(tmp_path):
    table = Table("t", "Title\x0c", ("Size\x0b",), (("RFA\x01 1",), (1e308,)), ("note\x00",))
    sheet = openpyxl.load_workbook(write_xlsx([table], tmp_path / "t.xlsx")).active
    assert [sheet["A1"].value, sheet["A3"].value, sheet["A4"].value, sheet["A7"].value] == \
        ["Title", "Size", "RFA 1", "note"]
    assert sheet["A5"].value == "1e+308"  # beyond Excel's largest number: kept as text
    document = Document(str(write_docx([table], tmp_path / "t.docx")))
    assert [p.text for p in document.paragraphs if p.text] == ["Title", "note"]
    assert document.tables[0].cell(1, 0).text == "RFA 1"


def test_docx_table_properties_in_schema_order_with_caption_and_widths(tmp_path):
    document = Document(str(write_docx([CASES, LITERATURE], tmp_path / "t.docx")))
    for grid, table in zip(document.tables, [CASES, LITERATURE]):
        properties = grid._tbl.tblPr
        names = [child.tag.split("}")[1] for child in properties]
        # CT_TblPrBase is a sequence: ... tblW, jc, ..., tblBorders, ..., tblLook, tblCaption.
        assert names == ["tblW", "jc", "tblBorders", "tblLook", "tblCaption"]
        assert properties.find(qn("w:tblCaption")).get(qn("w:val")) == table.title
        header_cell = grid.rows[0].cells[0]._tc.tcPr
        assert [c.tag.split("}")[1] for c in header_cell] == ["tcW", "tcBorders"]
    section = document.sections[0]
    available = section.page_width - section.left_margin - section.right_margin
    widths = [column.width for column in document.tables[0].columns]
    assert available - len(widths) * 635 < sum(widths) <= available
    # "Patient" (the longest word of column A) fits on one line; Response is the widest column.
    assert widths[0] >= Pt(9 * 0.6 * 7) + Cm(0.4) - 635  # less at most the rounding to twips
    assert widths[0] == min(widths) and widths[5] == max(widths)
    assert [c.width for c in document.tables[0].rows[3].cells] == widths


def test_docx_column_widths_fill_the_text_width_without_breaking_words():
    available = int(Cm(17))
    char, pad = Pt(9 * 0.6), Cm(0.4)
    # Everything fits: widths fill the text width in proportion to the longest lines.
    short = Table("s", "S", ("n", "Outcome"), ((12, "PR"),))
    a, b = column_widths(short, available)
    assert available - 2 * 635 < a + b <= available
    assert abs(a / b - (2 * char + pad) / (7 * char + pad)) < 0.001
    # A long free-text column cannot push a short column below its longest word.
    long_text = " ".join(["recommendation"] * 30)
    wide = Table("w", "W", ("Guideline", "Recommendation"), (("ATA 2015 [10]", long_text),))
    first, second = column_widths(wide, available)
    assert first >= 9 * char + pad - 635
    assert second > 2.5 * first and first + second <= available
    # More unbreakable words than the page holds: everything shrinks, nothing overflows.
    crowded = Table("c", "C", tuple(f"column_with_a_long_name_{i}" for i in range(12)), ())
    assert sum(column_widths(crowded, available)) <= available
