"""De-duplication of candidate records against the screening log, explainable and reversible.

A candidate matches a row of the log by the first of these keys that agrees
(the order follows how reliable the key is):

1. ``pmid`` — the same PubMed id;
2. ``doi`` — the same DOI after :func:`normalise_doi`;
3. ``title+year+first_author`` — the same :func:`normalise_title`, the same
   surname of the first author (:func:`normalise_author`), and publication years
   at most one apart (an Epub-ahead-of-print year and the issue year often
   differ by one between databases; Bramer et al. 2016, J Med Libr Assoc
   104:240, describe this among the causes of missed duplicates).

Every merge is written to the merge log (``extracted/merge-log.csv``) with the
key and the values that matched, what the merge added to the row (a source, an
empty PMID/DOI/year filled in) and the candidate as it came, so that
:func:`unmerge` can put the candidate back as a row of its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.csv_text import dataclass_csv
from evsynth.core.errors import EvsynthError
from evsynth.core.text import without_controls
from evsynth.search.records import Record
from evsynth.screening.log import (
    ScreeningEntry,
    join_sources,
    next_record_number,
    read_frame,
    record_id,
)

KEYS: tuple[str, ...] = ("pmid", "doi", "title+year+first_author")

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|doi\s+)", re.IGNORECASE)


def normalise_doi(doi: str) -> str:
    """``https://doi.org/10.1000/ABC.`` -> ``10.1000/abc``.

    DOIs are case-insensitive (DOI Handbook, section 2.4); resolver prefixes,
    ``doi:`` labels, surrounding whitespace and trailing punctuation are dropped.
    Returns ``""`` when what is left does not start with ``10.``.
    """
    value = _DOI_PREFIX.sub("", doi.strip()).strip().rstrip(".,;").lower()
    return value if value.startswith("10.") and "/" in value else ""


def _ascii_fold(text: str) -> str:
    """Strip accents: ``Müller`` -> ``Muller``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_title(title: str) -> str:
    """Case, accents, punctuation, inline markup and spacing removed.

    Periods and apostrophes are dropped (``P.C.R.`` = ``PCR``), other
    punctuation separates words; a bracketed translated title (``[Title].``, MEDLINE's
    form for non-English titles) and HTML tags are ignored.
    """
    text = re.sub(r"<[^>]+>", " ", title)
    text = text.strip()
    if text.startswith("[") and text.rstrip(".").endswith("]"):
        text = text.rstrip(".")[1:-1]
    text = _ascii_fold(text).lower()
    text = re.sub(r"[.'\u2019]", "", text)  # P.C.R. = PCR, Muller's = Mullers
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def normalise_author(name: str) -> str:
    """The surname of an author as printed, lower case without accents.

    ``Smith, John`` / ``Smith J`` / ``Smith JA`` / ``van der Berg, P.`` give
    ``smith`` / ``smith`` / ``smith`` / ``vanderberg``.
    """
    name = _ascii_fold(name).strip()
    if "," in name:
        surname = name.split(",", 1)[0]
    else:
        parts = name.split()
        while len(parts) > 1 and re.fullmatch(r"[A-Z]{1,3}\.?|(?:[A-Z]\.)+", parts[-1]):
            parts.pop()
        surname = " ".join(parts)
    return re.sub(r"[^a-z]", "", surname.lower())


@dataclass(frozen=True)
class Match:
    """Why a candidate is the same record as a row of the log."""

    record_id: str
    key: str
    value: str


def _year(value: object) -> int | None:
    text = str(value or "")
    found = re.search(r"\d{4}", text)
    return int(found.group()) if found else None


