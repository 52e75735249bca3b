"""reports/analyses.json and the page's synthesis: the plan's primary analysis, labelled honestly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.load import load_review
from evsynth.review.plan import load_plan
from evsynth.review.synthesis import synthesise_all

REPO = Path(__file__).resolve().parents[1]
DOMAINS = {"risk_of_bias", "inconsistency", "imprecision", "indirectness", "publication_bias"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil
    root = tmp_path_factory.mktemp("review")
    shutil.copytree(REPO / "extracted", root / "extracted")
    for name in ("review.toml", "sheets.toml", "analysis.toml"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "versions", root / "versions")
    assert main(["build", "--root", str(root)]) == 0
    return root


def test_analyses_json_has_the_issue_structure(built):
    data = json.loads((built / "reports" / "analyses.json").read_text(encoding="utf-8"))
    plan = load_plan(built)
    assert [o["key"] for o in data["outcomes"]] == [o.key for o in plan.outcomes]
    review = load_review(built)
    all_cohorts = set(review.cohorts["cohort_id"])
    for o in data["outcomes"]:
        assert {"key", "label", "response_criteria", "eligible", "excluded", "primary", "crude", "sensitivity",
                "certainty"} <= set(o)
        # every cohort is either eligible or excluded with a rule
        assert set(o["eligible"]) | {e["cohort"] for e in o["excluded"]} == all_cohorts
        assert not set(o["eligible"]) & {e["cohort"] for e in o["excluded"]}
        assert all(e["rule"] for e in o["excluded"])
        p = o["primary"]
        assert {"model", "k", "events", "total", "estimate", "ci_lower", "ci_upper", "estimand"} <= set(p)
        assert p["k"] == len(o["eligible"])
        assert 0 <= p["ci_lower"] <= p["estimate"] <= p["ci_upper"] <= 1
        c = o["crude"]
        assert (c["events"], c["total"]) == (p["events"], p["total"])
        assert c["estimate"] == pytest.approx(c["events"] / c["total"])
        # the small-k rule: a model gives the headline only from the plan's minimum of studies (never < 3)
        assert p["min_studies_for_model"] == plan.synthesis.min_studies_for_model >= 3
        assert (p["basis"] == "model") == (p["pooled"] and p["k"] >= p["min_studies_for_model"])
        if p["k"] < p["min_studies_for_model"]:
            assert p["basis"] in ("crude", "none") and not p["pooled"]
        if p["basis"] == "crude":
            assert (p["estimate"], p["ci_lower"], p["ci_upper"]) == (c["estimate"], c["ci_lower"], c["ci_upper"])
            assert p["estimand"].startswith("crude proportion") and p["basis_reason"]
        if p["model"] == "GLMM" and p["pooled"]:
            assert "marginal" in o
            if p["basis"] == "model":
                assert "conditional" in p["estimand"]
        for s in o["sensitivity"]:
            assert {"name", "model", "k", "estimate", "ci_lower", "ci_upper"} <= set(s)
        assert o["certainty"]["rating"] in ("high", "moderate", "low", "very low")
        assert set(o["certainty"]["domains"]) == DOMAINS
        for d in o["certainty"]["domains"].values():
            assert d["judgement"] in ("not serious", "serious", "very serious") and d["reason"]


def test_the_bundled_headlines_are_crude_below_the_small_k_rule_and_a_model_from_it(tmp_path):
    import shutil
    from evsynth.review.synthesis import synthesise_all
    from tests.conftest import seed_only
    seed = tmp_path / "seed"  # the 2021 studies: partial response is 5/12 and 7/7 there
    shutil.copytree(REPO / "extracted", seed / "extracted")
    for name in ("review.toml", "sheets.toml", "analysis.toml"):
        shutil.copy2(REPO / name, seed / name)
    seed_only(seed)
    plan = load_plan(seed)
    review = load_review(seed)
    out = synthesise_all(review, plan)
    for s in out.values():
        p = s.primary
        assert not (p.pooled and p.k < plan.synthesis.min_studies_for_model)
    # partial response: 5/12 and 7/7 -> crude 12/19 leads, the GLMM (84 %) is a sensitivity figure
    pr = out["pr"].primary
    assert (pr.k, pr.basis, pr.crude.events, pr.crude.total) == (2, "crude", 12, 19)
    assert pr.headline == pr.crude and pr.model_interval.estimate == pytest.approx(0.843, abs=1e-3)
    assert "above the crude proportion" in out["pr"].model_figures[0].why
    # the same plan with the floor (3): adverse events (k = 3) lead with the model again
    text = (seed / "analysis.toml").read_text(encoding="utf-8").replace("min_studies_for_model = 5",
                                                                         "min_studies_for_model = 3")
    floor = synthesise_all(review, __import__("evsynth.review.plan", fromlist=["parse_plan"]).parse_plan(text))
    assert floor["ae_g3"].primary.basis == "model" and floor["pr"].primary.basis == "crude"


def test_case_reports_are_described_not_pooled_in_the_primary_analysis(built):
    data = {o["key"]: o for o in json.loads((built / "reports" / "analyses.json").read_text(encoding="utf-8"))["outcomes"]}
    pr = data["pr"]
    rules = {e["cohort"]: e["rule"] for e in pr["excluded"]}
    for case_report in ("C18", "C19", "C25", "C26", "C27", "C28"):
        assert rules[case_report].startswith("designs: design = case report")
    assert rules["C22"] == 'response criteria: recist = no (rule: recist in ["yes", "not reported"])'
    assert rules["C17"].startswith("mixed cohorts")
    including = next(s for s in pr["sensitivity"] if s["name"] == "including case reports")
    assert including["k"] == len(pr["eligible"]) + 6
    # the seed's Table 2 names RECIST for no cohort; Puleo 2022 (C29, 2026-12) states RECIST 1.1
    recist = next(s for s in pr["sensitivity"] if s["name"] == "RECIST only")
    assert recist["k"] == 1 and recist["estimate"] == pytest.approx(3 / 6)


def test_no_label_claims_recist_for_non_recist_cohorts(built):
    review = load_review(built)
    recist = dict(zip(review.cohorts["cohort_id"], review.cohorts["recist"]))
    data = json.loads((built / "reports" / "analyses.json").read_text(encoding="utf-8"))
    html = (built / "reports" / "review.html").read_text(encoding="utf-8")
    for o in data["outcomes"]:
        if all(recist[c] == "yes" for c in o["eligible"]) and o["eligible"]:
            continue
        assert not o["response_criteria"].startswith("RECIST")
        assert "RECIST PR" not in html and "RECIST CR" not in html
    section = html[html.index('<section id="synthesis">'):html.index('<section id="appraisal">')]
    # the case series' CTCAE v5 never labels the literature; RECIST 1.1 only where a cohort states it
    assert "CTCAE v5" not in section
    if "RECIST 1.1" not in set(review.cohorts.get("response_criteria", [])):
        assert "RECIST 1.1" not in section


def test_page_headline_is_the_primary_analysis_with_estimand_and_certainty(built):
    html = (built / "reports" / "review.html").read_text(encoding="utf-8")
    data = json.loads((built / "reports" / "analyses.json").read_text(encoding="utf-8"))
    for o in data["outcomes"]:
        article = html[html.index(f'<article id="outcome-{o["key"]}">'):]
        article = article[:article.index("</article>")]
        headline = re.sub(r"<[^>]+>", "", article[article.index('class="headline"'):article.index("</p>")])
        p = o["primary"]
        assert f"k = {p['k']}" in headline and p["estimand"] in headline
        assert f"{100 * p['estimate']:.1f}" in headline
        assert f"certainty of the evidence: {o['certainty']['rating']}" in headline
        if p["basis"] == "model":
            assert f"crude pooled proportion {o['crude']['events']}/{o['crude']['total']}" in article
        elif p["k"] >= 2:  # below the small-k rule: the studies side by side, the model's figures as sensitivity analyses
            assert "The studies side by side" in article and "Why it may mislead" in article
            assert len(o["model_based_sensitivity"]) == (2 if p["model"] == "GLMM" else 1)
            for f in o["model_based_sensitivity"]:
                assert "degree of freedom" in f["why_it_may_mislead"] or "degrees of freedom" in f["why_it_may_mislead"]


def test_page_shows_plan_exclusions_sof_and_appraisal_grid(built):
    html = (built / "reports" / "review.html").read_text(encoding="utf-8")
    # the 2021 version published no pooled estimate: the comparison says they are recomputed
    changes = html[html.index('<section id="changes">'):html.index('<section id="prisma">')]
    assert "recomputed under today&#39;s plan" in changes or "recomputed under today's plan" in changes
    assert "pooled estimates as the 2021 version" not in changes
    # small things: no tool instructions for the reader, the checklist names, the own series' rule
    assert "Run <code>evsynth" not in html and "seriess" not in html
    assert "JBI checklist for case series<" in html and "JBI checklist for case reports<" in html
    assert "never pooled with it" in html and 'id="sof-question"' in html
    # adverse-event grades: CTCAE only where declared (the authors' own series), never on the literature's outcome
    ae = html[html.index('<article id="outcome-ae_g3">'):]
    ae = ae[:ae.index("</article>")]
    assert "CTCAE" not in ae and "as graded by each study" in ae
    assert 'id="methods-as-planned"' in html and "analysis.toml" in html
    assert 'id="sof"' in html and 'id="appraisal_case_series"' in html and 'id="appraisal_case_report"' in html
    assert "designs: design = case report" in html
    # the authors' own series is appraised; the literature is not assessed
    grid = html[html.index('id="appraisal_case_series"'):]
    grid = grid[:grid.index("</table>")]
    assert "light-yes" in grid and "light-not-assessed" in grid
    assert "Studies included in review (n = 18)" not in (built / "reports" / "prisma.svg").read_text(encoding="utf-8")


def test_all_boundary_studies_give_the_crude_proportion():
    review = load_review(REPO)
    plan = load_plan(REPO)
    # four 1/1 case reports: no model, crude 4/4 with its exact CI (not a continuity-corrected estimate)
    from dataclasses import replace
    from evsynth.review.plan import Eligibility, Rule
    from evsynth.sheets.expressions import parse_condition
    pr = plan.outcome("pr")
    only_ptc = replace(pr, primary=replace(pr.primary, eligibility=Eligibility(
        (Rule("designs", parse_condition('design == "case report"')),
         Rule("criteria", parse_condition('recist == "not reported"'))), min_total=1)))
    frame = review.cohorts
    review_ptc = replace(review, frames={**review.frames,
                                          "cohorts": frame[frame["cohort_id"].isin(["C28", "C18", "C19", "C27"])]})
    s = synthesise_all(review_ptc, replace(plan, outcomes=(only_ptc,)))["pr"]
    assert s.primary.result is None and not s.primary.pooled
    assert s.primary.headline.estimate == 1.0 and s.primary.headline.ci_lower == pytest.approx(0.025 ** 0.25, abs=1e-9)
    assert "0 % or 100 %" in s.primary.message


def test_a_plan_at_level_90_shows_90_percent_intervals_everywhere(tmp_path):
    import shutil
    from evsynth.meta.proportions import proportion_ci
    root = tmp_path / "review"
    shutil.copytree(REPO / "extracted", root / "extracted")
    for name in ("review.toml", "sheets.toml"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "versions", root / "versions")
    plan = (REPO / "analysis.toml").read_text(encoding="utf-8")
    assert "level = 0.95" in plan
    (root / "analysis.toml").write_text(plan.replace("level = 0.95", "level = 0.9"), encoding="utf-8")
    assert main(["build", "--root", str(root)]) == 0
    html = (root / "reports" / "review.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", html).replace("\u00a0", " ")
    assert "95 % CI" not in text and "95% CI" not in text and "95 % prediction" not in text
    assert "90 % CI" in text and "90% CI" in text
    # the numbers are 90 % intervals: the crude headline of partial response with its 90 % exact CI
    data = json.loads((root / "reports" / "analyses.json").read_text(encoding="utf-8"))
    pr = next(o for o in data["outcomes"] if o["key"] == "pr")
    assert pr["primary"]["basis"] == "crude" and pr["crude"]["total"] > 0
    ci = proportion_ci(pr["crude"]["events"], pr["crude"]["total"], "CP", 0.9)
    assert (pr["primary"]["ci_lower"], pr["primary"]["ci_upper"]) == pytest.approx((ci.ci_lower, ci.ci_upper), abs=1e-6)
    for name in ("pooled_pr.csv", "case_series_outcomes.csv"):
        header = (root / "reports" / "supplementary" / name).read_text(encoding="utf-8").splitlines()[0]
        assert "90% CI" in header and "95%" not in header


def test_a_model_fitted_to_one_study_says_it_is_that_study(built):
    """metafor fits k = 1 with τ² = 0; the figure is the study's own estimate, and says so."""
    data = json.loads((built / "reports" / "analyses.json").read_text(encoding="utf-8"))
    single = [s for o in data["outcomes"] for s in o["sensitivity"]
              if s["k"] == 1 and s["model"] not in ("GLMM", None) and not (s["note"] or "").startswith("GLMM")]
    assert single, "the bundled review has a one-study sensitivity analysis (second criteria)"
    for s in single:
        assert (s["note"] or "").startswith("one study: "), s
