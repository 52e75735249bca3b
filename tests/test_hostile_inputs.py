"""Inputs that used to be accepted and lose or corrupt data: each is now one
``file:row:column`` line and a non-zero exit (issue 14, "Inputs accepted that
lose or corrupt data" and "Every reader names the row")."""

from __future__ import annotations

import csv
import io
import itertools
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.core.csv_read import CsvSyntaxError, iter_records
from evsynth.core.errors import EvsynthError
from evsynth.meta.count_table import MAX_COUNT, read_counts
from evsynth.meta.pooling import METHODS, pool_proportions
from evsynth.meta.proportions import CI_METHODS
from evsynth.meta.transforms import MEASURES
from evsynth.review.load import load_review, review_sheets, validate
from evsynth.review.plan import load_plan
from evsynth.review.synthesis import synthesise_all
from evsynth.screening.batch import read_decisions
from evsynth.screening.retraction_watch import flagged_included
from evsynth.screening.ris import read_ris
from evsynth.screening.log import COLUMNS as LOG_COLUMNS
from evsynth.screening.log import load_log, validate_log
from evsynth.sheets.engine import DEFAULT_LIMITS, SheetLimits, read_sheet

REPO = Path(__file__).resolve().parents[1]
SPECS = {spec.name: spec for spec in review_sheets(REPO).sheets}


def _lines(project: Path) -> list[str]:
    return [str(p) for p in validate(project)]


