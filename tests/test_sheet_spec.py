"""Sheets declared as data: sheets.toml, its errors, the data dictionary, init templates."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.load import review_sheets, validate
from evsynth.review.scaffold import load_template
from evsynth.sheets.dictionary import data_dictionary
from evsynth.sheets.spec import SpecError, parse_sheet_set

REPO = Path(__file__).resolve().parents[1]

MINIMAL = """\
[vocabularies]
arm = {{ values = ["A", "B"], labels = {{ A = "arm a" }} }}

[sheets.studies]
id = "study_id"
columns = [
  {{ name = "study_id", required = true }},
  {column}
]
"""


def _error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_sheet_set(text, "sheets.toml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_bundled_review_declares_what_the_case_series_template_ships():
    assert (REPO / "sheets.toml").read_text(encoding="utf-8") == load_template("case-series").files["sheets.toml"]


def test_the_bundled_sheets_are_ten_with_histology_columns_declared_once():
    sheet_set = review_sheets(REPO)
    assert sheet_set.names == ("studies", "cohorts", "adverse_events", "case_patients", "case_procedures",
                               "case_adverse_events", "guidelines", "footnotes", "claims", "appraisal")
    cohorts = sheet_set.get("cohorts")
    assert cohorts.columns_for("histology") == {"MTC": "n_mtc", "PTC": "n_ptc", "FTC": "n_ftc", "HTC": "n_htc",
                                                 "PDTC": "n_pdtc"}
    assert cohorts.field("histology").choices == sheet_set.values("histology")
    assert cohorts.field("n_ftc").description == "patients with follicular thyroid carcinoma"
    assert cohorts.field("study_id").ref == "studies.study_id"


def test_a_histology_added_to_the_vocabulary_adds_its_count_column(project):
    spec = project / "sheets.toml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace('"PDTC"], labels', '"PDTC", "ATC"], labels', 1), encoding="utf-8")
    lines = [str(p) for p in validate(project)]
    assert "extracted/cohorts.csv:1:n_atc: missing required column" in lines


@pytest.mark.parametrize("column, message", [
    ('{ name = "n", type = "integer" }', "sheets.toml:8: sheet 'studies', column 'n': unknown type 'integer'"),
    ('{ name = "arm", type = "choice", values = "arms" }',
     "sheets.toml:8: sheet 'studies', column 'arm': no vocabulary named 'arms' in [vocabularies]"),
    ('{ name = "arm", type = "choice" }', "sheets.toml:8: sheet 'studies', column 'arm': type 'choice' needs values"),
    ('{ name = "n", type = "int", min = 5, max = 1 }', "sheets.toml:8: sheet 'studies', column 'n': min 5 is above max 1"),
    ('{ name = "n", type = "text", min = 0 }', "sheets.toml:8: sheet 'studies', column 'n': min is only for the types int and number"),
    ('{ name = "x", ref = "cohorts.cohort_id" }',
     "sheets.toml:8: sheet 'studies', column 'x': ref 'cohorts.cohort_id' names no declared sheet and column"),
    ('{ name = "n", colour = "red" }', "sheets.toml:8: sheet 'studies', column 'n': unknown key 'colour'"),
    ('{ name = "study_id" }', "sheets.toml:8: sheet 'studies': column 'study_id' is declared twice"),
    ('{ name = "n_{value}", each = "arms", type = "int" }',
     "sheets.toml:8: sheet 'studies', column 'n_{value}': each must name a vocabulary"),
    ('{ name = "v", optional = "yes" }', "sheets.toml:8: sheet 'studies', column 'v': optional must be true or false"),
    ('{ name = "v", optional = true, required = true }',
     "sheets.toml:8: sheet 'studies', column 'v': a required column cannot be optional"),
])
def test_a_mistake_in_a_column_is_one_line_naming_file_line_sheet_and_column(column, message):
    assert _error(MINIMAL.format(column=column)).startswith(message)


def test_an_optional_column_may_be_left_out_of_the_header_and_reads_empty(project):
    """claims.csv's 'version' is optional: the bundled sheet has no such column, and a sheet with it is read too."""
    claims = project / "extracted" / "claims.csv"
    assert "version" not in claims.read_text(encoding="utf-8").splitlines()[0]
    assert validate(project) == []
    spec = project / "sheets.toml"
    spec.write_text(spec.read_text(encoding="utf-8").replace(
        '{ name = "version", optional = true,', '{ name = "version",'), encoding="utf-8")
    assert [str(p) for p in validate(project)] == ["extracted/claims.csv:1:version: missing column"]


def test_toml_syntax_errors_give_the_line():
    text = MINIMAL.format(column='{ name = "n", type = "int" }').replace('type = "int"', 'type = int')
    assert re.fullmatch(r"sheets\.toml:8: not valid TOML \(.+\)", _error(text))


def test_vocabulary_and_sheet_level_mistakes():
    assert _error('[vocabularies]\narm = ["A", "A"]\n[sheets.s]\ncolumns = [{ name = "a" }]\n') == \
        "sheets.toml:2: vocabulary 'arm': value 'A' is listed twice"
    assert _error('[sheets.s]\nid = "b"\ncolumns = [{ name = "a" }]\n') == \
        "sheets.toml:2: sheet 's': id 'b' is not one of its columns"
    assert _error('title = "x"\n[sheets.s]\ncolumns = [{ name = "a" }]\n').startswith(
        "sheets.toml:1: unknown key 'title'")
    assert _error("[vocabularies]\n").startswith("sheets.toml:1: no sheet declared")


