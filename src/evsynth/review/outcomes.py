"""Outcome data sets for pooling, derived from the sheets, with every exclusion explained.

Each outcome is a table of ``study, events, total`` (plus ``lrt`` and
``histology`` for subgroups) over the literature cohorts with usable counts:

- ``pr``: partial response (RECIST 1.1 PR) among evaluable patients;
- ``orr``: objective response, CR + PR, among evaluable patients;
- ``dcr``: disease control, CR + PR + SD, among evaluable patients;
- ``ae_g3``: patients with a grade >= 3 adverse event (CTCAE) among treated patients.

Evaluable = CR + PR + SD + PD (patients not assessed, or with a response
reported without a RECIST category, are not evaluable). A cohort is left out,
with its reason, when it is a mixed cohort without a thyroid subgroup (printed
NA*), when its response was not assessed with RECIST-based criteria, when no
structural response is available, or (for adverse events) when events were not
reported or not graded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evsynth.review.counts import histology_columns, lrt_key
from evsynth.review.model import Review


@dataclass(frozen=True)
class Outcome:
    """A poolable outcome: the data, and the cohorts left out with why."""

    key: str
    label: str
    definition: str
    data: pd.DataFrame  # columns: study, cohort_id, events, total, lrt, histology
    excluded: tuple[tuple[str, str], ...]  # (study label, reason)


OUTCOMES: dict[str, tuple[str, str]] = {
    "pr": ("Partial response", "RECIST PR / evaluable patients (CR+PR+SD+PD)"),
    "orr": ("Objective response (CR + PR)", "RECIST CR+PR / evaluable patients"),
    "dcr": ("Disease control (CR + PR + SD)", "RECIST CR+PR+SD / evaluable patients"),
    "ae_g3": ("Grade ≥ 3 adverse events", "patients with a CTCAE grade 3-5 event / treated patients"),
}

_RESPONSE_EVENTS = {"pr": ("resp_pr",), "orr": ("resp_cr", "resp_pr"), "dcr": ("resp_cr", "resp_pr", "resp_sd")}


def _study_label(review: Review, cohort: pd.Series) -> str:
    study = review.studies.set_index("study_id").loc[cohort["study_id"]]
    label = f"{study['first_author']} [{int(study['reference'])}]"
    same_study = review.cohorts[review.cohorts["study_id"] == cohort["study_id"]]
    if len(same_study) > 1:
        label += f" {cohort['histology']}"
    return label


def _histology(columns: dict[str, str], cohort: pd.Series) -> str:
    present = [h for h, column in columns.items() if int(cohort[column])]
    return present[0] if len(present) == 1 else "mixed"


def _response_exclusion(cohort: pd.Series) -> str | None:
    if cohort["mixed_cohort"] == "yes":
        return "mixed cohort without a thyroid-cancer subgroup (NA*)"
    if cohort["structural_response"] != "reported":
        return "structural response not available"
    if cohort["recist"] == "no":
        return "response not assessed with RECIST-based criteria"
    return None


def _ae_exclusion(cohort: pd.Series, events: pd.DataFrame) -> str | None:
    if cohort["mixed_cohort"] == "yes":
        return "mixed cohort without a thyroid-cancer subgroup (NA*)"
    if cohort["ae_status"] == "not available":
        return "adverse events not reported"
    if cohort["ae_status"] == "reported":
        if events["ctcae_grade_min"].isna().any():
            return "adverse events not graded"
        straddles = events[(events["ctcae_grade_min"] < 3) & (events["ctcae_grade_max"] >= 3)]
        if len(straddles):
            return "a grade range spans grade 3"
        severe = events[events["ctcae_grade_min"] >= 3]
        if severe["patients"].isna().any() and int(cohort["n_patients"]) > 1:
            return "patients with a grade >= 3 event not counted"
    return None


def outcome(review: Review, key: str) -> Outcome:
    """The data set of outcome *key* (``pr``, ``orr``, ``dcr`` or ``ae_g3``)."""
    label, definition = OUTCOMES[key]
    rows = []
    excluded: list[tuple[str, str]] = []
    for _, c in review.cohorts.sort_values("printed_order").iterrows():
        name = _study_label(review, c)
        if key == "ae_g3":
            events = review.adverse_events[review.adverse_events["cohort_id"] == c["cohort_id"]]
            reason = _ae_exclusion(c, events)
            if reason is None:
                severe = events[events["ctcae_grade_min"] >= 3]
                count = int(severe["patients"].fillna(1).sum())
                rows.append((name, c["cohort_id"], count, int(c["n_patients"])))
        else:
            reason = _response_exclusion(c)
            if reason is None:
                evaluable = sum(int(c[f"resp_{k}"]) for k in ("cr", "pr", "sd", "pd"))
                count = sum(int(c[column]) for column in _RESPONSE_EVENTS[key])
                if evaluable == 0:
                    reason = "no evaluable patient"
                else:
                    rows.append((name, c["cohort_id"], count, evaluable))
        if reason is not None:
            excluded.append((name, reason))
    cohorts = review.cohorts.set_index("cohort_id")
    data = pd.DataFrame(rows, columns=["study", "cohort_id", "events", "total"])
    data["lrt"] = [lrt_key(cohorts.loc[c]) for c in data["cohort_id"]]
    data["histology"] = [_histology(histology_columns(review), cohorts.loc[c]) for c in data["cohort_id"]]
    return Outcome(key, label, definition, data, tuple(excluded))


def case_series_outcomes(review: Review) -> pd.DataFrame:
    """Per-procedure outcomes of the case series: events and procedures for PR, ORR and DCR (none without procedures)."""
    responses = review.case_procedures["response"]
    total = len(responses)
    if total == 0:
        return pd.DataFrame(columns=["key", "label", "events", "total"])
    return pd.DataFrame([
        ("pr", OUTCOMES["pr"][0], int((responses == "PR").sum()), total),
        ("orr", OUTCOMES["orr"][0], int(responses.isin(["CR", "PR"]).sum()), total),
        ("dcr", OUTCOMES["dcr"][0], int(responses.isin(["CR", "PR", "SD"]).sum()), total),
    ], columns=["key", "label", "events", "total"])
