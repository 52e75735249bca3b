"""Retraction safety in the rendered review: a flagged included study is marked in Table 2,
the forest plots, the supplementary tables and the exports, and every meta-analysis is
repeated without it."""

from __future__ import annotations

import csv

import pytest

from evsynth.cli.main import main
from evsynth.meta.pooling import pool_proportions
from evsynth.report.compute import compute
from evsynth.review.synthesis import PRIMARY, SENSITIVITY

WATCH = ("study,pmid,flag,detail,checked\n"
         "S11,16608897,retracted,RetractionIn: Test J. 2025;1:1 (PMID 99999999),2025-03-01\n")


@pytest.fixture
def flagged(project):
    (project / "extracted" / "retraction-watch.csv").write_text(WATCH, encoding="utf-8")
    return project


def test_flagged_study_is_marked_and_pooled_without(flagged):
    build = compute(flagged)
    table2 = build.tables["table2_literature"].table
    marked = [row[0] for row in table2.rows if "†" in str(row[0])]
    assert marked == ["Fromigué et al. [11]†"]
    assert any(f.startswith("† Flagged by PubMed — Fromigué [11]: RETRACTED: RetractionIn: Test J. 2025;1:1")
               for f in table2.footnotes)
    pr = build.syntheses["pr"]
    assert pr.flagged == ("Fromigué [11]†",)
    assert "Fromigué [11]†" in build.forests["pr"]
    # The sensitivity analysis is the primary model over the other cohorts, recomputed here.
    data = pr.outcome.data[pr.outcome.data["study_id"] != "S11"]
    options = PRIMARY if pr.without_flagged.method == "GLMM" else SENSITIVITY
    expected = pool_proportions(list(data["events"]), list(data["total"]), list(data["study"]), **options)
    assert pr.without_flagged.k == len(data) == (pr.primary or pr.sensitivity).k - 1
    assert pr.without_flagged.pooled.estimate == pytest.approx(expected.pooled.estimate, rel=1e-9)
    rows = [r for r in build.tables["pooled_pr"].table.rows if r[0] == "Sensitivity: flagged studies left out"]
    assert len(rows) == 1 and rows[0][1] == "without Fromigué [11]†" and rows[0][2] == len(data)


def test_page_supplementary_tables_and_exports_carry_the_mark(flagged, capsys):
    assert main(["build", "--root", str(flagged)]) == 0
    html = (flagged / "reports" / "review.html").read_text(encoding="utf-8")
    assert html.count("Sensitivity analysis — flagged studies") == 4  # one per outcome
    assert "Fromigué et al. [11]†" in html
    with open(flagged / "reports" / "supplementary" / "table2_literature.csv", encoding="utf-8") as handle:
        assert any(row and row[0] == "Fromigué et al. [11]†" for row in csv.reader(handle))
    pooled = (flagged / "reports" / "supplementary" / "pooled_pr.csv").read_text(encoding="utf-8")
    assert "Sensitivity: flagged studies left out" in pooled
    out = flagged / "included.bib"
    assert main(["export", "--extracted", str(flagged / "extracted"), "--format", "bibtex",
                 "--out", str(out)]) == 0
    bib = out.read_text(encoding="utf-8")
    entry = bib[bib.index("Fromigu"):]
    entry = entry[:entry.index("\n}\n")]
    assert "note = {RETRACTED: RetractionIn: Test J. 2025;1:1 (PMID 99999999) (retraction watch, 2025-03-01)" in entry
    assert bib.count("RETRACTED") == 1
