"""Bibliographic records: what a PubMed (or RIS) record holds once parsed.

The harvester (``evsynth.search.harvest``) produces these from PubMed XML; the living
update (``evsynth.screening.update``) and the RIS import read and compare them. The JSON
form (``records.jsonl``) uses exactly these field names (snake_case).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MeshQualifier:
    """A MeSH qualifier (subheading) with its major-topic flag."""

    name: str
    ui: str = ""
    major: bool = False


@dataclass(frozen=True)
class MeshHeading:
    """A MeSH descriptor with its qualifiers and major-topic flag."""

    descriptor: str
    ui: str = ""
    major: bool = False
    qualifiers: tuple[MeshQualifier, ...] = ()


@dataclass(frozen=True)
class CommentCorrection:
    """A PubMed CommentsCorrections link (e.g. ``RetractionIn``, ``ErratumIn``)."""

    ref_type: str
    ref_source: str = ""
    pmid: str = ""


@dataclass(frozen=True)
class Record:
    """One bibliographic record.

    ``pmid`` is empty for records from other databases (RIS imports).
    ``pub_date`` keeps PubMed's date as printed (``2021``, ``2021 Mar``,
    ``2021 Mar 5``, or a MedlineDate such as ``1998 Dec-1999 Jan``);
    ``year`` is the first four-digit year in it.
    """

    pmid: str
    title: str = ""
    abstract: str = ""
    authors: tuple[str, ...] = ()
    journal: str = ""
    year: int | None = None
    pub_date: str = ""
    doi: str = ""
    pmcid: str = ""
    mesh: tuple[MeshHeading, ...] = ()
    publication_types: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    comments_corrections: tuple[CommentCorrection, ...] = ()
    article_type: str = "PubmedArticle"
    source: str = "pubmed"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Record":
        """Inverse of :meth:`to_dict` (unknown keys are kept in ``extra``)."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        extra = dict(values.pop("extra", {}) or {})
        extra.update({k: v for k, v in data.items() if k not in known})
        values["authors"] = tuple(values.get("authors", ()) or ())
        values["publication_types"] = tuple(values.get("publication_types", ()) or ())
        values["language"] = tuple(values.get("language", ()) or ())
        values["mesh"] = tuple(
            MeshHeading(
                descriptor=m["descriptor"], ui=m.get("ui", ""), major=bool(m.get("major", False)),
                qualifiers=tuple(MeshQualifier(**q) for q in m.get("qualifiers", ())),
            )
            for m in values.get("mesh", ()) or ()
        )
        values["comments_corrections"] = tuple(
            CommentCorrection(**c) for c in values.get("comments_corrections", ()) or ())
        return cls(extra=extra, **values)

    @property
    def first_author(self) -> str:
        """The first author as printed, or ``""``."""
        return self.authors[0] if self.authors else ""

    @property
    def is_retracted(self) -> bool:
        """True when PubMed links a retraction notice to this record."""
        return any(c.ref_type == "RetractionIn" for c in self.comments_corrections)