def _rows(project: Path, sheet: str) -> list[list[str]]:
    with (project / "extracted" / f"{sheet}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _write_rows(project: Path, sheet: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (project / "extracted" / f"{sheet}.csv").write_text(buffer.getvalue(), encoding="utf-8")


def _set_cell(project: Path, sheet: str, row: int, column: str, value: str) -> None:
    """Set the cell of spreadsheet *row* (header = 1) in *column* and write the sheet back as CSV."""
    rows = _rows(project, sheet)
    rows[row - 1][rows[0].index(column)] = value
    _write_rows(project, sheet, rows)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- limits of a sheet

def _grown_adverse_events(project: Path, rows: int, padding: str = "") -> None:
    """adverse_events.csv with *rows* data rows (distinct ids, events of the bundled rows)."""
    original = _rows(project, "adverse_events")
    header, data = original[0], original[1:]
    grown = [header]
    for i in range(rows):
        row = list(data[i % len(data)])
        row[0] = f"AEX{i}"
        row[header.index("note")] = padding
        grown.append(row)
    _write_rows(project, "adverse_events", grown)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(project, capsys):
    # 6 MB of adverse events (the case was 50 MB for an 11-patient cohort).
    _grown_adverse_events(project, 6_000, padding="x" * 1_000)
    path = project / "extracted" / "adverse_events.csv"
    data = path.read_bytes()
    assert len(data) > DEFAULT_LIMITS.max_bytes
    code, out, err = _run(capsys, "validate", "--root", str(project))
    assert code == 1
    line = data[: DEFAULT_LIMITS.max_bytes].count(b"\n") + 1
    assert out.splitlines() == [
        f"extracted/adverse_events.csv:{line}:*: the file is {len(data):,} bytes, over the limit of "
        f"{DEFAULT_LIMITS.max_bytes:,} bytes for one sheet (passed on this line); is it the right file?"]
    assert "Traceback" not in err


def test_build_refuses_an_oversized_sheet_and_writes_nothing(project, capsys):
    _grown_adverse_events(project, 6_000, padding="x" * 1_000)
    code, out, _ = _run(capsys, "build", "--root", str(project))
    assert code == 1
    assert len(out.splitlines()) == 1 and "over the limit of 5,000,000 bytes" in out
    assert not (project / "reports").exists()


def test_more_rows_than_the_limit(project, capsys):
    _grown_adverse_events(project, DEFAULT_LIMITS.max_rows + 1)
    code, out, _ = _run(capsys, "validate", "--root", str(project))
    assert code == 1
    # The header is row 1, so data row 10,001 is spreadsheet row 10,002.
    assert out.splitlines() == [
        f"extracted/adverse_events.csv:{DEFAULT_LIMITS.max_rows + 2}:*: more than "
        f"{DEFAULT_LIMITS.max_rows:,} data rows, the limit for one sheet; is it the right file?"]


def test_exactly_the_row_limit_is_accepted_by_the_reader(project):
    _grown_adverse_events(project, 50)
    read = read_sheet(SPECS["adverse_events"], project, limits=SheetLimits(max_rows=50))
    assert read.problems == [] and len(read.frame) == 50
    read = read_sheet(SPECS["adverse_events"], project, limits=SheetLimits(max_rows=49))
    assert [str(p) for p in read.problems] == [
        "extracted/adverse_events.csv:51:*: more than 49 data rows, the limit for one sheet; is it the right file?"]


def test_a_cell_over_the_length_limit(project):
    _set_cell(project, "studies", 4, "note", "y" * (DEFAULT_LIMITS.max_cell_chars + 1))
    assert _lines(project) == [
        f"extracted/studies.csv:4:note: the cell has {DEFAULT_LIMITS.max_cell_chars + 1:,} characters, "
        f"over the limit of {DEFAULT_LIMITS.max_cell_chars:,} for one cell"]


def test_a_cell_at_the_length_limit_is_kept_whole(project):
    text = "y" * DEFAULT_LIMITS.max_cell_chars
    _set_cell(project, "studies", 4, "note", text)
    read = read_sheet(SPECS["studies"], project)
    assert read.problems == []
    assert text in set(read.frame["note"])


def test_the_size_limit_is_checked_against_the_declared_limits(project):
    read = read_sheet(SPECS["studies"], project, limits=SheetLimits(max_bytes=200))
    (problem,) = read.problems
    data = (project / "extracted" / "studies.csv").read_bytes()
    assert problem.row == data[:200].count(b"\n") + 1
    assert problem.message.startswith(f"the file is {len(data):,} bytes, over the limit of 200 bytes")


# ---------------------------------------------------------------- control characters

@pytest.mark.parametrize("char, name", [
    ("\x00", "U+0000 (NUL)"), ("\x1b", "U+001B (ESC)"), ("\x07", "U+0007 (control character)"),
    ("\x7f", "U+007F (DEL)"), ("\x85", "U+0085 (control character)"), ("\ufffe", "U+FFFE (noncharacter)"),
])
def test_control_characters_in_a_text_cell_are_refused(project, char, name):
    _set_cell(project, "studies", 5, "note", f"ab{char}cd")
    assert _lines(project) == [
        f"extracted/studies.csv:5:note: a cell holds the invisible character {name} at position 3; "
        "delete it (only tab and line breaks are allowed)"]


def test_nul_in_a_sheet_fails_the_build_and_reaches_no_report(project, capsys):
    _set_cell(project, "guidelines", 3, "recommendation",
              _rows(project, "guidelines")[2][_rows(project, "guidelines")[0].index("recommendation")] + "\x00")
    code, out, err = _run(capsys, "build", "--root", str(project))
    assert code == 1
    assert out.startswith("extracted/guidelines.csv:3:recommendation: a cell holds the invisible character U+0000")
    assert not (project / "reports").exists()


def test_tab_and_line_breaks_inside_free_text_are_kept(project):
    _set_cell(project, "studies", 5, "note", "first line\nsecond\tline")
    assert _lines(project) == []
    read = read_sheet(SPECS["studies"], project)
    assert "first line\nsecond\tline" in set(read.frame["note"])


def test_a_line_break_in_an_id_is_refused(project):
    assert SPECS["studies"].id_column == "study_id"
    rows = _rows(project, "studies")
    rows[2][0] = "S" + "\n" + rows[2][0]
    _write_rows(project, "studies", rows)
    assert _lines(project) == ["extracted/studies.csv:3:study_id: an id holds the invisible character "
                               "U+000A (line feed) at position 2; delete it"]


# ---------------------------------------------------------------- quoting errors name the line

def test_unterminated_quote_in_a_sheet_names_its_line_and_column(project, capsys):
    path = project / "extracted" / "studies.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"' not in lines[-1]
    cells = lines[-1].split(",")
    cells[3] = '"' + cells[3]  # citation_as_printed of the last row opens a quote that never closes
    lines[-1] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    code, out, _ = _run(capsys, "validate", "--root", str(project))
    assert code == 1
    assert out.splitlines() == [
        f"extracted/studies.csv:{len(lines)}:citation_as_printed: a quoted cell is never closed: its opening "
        "quote is on this line and no closing quote follows before the end of the file"]


def test_a_quote_closed_rows_later_names_where_it_opened(project):
    path = project / "extracted" / "studies.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    later = next(n for n, line in enumerate(lines) if n > 6 and '"' in line)  # a quoted cell further down
    cells = lines[6].split(",")
    cells[3] = '"' + cells[3]  # opens on line 7; the next quote in the file "closes" it
    lines[6] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    (line,) = _lines(project)
    assert line.startswith(f"extracted/studies.csv:{later + 1}:citation_as_printed: text after the closing quote "
                           "of a quoted cell opened on line 7")


def test_text_after_a_closing_quote_names_the_physical_line(project):
    # A legitimate two-line cell first, so spreadsheet rows and file lines differ.
    _set_cell(project, "studies", 3, "note", "line one\nline two")
    path = project / "extracted" / "studies.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # Spreadsheet row 6 is file line 7 (row 3 spans two lines).
    cells = lines[6].split(",")
    cells[2] = f'"{cells[2]}"x'
    lines[6] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    assert _lines(project) == [
        "extracted/studies.csv:7:first_author: text after the closing quote of a quoted cell "
        '(a quote inside a quoted cell is written as two quotes "")']


def test_csv_reader_reports_where_a_long_broken_cell_opened():
    text = 'a,b\n1,2\n3,"never\nclosed\n4,5\n6,"7"\n'
    with pytest.raises(CsvSyntaxError) as caught:
        list(iter_records(text, "f.csv"))
    assert str(caught.value) == ('f.csv:6:b: text after the closing quote of a quoted cell opened on line 3 '
                                 '(a quote inside a quoted cell is written as two quotes "")')


def test_csv_reader_gives_the_starting_line_of_each_record():
    text = 'a,b\r\n\r\n1,"x\r\ny"\r\n2,3'
    records = list(iter_records(text, "f.csv"))
    assert [(r.line, r.cells) for r in records] == [(1, ["a", "b"]), (2, []), (3, ["1", "x\r\ny"]), (5, ["2", "3"])]


# ---------------------------------------------------------------- the screening log

def _log(project: Path) -> Path:
    return project / "extracted" / "screening.csv"


def _log_row(record_id: str, title: str) -> str:
    cells = {c: "" for c in LOG_COLUMNS}
    cells.update(record_id=record_id, source="pubmed", title=title, stage="title/abstract", decision="pending")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cells[c] for c in LOG_COLUMNS])
    return buffer.getvalue()


