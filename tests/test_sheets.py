"""Every class of sheet problem gives a file:row:column message, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.load import validate
from evsynth.review.load import review_sheets
from evsynth.sheets.engine import pandera_schema


def _lines(project: Path) -> list[str]:
    return [str(p) for p in validate(project)]


def _edit(project: Path, sheet: str, old: str, new: str) -> None:
    path = project / "extracted" / f"{sheet}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {sheet}.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_bundled_sheets_are_valid(project):
    assert validate(project) == []


def test_every_sheet_has_a_pandera_schema_with_its_columns(project):
    for spec in review_sheets(project).sheets:
        schema = pandera_schema(spec)
        assert list(schema.columns) == list(spec.columns)
        assert schema.strict is True


def test_missing_file(project):
    (project / "extracted" / "guidelines.csv").unlink()
    assert _lines(project) == ["extracted/guidelines.csv:0:*: file is missing"]


def test_empty_file(project):
    (project / "extracted" / "studies.csv").write_text("")
    (line,) = _lines(project)
    assert line.startswith("extracted/studies.csv:1:*: the file is empty; expected a header row: study_id,")


def test_wrong_encoding_names_the_line(project):
    path = project / "extracted" / "studies.csv"
    data = path.read_bytes().replace("Fromigué".encode("utf-8"), "Fromigué".encode("latin-1"))
    path.write_bytes(data)
    (line,) = _lines(project)
    assert line.startswith("extracted/studies.csv:3:*: not UTF-8 (byte 0xe9)")


def test_unknown_and_missing_columns(project):
    _edit(project, "studies", "first_author,", "firstauthor,")
    lines = _lines(project)
    assert any(l.startswith("extracted/studies.csv:1:firstauthor: unknown column") for l in lines)
    assert "extracted/studies.csv:1:first_author: missing required column" in lines


def test_first_row_is_not_a_header(project):
    path = project / "extracted" / "case_patients.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[1:]) + "\n")
    (line,) = _lines(project)
    assert line.startswith("extracted/case_patients.csv:1:*: the first row is not a header")


def test_repeated_column_in_header(project):
    _edit(project, "case_patients", "sex,", "age_at_lm_diagnosis,")
    lines = _lines(project)
    assert "extracted/case_patients.csv:1:age_at_lm_diagnosis: column appears twice in the header" in lines


def test_bad_number(project):
    _edit(project, "case_procedures", "P1-1,P1,1,no,,TACE,3,18,PR", "P1-1,P1,1,no,,TACE,three,18,PR")
    assert _lines(project) == [
        "extracted/case_procedures.csv:2:treated_lm_count: 'three' must be a whole number >= 1"]


def test_unknown_vocabulary(project):
    _edit(project, "case_procedures", "P4-1,P4,1,yes,lenvatinib,TACE,4,32,SD",
          "P4-1,P4,1,yes,lenvatinib,TACE,4,32,stable")
    (line,) = _lines(project)
    assert line == "extracted/case_procedures.csv:7:response: 'stable' must be one of: CR, PR, SD, PD"


def test_unknown_lrt(project):
    _edit(project, "cohorts", "C19,S19,4,TAE+PEI,", "C19,S19,4,TAE+HIFU,")
    (line,) = _lines(project)
    assert line.startswith("extracted/cohorts.csv:5:lrt: 'TAE+HIFU' must name values from TACE")


def test_duplicate_id(project):
    _edit(project, "case_procedures", "P2-2,P2,2,", "P2-1,P2,2,")
    lines = _lines(project)
    assert "extracted/case_procedures.csv:3:procedure_id: duplicate id 'P2-1'" in lines
    assert "extracted/case_procedures.csv:4:procedure_id: duplicate id 'P2-1'" in lines


def test_exact_duplicate_row(project):
    path = project / "extracted" / "guidelines.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [lines[2]]) + "\n")
    assert _lines(project) == ["extracted/guidelines.csv:12:*: exact duplicate of row 3"]


def test_required_value_empty(project):
    _edit(project, "case_patients", "P2,MTC,23,", "P2,,23,")
    assert _lines(project) == ["extracted/case_patients.csv:3:histology: required value is empty"]


def test_ragged_row(project):
    _edit(project, "case_patients", "P3,DTC,55,female,single,bone;lung", "P3,DTC,55,female,single,bone,lung")
    assert _lines(project) == ["extracted/case_patients.csv:4:*: has 7 cells, the header has 6"]


def test_dangling_reference(project):
    _edit(project, "adverse_events", "AE27-1,C27,", "AE27-1,C99,")
    assert "extracted/adverse_events.csv:19:cohort_id: 'C99' is not a cohort_id in cohorts.csv" in _lines(project)


def test_response_counts_exceed_n(project):
    _edit(project, "cohorts", "reported,not reported,0,7,0,0,0,0,reported", "reported,not reported,0,7,1,0,0,0,reported")
    assert "extracted/cohorts.csv:17:resp_cr: response counts add up to 8, more than n_patients = 7" in _lines(project)


def test_histology_split_must_add_up(project):
    _edit(project, "cohorts", "MTC;PTC,6,4,2,", "MTC;PTC,6,4,1,")
    assert "extracted/cohorts.csv:18:n_patients: histology counts add up to 5, not n_patients = 6" in _lines(project)


def test_unassigned_lrt_needs_a_list(project):
    _edit(project, "cohorts", "TACE;TAE;RFA,unassigned", "TACE,unassigned")
    assert ("extracted/cohorts.csv:18:lrt_assignment: use 'unassigned' exactly when lrt lists several "
            "treatments with ';'") in _lines(project)


@pytest.mark.parametrize("content", ["", "garbage\n\x00\x01", "study_id\nS1\n", '"unterminated\n'])
def test_validate_command_never_tracebacks(project, content, capsys):
    (project / "extracted" / "studies.csv").write_text(content)
    code = main(["validate", "--root", str(project)])
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.out + out.err
    for line in out.out.strip().splitlines():
        file, row, column, message = line.split(":", 3)
        assert file.startswith("extracted/") and row.isdigit() and column and message.strip()


def test_validate_subprocess_exit_code(project):
    _edit(project, "case_patients", "P2,MTC,23,", "P2,MTC,old,")
    run = subprocess.run([sys.executable, "-m", "evsynth", "validate", "--root", str(project)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stdout.strip() == "extracted/case_patients.csv:3:age_at_lm_diagnosis: 'old' must be a whole number between 0 and 120"
    assert "Traceback" not in run.stderr


def test_not_a_project(tmp_path, capsys):
    assert main(["validate", "--root", str(tmp_path)]) == 1
    assert "no extracted/ folder" in capsys.readouterr().err


def test_validate_also_checks_the_screening_log(project, capsys):
    (project / "extracted" / "screening.csv").write_text("record_id,decision\nR00001,perhaps\n")
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "extracted/screening.csv:1: missing column(s): pmid" in out


def test_python_cell_checks_match_pandera_on_damaged_sheets(project):
    """The plain-Python cell checks (small sheets, fast start-up) report exactly what the pandera
    schema reports: every sheet of the bundled review, damaged at random (fixed seed) with
    emptied, mistyped, out-of-range, unknown-vocabulary and duplicated-id cells."""
    import random

    from evsynth.sheets.engine import pandera_cell_problems, python_cell_problems, read_sheet

    rng = random.Random(23)
    junk = ["", "x", "-1", "1e999", "3.5", "12", "nan", " ", "a;b", "yes+no", "0", "100000"]
    compared = 0
    for spec in review_sheets(project).sheets:
        path = project / "extracted" / spec.filename
        original = path.read_text(encoding="utf-8")
        lines = original.splitlines()
        for trial in range(4):
            damaged = [lines[0]]
            for line in lines[1:]:
                cells = line.split(",")  # only lines without quoting are damaged
                if '"' not in line and rng.random() < 0.5:
                    i = rng.randrange(len(cells))
                    cells[i] = rng.choice(junk + [lines[1].split(",")[0]])
                damaged.append(",".join(cells))
            path.write_text("\n".join(damaged) + "\n", encoding="utf-8")
            read = read_sheet(spec, project)
            if read.problems:
                continue
            expected = pandera_cell_problems(read)
            assert python_cell_problems(read) == expected, (spec.name, trial)
            compared += bool(expected)
        path.write_text(original, encoding="utf-8")
    assert compared >= 10  # the damage did produce problems to compare
