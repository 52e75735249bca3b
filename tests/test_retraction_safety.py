"""Retraction safety in the rendered review: a flagged included study is marked in Table 2,
the forest plots, the supplementary tables and the exports, and every meta-analysis is
repeated without it."""

from __future__ import annotations

import csv

import pytest

from evsynth.cli.main import main
from evsynth.meta.pooling import pool_proportions
from evsynth.report.compute import compute
from evsynth.review.synthesis import WITHOUT_FLAGGED

WATCH = ("study,pmid,flag,detail,checked\n"
         "S11,16608897,retracted,RetractionIn: Test J. 2025;1:1 (PMID 99999999),2025-03-01\n")


@pytest.fixture
def flagged(project):
    (project / "extracted" / "retraction-watch.csv").write_text(WATCH, encoding="utf-8")
    return project


def test_flagged_study_is_marked_and_pooled_without(flagged):
    build = compute(flagged)
    table2 = build.tables["table2_literature"].table
    assert [row[0] for row in table2.rows if "†" in str(row[0])] == ["Fromigué et al.† [11]"]
    assert any(f.startswith("† Flagged by PubMed — Fromigué [11]: RETRACTED: RetractionIn: Test J. 2025;1:1")
               for f in table2.footnotes)
    assert any(s.flagged for s in build.syntheses.values()), "S11 is pooled in some primary analysis"
    for s in build.syntheses.values():
        ids = s.primary.data.cohort_ids
        frame = s.primary.data.data
        in_primary = any(study == "Fromigué et al.† [11]" for study in frame["study"])
        assert bool(s.flagged) == in_primary, s.key
        if not in_primary:
            assert s.without_flagged is None
            continue
        assert s.flagged == ("Fromigué et al.† [11]",)
        fa = s.without_flagged
        assert fa.spec.name == WITHOUT_FLAGGED and fa.k == len(ids) - 1
        assert "Fromigué et al.† [11]" not in list(fa.data.data["study"])
        if fa.pooled:  # the same model over the other cohorts, recomputed here
            kept = frame[frame["study"] != "Fromigué et al.† [11]"]
            expected = pool_proportions([int(x) for x in kept["events"]], [int(n) for n in kept["total"]],
                                        list(kept["study"]), **fa.spec.model.options())
            assert fa.result.pooled.estimate == pytest.approx(expected.pooled.estimate, rel=1e-9)
        if s.primary.pooled:
            assert "Fromigué et al.† [11]" in build.forests[s.key]
        rows = [r for r in build.tables[f"pooled_{s.key}"].table.rows
                if r[0] == f"Sensitivity: {WITHOUT_FLAGGED}"]
        assert len(rows) == 1


def test_page_supplementary_tables_and_exports_carry_the_mark(flagged, capsys):
    assert main(["build", "--root", str(flagged)]) == 0
    html = (flagged / "reports" / "review.html").read_text(encoding="utf-8")
    assert "Sensitivity analysis — flagged studies († retracted or expression of concern: Fromigué et al.† [11])" in html
    assert "Fromigué et al.† [11]" in html
    with open(flagged / "reports" / "supplementary" / "table2_literature.csv", encoding="utf-8") as handle:
        assert any(row and row[0] == "Fromigué et al.† [11]" for row in csv.reader(handle))
    pooled = "".join(p.read_text(encoding="utf-8")
                     for p in (flagged / "reports" / "supplementary").glob("pooled_*.csv"))
    assert f"Sensitivity: {WITHOUT_FLAGGED}" in pooled
    out = flagged / "included.bib"
    assert main(["export", "--root", str(flagged), "--format", "bibtex",
                 "--out", str(out)]) == 0
    bib = out.read_text(encoding="utf-8")
    entry = bib[bib.index("Fromigu"):]
    entry = entry[:entry.index("\n}\n")]
    assert "note = {RETRACTED: RetractionIn: Test J. 2025;1:1 (PMID 99999999) (retraction watch, 2025-03-01)" in entry
    assert bib.count("RETRACTED") == 1
