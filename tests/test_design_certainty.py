"""Study design rules, the JBI appraisal summary and the GRADE certainty rules on constructed cases."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.appraisal import HIGH, LOW, NOT_ASSESSED, SOME, overall_judgement
from evsynth.review.certainty import Evidence, assess, rate, Domain
from evsynth.review.design import study_design, study_designs
from evsynth.review.load import load_review
from evsynth.review.plan import Override

REPO = Path(__file__).resolve().parents[1]


MIXED = ("case series", "thyroid patients within a mixed series of liver tumours")  # the bundled sheets.toml rule


@pytest.mark.parametrize("declared, matched, n, design, word", [
    ("", None, 1, "case report", "derived"),
    ("", None, 12, "case series", "derived"),
    ("", MIXED, 1, "case series", "mixed series"),   # one thyroid patient inside a large mixed series
    ("cohort", None, 12, "cohort", "declared"),
    ("case series", None, 1, "case series", "declared"),
])
def test_design_rules(declared, matched, n, design, word):
    got, rule = study_design(declared, n, matched)
    assert got == design and word in rule


def test_bundled_designs_and_a_declared_one(project):
    designs = study_designs(load_review(REPO))
    assert designs["S18"].design == "case report" and not designs["S18"].declared
    assert designs["S12"].design == "case series"      # two printed rows, 3 patients
    assert designs["S17"].design == "case series"      # mixed cohort, 1 thyroid patient
    # 7 derived in the seed's studies, 2 declared by the 2026-12 ones (Kim 2022, Herchuelz 2020)
    assert sum(d.design == "case report" for d in designs.values()) == 9
    path = project / "extracted" / "studies.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line.replace("Grozinsky-Glasberg et al.,,,,,,,yes,,", "Grozinsky-Glasberg et al.,,,,,,,yes,cohort,")
             for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    designs = study_designs(load_review(project))
    assert designs["S13"].design == "cohort" and designs["S13"].declared


@pytest.mark.parametrize("answers, expected", [
    (["not assessed"] * 8, NOT_ASSESSED),
    (["yes"] * 9 + ["not applicable"], LOW),
    (["yes"] * 9 + ["unclear"], SOME),
    (["yes"] * 8 + ["no", "no"], HIGH),
    (["yes"] * 9 + ["not assessed"], SOME),
])
def test_appraisal_traffic_light(answers, expected):
    assert overall_judgement(answers) == expected


def _evidence(**kw) -> Evidence:
    base = dict(k=6, events=300, total=600, ci_lower=0.46, ci_upper=0.54, pi_lower=0.40, pi_upper=0.60, i2=20.0,
                appraisal=(("S1", 300, LOW), ("S2", 300, LOW)), histologies=("MTC",) * 6, lrts=("TACE",) * 6,
                studies_reporting=6, case_reports=0, tau2=0.05, study_sizes=(100,) * 6,
                study_cis=((0.4, 0.6),) * 6, covered=(("histology", ("MTC",), ("MTC",) * 6), ("lrt", ("TACE",), ("TACE",) * 6)))
    base.update(kw)
    return Evidence(**base)


def test_clean_evidence_stays_at_the_start_low():
    c = assess(_evidence())
    assert all(d.judgement == "not serious" for d in c.domains.values()), c.domains
    assert c.rating == "low" and c.start == "low"


APART = ((0.05, 0.2), (0.5, 0.7), (0.4, 0.6), (0.4, 0.6), (0.4, 0.6), (0.4, 0.6))


@pytest.mark.parametrize("changes, domain, judgement", [
    (dict(i2=55.0), "inconsistency", "serious"),
    (dict(i2=80.0, study_cis=APART), "inconsistency", "very serious"),
    (dict(i2=80.0), "inconsistency", "serious"),                                  # CIs overlap: not very serious
    (dict(i2=10.0, study_cis=APART), "inconsistency", "serious"),                 # CIs do not overlap
    (dict(i2=10.0, pi_lower=0.2, pi_upper=0.75), "inconsistency", "serious"),     # PI 55 points wide, tau2 > 0
    (dict(tau2=0.0, i2=0.0, pi_lower=0.05, pi_upper=0.95), "inconsistency", "not serious"),  # tau2 = 0: PI = CI
    (dict(k=2, tau2=0.0, i2=0.0, pi_lower=0.0, pi_upper=1.0), "inconsistency", "not serious"),
    (dict(k=1, i2=math.nan, pi_lower=math.nan, pi_upper=math.nan), "inconsistency", "not serious"),
    (dict(ci_lower=0.3, ci_upper=0.6), "imprecision", "serious"),                 # 30 points
    (dict(ci_lower=0.1, ci_upper=0.6), "imprecision", "very serious"),            # 50 points
    (dict(events=4, total=600), "imprecision", "very serious"),                   # rare events
    (dict(events=596, total=600), "imprecision", "very serious"),                 # rare non-events
    (dict(events=40, total=80), "imprecision", "serious"),                        # < 100 patients
    # indirectness: the question against what was pooled, never the mix within it
    (dict(covered=(("histology", ("MTC", "PTC"), ("MTC", "PTC")),)), "indirectness", "not serious"),  # a mix
    (dict(covered=(("histology", ("MTC", "PTC"), ("MTC",) * 6),)), "indirectness", "serious"),  # PTC missing
    (dict(covered=(("lrt", ("TACE", "RFA"), ("TACE",) * 6),)), "indirectness", "serious"),      # RFA missing
    (dict(covered=(("lrt", ("TACE", "RFA"), ("TACE+RFA",)),)), "indirectness", "not serious"),  # given together
    (dict(surrogate="tumour response is a surrogate"), "indirectness", "serious"),
    (dict(surrogate="x", covered=(("lrt", ("TACE", "RFA"), ("TACE",)),)), "indirectness", "very serious"),
    # publication bias: the studies in the estimate, whatever case reports the review also holds
    (dict(study_sizes=(12, 7)), "publication_bias", "serious"),
    (dict(studies_reporting=8, case_reports=6), "publication_bias", "not serious"),
    (dict(appraisal=(("S1", 300, NOT_ASSESSED), ("S2", 300, LOW))), "risk_of_bias", "serious"),
    (dict(appraisal=(("S1", 400, HIGH), ("S2", 200, LOW))), "risk_of_bias", "very serious"),
    (dict(appraisal=(("S1", 200, HIGH), ("S2", 400, LOW))), "risk_of_bias", "serious"),
])
def test_each_rule_on_a_constructed_case(changes, domain, judgement):
    c = assess(_evidence(**changes))
    assert c.domains[domain].judgement == judgement, c.domains[domain]
    others = [d for name, d in c.domains.items() if name != domain]
    assert all(d.judgement == "not serious" for d in others)
    expected = {"not serious": "low", "serious": "very low", "very serious": "very low"}[judgement]
    assert c.rating == expected


def test_no_prediction_interval_below_three_studies_and_no_control_group_counted_twice():
    c = assess(_evidence(k=2, i2=80.0, tau2=4.9, pi_lower=0.01, pi_upper=0.99, study_cis=((0.15, 0.72), (0.59, 1.0)),
                         appraisal=(("S1", 12, NOT_ASSESSED), ("S2", 7, NOT_ASSESSED))))
    assert "no prediction interval" in c.domains["inconsistency"].reason
    assert "1 degree of freedom" in c.domains["inconsistency"].reason
    assert "control group" not in c.domains["risk_of_bias"].reason


def test_rating_arithmetic_and_floor():
    ok = Domain("not serious", "")
    assert rate({"a": ok}, "high") == "high"
    assert rate({"a": Domain("serious", ""), "b": ok}, "high") == "moderate"
    assert rate({"a": Domain("very serious", ""), "b": Domain("serious", "")}, "high") == "very low"
    assert rate({"a": Domain("very serious", ""), "b": Domain("very serious", "")}, "low") == "very low"


def test_a_reviewer_override_replaces_the_rule_and_shows_its_reason():
    c = assess(_evidence(i2=80.0, pi_lower=0.1, pi_upper=0.9),
               {"inconsistency": Override("not serious", "the spread is explained by dose")})
    d = c.domains["inconsistency"]
    assert d.judgement == "not serious" and d.overridden and "explained by dose" in d.reason
    assert c.rating == "low"


def test_an_override_in_the_plan_reaches_the_report(project):
    path = project / "analysis.toml"
    text = path.read_text(encoding="utf-8").replace(
        '\n[[outcome]]\nsheet = "cohorts"\nkey = "orr"',
        '\n[outcome.certainty.publication_bias]\njudgement = "very serious"\n'
        'reason = "series reported only when TACE worked"\n\n[[outcome]]\nsheet = "cohorts"\nkey = "orr"', 1)
    path.write_text(text, encoding="utf-8")
    assert main(["build", "--root", str(project)]) == 0
    import json
    data = json.loads((project / "reports" / "analyses.json").read_text(encoding="utf-8"))
    pr = data["outcomes"][0]["certainty"]["domains"]["publication_bias"]
    assert pr == {"judgement": "very serious", "reason": "reviewer: series reported only when TACE worked",
                  "overridden": True}
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    assert "reviewer: series reported only when TACE worked" in html