def test_a_broken_spec_stops_validate_with_one_line(project):
    spec = project / "sheets.toml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace('{ name = "sequence", type = "int"', '{ name = "sequence", type = "whole"'),
                    encoding="utf-8")
    line = next(i for i, l in enumerate(spec.read_text().splitlines(), 1) if '"sequence"' in l)
    result = subprocess.run([sys.executable, "-m", "evsynth", "validate", "--root", str(project)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"evsynth: error: sheets.toml:{line}: sheet 'case_procedures', "
                                     "column 'sequence': unknown type 'whole' (known: text, int, number, "
                                     "choice, choices, combination, refs)")
    spec.unlink()
    assert main(["validate", "--root", str(project)]) == 1


def test_declared_references_and_new_sheets_are_checked_by_the_engine(tmp_path):
    assert main(["init", str(tmp_path / "p")]) == 0
    root = tmp_path / "p"
    with open(root / "sheets.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[sheets.outcomes]\ndescription = "one row per outcome of a study"\nid = "outcome_id"\n'
                     'columns = [\n  { name = "outcome_id", required = true },\n'
                     '  { name = "study_id", required = true, ref = "studies.study_id" },\n'
                     '  { name = "kind", type = "choice", required = true, values = ["response", "toxicity"] },\n'
                     '  { name = "events", type = "int", min = 0 },\n]\n')
    (root / "extracted" / "studies.csv").write_text(
        "study_id,reference,first_author,citation_as_printed,year,pmid,doi,title,journal,identified_by,note\n"
        "S1,,Doe,Doe et al.,,,,,,,\n")
    (root / "extracted" / "outcomes.csv").write_text(
        "outcome_id,study_id,kind,events\nO1,S1,response,3\nO2,S9,toxicity,1\n")
    assert [str(p) for p in validate(root)] == ["extracted/outcomes.csv:3:study_id: 'S9' is not a study_id in studies.csv"]
    (root / "extracted" / "outcomes.csv").write_text(
        "outcome_id,study_id,kind,events\nO1,S1,response,-3\nO2,S1,harm,1\n")
    assert [str(p) for p in validate(root)] == [
        "extracted/outcomes.csv:2:events: '-3' must be a whole number >= 0",
        "extracted/outcomes.csv:3:kind: 'harm' must be one of: response, toxicity"]
    (root / "extracted" / "outcomes.csv").write_text("outcome_id,study_id,kind,events\nO1,S1,response,3\n")
    assert main(["build", "--root", str(root)]) == 0
    html = (root / "reports" / "review.html").read_text(encoding="utf-8")
    assert "<code>extracted/outcomes.csv</code>" in html and "one row per outcome of a study" in html


def test_the_committed_data_dictionary_is_what_evsynth_sheets_prints(capsys):
    assert main(["sheets", "--root", str(REPO), "--format", "markdown"]) == 0
    assert capsys.readouterr().out == (REPO / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/data-dictionary.md)" in readme


def test_the_data_dictionary_lists_every_column_type_and_allowed_values(capsys):
    sheet_set = review_sheets(REPO)
    assert main(["sheets", "--root", str(REPO)]) == 0
    text = capsys.readouterr().out
    for spec in sheet_set.sheets:
        assert f"\n{spec.filename}: {spec.description}\n" in text
        for f in spec.fields:
            assert re.search(rf"^  {re.escape(f.name)} \({f.kind}(, required|, may be left out)?\)", text, re.M), f.name
    assert "  version (text, may be left out)" in text  # claims.csv's optional column
    assert "  lesion_pattern (choice, required): one of: single, multiple, not available" in text
    assert "  age_at_lm_diagnosis (int, required): whole number from 0 to 120" in text
    assert "  patient_id (text, required): a patient_id of case_patients.csv" in text
    markdown = data_dictionary(sheet_set, "markdown")
    assert markdown.count("\n## ") == len(sheet_set.sheets) + 1  # every sheet, and the labels


BLANK_WORDS = ("thyroid", "Thyroid", "MTC", "DTC", "Case series", "case series", "Table 1", "Table 2",
               "Table 3", "Guideline", "guideline", "previous_studies", "cohort", "LRT", "liver", "RECIST",
               "Claims", "Meta-analyses", "previous version")


def test_a_blank_project_page_mentions_only_what_it_has(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "x", "--template", "blank"]) == 0
    monkeypatch.chdir(tmp_path / "x")
    assert main(["build"]) == 0
    html = Path("reports/review.html").read_text(encoding="utf-8")
    for word in BLANK_WORDS:
        assert word not in html, word
    for section in ("case-series", "literature", "synthesis", "guidelines", "claims"):
        assert f'id="{section}"' not in html and f'href="#{section}"' not in html
    # the header-only claims registry the template ships is listed among the sources (0 rows; its title and cell), nothing more
    assert html.count("claims.csv") == 2 and '<code>extracted/claims.csv</code></td><td class="num">0</td>' in html
    assert '<section id="studies">' in html and "<th scope=\"col\">First author</th>" in html
    for path in (Path("queries/sample.toml"), Path("sheets.toml"), Path("review.toml"), Path("README.md")):
        assert "thyroid" not in path.read_text(encoding="utf-8").lower(), path
    assert sorted(p.name for p in Path("extracted").iterdir()) == ["claims.csv", "studies.csv"]
    assert Path("extracted/claims.csv").read_text(encoding="utf-8").count("\n") == 1   # header only