def test_an_empty_screening_log_is_an_error_naming_the_file(project, capsys):
    _log(project).write_bytes(b"")
    code, out, _ = _run(capsys, "validate", "--root", str(project))
    assert code == 1
    assert out.startswith(f"{_log(project)}:1:*: the file is empty; expected the header record_id,pmid,")
    code, _, err = _run(capsys, "build", "--root", str(project))
    assert code == 1
    assert err.startswith(f"evsynth: error: {_log(project)}:1:*: the file is empty") and err.count("\n") == 1
    assert not (project / "reports").exists()


def test_a_screening_log_without_its_header_is_refused(project, capsys):
    _log(project).write_text(_log_row("R00001", "A study") + _log_row("R00002", "Another"), encoding="utf-8")
    code, out, _ = _run(capsys, "validate", "--root", str(project))
    assert code == 1
    assert out.splitlines() == [f"{_log(project)}:1:*: the first row is not the header; expected "
                                + ",".join(LOG_COLUMNS)]
    code, _, err = _run(capsys, "build", "--root", str(project))
    assert code == 1 and "the first row is not the header" in err


def test_a_header_only_screening_log_is_an_empty_log(project):
    _log(project).write_text(",".join(LOG_COLUMNS) + "\n", encoding="utf-8")
    assert validate_log(_log(project)) == []
    assert load_log(_log(project)) == []


