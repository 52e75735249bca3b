"""A second review on the same engine (issue 19, "Done when").

A review in another field, made from ``evsynth init --template blank``: one
declared sheet of counts (``trials``: responders among participants of
clearly synthetic trials of a made-up physiotherapy programme for chronic neck
pain), an ``analysis.toml`` outcome naming that sheet, one ``[[page.tables]]``
in ``review.toml`` and three claims in the expression language. ``validate``,
``verify`` and ``build`` pass; the page shows the pooled estimate metafor gives
for these counts, every study's citation and the declared table, and not a word
of the bundled review; ``verify`` fails, naming the claim, when one claim is false.

The counts are those of metafor's ``dat.pritz1997`` (14 studies), so the
expected GLMM estimate is the committed metafor golden file
``tests/golden/pritz1997.json`` (``rma.glmm(measure = "PLO")``, z-test); the
citations are invented and say so ("Synthetic").
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from evsynth.cli.main import main

GOLDEN = json.loads((Path(__file__).parent / "golden" / "pritz1997.json").read_text(encoding="utf-8"))
GLMM_Z = next(f for f in GOLDEN["glmm"] if f["test"] == "z")

#: Words of the bundled review that must not appear on the second review's page.
BUNDLED_WORDS = ("thyroid", "liver", "MTC", "DTC", "RECIST", "CTCAE", "TACE", "medullary", "hepatic",
                 "LRT", "Nervo", "Gastrointest", "metastas")

TRIALS_SHEET = """
[sheets.trials]
description = "One row per trial arm given the programme: participants and responders at 12 weeks."
id = "trial_id"
columns = [
  { name = "trial_id", label = "Trial", required = true },
  { name = "study_id", label = "Study", required = true, ref = "studies.study_id" },
  { name = "setting", label = "Setting", type = "choice", required = true, values = ["clinic", "home"] },
  { name = "responders", label = "Responders", type = "int", required = true, min = 0, description = "participants with at least 30 % less pain" },
  { name = "participants", label = "Participants", type = "int", required = true, min = 1 },
]
"""

PLAN = """
[[outcome]]
key = "response"
label = "Pain response at 12 weeks"
sheet = "trials"
events = ["responders"]
denominator = ["participants"]
why = "Participants with at least 30 % less pain among those who started the programme."
"""

PAGE = """
[[page.tables]]
sheet = "trials"
title = "Trials of the programme"
columns = ["study_id", "setting", "responders", "participants"]
footnotes = ["Responders: at least 30 % less neck pain at 12 weeks."]
"""

CLAIMS = [
    ("K1", "Fourteen trials were found.", "count(trials)", "14"),
    ("K2", "The trials enrolled 326 participants.", "sum(trials.participants)", "326"),
    ("K3", "Pooled, 79.8 % of participants responded.", "pooled(response)", "79.8"),
]


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _studies_header(root: Path) -> list[str]:
    with open(root / "extracted" / "studies.csv", encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _citation(i: int) -> str:
    return f"Synthetic trial {i:02d} et al."


def make_second_review(tmp_path: Path) -> Path:
    """``evsynth init other --template blank``, then the sheet, the plan, the page and three claims."""
    root = tmp_path / "other"
    assert main(["init", str(root), "--template", "blank"]) == 0
    (root / "sheets.toml").write_text((root / "sheets.toml").read_text(encoding="utf-8") + TRIALS_SHEET,
                                      encoding="utf-8")
    (root / "analysis.toml").write_text(PLAN, encoding="utf-8")
    (root / "review.toml").write_text((root / "review.toml").read_text(encoding="utf-8") + PAGE, encoding="utf-8")
    header = _studies_header(root)
    studies = []
    for i in range(1, 15):
        row = {"study_id": f"T{i}", "first_author": f"Synthetic{i:02d}", "citation_as_printed": _citation(i)}
        studies.append([row.get(c, "") for c in header])
    _write_csv(root / "extracted" / "studies.csv", header, studies)
    trials = [[f"A{i}", f"T{i}", "clinic" if i % 2 else "home", x, n]
              for i, (x, n) in enumerate(zip(GOLDEN["events"], GOLDEN["total"]), start=1)]
    _write_csv(root / "extracted" / "trials.csv", ["trial_id", "study_id", "setting", "responders", "participants"],
               trials)
    with open(root / "extracted" / "claims.csv", encoding="utf-8", newline="") as handle:
        claims_header = next(csv.reader(handle))
    rows = []
    for claim_id, statement, metric, expected in CLAIMS:
        row = {"claim_id": claim_id, "statement": statement, "metric": metric, "expected": expected}
        rows.append([row.get(c, "") for c in claims_header])
    _write_csv(root / "extracted" / "claims.csv", claims_header, rows)
    return root


@pytest.fixture
def second_review(tmp_path: Path) -> Path:
    return make_second_review(tmp_path)


def _visible_text(html: str) -> str:
    """The page's text as a reader sees it (tags, and the CSS block, left out)."""
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_validate_verify_and_build_pass(second_review, capsys):
    root = str(second_review)
    assert sum(GOLDEN["total"]) == 326 and len(GOLDEN["total"]) == 14  # the claims' stated values
    assert main(["validate", "--root", root]) == 0
    assert main(["verify", "--root", root]) == 0
    out = capsys.readouterr().out
    assert "3 reproduced" in out and "(3 registered statements)" in out  # K3 is metafor's estimate, printed
    assert main(["build", "--root", root]) == 0


