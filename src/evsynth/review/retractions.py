"""Included studies flagged retracted or with an expression of concern, and how they are marked.

The flags come from the retraction watch (``evsynth update`` checks every
included study with a PMID; :func:`evsynth.screening.retraction_watch.flagged_included`).
Such a study stays in the review, marked with :data:`MARK` in Table 2, the
forest plots, the supplementary tables and the exports; every meta-analysis
is repeated without the flagged studies (a sensitivity analysis), so a
reader sees what they change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from evsynth.review.model import Review
from evsynth.screening.log import ScreeningEntry
from evsynth.screening.retraction_watch import Flagged, flagged_included

#: The mark of a flagged study (its footnote says retracted or expression of concern).
MARK = "†"


def flagged_studies(extracted: Path, review: Review,
                    entries: Sequence[ScreeningEntry]) -> dict[str, Flagged]:
    """The review's studies (by ``study_id`` of ``studies.csv``) that are flagged."""
    ids = [str(s) for s in review.studies["study_id"]]
    pmids = {}
    if "pmid" in review.studies.columns:
        for sid, pmid in zip(review.studies["study_id"], review.studies["pmid"]):
            text = "" if pmid is None or str(pmid) in ("", "nan", "<NA>") else str(pmid).split(".")[0]
            if text:
                pmids[text] = str(sid)
    out: dict[str, Flagged] = {}
    for f in flagged_included(extracted, entries):
        sid = f.study if f.study in ids else pmids.get(f.pmid, "")
        if sid:
            out[sid] = f
    return out


def footnote(flagged: dict[str, Flagged], labels: dict[str, str]) -> str:
    """One footnote naming each flagged study and why (``labels``: study id -> printed name)."""
    parts = [f"{labels.get(sid, sid)}: {f.note}" for sid, f in sorted(flagged.items())]
    return (f"{MARK} Flagged by PubMed — " + "; ".join(parts)
            + ". Kept in the review; every meta-analysis is repeated without flagged studies.")


def mark_review(review: Review, flagged: Mapping[str, Flagged]) -> Review:
    """The review with :data:`MARK` after the first author and the printed citation of flagged studies.

    Study labels of Table 2, the forest plots and the pooled tables are made from
    these columns, so the mark reaches each of them (and the supplementary files).
    """
    if not flagged or not review.has("studies"):
        return review
    studies = review.studies.copy()
    hit = studies["study_id"].astype(str).isin(set(flagged))
    for column in ("first_author", "citation_as_printed"):
        if column in studies.columns:
            studies.loc[hit, column] = studies.loc[hit, column].astype(str) + MARK
    return replace(review, frames={**review.frames, "studies": studies})
