"""The review's counts and every registered claim, recomputed from the committed sheets."""

from __future__ import annotations

import pytest

from evsynth.review.claims import claims_summary, compare, verify_claims
from evsynth.review.counts import review_counts
from evsynth.review.load import load_review
from tests.conftest import REPO


@pytest.fixture(scope="module")
def review():
    return load_review(REPO)


@pytest.fixture(scope="module")
def seed_review(tmp_path_factory):
    """The bundled review as its 2021 version (tests.conftest.seed_only)."""
    import shutil
    from tests.conftest import seed_only
    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(REPO / "extracted", root / "extracted")
    for name in ("review.toml", "sheets.toml", "analysis.toml"):
        shutil.copy2(REPO / name, root / name)
    seed_only(root)
    return load_review(root)


def test_current_counts_add_the_2026_12_studies(review):
    lit = review_counts(review)["literature"]
    assert (lit["studies"], lit["cohorts"], lit["patients"]) == (20, 21, 85)
    assert lit["patients_by_histology"] == {"MTC": 76, "PTC": 4, "FTC": 3, "HTC": 1, "PDTC": 1}
    # poorly differentiated carcinoma counts in neither figure: MTC + DTC is one short of the patients
    assert lit["patients_by_group"] == {"MTC": 76, "DTC": 8}
    assert lit["patients_by_lrt"]["TARE"] == 11 and lit["studies_by_lrt"]["TARE"] == 4


def test_literature_counts(seed_review):
    review = seed_review
    lit = review_counts(review)["literature"]
    assert (lit["studies"], lit["cohorts"], lit["patients"]) == (17, 18, 75)
    assert lit["patients_by_histology"] == {"MTC": 68, "PTC": 4, "FTC": 2, "HTC": 1, "PDTC": 0}
    assert lit["patients_by_group"] == {"MTC": 68, "DTC": 7}
    assert sum(lit["patients_by_lrt"].values()) == 75
    # Bergamini's 6 patients are never given an LRT the paper does not assign.
    assert lit["patients_by_lrt"]["unassigned"] == 6
    assert lit["patients_by_lrt_and_histology"]["unassigned"] == {"MTC": 4, "PTC": 2}
    assert lit["patients_by_lrt"]["TAE+PEI"] == 1 and "PEI" not in lit["patients_by_lrt"]
    assert lit["patients_by_lrt"]["RFA"] == 32 and lit["patients_by_lrt"]["TACE"] == 31
    # Wertenbroek's two rows count once as a study under each of its LRT keys.
    assert lit["studies_by_lrt"]["RFA"] == 7 and lit["studies_by_lrt"]["RFA+TAE"] == 1
    assert lit["mixed_cohorts"] == {"cohorts": 6, "studies": 6, "patients": 35}


def test_case_series_counts(review):
    cs = review_counts(review)["case_series"]
    assert (cs["patients"], cs["procedures"]) == (4, 6)
    assert cs["procedures_by_lrt"] == {"TACE": 3, "RFA": 1, "MWA": 1, "MWA+TACE": 1}
    assert cs["procedures_by_response"] == {"PR": 2, "SD": 3, "PD": 1}
    assert cs["adverse_events"]["abdominal pain"] == 3


def test_every_claim_has_its_registered_status(review):
    results = verify_claims(review)
    assert len(results) >= 30
    mismatched = [(r.claim_id, r.status, r.expected_status, r.computed) for r in results
                  if r.status != r.expected_status]
    assert mismatched == []
    # C12 and C13 are not strictly derivable from Table 1 (order of metastatic sites; stability at LRT)
    assert claims_summary(results) == {"reproduced": 48, "approximate": 1, "stated in text": 6, "differs": 0,
                                       "not derivable": 21}


@pytest.mark.parametrize("value,expected,comparator,tolerance,ok", [
    (75, "75", "equal", None, True),
    (74, "75", "equal", None, False),
    (["8", "11", "12", "13"], "8;11-13", "set", None, True),
    (["8", "11", "13"], "8;11-13", "set", None, False),
    ([36.36, 41.67], "36-42", "range", 0.5, True),
    ([35.0, 41.67], "36-42", "range", 0.5, False),
    ([41.7, 45.5], "50", "approx", 10, True),
    ([38.0, 45.5], "50", "approx", 10, False),
    ("TACE/MTC", "TACE/MTC", "equal", None, True),
])
def test_compare(value, expected, comparator, tolerance, ok):
    assert compare(value, expected, comparator, tolerance) is ok


def test_a_changed_sheet_turns_a_claim_into_a_regression(project):
    path = project / "extracted" / "cohorts.csv"
    path.write_text(path.read_text().replace("C13,S13,16,TACE,assigned,not reported,MTC,7,7,",
                                             "C13,S13,16,TACE,assigned,not reported,MTC,8,8,"))
    results = {r.claim_id: r for r in verify_claims(load_review(project))}
    assert results["L02"].status == "differs" and results["L02"].computed == "76"
    assert results["L02"].regression
