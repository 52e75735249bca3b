"""Identifying the included studies on PubMed: proposals ranked with their evidence, and a
person's confirmation written into ``extracted/studies.csv``.

A study of the previous version may be known only by its first author and
reference number (the bundled review's seed paper was flattened to text). To
find its PubMed record:

1. **ECitMatch** (NCBI's batch citation matcher, NBK25499) when the sheet
   gives the journal and year beside the first author (and ``volume`` /
   ``first_page`` when it has such columns): a match is strong evidence.
2. **ESearch** for the first author (``[1au]``) with the year (``[dp]``) and
   title words (``[ti]``) when known, else with the review's query terms
   (``[tiab]``), so the candidates are on the review's topic.

Every candidate is fetched (efetch) and scored on what can be checked: the
first author's surname, the year, the title words, the journal, the topic
terms found in title and abstract, and whether ECitMatch named it. The scores
only rank; nothing is entered until a person confirms a PMID with ``evsynth
identify --confirm STUDY=PMID``, which copies PMID, DOI, title, journal and
year from the PubMed record into the sheet and records who confirmed it, when,
and from what (``identified_by``). The first author of the record must match
the sheet's, or the confirmation is refused.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.errors import EvsynthError
from evsynth.screening.dedup import normalise_author, normalise_title
from evsynth.search.eutils import CitationMatch, CitationQuery, EutilsClient
from evsynth.search.records import Record

#: Columns ``--confirm`` fills (added to the sheet when it lacks them).
FILLED: tuple[str, ...] = ("pmid", "doi", "title", "journal", "year", "identified_by")
_STOP = {"with", "from", "with", "after", "under", "their", "this", "that", "into", "over", "for",
         "and", "the", "case", "report", "series", "study", "review", "literature", "treatment"}


@dataclass(frozen=True)
class StudyToIdentify:
    """What the sheet says about a study (empty strings where it says nothing)."""

    study_id: str
    first_author: str
    year: str = ""
    title: str = ""
    journal: str = ""
    volume: str = ""
    first_page: str = ""


@dataclass(frozen=True)
class Candidate:
    """A PubMed record proposed for a study, with its score and the evidence for it."""

    study_id: str
    record: Record
    score: float
    evidence: tuple[str, ...]


@dataclass
class Proposals:
    """What ``identify`` found for one study."""

    study: StudyToIdentify
    term: str
    citation: CitationMatch | None = None
    candidates: list[Candidate] = field(default_factory=list)


def read_studies(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of ``studies.csv`` as text (a one-line error when unreadable)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvsynthError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise EvsynthError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    for needed in ("study_id", "first_author"):
        if needed not in header:
            raise EvsynthError(f"{path}:1: missing column {needed}")
    rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    return header, rows


def studies_to_identify(rows: Sequence[dict[str, str]]) -> list[StudyToIdentify]:
    """The studies without a PMID, with whatever citation fields the sheet has."""
    return [StudyToIdentify(r["study_id"], r["first_author"], r.get("year", ""), r.get("title", ""),
                            r.get("journal", ""), r.get("volume", ""), r.get("first_page", ""))
            for r in rows if not r.get("pmid")]


def _words(text: str) -> list[str]:
    return [w for w in normalise_title(text).split() if len(w) >= 4 and w not in _STOP]


def search_term(study: StudyToIdentify, topic: Sequence[str]) -> str:
    """The ESearch query for *study*: first author, year, title words or the review's topic."""
    parts = [f'"{study.first_author}"[1au]']
    if study.year:
        parts.append(f"{study.year}[dp]")
    words = _words(study.title)[:6]
    if words:
        parts.extend(f"{w}[ti]" for w in words)
    elif topic:
        parts.append("(" + " OR ".join(f'"{t}"[tiab]' for t in topic) + ")")
    return " AND ".join(parts)


