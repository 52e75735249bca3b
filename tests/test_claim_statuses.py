"""Claim statuses: reproduced only within the printed precision; approximate; stated in text; regressions."""

from __future__ import annotations

from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.claims import claim_status, claims_summary, verify_claims
from evsynth.review.load import load_review

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("value, expected, comparator, tolerance, stated, status", [
    ([41.7, 45.5], "50", "approx", 0.5, False, "approximate"),   # "nearly 50 %": near, not within 0.5
    ([41.7, 45.5], "50", "approx", 10, False, "reproduced"),     # what a 10-point tolerance used to allow
    ([30.0], "50", "approx", 0.5, False, "differs"),             # not even near
    ([36.4, 41.7], "36-42", "range", 0.5, False, "reproduced"),  # whole percents as printed
    ([36.6, 41.7], "36-42", "range", 0.5, False, "differs"),
    (4, "4", "equal", None, False, "reproduced"),
    (4, "4", "equal", None, True, "stated in text"),
    (3, "4", "equal", None, True, "differs"),
    ([49.6], "50", "approx", 0.5, True, "stated in text"),
])
def test_claim_status(value, expected, comparator, tolerance, stated, status):
    assert claim_status(value, expected, comparator, tolerance, stated) == status


def test_bundled_registry_statuses():
    results = {r.claim_id: r for r in verify_claims(load_review(REPO))}
    assert results["L14"].status == "approximate" and sorted(results["L14"].computed.split("; ")) == ["41.7", "45.5"]
    assert results["C07"].status == "stated in text"       # sex comes only from the Results sentence
    assert results["C27"].status == "stated in text"
    assert results["L33"].status == "reproduced" and results["L33"].computed == "4"   # grade >= 3 in the TACE series
    assert results["C37"].status == "reproduced"            # systemic therapy (TKI) after progression
    assert results["C36"].status == "not derivable"         # time to progression: dates not extracted
    assert not any(r.regression for r in results.values())
    summary = claims_summary(list(results.values()))
    assert sum(summary.values()) == len(results)
    assert summary["approximate"] >= 1 and summary["stated in text"] >= 6


def test_a_stated_claim_that_stops_matching_is_a_regression(project, capsys):
    path = project / "extracted" / "case_adverse_events.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("CAE-3,nausea,1,2,1", "CAE-3,nausea,1,2,2"),
                    encoding="utf-8")
    assert main(["verify", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "C25  differs" in out and "REGRESSION" in out
    assert "registered statements" in out


def test_the_page_says_how_many_statements_are_registered(project):
    assert main(["build", "--root", str(project)]) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    n = len(verify_claims(load_review(project)))
    assert f"The registry holds {n} of the paper's quantitative statements" in html
    assert "does not claim to hold every statement" in html
    assert "stated in text</span>" in html