class DedupIndex:
    """The log's rows indexed by each key, so matching a batch is linear, not quadratic.

    Where several rows share a key, the earliest row (log order) is the match,
    as a scan of the log from the top would find.
    """

    def __init__(self, entries: Iterable[ScreeningEntry] = ()) -> None:
        self._pmid: dict[str, str] = {}
        self._doi: dict[str, str] = {}
        self._title: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: ScreeningEntry) -> None:
        """Index a row (or the new identifiers of a row already indexed)."""
        if entry.pmid:
            self._pmid.setdefault(entry.pmid, entry.record_id)
        doi = normalise_doi(entry.doi)
        if doi:
            self._doi.setdefault(doi, entry.record_id)
        title, author, year = (normalise_title(entry.title),
                               normalise_author(entry.first_author), _year(entry.year))
        if title and author and year is not None:
            bucket = self._title.setdefault((title, author), [])
            if (year, entry.record_id) not in bucket:
                bucket.append((year, entry.record_id))

    def match(self, record: Record) -> Match | None:
        """The row *record* duplicates, with the key that matched, or ``None``."""
        pmid = record.pmid.strip()
        if pmid and pmid in self._pmid:
            return Match(self._pmid[pmid], "pmid", pmid)
        doi = normalise_doi(record.doi)
        if doi and doi in self._doi:
            return Match(self._doi[doi], "doi", doi)
        title = normalise_title(record.title)
        author = normalise_author(record.first_author)
        year = record.year
        if title and author and year:
            for entry_year, record_id in self._title.get((title, author), []):
                if abs(entry_year - year) <= 1:
                    years = str(year) if entry_year == year else f"{entry_year}/{year}"
                    return Match(record_id, "title+year+first_author",
                                 f"{title} | {years} | {author}")
        return None


def match_record(record: Record, entries: Sequence[ScreeningEntry]) -> Match | None:
    """The row of *entries* that *record* duplicates, with the key that matched, or ``None``."""
    return DedupIndex(entries).match(record)


@dataclass(frozen=True)
class Merge:
    """One line of the merge log: a candidate folded into an existing row."""

    merge_id: str
    record_id: str
    key: str
    value: str
    source: str
    date: str
    added_source: str = ""
    filled: str = ""
    pmid: str = ""
    doi: str = ""
    title: str = ""
    year: str = ""
    first_author: str = ""
    authors: str = ""
    journal: str = ""
    reverted: str = ""


MERGE_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Merge))


def load_merges(path: str | Path) -> list[Merge]:
    """Read the merge log; an absent file is an empty log."""
    path = Path(path)
    if not path.exists():
        return []
    frame = read_frame(path, MERGE_COLUMNS)
    missing = [c for c in MERGE_COLUMNS if c not in frame.columns]
    if missing:
        raise EvsynthError(f"{path}:1: missing column(s): {', '.join(missing)}")
    return [Merge(**{c: row[c] for c in MERGE_COLUMNS}) for row in frame.to_dict("records")]


def render_merges(merges: Iterable[Merge]) -> str:
    """CSV text of the merge log, in merge order."""
    return dataclass_csv(merges, MERGE_COLUMNS)


def save_merges(path: str | Path, merges: Iterable[Merge]) -> None:
    """Write the merge log atomically."""
    write_text(path, render_merges(merges))


def entry_from_record(record: Record, number: int, source: str, added: str) -> ScreeningEntry:
    """A new pending row for *record* (title/abstract stage).

    Invisible control characters (a RIS export can carry them; the log refuses
    them, see :mod:`evsynth.core.text`) are dropped from the text.
    """
    return ScreeningEntry(
        record_id=record_id(number), pmid=record.pmid.strip(),
        doi=normalise_doi(without_controls(record.doi)), source=source, title=" ".join(without_controls(record.title).split()),
        year=str(record.year) if record.year else "", first_author=without_controls(record.first_author),
        authors=without_controls("; ".join(record.authors)), journal=without_controls(record.journal),
        stage="title/abstract", decision="pending", added=added,
    )


@dataclass
class MergeResult:
    """What merging a batch of candidates did."""

    entries: list[ScreeningEntry]
    merges: list[Merge]
    new_ids: list[str] = field(default_factory=list)
    matched: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)

    @property
    def merged(self) -> int:
        """Duplicates merged (and logged) by this batch."""
        return sum(self.matched.values()) - sum(self.seen.values())