def test_the_page_shows_metafors_estimate_every_citation_and_the_declared_table(second_review):
    assert main(["build", "--root", str(second_review)]) == 0
    reports = second_review / "reports"
    analyses = json.loads((reports / "analyses.json").read_text(encoding="utf-8"))
    [outcome] = analyses["outcomes"]
    primary = outcome["primary"]
    assert primary["model"] == "GLMM" and primary["k"] == 14 and primary["pooled"] is True
    # metafor rma.glmm(measure = "PLO"), z-test: the golden file's back-transformed estimate and CI
    assert primary["estimate"] == pytest.approx(GLMM_Z["pred"], abs=1e-4)
    assert primary["ci_lower"] == pytest.approx(GLMM_Z["pred_ci_lb"], abs=1e-4)
    assert primary["ci_upper"] == pytest.approx(GLMM_Z["pred_ci_ub"], abs=1e-4)
    assert outcome["eligible"] == [f"A{i}" for i in range(1, 15)]  # no eligibility: every row pooled

    html = (reports / "review.html").read_text(encoding="utf-8")
    text = _visible_text(html)
    shown = f"{100 * GLMM_Z['pred']:.1f}"
    lower, upper = f"{100 * GLMM_Z['pred_ci_lb']:.1f}", f"{100 * GLMM_Z['pred_ci_ub']:.1f}"
    assert re.search(rf"{re.escape(shown)}\s*%?\s*\(\s*95\s*%\s*CI\s*{re.escape(lower)}", text.replace("&nbsp;", " ")
                     .replace("\u00a0", " ")), "the pooled estimate with its CI is on the page"
    assert upper in text
    for i in range(1, 15):
        assert _citation(i) in text, f"study T{i}'s citation"
    # the declared table: its title, its columns' labels from sheets.toml, its footnote
    table = html[html.index("Trials of the programme"):]
    table = table[:table.index("</table>")]
    for heading in ("Study", "Setting", "Responders", "Participants"):
        assert f">{heading}</th>" in table
    assert table.count("<tr") == 15  # the heading row and 14 trials
    assert "Responders: at least 30 % less neck pain at 12 weeks." in html
    # the forest plot labels its rows by the studies' citations
    assert "Synthetic trial 03 et al." in (reports / "review.html").read_text(encoding="utf-8").split("<svg", 1)[1]
    for word in BUNDLED_WORDS:
        assert word.lower() not in text.lower(), f"the page speaks of the bundled review: {word!r}"


def test_every_declared_sheet_is_in_the_supplementary_files(second_review):
    assert main(["build", "--root", str(second_review)]) == 0
    supplementary = second_review / "reports" / "supplementary"
    with open(supplementary / "sheet_trials.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["Trial", "Study", "Setting", "Responders", "Participants"]
    assert len(rows) == 15
    from openpyxl import load_workbook
    [workbook] = supplementary.glob("*.xlsx")
    names = load_workbook(workbook, read_only=True).sheetnames
    assert any("trials" in n for n in names) and any("studies" in n for n in names)


def test_verify_fails_naming_the_false_claim(second_review, capsys):
    claims = second_review / "extracted" / "claims.csv"
    claims.write_text(claims.read_text(encoding="utf-8").replace("The trials enrolled 326 participants.,"
                                                                 "sum(trials.participants),326",
                                                                 "The trials enrolled 327 participants.,"
                                                                 "sum(trials.participants),327"),
                      encoding="utf-8")
    assert "327" in claims.read_text(encoding="utf-8")
    assert main(["verify", "--root", str(second_review)]) != 0
    captured = capsys.readouterr()
    assert "K2" in captured.out + captured.err
    assert main(["build", "--root", str(second_review)]) != 0
