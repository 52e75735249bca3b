"""Outcome data sets, as the analysis plan defines them, with every exclusion and its rule.

For an outcome of the plan (:class:`evsynth.review.plan.OutcomePlan`) and an
analysis's eligibility rules, every literature cohort (Table 2 row) is either
*eligible* — a row ``study, cohort_id, events, total`` plus the subgroup
variables — or *excluded* with the first rule it fails, in this order:

1. ``mixed_cohorts``: a mixed cohort without a thyroid-cancer subgroup (NA*);
2. ``designs``: its study's design (:mod:`evsynth.review.design`) is not pooled;
3. ``response_criteria``: its ``recist`` value is not accepted (response outcomes);
4. counts: an events or denominator column is empty (e.g. structural response
   not available); for adverse-event outcomes: events not reported, not graded,
   a grade range that straddles the threshold, or patients not counted;
5. ``min_patients``: the denominator is smaller (0 = no evaluable patient).

Events of an adverse-event outcome are the patients with an event of CTCAE
grade ≥ ``min_grade`` (adverse_events.csv ``patients``; a single-patient
cohort's event without a count is that patient).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evsynth.review.counts import histology_columns, lrt_key
from evsynth.review.design import StudyDesign, study_designs
from evsynth.review.model import Review, reference_mark
from evsynth.review.plan import AnalysisPlan, Eligibility, OutcomePlan

#: Response columns of cohorts.csv and the RECIST category each counts (for the case series).
RESPONSE_CATEGORIES: dict[str, str] = {"resp_cr": "CR", "resp_pr": "PR", "resp_sd": "SD", "resp_pd": "PD"}
DATA_COLUMNS = ["study", "cohort_id", "events", "total", "lrt", "histology", "design", "recist"]


@dataclass(frozen=True)
class Exclusion:
    """A cohort left out of an analysis, with the plan's rule it fails."""

    cohort_id: str
    study: str
    rule: str


@dataclass(frozen=True)
class OutcomeData:
    """The eligible cohorts of one analysis (``data``) and the excluded ones with their rule."""

    data: pd.DataFrame  # columns: DATA_COLUMNS
    excluded: tuple[Exclusion, ...]

    @property
    def cohort_ids(self) -> list[str]:
        return [str(c) for c in self.data["cohort_id"]]


def study_label(review: Review, cohort: pd.Series) -> str:
    """``Lorenz [22]``; a study printing several rows adds the row's histology."""
    study = review.studies.set_index("study_id", drop=False).loc[cohort["study_id"]]
    label = f"{study['first_author']}{reference_mark(study)}"
    same_study = review.cohorts[review.cohorts["study_id"] == cohort["study_id"]]
    if len(same_study) > 1:
        label += f" {cohort['histology']}"
    return label


def histology(columns: dict[str, str], cohort: pd.Series) -> str:
    """The cohort's single histology (*columns*: histology -> count column), or ``mixed``."""
    present = [h for h, column in columns.items() if int(cohort[column])]
    return present[0] if len(present) == 1 else "mixed"


def _ae_count(outcome: OutcomePlan, cohort: pd.Series, events: pd.DataFrame) -> tuple[int | None, str]:
    """Patients with a grade >= min_grade event, or ``(None, rule)``."""
    grade = outcome.min_grade
    if cohort["ae_status"] == "not available":
        return None, "counts: adverse events not reported"
    if cohort["ae_status"] == "none":
        return 0, ""
    if events["ctcae_grade_min"].isna().any():
        return None, "counts: adverse events not graded"
    straddles = events[(events["ctcae_grade_min"] < grade) & (events["ctcae_grade_max"] >= grade)]
    if len(straddles):
        return None, f"counts: a grade range spans grade {grade}"
    severe = events[events["ctcae_grade_min"] >= grade]
    if severe["patients"].isna().any() and int(cohort["n_patients"]) > 1:
        return None, f"counts: patients with a grade ≥ {grade} event not counted"
    return int(severe["patients"].fillna(1).sum()), ""


def _count(cohort: pd.Series, columns: tuple[str, ...]) -> int | None:
    values = [cohort[c] for c in columns]
    if any(pd.isna(v) for v in values):
        return None
    return sum(int(v) for v in values)


