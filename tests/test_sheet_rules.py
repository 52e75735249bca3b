"""Row rules of a sheet, declared in sheets.toml as conditions in the expression language (issue 19):
the rules of the bundled review that used to be code (a mixed cohort agrees with its study's
thyroid_specific; uncategorised responses mean non-RECIST criteria) are data of its sheets.toml."""

from __future__ import annotations

import csv
from pathlib import Path

from evsynth.review.load import validate
from evsynth.sheets.spec import load_sheet_set


def _edit(project: Path, sheet: str, row_id: str, column: str, value: str) -> int:
    path = project / "extracted" / f"{sheet}.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    for number, row in enumerate(rows[1:], start=2):
        if row[0] == row_id:
            row[header.index(column)] = value
            break
    else:
        raise AssertionError(row_id)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return number


def test_the_bundled_rules_are_declared_not_coded():
    spec = load_sheet_set(Path(__file__).resolve().parents[1] / "sheets.toml").get("cohorts")
    assert {r.column for r in spec.rules} == {"mixed_cohort", "recist"}


def test_a_row_breaking_a_declared_rule_is_one_problem_naming_file_row_column(project):
    row = _edit(project, "cohorts", "C11", "mixed_cohort", "yes")
    _edit(project, "cohorts", "C11", "footnotes", "*")
    problems = [str(p) for p in validate(project)]
    assert any(p.startswith(f"extracted/cohorts.csv:{row}:mixed_cohort: disagrees with thyroid_specific")
               for p in problems), problems


def test_a_new_rule_in_sheets_toml_is_checked_and_a_bad_one_is_reported(project):
    spec = project / "sheets.toml"
    text = spec.read_text(encoding="utf-8")
    rule = '  { column = "n_patients", rule = "n_patients < 10", message = "a large cohort" },\n]'
    spec.write_text(text.replace('uncategorised responses come from non-RECIST criteria: set recist = no" },\n]',
                                 'uncategorised responses come from non-RECIST criteria: set recist = no" },\n'
                                 + rule, 1), encoding="utf-8")
    problems = [str(p) for p in validate(project)]
    assert problems and all(":n_patients: a large cohort" in p for p in problems)
    spec.write_text(spec.read_text(encoding="utf-8").replace('"n_patients < 10"', '"n_patientz < 10"'),
                    encoding="utf-8")
    problems = [str(p) for p in validate(project)]
    assert len(problems) == 1 and problems[0].startswith("sheets.toml:0:sheets.cohorts.rules: n_patientz < 10:")


def test_a_broken_reference_is_reported_with_the_type_errors_in_one_pass(project):
    """issue 19: a broken study_id reference appeared only after the type errors were fixed."""
    type_row = _edit(project, "cohorts", "C11", "n_patients", "twelve")
    ref_row = _edit(project, "cohorts", "C13", "study_id", "S999")
    problems = [str(p) for p in validate(project)]
    assert any(p.startswith(f"extracted/cohorts.csv:{type_row}:n_patients:") for p in problems), problems
    assert any(p.startswith(f"extracted/cohorts.csv:{ref_row}:study_id: 'S999' is not a study_id") for p in problems), \
        problems