def score(study: StudyToIdentify, record: Record, topic: Sequence[str],
          citation: CitationMatch | None = None) -> tuple[float, tuple[str, ...]]:
    """How well *record* fits *study*, and why (each line of evidence with its points)."""
    points = 0.0
    evidence: list[str] = []
    if citation is not None and citation.pmid == record.pmid:
        points += 4
        evidence.append("+4 ECitMatch matched the citation fields to this PMID")
    if normalise_author(record.first_author) == normalise_author(study.first_author):
        points += 3
        evidence.append(f"+3 first author {record.first_author}")
    else:
        evidence.append(f"+0 first author is {record.first_author or '(none)'}, "
                        f"not {study.first_author}")
    if study.year and record.year is not None:
        if str(record.year) == study.year:
            points += 2
            evidence.append(f"+2 year {record.year}")
        else:
            evidence.append(f"+0 year {record.year}, sheet says {study.year}")
    wanted = set(_words(study.title))
    if wanted:
        shared = wanted & set(_words(record.title))
        share = len(shared) / len(wanted)
        points += round(3 * share, 2)
        evidence.append(f"+{3 * share:.2f} title words shared: {len(shared)} of {len(wanted)}")
    if study.journal and record.journal and normalise_title(study.journal) == normalise_title(record.journal):
        points += 1
        evidence.append(f"+1 journal {record.journal}")
    text = f"{record.title} {record.abstract}".lower()
    found = [t for t in topic if t in text]
    if found:
        gain = min(2.0, 0.5 * len(found))
        points += gain
        evidence.append(f"+{gain:g} review terms in title/abstract: {', '.join(found[:4])}")
    return round(points, 2), tuple(evidence)


def propose(client: EutilsClient, studies: Sequence[StudyToIdentify], topic: Sequence[str], *,
            per_study: int = 5, retmax: int = 20) -> list[Proposals]:
    """Candidates for each study, best first (at most *per_study*)."""
    queries = [CitationQuery(s.study_id, s.journal, s.year, s.volume, s.first_page, s.first_author)
               for s in studies if s.journal and s.year]
    matches = client.ecitmatch(queries) if queries else {}
    out: list[Proposals] = []
    for study in studies:
        term = search_term(study, topic)
        found = client.esearch(term, retmax=retmax)
        citation = matches.get(study.study_id)
        pmids = list(dict.fromkeys(list(found.ids) + ([citation.pmid] if citation and citation.pmid
                                                      else list(citation.candidates) if citation else [])))
        records = client.efetch_records(pmids, require_all=False) if pmids else []
        scored = [Candidate(study.study_id, r, *score(study, r, topic, citation)) for r in records]
        scored.sort(key=lambda c: (-c.score, int(c.record.pmid)))
        out.append(Proposals(study, term, citation, scored[:per_study]))
    return out


def parse_confirmation(text: str) -> tuple[str, str]:
    """``S22=16360382`` -> ``("S22", "16360382")`` or a one-line error."""
    match = re.fullmatch(r"\s*([^=\s]+)\s*=\s*(\d{1,9})\s*", text)
    if not match:
        raise EvsynthError(f"--confirm {text!r}: expected STUDY=PMID, e.g. S22=16360382")
    return match.group(1), match.group(2)


def confirm(path: Path, study_id: str, record: Record, *, reviewer: str, date: str,
            source: str = "") -> dict[str, str]:
    """Fill the study's identifiers from *record* in ``studies.csv`` (atomically); returns the row.

    Refused when the study is unknown, already has another PMID, or the record's
    first author is not the sheet's.
    """
    if not reviewer.strip():
        raise EvsynthError("--confirm needs --reviewer NAME (who checked the record)")
    header, rows = read_studies(path)
    row = next((r for r in rows if r["study_id"] == study_id), None)
    if row is None:
        raise EvsynthError(f"{path}: no study {study_id!r}")
    if row.get("pmid") and row["pmid"] != record.pmid:
        raise EvsynthError(f"{path}: {study_id} already has PMID {row['pmid']}; "
                           "clear it in the sheet first to change it")
    if normalise_author(record.first_author) != normalise_author(row["first_author"]):
        raise EvsynthError(f"PMID {record.pmid}: first author {record.first_author or '(none)'} "
                           f"is not {row['first_author']} ({study_id}); not confirmed")
    for column in FILLED:
        if column not in header:
            header.append(column)
    row.update({
        "pmid": record.pmid, "doi": record.doi.strip() or row.get("doi", ""),
        "title": record.title, "journal": record.journal,
        "year": str(record.year) if record.year is not None else row.get("year", ""),
        "identified_by": f"{reviewer.strip()}, {date}: PubMed record {record.pmid}"
                         + (f" ({source.strip()})" if source.strip() else ""),
    })
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in header})
    write_text(path, buffer.getvalue())
    return row