def test_a_broken_quote_in_the_screening_log_names_its_line_in_plain_words(project):
    rows = [_log_row(f"R{n:05d}", f"Title {n}") for n in range(1, 6)]
    rows[3] = rows[3].replace("Title 4", '"Title 4')
    _log(project).write_text(",".join(LOG_COLUMNS) + "\n" + "".join(rows), encoding="utf-8")
    (line,) = validate_log(_log(project))
    assert line == (f"{_log(project)}:5:title: a quoted cell is never closed: its opening quote is on this "
                    "line and no closing quote follows before the end of the file")
    assert "C error" not in line and "tokenizing" not in line


def test_screening_rows_are_numbered_as_the_spreadsheet_shows_them(project):
    body = _log_row("R00001", "One") + "\n" + _log_row("R00002", "Two").replace(",pubmed,", ",,")
    _log(project).write_text(",".join(LOG_COLUMNS) + "\n" + body, encoding="utf-8")
    # Row 3 is blank; the row without a source is row 4.
    assert validate_log(_log(project)) == [f"{_log(project)}:4:source: source must name at least one source (got '')"]


def test_control_characters_in_the_screening_log_are_refused(project):
    body = _log_row("R00001", "Nul\x00in title") + _log_row("R00002", "Two\nlines are fine")
    _log(project).write_text(",".join(LOG_COLUMNS) + "\n" + body, encoding="utf-8")
    assert validate_log(_log(project)) == [
        f"{_log(project)}:2:title: a cell holds the invisible character U+0000 (NUL) at position 4; "
        "delete it (only tab and line breaks are allowed)"]


def test_imported_records_lose_their_control_characters(tmp_path, capsys):
    path = tmp_path / "bell.ris"
    path.write_text("TY  - JOUR\nTI  - Ring\x07ing title\nAU  - Sm\x1bith, J\nPY  - 2020\nER  - \n",
                    encoding="utf-8")
    code, out, _ = _run(capsys, "import", str(path), "--source", "embase", "--root", str(tmp_path))
    assert code == 0, out
    (entry,) = load_log(tmp_path / "extracted" / "screening.csv")
    assert (entry.title, entry.first_author, entry.authors) == ("Ringing title", "Smith, J", "Smith, J")
    assert validate_log(tmp_path / "extracted" / "screening.csv") == []


def test_a_screening_row_with_too_few_cells_is_refused(project):
    _log(project).write_text(",".join(LOG_COLUMNS) + "\n" + "R00001,,,pubmed,Short row\n", encoding="utf-8")
    assert validate_log(_log(project)) == [f"{_log(project)}:2:*: has 5 cells, the header has {len(LOG_COLUMNS)}"]


# ---------------------------------------------------------------- RIS without its end lines

_REFERENCE = "TY  - JOUR\nTI  - {title}\nAU  - Smith, J\nPY  - 2020\n"