def exclusion_rule(outcome: OutcomePlan, eligibility: Eligibility, cohort: pd.Series, design: StudyDesign,
                   adverse_events: pd.DataFrame) -> tuple[str, int, int]:
    """``(rule, events, total)``: the first rule *cohort* fails ("" if eligible) and its counts."""
    if cohort["mixed_cohort"] == "yes" and not eligibility.mixed_cohorts:
        return "mixed cohorts: no thyroid-cancer subgroup (NA*)", 0, 0
    if design.design not in eligibility.designs:
        return f"designs: {design.design} ({design.rule}) is not pooled", 0, 0
    if outcome.is_response and eligibility.response_criteria and cohort["recist"] not in eligibility.response_criteria:
        return f"response criteria: recist = {cohort['recist']}", 0, 0
    total = _count(cohort, outcome.denominator)
    if outcome.events_from == "adverse_events":
        events, rule = _ae_count(outcome, cohort, adverse_events)
    else:
        events, rule = _count(cohort, outcome.events), ""
        if events is None or total is None:
            rule = f"counts: {', '.join(dict.fromkeys(outcome.events + outcome.denominator))} not given " \
                   f"(structural response {cohort['structural_response']})"
    if rule or events is None or total is None:
        return rule or "counts: not given", 0, 0
    if total == 0:
        return "min patients: no evaluable patient", 0, 0
    if total < eligibility.min_patients:
        return f"min patients: {total} < {eligibility.min_patients}", 0, 0
    if events > total:
        return f"counts: {events} events among {total}", 0, 0
    return "", events, total


def outcome_data(review: Review, outcome: OutcomePlan, eligibility: Eligibility,
                 designs: dict[str, StudyDesign] | None = None) -> OutcomeData:
    """The cohorts *eligibility* lets into *outcome*, in Table 2 order, and the rest with their rule."""
    designs = designs if designs is not None else study_designs(review)
    columns = histology_columns(review)
    rows = []
    excluded: list[Exclusion] = []
    for _, c in review.cohorts.sort_values("printed_order").iterrows():
        name = study_label(review, c)
        events = review.adverse_events[review.adverse_events["cohort_id"] == c["cohort_id"]]
        design = designs[str(c["study_id"])]
        rule, x, n = exclusion_rule(outcome, eligibility, c, design, events)
        if rule:
            excluded.append(Exclusion(str(c["cohort_id"]), name, rule))
        else:
            rows.append((name, str(c["cohort_id"]), x, n, lrt_key(c), histology(columns, c), design.design,
                         str(c["recist"])))
    return OutcomeData(pd.DataFrame(rows, columns=DATA_COLUMNS), tuple(excluded))


def response_criteria_label(recist_values: list[str]) -> str:
    """"RECIST" only if every pooled cohort states RECIST-based criteria, else "as reported by the studies"."""
    if recist_values and all(v == "yes" for v in recist_values):
        return "RECIST"
    counts = {v: recist_values.count(v) for v in dict.fromkeys(recist_values)}
    said = {"yes": "RECIST-based", "no": "not RECIST-based", "not reported": "criteria not reported"}
    detail = ", ".join(f"{said.get(v, v)}: {k}" for v, k in counts.items())
    return f"as reported by the studies ({detail})" if detail else "as reported by the studies"


def case_series_outcomes(review: Review, plan: AnalysisPlan) -> pd.DataFrame:
    """The plan's response outcomes in the case series, per procedure (``key, label, events, total``).

    An outcome counts here when its events and denominator are RECIST
    categories (cohorts.csv ``resp_cr`` … ``resp_pd``); none without procedures.
    """
    responses = review.case_procedures["response"]
    rows = []
    for o in plan.outcomes:
        columns = set(o.events) | set(o.denominator)
        if not o.is_response or not columns <= set(RESPONSE_CATEGORIES) or len(responses) == 0:
            continue
        events = [RESPONSE_CATEGORIES[c] for c in o.events]
        denominator = [RESPONSE_CATEGORIES[c] for c in o.denominator]
        rows.append((o.key, o.label, int(responses.isin(events).sum()), int(responses.isin(denominator).sum())))
    return pd.DataFrame(rows, columns=["key", "label", "events", "total"])


def plan_problems(review: Review, plan: AnalysisPlan) -> list[str]:
    """Problems of a parsed plan that need the sheets: an outcome whose primary analysis has no eligible cohort."""
    designs = study_designs(review)
    problems = []
    for o in plan.outcomes:
        data = outcome_data(review, o, o.primary.eligibility, designs)
        if len(data.data) == 0:
            rules = sorted({e.rule.split(":")[0] for e in data.excluded})
            problems.append(f"{plan.source}:{o.line}: outcome {o.key!r}: no cohort is eligible for the primary "
                            f"analysis (rules that excluded cohorts: {', '.join(rules) or 'none; no cohort'})")
    return problems
