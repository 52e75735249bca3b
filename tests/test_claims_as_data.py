"""Claims as data: a claim's metric is an expression over the sheets (evsynth.review.claims)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.claims import (claim_status, claims_summary, compare, format_value, printed_precision,
                                   verify_claims)
from evsynth.review.load import load_review, validate
from evsynth.review.plan import load_plan
from evsynth.review.synthesis import run_analysis
from evsynth.review.design import study_designs

SRC = Path(__file__).resolve().parents[1] / "src" / "evsynth"

TRIALS = """
[sheets.trials]
description = "One row per trial arm: events among patients."
id = "trial_id"
columns = [
  { name = "trial_id", required = true },
  { name = "study_id", required = true, ref = "studies.study_id" },
  { name = "events", type = "int", min = 0 },
  { name = "total", type = "int", min = 1 },
]
"""
CLAIMS_HEADER = "claim_id,section,statement,metric,expected,comparator,tolerance,expected_status,why\n"
THREE_CLAIMS = ('K1,Abstract,three studies,count(studies),3,,,,\n'
                'K2,Abstract,57 patients,sum(trials.total),57,,,,\n'
                'K3,Results,crude event rate 29.8%,100 * sum(trials.events) / sum(trials.total),29.8,,,,\n')


@pytest.fixture
def second_review(tmp_path: Path) -> Path:
    """A review in another field, from the blank template: one sheet of counts and three claims."""
    root = tmp_path / "second"
    assert main(["init", str(root), "--template", "blank"]) == 0
    with open(root / "sheets.toml", "a", encoding="utf-8") as f:
        f.write(TRIALS)
    header = (root / "extracted" / "studies.csv").read_text(encoding="utf-8")
    blanks = "," * (header.count(",") - 3)
    (root / "extracted" / "studies.csv").write_text(
        header + "".join(f"S{i},,{a},{a} et al.{blanks}\n" for i, a in enumerate(("Rossi", "Bianchi", "Verdi"), 1)),
        encoding="utf-8")
    (root / "extracted" / "trials.csv").write_text(
        "trial_id,study_id,events,total\nT1,S1,4,20\nT2,S2,10,25\nT3,S3,3,12\n", encoding="utf-8")
    (root / "extracted" / "claims.csv").write_text(CLAIMS_HEADER + THREE_CLAIMS, encoding="utf-8")
    return root


def test_the_blank_template_ships_a_header_only_registry_and_verify_says_so(tmp_path, capsys):
    root = tmp_path / "blank"
    assert main(["init", str(root), "--template", "blank"]) == 0
    header = (root / "extracted" / "claims.csv").read_text(encoding="utf-8")
    assert header.splitlines() == ["claim_id,section,statement,metric,expected,comparator,tolerance,"
                                   "expected_status,why,version"]
    capsys.readouterr()
    assert main(["verify", "--root", str(root)]) == 0
    assert capsys.readouterr().out == "no claims registered (claims.csv has no rows)\n"


def test_a_project_that_declares_no_claims_sheet_has_none_registered(tmp_path, capsys):
    root = tmp_path / "blank"
    assert main(["init", str(root), "--template", "blank"]) == 0
    spec = (root / "sheets.toml").read_text(encoding="utf-8")
    (root / "sheets.toml").write_text(spec[:spec.index("[sheets.claims]")], encoding="utf-8")
    (root / "extracted" / "claims.csv").unlink()
    capsys.readouterr()
    assert main(["verify", "--root", str(root)]) == 0
    assert capsys.readouterr().out == "no claims registered (sheets.toml declares no claims sheet)\n"
    assert verify_claims(load_review(root)) == []


def test_a_second_review_verifies_its_claims_and_names_a_false_one(second_review, capsys):
    assert validate(second_review) == []
    capsys.readouterr()
    assert main(["verify", "--root", str(second_review), "--all"]) == 0
    out = capsys.readouterr().out
    assert "K3   reproduced    crude event rate 29.8% (paper 29.8, sheets 29.8)" in out
    assert "3 reproduced, 0 approximate, 0 stated in text, 0 differ, 0 not derivable (3 registered statements)" in out
    path = second_review / "extracted" / "claims.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",57,", ",58,"), encoding="utf-8")
    assert main(["verify", "--root", str(second_review)]) == 1
    captured = capsys.readouterr()
    assert "K2   differs       57 patients (paper 58, sheets 57)  REGRESSION" in captured.out
    assert captured.err.strip() == ("evsynth verify: 1 claim(s) no longer as registered: "
                                    "K2 (claims.csv row 3: registered reproduced, now differs)")


@pytest.mark.parametrize("metric, message", [
    ("sum(trials.patients)", "metric: unknown column 'patients' of 'trials' (at character 5)"),
    ("count(trials where events = 3)", "metric: unexpected character '=' (use '==' to compare) (at character 27)"),
    ("count(arms)", "metric: no sheet named 'arms' (sheets: studies, claims, trials) (at character 7)"),
    ("sum(trials.study_id)", "metric: sum(...) adds numbers, not a text (at character 5)"),
    ("pooled(orr)", "metric: no outcome 'orr' in the analysis plan (outcomes: none) (at character 1)"),
    ("", "metric: a derivable claim needs a metric (an expression over the sheets), or expected_status "
         "'not derivable' with why"),
])
def test_validate_names_the_row_and_column_of_a_bad_metric(second_review, capsys, metric, message):
    path = second_review / "extracted" / "claims.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[2][3] = metric
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    assert [str(p) for p in validate(second_review)] == [f"extracted/claims.csv:3:{message}"]
    capsys.readouterr()
    assert main(["validate", "--root", str(second_review)]) == 1
    assert f"extracted/claims.csv:3:{message}" in capsys.readouterr().out


@pytest.mark.parametrize("row, problem", [
    ("K4,s,x,count(studies),3,,,maybe,", "5:expected_status: 'maybe' must be one of: reproduced, "
                                         "approximate, stated in text, differs, not derivable"),
    ("K4,s,x,count(studies),3-4,sometimes,,,", "5:comparator: 'sometimes' must be one of: equal, set, range, approx"),
    ("K4,s,x,count(studies),3 to 4,range,,,", "5:expected: a range is written low-high (e.g. 36-42), not '3 to 4'"),
    ("K4,s,x,count(studies),about 3,approx,,,", "5:expected: 'approx' compares with one number, not 'about 3'"),
    ("K4,s,x,count(studies),,,,,", "5:expected: a derivable claim needs the value the paper states"),
    ("K4,s,x,count(studies),3,,,not derivable,dates missing",
     "5:metric: a claim registered as not derivable has no metric: clear it, or register the status the metric gives"),
])
def test_validate_checks_every_part_of_a_claim(second_review, row, problem):
    path = second_review / "extracted" / "claims.csv"
    path.write_text(path.read_text(encoding="utf-8") + row + "\n", encoding="utf-8")
    assert [str(p) for p in validate(second_review)] == [f"extracted/claims.csv:{problem}"]


def test_a_claims_sheet_needs_the_four_required_columns(second_review):
    spec = (second_review / "sheets.toml").read_text(encoding="utf-8")
    spec = re.sub(r'\n  \{ name = "metric"[^\n]*', "", spec)
    (second_review / "sheets.toml").write_text(spec, encoding="utf-8")
    path = second_review / "extracted" / "claims.csv"
    rows = [r[:3] + r[4:] for r in csv.reader(path.open(encoding="utf-8", newline=""))]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    assert [str(p) for p in validate(second_review)] == [
        "extracted/claims.csv:1:metric: a claims sheet needs this column (declare it in sheets.toml)"]


def test_a_metric_that_cannot_be_computed_is_not_derivable_and_a_regression(second_review):
    (second_review / "extracted" / "trials.csv").write_text(
        "trial_id,study_id,events,total\nT1,S1,4,20\nT2,S2,,25\nT3,S3,3,12\n", encoding="utf-8")
    results = {r.claim_id: r for r in verify_claims(load_review(second_review))}
    k3 = results["K3"]
    assert k3.status == "not derivable" and k3.regression and k3.computed == ""
    assert k3.why == ("cannot compute: sum(...): the value is empty in row 3 of 'trials' (leave such rows out: "
                      "where COLUMN is not empty) (at character 11)")


def test_pooled_figures_in_a_claim_come_from_the_plans_primary_analysis(project):
    review = load_review(project)
    plan = load_plan(project, review.sheets)
    analysis = run_analysis(review, plan.outcome("pr"), plan.outcome("pr").primary, study_designs(review))
    assert analysis.fitted  # pooled() is the model's estimate, headline or not (the small-k rule)
    estimate = 100 * analysis.result.pooled.estimate
    upper = 100 * analysis.result.pooled.ci_upper
    path = project / "extracted" / "claims.csv"
    path.write_text(path.read_text(encoding="utf-8")
                    + f"P01,Pooled,PR rate,pooled(pr),{estimate:.1f},,,reproduced,\n"
                    + f"P02,Pooled,upper limit,pooled(pr).ci_upper,{upper:.0f},,,reproduced,\n"
                    + f"P03,Pooled,studies pooled,k(pr),{analysis.k},,,reproduced,\n"
                    + f"P04,Pooled,crude,crude(pr),{100 * analysis.crude.estimate + 0.2:.1f},,,reproduced,\n",
                    encoding="utf-8")
    assert validate(project) == []
    review = load_review(project)
    results = {r.claim_id: r for r in verify_claims(review)}
    assert [results[c].status for c in ("P01", "P02", "P03")] == ["reproduced"] * 3
    assert results["P01"].computed == f"{estimate:.1f}" and results["P03"].computed == str(analysis.k)
    assert results["P04"].status == "differs"        # 0.2 points off a value printed to 0.1
    # the same figures when the build passes the analyses it already ran
    given = {r.claim_id: (r.status, r.computed) for r in verify_claims(review, primary={"pr": analysis})}
    assert given == {r.claim_id: (r.status, r.computed) for r in results.values()}
    path.write_text(path.read_text(encoding="utf-8") + "P05,Pooled,x,pooled(nope),1,,,reproduced,\n",
                    encoding="utf-8")
    problems = [str(p) for p in validate(project)]
    assert len(problems) == 1 and problems[0].endswith(
        ":metric: no outcome 'nope' in the analysis plan (outcomes: pr, orr, dcr, ae_g3) (at character 1)")


@pytest.mark.parametrize("value, expected, comparator, tolerance, ok", [
    (75, "75", "", None, True),
    (74, "75", None, None, False),
    (74.6, "75", "", None, True),                 # within the printed precision (0.5)
    (74.4, "75", "", None, False),
    (41.66, "41.7", "", None, True),              # printed to 0.1: within 0.05
    (41.6, "41.7", "", None, False),
    (41.6, "41.7", "", 0.2, True),                # an explicit tolerance
    (frozenset({8, 11, 12, 13}), "8;11-13", "", None, True),   # a set equals a set, whatever the comparator
    (frozenset({8, 11, 13}), "8;11-13", "set", None, False),
    (("8", "11", "12", "13"), "8;11-13", "set", None, True),
    ((36.36, 41.67), "36-42", "range", None, True),
    ((35.0, 41.67), "36-42", "range", None, False),
    ((41.7, 45.5), "50", "approx", 10, True),
    ((38.0, 45.5), "50", "approx", 10, False),
    (("TACE", "MTC"), "TACE; MTC", "", None, True),  # a list: the same items in order
    (frozenset({("ILP", "FTC", 170.0), ("TARE", "PTC", 45.0)}), "TARE/PTC/45;ILP/FTC/170", "set", None, True),
    ("TACE/MTC", "TACE/MTC", "equal", None, True),
    (True, "true", "", None, True),
    (3, "3-4", "range", None, False),
    ("x", "1-2", "range", None, False),
])
def test_compare(value, expected, comparator, tolerance, ok):
    assert compare(value, expected, comparator, tolerance) is ok


def test_statuses_printed_precision_and_formatting():
    assert printed_precision("42") == 0.5 and printed_precision("41.7") == pytest.approx(0.05)
    assert printed_precision("3.25-18.3") == pytest.approx(0.005)
    assert claim_status((41.7, 45.5), "50", "approx", None) == "approximate"
    assert claim_status((30.0,), "50", "approx", None) == "differs"
    assert claim_status(4, "4", "", None, stated_in_text=True) == "stated in text"
    assert format_value(frozenset({22, 8, 13})) == "8; 13; 22"
    assert format_value(frozenset({("MWA", "HTC", 21.0)})) == "MWA/HTC/21"
    assert format_value((45.4545, 41.666)) == "45.5; 41.7"
    assert format_value(None) == "" and format_value(False) == "false"


def test_the_bundled_registry_keeps_its_statuses_except_c12_and_c13():
    results = {r.claim_id: r for r in verify_claims(load_review(Path(__file__).resolve().parents[1]))}
    assert len(results) == 76 and not any(r.regression for r in results.values())
    assert results["C12"].status == results["C13"].status == "not derivable"
    assert "not strictly derivable" in results["C12"].why and "order" in results["C12"].why
    assert "stable" in results["C13"].why
    assert claims_summary(list(results.values()))["reproduced"] == 48
    # every derivable claim is an expression of the language; no named computations remain
    assert all("(" in r.metric for r in results.values() if r.status != "not derivable")


def test_the_claims_engine_holds_nothing_of_one_review():
    words = re.compile(r"thyroid|medullary|\bMTC\b|\bDTC\b|TACE|RECIST|CTCAE|liver|\blit\.|\bcs\.", re.I)
    for relative in ("review/claims.py", "review/context.py", "sheets/expressions.py", "cli/commands/verify.py"):
        text = (SRC / relative).read_text(encoding="utf-8")
        assert not words.search(text), (relative, words.search(text))


def test_the_claims_page_quotes_metrics_of_the_bundled_registry():
    repo = Path(__file__).resolve().parents[1]
    text = (repo / "docs" / "claims.md").read_text(encoding="utf-8")
    quoted = re.findall(r"^\| [^|]+ \| ([A-Z]\d\d) [^|]+ \| `(.+)` \|$", text.split("<!-- metrics")[1], re.M)
    with (repo / "extracted" / "claims.csv").open(encoding="utf-8", newline="") as f:
        metrics = {r["claim_id"]: r["metric"] for r in csv.DictReader(f)}
    assert len(quoted) >= 12
    for claim_id, metric in quoted:
        assert metrics[claim_id] == metric, claim_id