def test_ris_whose_last_reference_has_no_end_line_is_refused(tmp_path, capsys):
    path = tmp_path / "cut.ris"
    path.write_text(_REFERENCE.format(title="First") + "ER  - \n\n" + _REFERENCE.format(title="Second"),
                    encoding="utf-8")
    code, _, err = _run(capsys, "import", str(path), "--source", "embase", "--root", str(tmp_path))
    assert code == 1
    assert err == (f"evsynth: error: {path}:7: the last reference (starting on this line) has no end line "
                   "'ER  - ', so the file may be cut off; export it again, or add 'ER  - ' after the "
                   "reference if it is complete\n")
    assert not (tmp_path / "extracted" / "screening.csv").exists()
    # With the end line added, both references are imported.
    path.write_text(path.read_text(encoding="utf-8") + "ER  - \n", encoding="utf-8")
    assert [r.title for r in read_ris(path, "embase")] == ["First", "Second"]


def test_ris_reference_without_end_line_before_the_next_is_refused(tmp_path, capsys):
    path = tmp_path / "merged.ris"
    path.write_bytes((_REFERENCE.format(title="First") + _REFERENCE.format(title="Second")
                      + "ER  - \n").replace("\n", "\r\n").encode("utf-8"))
    code, _, err = _run(capsys, "import", str(path), "--source", "embase", "--root", str(tmp_path))
    assert code == 1
    assert err.startswith(f"evsynth: error: {path}:1: the reference starting on this line has no end line "
                          "'ER  - ' before the next reference (line 5)")
    assert not (tmp_path / "extracted" / "screening.csv").exists()


# ---------------------------------------------------------------- exact integers in `evsynth pool`

