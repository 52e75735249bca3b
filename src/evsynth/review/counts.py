"""The review's pooled counts, computed from the sheets (``reports/counts.json``).

Pure functions of a :class:`evsynth.review.model.Review`. LRT keys are the LRT as
printed: a combination such as ``TAE+PEI`` is its own key, and patients of a
cohort that used several LRTs without saying who had which count under
:data:`evsynth.review.vocab.UNASSIGNED`. The histology columns are those declared in
``sheets.toml`` with ``each = "histology"``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from evsynth.review import vocab
from evsynth.review.model import CASE_SERIES_SHEETS, LITERATURE_SHEETS, Review



def histology_columns(review: Review) -> dict[str, str]:
    """Histology -> its patient-count column (``{"A": "n_a", ...}``), as ``sheets.toml`` declares them."""
    return review.sheets.get("cohorts").columns_for(vocab.HISTOLOGY)


def lrt_key(cohort: pd.Series | dict[str, Any]) -> str:
    """The key a cohort's patients count under: the printed LRT, or ``unassigned``."""
    return vocab.UNASSIGNED if cohort["lrt_assignment"] == vocab.UNASSIGNED else str(cohort["lrt"])


def _sorted(counter: Counter[str] | dict[str, int]) -> dict[str, int]:
    """Keys by descending count, then alphabetically (a stable, readable order)."""
    return {k: int(v) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))}


def patients_by_histology(cohorts: pd.DataFrame, columns: dict[str, str]) -> dict[str, int]:
    """Patients per histology (*columns*: histology -> count column), from the per-cohort split."""
    return {h: int(cohorts[c].sum()) for h, c in columns.items()}


def patients_by_lrt(cohorts: pd.DataFrame) -> dict[str, int]:
    """Patients per LRT key."""
    counter: Counter[str] = Counter()
    for _, c in cohorts.iterrows():
        counter[lrt_key(c)] += int(c["n_patients"])
    return _sorted(counter)


def studies_by_lrt(cohorts: pd.DataFrame) -> dict[str, int]:
    """Distinct studies per LRT key (a study with two LRT rows counts under both)."""
    pairs = {(lrt_key(c), c["study_id"]) for _, c in cohorts.iterrows()}
    return _sorted(Counter(key for key, _ in pairs))


def patients_by_lrt_and_histology(cohorts: pd.DataFrame, columns: dict[str, str]) -> dict[str, dict[str, int]]:
    """Patients per LRT key and histology (zero cells left out)."""
    table: dict[str, Counter[str]] = {}
    for _, c in cohorts.iterrows():
        cell = table.setdefault(lrt_key(c), Counter())
        for h, column in columns.items():
            if int(c[column]):
                cell[h] += int(c[column])
    return {k: dict(sorted(table[k].items())) for k in patients_by_lrt(cohorts)}


def patients_by_group(review: Review, by_histology: dict[str, int]) -> dict[str, int]:
    """Patients per histology group, as ``sheets.toml`` declares the groups: one entry per value of the
    ``histology_group`` vocabulary, a group's histologies being the vocabulary ``<group>_histology``
    (lower case) when declared, else the histology of the group's own name ({} without the vocabulary)."""
    if vocab.HISTOLOGY_GROUP not in review.sheets.vocabularies:
        return {}
    out = {}
    for group in review.sheets.values(vocab.HISTOLOGY_GROUP):
        members_vocabulary = f"{group.lower()}_{vocab.HISTOLOGY}"
        members = (review.sheets.values(members_vocabulary) if members_vocabulary in review.sheets.vocabularies
                   else (group,))
        out[group] = sum(by_histology.get(h, 0) for h in members)
    return out


def literature_counts(review: Review) -> dict[str, Any]:
    """Counts of the literature review (Table 2 and its Literature Review text)."""
    cohorts = review.cohorts
    columns = histology_columns(review)
    by_histology = patients_by_histology(cohorts, columns)
    mixed = cohorts[cohorts["mixed_cohort"] == "yes"]
    return {
        "studies": int(review.studies["study_id"].nunique()),
        "cohorts": int(len(cohorts)),
        "patients": int(cohorts["n_patients"].sum()),
        "patients_by_histology": by_histology,
        "patients_by_group": patients_by_group(review, by_histology),
        "patients_by_lrt": patients_by_lrt(cohorts),
        "studies_by_lrt": studies_by_lrt(cohorts),
        "patients_by_lrt_and_histology": patients_by_lrt_and_histology(cohorts, columns),
        "mixed_cohorts": {"cohorts": int(len(mixed)), "studies": int(mixed["study_id"].nunique()),
                          "patients": int(mixed["n_patients"].sum())},
    }


def case_series_counts(review: Review) -> dict[str, Any]:
    """Counts of the case series (Table 1 and the Results text)."""
    procedures = review.case_procedures
    patients = review.case_patients
    responses = Counter(procedures["response"])
    return {
        "patients": int(len(patients)),
        "procedures": int(len(procedures)),
        "patients_by_histology": _sorted(Counter(patients["histology"])),
        "procedures_by_lrt": _sorted(Counter(procedures["lrt"])),
        "procedures_by_response": {r: int(responses[r]) for r in review.sheets.values(vocab.RESPONSE_CATEGORIES)
                                   if responses[r]},
        "procedures_with_tki": int((procedures["concomitant_tki"] == "yes").sum()),
        "adverse_events": {str(e["event"]): int(e["patients"]) for _, e in review.case_adverse_events.iterrows()},
    }


def review_counts(review: Review) -> dict[str, Any]:
    """The whole ``counts.json`` structure (documented in docs/reference/outputs.md).

    A project without the cohort sheets counts only its studies; one without the
    case-series sheets has no ``case_series`` entry.
    """
    literature = (literature_counts(review) if review.has(*LITERATURE_SHEETS)
                  else {"studies": int(review.studies["study_id"].nunique()) if review.has("studies") else 0})
    counts: dict[str, Any] = {"literature": literature}
    if review.has(*CASE_SERIES_SHEETS):
        counts["case_series"] = case_series_counts(review)
    return counts
