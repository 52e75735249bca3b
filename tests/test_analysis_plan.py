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
events = ["resp_pr"]
denominator = ["resp_cr", "resp_pr", "resp_sd", "resp_pd"]
"""


def test_the_bundled_plan_parses_with_its_choices():
    plan = load_plan(REPO, SHEETS)
    assert [o.key for o in plan.outcomes] == ["pr", "orr", "dcr", "ae_g3", "orr_second_criteria"]
    # a study's second response criteria (mRECIST beside RECIST 1.1) are a sensitivity outcome
    second = plan.outcome("orr_second_criteria")
    assert second.events == ("second_cr", "second_pr") and "sensitivity analysis" in second.label
    pr = plan.outcome("pr")
    assert pr.primary.model.method == "GLMM" and pr.primary.model.measure == "PLO"
    assert "case report" not in pr.primary.eligibility.designs
    assert pr.primary.eligibility.response_criteria == ("yes", "not reported")
    names = [s.name for s in pr.sensitivity]
    assert {"including case reports", "REML instead of GLMM", "RECIST only"} <= set(names)
    reml = next(s for s in pr.sensitivity if s.name == "REML instead of GLMM")
    assert reml.model.method == "REML" and reml.eligibility == pr.primary.eligibility
    # adverse events: response-criteria rules and the analyses that only change them do not apply
    ae = plan.outcome("ae_g3")
    assert ae.events_from == "adverse_events" and ae.min_grade == 3
    assert ae.primary.eligibility.response_criteria == ()
    assert "RECIST only" not in [s.name for s in ae.sensitivity]
    # sums are bracketed so the fraction reads as meant
    assert pr.definition() == "resp_pr / (resp_cr + resp_pr + resp_sd + resp_pd)"
    assert plan.outcome("orr").definition() == \
        "(resp_cr + resp_pr) / (resp_cr + resp_pr + resp_sd + resp_pd)"
    assert ae.definition().endswith(" / n_patients")


def test_key_lines_resolve_arrays_of_tables():
    text = MINIMAL + '\n[[outcome]]\nkey = "orr"\n[outcome.primary]\nmethod = "REML"\n'
    lines = key_lines(text)
    assert lines[("outcome", 0, "key")] == 5
    assert lines[("outcome", 1)] == 10
    assert lines[("outcome", 1, "primary", "method")] == 13


@pytest.mark.parametrize("edit, line, words", [
    (('method = "GLMM"', 'method = "GLM"'), 2, "unknown method 'GLM'"),
    (('events = ["resp_pr"]', 'events = ["resp_prr"]'), 7, "unknown column 'resp_prr'"),
    (('events = ["resp_pr"]', 'events = ["histology"]'), 7, "not a count column"),
    (('key = "pr"', 'key = "PR x"'), 5, "use lower-case"),
    (('label = "Partial response"\n', ''), 4, "needs 'label'"),
    (('[defaults.primary]', '[defaults.primary]\nmeasure = "PFT"'), 2, "measure must be PLO"),
    (('denominator', 'denominater'), 8, "unknown key 'denominater'"),
    (('method = "GLMM"', 'method = "GLMM"\nlevel = 1.5'), 3, "level must be a number between 0 and 1"),
    (('method = "GLMM"', 'method = GLMM'), 2, "not valid TOML"),
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
    ('[[outcome.sensitivity]]\nname = "same"\n', 9, "changes nothing"),
    ('[[outcome.sensitivity]]\nmethod = "REML"\n', 9, "needs a name"),
    ('[outcome.eligibility]\ndesigns = ["trial"]\n', 10, "unknown design 'trial'"),
    ('[outcome.eligibility]\nresponse_criteria = ["maybe"]\n', 10, "unknown response criteria"),
    ('[outcome.certainty.imprecision]\njudgement = "serious"\n', 9, "needs a reason"),
    ('[outcome.certainty.bias]\njudgement = "serious"\nreason = "x"\n', 9, "unknown certainty domain"),
    ('subgroups = ["colour"]\n', 9, "unknown subgroup variable 'colour'"),
    ('[[outcome]]\nkey = "pr"\nlabel = "x"\nevents = ["resp_pr"]\ndenominator = ["n_patients"]\n', 10,
     "also used on line 5"),
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
    text = path.read_text(encoding="utf-8") + '[outcome.eligibility]\nmin_patients = 500\n'
    path.write_text(text, encoding="utf-8")
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "outcome 'orr_second_criteria': no cohort is eligible" in out
    line = int(out.split("analysis.toml:")[1].split(":")[0])
    assert text.splitlines()[line - 1] == "[[outcome]]"


def test_a_project_without_a_plan_pools_nothing(project):
    (project / "analysis.toml").unlink()
    assert main(["build", "--root", str(project)]) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    assert "no analysis plan" in html
    assert (project / "reports" / "analyses.json").read_text(encoding="utf-8").startswith('{\n  "outcomes": []')