def test_a_23_digit_count_is_one_line_and_exit_1(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("study,events,total\nA,3,10\nB,12345678901234567890123,12345678901234567890123\n",
                    encoding="utf-8")
    # A real process: nothing but the one line may reach stderr (no RuntimeWarning, no traceback).
    done = subprocess.run([sys.executable, "-m", "evsynth.cli.main", "pool", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (f"evsynth: error: {path}:3:events: count 12345678901234567890123 is larger than "
                           f"{MAX_COUNT:,}, the largest count evsynth pools (its statistics are computed in "
                           "double precision, which does not carry larger counts reliably)\n")


@pytest.mark.parametrize("value, shown", [
    (str(MAX_COUNT + 1), str(MAX_COUNT + 1)),
    ("0" * 40 + str(MAX_COUNT + 1), "000000000000...000100000001 (49 digits)"),
    ("9" * 5000, "999999999999...999999999999 (5000 digits)"),  # beyond Python's int-from-text limit
])
def test_counts_above_the_limit_name_file_row_and_column(tmp_path, value, shown):
    path = tmp_path / "counts.csv"
    path.write_text(f"study,events,total\nA,3,{value}\n", encoding="utf-8")
    with pytest.raises(EvsynthError) as caught:
        read_counts(path)
    assert str(caught.value).startswith(f"{path}:2:total: count {shown} is larger than {MAX_COUNT:,}")


def test_the_limit_itself_is_accepted(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(f"study,events,total\nA,{MAX_COUNT},{MAX_COUNT}\nB,0,{MAX_COUNT}\n", encoding="utf-8")
    table = read_counts(path)
    assert table.events == (MAX_COUNT, 0) and table.totals == (MAX_COUNT, MAX_COUNT)


def test_counts_at_the_limit_pool_without_a_floating_point_warning():
    """Why the limit is 10^8: every measure x method x test pools the extreme patterns cleanly."""
    big = MAX_COUNT
    patterns = [([big // 2, big // 3, big // 4], [big, big, big]),   # all large
                ([big // 2, 3, 7], [big, 10, 20]),                   # one large beside small ones
                ([0, 3, big // 2], [big, 10, big]),                  # 0 % of a large study
                ([big, 3, 7], [big, 10, 20])]                        # 100 % of a large study
    combos = [c for c in itertools.product(patterns, MEASURES, METHODS, ("z", "knha"))
              if c[2] != "GLMM" or c[1] == "PLO"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for number, ((events, totals), measure, method, test) in enumerate(combos):
            result = pool_proportions(events, totals, ["a", "b", "c"], measure=measure, method=method,
                                      test=test, ci=CI_METHODS[number % len(CI_METHODS)])
            assert 0 <= result.pooled.estimate <= 1 or measure == "PR"


def test_a_broken_quote_in_the_count_table_names_its_line(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text('study,events,total\n"Smith, 2020",3,10\nJones,"4,12\n', encoding="utf-8")
    with pytest.raises(EvsynthError) as caught:
        read_counts(path)
    assert str(caught.value) == (f"{path}:3:events: a quoted cell is never closed: its opening quote is on this "
                                 "line and no closing quote follows before the end of the file")


# ---------------------------------------------------------------- valid sheets that crashed the build

def test_overlapping_severe_events_exclude_the_cohort_instead_of_crashing(project, capsys):
    # C13 (7 patients) already has a grade-3 event in 1 patient; a second grade-3 event in all 7 makes
    # the per-event counts add up to 8 (one patient may have had both): valid sheets, and the build
    # used to stop with "internal error: PoolingError" (exit 3).
    rows = _rows(project, "adverse_events")
    header = rows[0]
    cohort_rows = [r for r in rows[1:] if r[header.index("cohort_id")] == "C13"]
    assert any(r[header.index("ctcae_grade_min")] == "3" for r in cohort_rows)
    new = dict.fromkeys(header, "")
    new.update(ae_id="AE13-99", cohort_id="C13", event="liver abscess", ctcae_grade_min="3",
               ctcae_grade_max="3", patients="7")
    _write_rows(project, "adverse_events", rows + [[new[c] for c in header]])
    assert validate(project) == []
    review = load_review(project)
    syntheses = synthesise_all(review, load_plan(project, review.sheets))
    severe = [s for s in syntheses.values() if "adverse_events" in s.plan.events.text()]
    assert severe
    for synthesis in severe:
        assert "C13" not in synthesis.primary.data.cohort_ids
        assert [e.rule for e in synthesis.primary.data.excluded if e.cohort_id == "C13"] == [
            "counts: 8 events among 7"]
    # The build stops only where it should: the registered claim that counts these events.
    code, _, err = _run(capsys, "build", "--root", str(project))
    assert code == 1 and "internal error" not in err and err.count("\n") == 1


# ---------------------------------------------------------------- the other CSV readers of the screening stage

def test_a_decisions_file_names_physical_lines(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text('record_id,decision,note\n\nR00001,include,"two\nlines"\nR00002,include,x\n', encoding="utf-8")
    rows = read_decisions(path)
    assert [(r.line, r.key) for r in rows] == [(3, "R00001"), (5, "R00002")]
    path.write_text('record_id,decision,note\nR00001,include,ok\nR00002,exclude,"never closed\n', encoding="utf-8")
    with pytest.raises(CsvSyntaxError) as caught:
        read_decisions(path)
    assert str(caught.value).startswith(f"{path}:3:note: a quoted cell is never closed")


def test_a_broken_quote_in_the_retraction_watch_table_names_its_line(tmp_path):
    (tmp_path / "retraction-watch.csv").write_text(
        'study,pmid,flag,detail,checked\nS1,1,erratum,,2025-01-01\nS2,2,"retracted,,2025-01-01\n', encoding="utf-8")
    with pytest.raises(CsvSyntaxError) as caught:
        flagged_included(tmp_path, [])
    assert str(caught.value).startswith(f"{tmp_path / 'retraction-watch.csv'}:3:flag: a quoted cell is never closed")
    (tmp_path / "retraction-watch.csv").write_text(
        'study,pmid,flag,detail,checked\nS1,1,erratum,,2025-01-01\n\nS2,2,retracted,"Notice, 2024",2025-01-01\n',
        encoding="utf-8")
    assert [(f.study, f.flag, f.detail) for f in flagged_included(tmp_path, [])] == [
        ("S2", "retracted", "Notice, 2024")]