def merge_records(entries: Sequence[ScreeningEntry], merges: Sequence[Merge],
                  records: Iterable[Record], source: str, date: str) -> MergeResult:
    """Add *records* from *source* to the log: new ones as pending rows, duplicates merged.

    A duplicate (also one within the batch) adds *source* to the row's sources and
    fills the row's empty PMID, DOI or year from the candidate; the decision of
    the row is kept, so a record already screened is not asked again. Nothing
    else of the row changes. Each merge goes to the merge log.

    A record that matches a row which was in the log before this batch and
    already lists *source* is the same record seen again (an overlapping update
    window, a file imported twice): it is counted in :attr:`MergeResult.seen`
    (and ``matched``), and neither merged nor logged, so it is not identified twice.
    """
    current = list(entries)
    log = list(merges)
    result = MergeResult(current, log)
    before = {e.record_id for e in entries}
    index_of = {e.record_id: i for i, e in enumerate(current)}
    keys = DedupIndex(current)
    number = next_record_number(current)
    merge_number = len(log) + 1
    for record in records:
        found = keys.match(record)
        if found is None:
            new = entry_from_record(record, number, source, date)
            index_of[new.record_id] = len(current)
            current.append(new)
            keys.add(new)
            result.new_ids.append(new.record_id)
            number += 1
            continue
        index = index_of[found.record_id]
        row = current[index]
        result.matched[found.key] += 1
        if found.record_id in before and source in row.sources:
            result.seen[found.key] += 1
            continue
        filled: dict[str, str] = {}
        if not row.pmid and record.pmid.strip():
            filled["pmid"] = record.pmid.strip()
        if not row.doi and normalise_doi(record.doi):
            filled["doi"] = normalise_doi(record.doi)
        if not row.year and record.year:
            filled["year"] = str(record.year)
        added_source = source if source not in row.sources else ""
        current[index] = replace(row, source=join_sources(row.sources + (source,)), **filled)
        keys.add(current[index])
        log.append(Merge(
            merge_id=f"M{merge_number:05d}", record_id=row.record_id, key=found.key,
            value=found.value, source=source, date=date, added_source=added_source,
            filled=";".join(sorted(filled)), pmid=record.pmid.strip(), doi=record.doi.strip(),
            title=" ".join(record.title.split()), year=str(record.year or ""),
            first_author=record.first_author, authors="; ".join(record.authors),
            journal=record.journal,
        ))
        merge_number += 1
    return result


def unmerge(entries: Sequence[ScreeningEntry], merges: Sequence[Merge], merge_id: str,
            date: str) -> tuple[list[ScreeningEntry], list[Merge]]:
    """Undo one merge: take back what it added to the row, and add the candidate as its own row.

    The merge stays in the merge log, marked ``reverted`` with the date, so the
    history is kept. The new row is pending.
    """
    position = next((i for i, m in enumerate(merges) if m.merge_id == merge_id), None)
    if position is None:
        raise EvsynthError(f"no merge {merge_id!r} in the merge log")
    merge = merges[position]
    if merge.reverted:
        raise EvsynthError(f"merge {merge_id} was already reverted on {merge.reverted}")
    current = list(entries)
    index = next((i for i, e in enumerate(current) if e.record_id == merge.record_id), None)
    if index is None:
        raise EvsynthError(f"merge {merge_id}: record {merge.record_id} is not in the screening log")
    row = current[index]
    restore: dict[str, str] = {name: "" for name in merge.filled.split(";") if name}
    sources = row.sources
    if merge.added_source:
        sources = tuple(s for s in sources if s != merge.added_source)
    current[index] = replace(row, source=join_sources(sources), **restore)
    record = Record(pmid=merge.pmid, doi=merge.doi, title=merge.title, year=_year(merge.year),
                    authors=tuple(a for a in merge.authors.split("; ") if a) or (
                        (merge.first_author,) if merge.first_author else ()),
                    journal=merge.journal, source=merge.source)
    current.append(entry_from_record(record, next_record_number(current), merge.source, date))
    log = list(merges)
    log[position] = replace(merge, reverted=date)
    return current, log


def active_merges(merges: Iterable[Merge]) -> list[Merge]:
    """Merges not reverted: the duplicates removed before screening."""
    return [m for m in merges if not m.reverted]
