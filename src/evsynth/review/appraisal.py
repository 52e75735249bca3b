"""Critical appraisal with the JBI checklists for case series and case reports.

``extracted/appraisal.csv`` has one row per study and checklist item, the
answer (``yes``, ``no``, ``unclear``, ``not applicable`` or ``not assessed``)
and the words of the source supporting it. The item wording below
paraphrases the JBI critical-appraisal tools (Munn et al. 2020, JBI Evid
Synth 18:2127-2133, case series, 10 items; Moola et al., JBI Manual for
Evidence Synthesis 2020, ch. 7, case reports, 8 items). ``case_series`` as
study_id is the review authors' own series.

:func:`appraisal_summary` condenses a study's answers into the traffic light
the page draws (as robvis does): *low concern* when every applicable item is
``yes``; *high concern* when two or more are ``no``; *some concern*
otherwise; *not assessed* when no item was judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from evsynth.review.model import Review

OWN_SERIES = "case_series"

CHECKLISTS: dict[str, tuple[str, ...]] = {
    "case series": (
        "Clear criteria for inclusion",
        "Condition measured in a standard, reliable way for all participants",
        "Valid methods used to identify the condition for all participants",
        "Consecutive inclusion of participants",
        "Complete inclusion of participants",
        "Clear reporting of participants' demographics",
        "Clear reporting of participants' clinical information",
        "Outcomes or follow-up results clearly reported",
        "Clear reporting of the presenting sites' or clinics' demographic information",
        "Appropriate statistical analysis",
    ),
    "case report": (
        "Patient's demographic characteristics clearly described",
        "Patient's history clearly described and presented as a timeline",
        "Current clinical condition on presentation clearly described",
        "Diagnostic tests or assessment methods and their results clearly described",
        "Intervention or treatment procedure clearly described",
        "Post-intervention clinical condition clearly described",
        "Adverse events (harms) or unanticipated events identified and described",
        "Takeaway lessons provided",
    ),
}

LOW, SOME, HIGH, NOT_ASSESSED = "low concern", "some concern", "high concern", "not assessed"


@dataclass(frozen=True)
class StudyAppraisal:
    """One study's checklist answers (item number -> answer) and its overall traffic light."""

    study_id: str
    checklist: str
    answers: dict[int, str]
    support: dict[int, str]
    overall: str

    @property
    def assessed(self) -> bool:
        return self.overall != NOT_ASSESSED


def overall_judgement(answers: list[str]) -> str:
    """The traffic light of one study's answers (see the module docstring)."""
    judged = [a for a in answers if a not in ("not assessed", "not applicable")]
    if not judged:
        return NOT_ASSESSED
    if sum(a == "no" for a in judged) >= 2:
        return HIGH
    if all(a == "yes" for a in judged) and "not assessed" not in answers:
        return LOW
    return SOME


def appraisals(review: Review) -> dict[str, StudyAppraisal]:
    """Every appraised study, by study_id, in the sheet's order."""
    out: dict[str, StudyAppraisal] = {}
    frame = review.appraisal
    for study_id in dict.fromkeys(frame["study_id"]):
        rows = frame[frame["study_id"] == study_id].sort_values("item")
        answers = {int(r["item"]): str(r["answer"]) for _, r in rows.iterrows()}
        support = {int(r["item"]): str(r["support"]) for _, r in rows.iterrows()}
        out[str(study_id)] = StudyAppraisal(str(study_id), str(rows["checklist"].iloc[0]), answers, support,
                                            overall_judgement(list(answers.values())))
    return out
