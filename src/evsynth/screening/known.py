"""The studies included in the review: the previous version's sheet plus the new inclusions.

The previous version's included studies are the rows of ``extracted/studies.csv``
(curated by hand; for the bundled review year, PMID and DOI are empty there and
stay empty). New studies are the screening-log rows included at full text that
are not already in the sheet (same PMID or DOI).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from evsynth.screening.citations import Citation, citation_from_entry, citation_from_study
from evsynth.screening.dedup import normalise_doi
from evsynth.search.records import Record
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import ScreeningEntry
from evsynth.screening.retraction_watch import Flagged, flagged_included


@dataclass(frozen=True)
class PreviousStudy:
    """A study of the previous version, as far as the sheet identifies it."""

    study_id: str
    reference: str
    first_author: str
    year: str
    pmid: str
    doi: str


def previous_from_rows(rows: Iterable[Mapping[str, str]]) -> list[PreviousStudy]:
    """The previous version's studies from the rows of ``studies.csv``.

    The rows come from the sheet engine (``evsynth.review.load.read_studies``
    for the commands, the typed review for the build): the sheet is read once,
    by one rule, and this module only interprets it. Empty cells are ``""``.
    """
    get = lambda row, name: str(row.get(name, "") or "").strip()  # noqa: E731
    return [PreviousStudy(get(r, "study_id"), get(r, "reference"), get(r, "first_author"),
                          get(r, "year"), get(r, "pmid"), get(r, "doi"))
            for r in rows]


def is_previous_study(record: Record, previous: Sequence[PreviousStudy]) -> bool:
    """True when *record* is a study of the previous version (same PMID or DOI).

    Such records are already included; they are not screened again, and not
    counted as new studies.
    """
    doi = normalise_doi(record.doi)
    return any((p.pmid and p.pmid == record.pmid) or (doi and normalise_doi(p.doi) == doi)
               for p in previous)


def new_inclusions(entries: list[ScreeningEntry],
                   previous: list[PreviousStudy]) -> list[ScreeningEntry]:
    """Log rows included at full text that are not studies of the previous version."""
    pmids = {p.pmid for p in previous if p.pmid}
    dois = {normalise_doi(p.doi) for p in previous if normalise_doi(p.doi)}
    return [e for e in entries if e.is_included
            and not (e.pmid and e.pmid in pmids) and not (e.doi and normalise_doi(e.doi) in dois)]


def _marked(citation: Citation, flagged: dict[str, Flagged]) -> Citation:
    """The citation with its retraction or expression-of-concern note, when it has one."""
    mark = flagged.get(citation.key) or (flagged.get("pmid:" + citation.pmid) if citation.pmid else None)
    if mark is None:
        return citation
    note = "; ".join(p for p in (mark.note, citation.note) if p)
    return replace(citation, note=note)


def included_citations(files: ReviewFiles, study_rows: Sequence[Mapping[str, str]]) -> list[Citation]:
    """Every included study as a citation: the previous version's (*study_rows*, the rows of
    ``studies.csv`` read by the sheet engine) first, then the new ones.

    A study flagged retracted or with an expression of concern says so in its
    note (RIS ``N1``, BibTeX ``note``, CSL-JSON ``note``).
    """
    entries, _ = files.load()
    previous = previous_from_rows(study_rows)
    flagged: dict[str, Flagged] = {}
    for f in flagged_included(files.extracted, entries):
        flagged[f.study] = f
        if f.pmid:
            flagged["pmid:" + f.pmid] = f
    out = [citation_from_study(r) for r in study_rows]
    out.extend(citation_from_entry(e) for e in new_inclusions(entries, previous))
    return [_marked(c, flagged) for c in out]
