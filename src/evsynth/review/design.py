"""The design of each study: declared in the studies sheet, or derived from the sheets.

Rules, in order (the first that applies decides):

1. ``design`` given in studies.csv: that design (*declared*);
2. a ``design_rules`` entry of the studies sheet in the project's ``sheets.toml``
   (``{ when = "condition", design = "...", why = "..." }``, a condition in the
   expression language on the study's row) that holds: its design (e.g. the
   bundled review's few patients inside a larger mixed series: ``case series``);
3. one patient in all the study's rows of ``cohorts``: ``case report``;
4. more patients, one treated group, no comparison: ``case series`` (a
   single-arm study that samples patients by treatment and describes their
   outcomes is a case series, not a cohort study: Dekkers et al. 2012,
   Ann Intern Med 156:37-40). A study that compares groups is declared
   ``cohort`` in studies.csv.
"""

from __future__ import annotations

from dataclasses import dataclass

from evsynth.core.errors import EvsynthError
from evsynth.review.model import Review, SheetRows, rows_of
from evsynth.sheets.expressions import ExpressionError, SheetData, parse_condition


@dataclass(frozen=True)
class StudyDesign:
    """A study's design, whether it was declared or derived, and the rule that decided."""

    study_id: str
    design: str
    declared: bool
    rule: str


def study_design(declared: str, patients: int, matched: tuple[str, str] | None = None) -> tuple[str, str]:
    """``(design, rule)`` for one study (see the module docstring); *declared* may be "";
    *matched*: ``(design, why)`` of the project's first design rule that holds, if any."""
    if declared:
        return declared, "declared in studies.csv"
    if matched is not None:
        return matched[0], f"derived: {matched[1]}"
    if patients == 1:
        return "case report", "derived: one patient (n = 1)"
    return "case series", f"derived: {patients} patients, single treated group, no comparison group"


def study_designs(review: Review | SheetRows) -> dict[str, StudyDesign]:
    """The design of every study of studies.csv, by study_id (only declared designs without a cohorts sheet)."""
    if not review.has("studies"):
        return {}
    data = rows_of(review)
    with_cohorts = data.has("cohorts")
    patients: dict[str, int] = {}
    for cohort in data.tables["cohorts"] if with_cohorts else ():
        key = "" if cohort.get("study_id") is None else str(cohort["study_id"])
        patients[key] = patients.get(key, 0) + (cohort.get("n_patients") or 0)
    spec = data.sheets.get("studies")
    try:
        rules = [(parse_condition(when), design, why) for when, design, why in spec.design_rules]
    except ExpressionError as exc:
        raise EvsynthError(f"sheets.toml: sheets.studies.design_rules: {exc}") from None
    context = SheetData({name: data.rows(name) for name in data.tables}, data.sheets) if rules else None
    rows = context.rows("studies") if context is not None else data.rows("studies")
    out: dict[str, StudyDesign] = {}
    for row in rows:
        study_id = str(row["study_id"])
        declared = str(row.get("design") or "")  # a project's sheets.toml may not declare the column
        if not declared and not with_cohorts:
            continue  # neither declared nor derivable
        try:
            matched = next(((d, w) for c, d, w in rules if c.test(row, context, "studies")), None)
        except ExpressionError as exc:
            raise EvsynthError(f"sheets.toml: sheets.studies.design_rules: {exc}") from None
        design, rule = study_design(declared, int(patients.get(study_id, 0)), matched)
        out[study_id] = StudyDesign(study_id, design, bool(declared), rule)
    return out
