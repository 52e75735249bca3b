"""The analysis plan (analysis.toml): parsing, one-line errors with line numbers, and validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.plan import PlanError, key_lines, load_plan, parse_plan
from evsynth.sheets.spec import load_sheet_set

REPO = Path(__file__).resolve().parents[1]
SHEETS = load_sheet_set(REPO / "sheets.toml")

MINIMAL = """\
[defaults.primary]
method = "GLMM"

[[outcome]]
key = "pr"
label = "Partial response"
sheet = "cohorts"
events = ["resp_pr"]
denominator = ["resp_cr", "resp_pr", "resp_sd", "resp_pd"]
"""


def test_the_bundled_plan_parses_with_its_choices():
    plan = load_plan(REPO, SHEETS)
    assert [o.key for o in plan.outcomes] == ["pr", "orr", "dcr", "ae_g3", "orr_second_criteria"]
    # a study's second response criteria (mRECIST beside RECIST 1.1) are a sensitivity outcome
    second = plan.outcome("orr_second_criteria")
    assert second.events.columns == ("second_cr", "second_pr") and "sensitivity analysis" in second.label
    pr = plan.outcome("pr")
    assert pr.primary.model.method == "GLMM" and pr.primary.model.measure == "PLO"
    assert pr.sheet == "cohorts"
    assert pr.primary.eligibility.rule("designs").text == 'design in ["case series", "cohort"]'
    assert pr.primary.eligibility.rule("response criteria").text == 'recist in ["yes", "not reported"]'
    assert pr.primary.eligibility.min_total == 2
    names = [s.name for s in pr.sensitivity]
    assert {"including case reports", "REML instead of GLMM", "RECIST only"} <= set(names)
    reml = next(s for s in pr.sensitivity if s.name == "REML instead of GLMM")
    assert reml.model.method == "REML" and reml.eligibility == pr.primary.eligibility
    # adverse events: response-criteria rules and the analyses that only change them do not apply
    ae = plan.outcome("ae_g3")
    assert ae.events.expression is not None and "ctcae_grade_min >= 3" in ae.events.text()
    assert ae.primary.eligibility.rule("response criteria") is None
    assert "RECIST only" not in [s.name for s in ae.sensitivity]
    assert [m.why for m in ae.missing][0] == "adverse events not reported"
    # sums are bracketed so the fraction reads as meant
    assert pr.definition() == "resp_pr / (resp_cr + resp_pr + resp_sd + resp_pd) (cohorts rows)"
    assert plan.outcome("orr").definition() == \
        "(resp_cr + resp_pr) / (resp_cr + resp_pr + resp_sd + resp_pd) (cohorts rows)"
    assert ae.definition().endswith(" / n_patients (cohorts rows)")


def test_the_small_k_rule_is_read_with_its_reason_and_defaults_to_the_floor():
    plan = load_plan(REPO, SHEETS)
    rule = plan.synthesis
    assert rule.min_studies_for_model >= 3 and rule.reason and rule.line > 0
    assert all(o.primary.min_studies == rule.min_studies_for_model for o in plan.outcomes)
    # sensitivity analyses report their model at any k (flagged on the page when below the rule)
    assert all(s.min_studies == 1 for o in plan.outcomes for s in o.sensitivity)
    default = parse_plan(MINIMAL, sheets=SHEETS)
    assert default.synthesis.min_studies_for_model == 3
    assert default.outcome("pr").primary.min_studies == 3


def test_validate_refuses_glmm_with_knha_naming_the_line(project, capsys):
    path = project / "analysis.toml"
    text = path.read_text(encoding="utf-8").replace('test = "z"', 'test = "knha"')
    path.write_text(text, encoding="utf-8")
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("analysis.toml:") and 'test = "knha" with method = "GLMM"' in out[0]
    line = int(out[0].split(":")[1])
    assert text.splitlines()[line - 1] == 'test = "knha"'


def test_key_lines_resolve_arrays_of_tables():
    text = MINIMAL + '\n[[outcome]]\nkey = "orr"\n[outcome.primary]\nmethod = "REML"\n'
    lines = key_lines(text)
    assert lines[("outcome", 0, "key")] == 5
    assert lines[("outcome", 1)] == 11
    assert lines[("outcome", 1, "primary", "method")] == 14


@pytest.mark.parametrize("edit, line, words", [
    (('method = "GLMM"', 'method = "GLM"'), 2, "unknown method 'GLM'"),
    (('events = ["resp_pr"]', 'events = ["resp_prr"]'), 8, "unknown column 'resp_prr'"),
    (('events = ["resp_pr"]', 'events = ["histology"]'), 8, "not a count (int) column"),
    (('sheet = "cohorts"', 'sheet = "arms"'), 7, "unknown sheet 'arms'"),
    (('events = ["resp_pr"]', 'events = "sum(adverse_events.patients where cohort_id == cohorts.cohort_id"'), 8,
     "events:"),
    (('key = "pr"', 'key = "PR x"'), 5, "use lower-case"),
    (('label = "Partial response"\n', ''), 4, "needs 'label'"),
    (('[defaults.primary]', '[defaults.primary]\nmeasure = "PFT"'), 2, "measure must be PLO"),
    (('denominator', 'denominater'), 9, "unknown key 'denominater'"),
    (('method = "GLMM"', 'method = "GLMM"\nlevel = 1.5'), 3, "level must be a number between 0 and 1"),
    (('method = "GLMM"', 'method = GLMM'), 2, "not valid TOML"),
    (('method = "GLMM"', 'method = "GLMM"\ntest = "knha"'), 3, 'test = "knha" with method = "GLMM"'),
    (('[defaults.primary]', '[synthesis]\nmin_studies_for_model = 2\nreason = "x"\n[defaults.primary]'), 2,
     "min_studies_for_model must be a whole number >= 3"),
    (('[defaults.primary]', '[synthesis]\nmin_studies_for_model = 4\n[defaults.primary]'), 2,
     "min_studies_for_model needs a reason"),
    (('[defaults.primary]', '[synthesis]\nmin_k = 4\n[defaults.primary]'), 2, "unknown key 'min_k'"),
])
def test_a_bad_plan_is_one_line_naming_file_and_line(edit, line, words):
    text = MINIMAL.replace(*edit)
    with pytest.raises(PlanError) as info:
        parse_plan(text, sheets=SHEETS)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"analysis.toml:{line}: "), message
    assert words in message


@pytest.mark.parametrize("extra, line, words", [
    ('[[outcome.sensitivity]]\nname = "same"\n', 10, "changes nothing"),
    ('[[outcome.sensitivity]]\nmethod = "REML"\n', 10, "needs a name"),
    ('[outcome.eligibility]\ndesigns = \'design in ["trial"]\'\n', 11, "'trial' is not a value of design"),
    ('[outcome.eligibility]\ncriteria = \'recist == "maybe"\'\n', 11, "eligibility rule 'criteria'"),
    ('[outcome.eligibility]\ncriteria = \'recist ==\'\n', 11, "eligibility rule 'criteria'"),
    ('[outcome.certainty.imprecision]\njudgement = "serious"\n', 10, "needs a reason"),
    ('[outcome.certainty.bias]\njudgement = "serious"\nreason = "x"\n', 10, "unknown certainty domain"),
    ('subgroups = ["colour"]\n', 10, "unknown column 'colour'"),
    ('[[outcome]]\nkey = "pr"\nlabel = "x"\nsheet = "cohorts"\nevents = ["resp_pr"]\ndenominator = ["n_patients"]\n',
     11, "also used on line 5"),
])
def test_bad_outcome_sections_name_their_line(extra, line, words):
    with pytest.raises(PlanError) as info:
        parse_plan(MINIMAL + extra, sheets=SHEETS)
    assert str(info.value).startswith(f"analysis.toml:{line}: "), str(info.value)
    assert words in str(info.value)


def test_override_and_sensitivity_are_read():
    plan = parse_plan(MINIMAL + '[[outcome.sensitivity]]\nname = "DL"\nmethod = "DL"\n'
                      '[outcome.certainty.imprecision]\njudgement = "serious"\nreason = "the reviewer says so"\n')
    o = plan.outcome("pr")
    assert o.sensitivity[0].model.method == "DL"
    assert o.certainty["imprecision"].judgement == "serious"
    assert o.certainty["imprecision"].reason == "the reviewer says so"


def test_validate_reports_plan_problems_with_their_line(project, capsys):
    path = project / "analysis.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('method = "REML"', 'method = "RMLE"'), encoding="utf-8")
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("analysis.toml:") and "unknown method 'RMLE'" in out[0]
    line = int(out[0].split(":")[1])
    assert 'method = "RMLE"' in path.read_text(encoding="utf-8").splitlines()[line - 1]


def test_validate_flags_an_outcome_with_no_eligible_cohort(project, capsys):
    # the appended table belongs to the plan's last outcome
    path = project / "analysis.toml"
    text = path.read_text(encoding="utf-8").replace("[outcome.eligibility]\n", "[outcome.eligibility]\nmin_total = 500\n")
    path.write_text(text, encoding="utf-8")
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "outcome 'ae_g3': no row of cohorts.csv is eligible" in out
    line = int(out.split("analysis.toml:")[1].split(":")[0])
    assert text.splitlines()[line - 1] == "[[outcome]]"


def test_a_project_without_a_plan_pools_nothing(project):
    (project / "analysis.toml").unlink()
    assert main(["build", "--root", str(project)]) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    assert "no analysis plan" in html
    assert (project / "reports" / "analyses.json").read_text(encoding="utf-8").startswith('{\n  "outcomes": []')


def test_a_plan_without_eligibility_pools_every_row_and_conditions_select_rows():
    """Eligibility rules are conditions on the outcome's rows; none = every row with counts."""
    from evsynth.review.load import load_review
    from evsynth.review.outcomes import outcome_data
    review = load_review(REPO)
    plan = parse_plan(MINIMAL, sheets=SHEETS)
    pr = plan.outcome("pr")
    everyone = outcome_data(review, pr, pr.primary.eligibility)
    c = review.cohorts
    total = c["resp_cr"] + c["resp_pr"] + c["resp_sd"] + c["resp_pd"]
    with_counts = c[total.notna() & (total.fillna(0) > 0)]
    assert everyone.cohort_ids == [str(c) for c in with_counts["cohort_id"]]
    rule = parse_plan(MINIMAL + '[outcome.eligibility]\nlarge = "n_patients >= 10"\n', sheets=SHEETS).outcome("pr")
    large = outcome_data(review, rule, rule.primary.eligibility)
    assert large.cohort_ids == [str(c) for c in with_counts[with_counts["n_patients"] >= 10]["cohort_id"]]
    assert any(e.rule.startswith("large: n_patients = ") for e in large.excluded)


def test_derived_columns_and_missing_rules_are_data():
    text = MINIMAL + """subgroups = ["size"]
[[outcome.missing]]
when = 'ae_status == "not available"'
why = "no adverse-event data"

[[derived]]
name = "size"
description = "small or large cohort"
cases = [{ when = "n_patients >= 10", value = '"large"' }]
otherwise = '"small"'
"""
    from evsynth.review.load import load_review
    from evsynth.review.outcomes import outcome_data
    review = load_review(REPO)
    o = parse_plan(text, sheets=SHEETS).outcome("pr")
    data = outcome_data(review, o, o.primary.eligibility)
    sizes = dict(zip(review.cohorts["cohort_id"], review.cohorts["n_patients"]))
    assert list(data.data["size"]) == ["large" if sizes[c] >= 10 else "small" for c in data.data["cohort_id"]]
    assert any(e.rule == "counts: no adverse-event data" for e in data.excluded)
