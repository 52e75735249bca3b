"""The design of each study: declared in studies.csv, or derived from the sheets.

Rules, in order (the first that applies decides):

1. ``design`` given in studies.csv: that design (*declared*);
2. a mixed cohort without a thyroid-cancer subgroup (``thyroid_specific = no``)
   is a few patients inside a larger series of liver tumours: ``case series``;
3. one patient in all the study's cohorts: ``case report``;
4. more patients, one treated group, no comparison: ``case series`` (a
   single-arm study that samples patients by treatment and describes their
   outcomes is a case series, not a cohort study: Dekkers et al. 2012,
   Ann Intern Med 156:37-40). A study that compares groups is declared
   ``cohort`` in studies.csv.
"""

from __future__ import annotations

from dataclasses import dataclass

from evsynth.review.model import Review


@dataclass(frozen=True)
class StudyDesign:
    """A study's design, whether it was declared or derived, and the rule that decided."""

    study_id: str
    design: str
    declared: bool
    rule: str


def study_design(declared: str, thyroid_specific: str, patients: int) -> tuple[str, str]:
    """``(design, rule)`` for one study (see the module docstring); *declared* may be ""."""
    if declared:
        return declared, "declared in studies.csv"
    if thyroid_specific == "no":
        return "case series", "derived: thyroid patients within a mixed series of liver tumours"
    if patients == 1:
        return "case report", "derived: one patient (n = 1)"
    return "case series", f"derived: {patients} patients, single treated group, no comparison group"


def study_designs(review: Review) -> dict[str, StudyDesign]:
    """The design of every study of studies.csv, by study_id."""
    if not review.has("studies"):
        return {}
    with_cohorts = review.has("cohorts")
    patients = review.cohorts.groupby("study_id")["n_patients"].sum() if with_cohorts else {}
    out: dict[str, StudyDesign] = {}
    for _, s in review.studies.iterrows():
        study_id = str(s["study_id"])
        declared = str(s.get("design", "") or "")  # a project's sheets.toml may not declare the column
        if not declared and not with_cohorts:
            continue  # neither declared nor derivable
        design, rule = study_design(declared, str(s.get("thyroid_specific", "") or ""),
                                    int(patients.get(study_id, 0)))
        out[study_id] = StudyDesign(study_id, design, bool(declared), rule)
    return out
