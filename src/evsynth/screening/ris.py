"""RIS files of other databases (Embase, Scopus, Web of Science, Cochrane CENTRAL) as records.

Parsing is done by ``rispy``; this module only maps its fields onto
:class:`evsynth.search.records.Record`. Databases put the same facts under different
tags, so each field is taken from the first tag that has it:

* title: ``TI``, ``T1``;
* authors: ``AU``, ``A1``;
* year: ``PY``, ``Y1``, ``DA`` (first four-digit year);
* journal: ``T2``, ``JO``, ``JF``, ``JA``, ``J2``;
* DOI: ``DO``, else a ``doi.org`` address in ``UR``, else ``10.xxx/...`` in ``M3``/``N1``;
* PMID: a ``PMID``/``PubMed ID``/``PUBMED`` marker followed by digits in
  ``AN``, ``N1``, ``M1``, ``C5`` or any unknown tag (Scopus writes
  ``PubMed ID: ...`` in ``N1``; ``AN`` of a MEDLINE-sourced record may carry it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import rispy

from evsynth.core.errors import EvsynthError
from evsynth.screening.citations import Citation
from evsynth.search.records import Record


_PMID_RE = re.compile(r"\b(?:PMID|PubMed\s*ID|PUBMED)\b\s*[:#]?\s*(\d{1,9})\b", re.IGNORECASE)
_DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def _first(entry: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            value = next((v for v in value if str(v).strip()), "")
        if value and str(value).strip():
            return " ".join(str(value).split())
    return ""


def _texts(entry: dict[str, Any], *keys: str) -> list[str]:
    out: list[str] = []
    for key in keys:
        value = entry.get(key)
        if isinstance(value, list):
            out.extend(str(v) for v in value)
        elif isinstance(value, dict):
            for items in value.values():
                out.extend(str(v) for v in items)
        elif value:
            out.append(str(value))
    return out


def _pmid(entry: dict[str, Any]) -> str:
    for text in _texts(entry, "accession_number", "notes", "note", "custom5", "unknown_tag"):
        found = _PMID_RE.search(text)
        if found:
            return found.group(1)
    return ""


def _doi(entry: dict[str, Any]) -> str:
    doi = _first(entry, "doi")
    if doi:
        return doi
    for text in _texts(entry, "urls", "type_of_work", "notes"):
        found = _DOI_RE.search(text)
        if found:
            return found.group(1).rstrip(".,;")
    return ""


def _year(entry: dict[str, Any]) -> int | None:
    found = re.search(r"(1[89]|20)\d{2}", _first(entry, "year", "publication_year", "date"))
    return int(found.group()) if found else None


def record_from_ris(entry: dict[str, Any], source: str) -> Record:
    """One rispy entry as a :class:`Record` from *source* (``pmid`` empty unless the file gives it)."""
    authors = tuple(" ".join(a.split()) for a in (entry.get("authors") or entry.get("first_authors") or [])
                    if a and a.strip())
    return Record(
        pmid=_pmid(entry),
        title=_first(entry, "title", "primary_title"),
        abstract=_first(entry, "abstract", "notes_abstract"),
        authors=authors,
        journal=_first(entry, "secondary_title", "journal_name", "alternate_title3",
                       "alternate_title2", "alternate_title1"),
        year=_year(entry),
        pub_date=_first(entry, "year", "publication_year", "date"),
        doi=_doi(entry),
        language=tuple(_texts(entry, "language")),
        source=source,
    )


def _tag(line: str) -> str | None:
    """The tag of a RIS line (``TY``, ``ER``, ...) as rispy reads it, else ``None`` (a continuation line)."""
    if line[2:5] == "  -" and line[:2].isupper() and line[:1].isalpha():
        return line[:2]
    return None


def check_ends(text: str, label: str) -> None:
    """Every reference that starts (``TY``) ends (``ER``) before the next one and before the end of the file.

    rispy, like most RIS readers, silently drops a last reference without
    ``ER`` and merges a reference without ``ER`` into the next one (keeping
    only some of its fields); both lose data, so both are errors naming the
    line where the unfinished reference starts.
    """
    opened: int | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if opened is None:
            if line.startswith("TY"):
                opened = number
            continue
        tag = _tag(line)
        if tag == "ER":
            opened = None
        elif tag == "TY":
            raise EvsynthError(f"{label}:{opened}: the reference starting on this line has no end line "
                               f"'ER  - ' before the next reference (line {number}); add it, or export the "
                               "file again")
    if opened is not None:
        raise EvsynthError(f"{label}:{opened}: the last reference (starting on this line) has no end line "
                           "'ER  - ', so the file may be cut off; export it again, or add 'ER  - ' after "
                           "the reference if it is complete")


def read_ris(path: str | Path, source: str) -> list[Record]:
    """All references of a RIS file as records from *source*; one-line errors for bad files.

    A reference without its end line (``ER  -``) is an error (see :func:`check_ends`).
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:  # universal newlines, as rispy.load
            text = handle.read()
        check_ends(text, str(path))
        entries = rispy.loads(text)
    except FileNotFoundError:
        raise EvsynthError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise EvsynthError(f"{path}: not UTF-8 text (byte {exc.start}); export the RIS as UTF-8") from None
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise EvsynthError(f"{path}: not a readable RIS file ({exc})") from None
    if not entries:
        raise EvsynthError(f"{path}: no RIS references found (expected lines like 'TY  - JOUR' ... 'ER  - ')")
    records = []
    lines = tag_lines(text)
    for number, entry in enumerate(entries, start=1):
        record = record_from_ris(entry, source)
        if not record.title:
            raise EvsynthError(f"{path}: reference {number} has no title (TI or T1)")
        check_lengths(record, lines[number - 1] if number <= len(lines) else {}, str(path), number)
        records.append(record)
    return records


#: The most characters a field brought into the screening log may have: a cell of a sheet
#: (:attr:`evsynth.sheets.engine.SheetLimits.max_cell_chars`), since ``evsynth extract`` copies
#: the title, authors and journal into ``studies.csv``. An import over it is refused, so no
#: import writes a log or a sheet the next command refuses.
MAX_FIELD_CHARS = 10_000

#: The record's fields that go into the log, and the RIS tags they come from.
_LOGGED = (("title", ("TI", "T1")), ("authors", ("AU", "A1")),
           ("journal", ("T2", "JO", "JF", "JA", "J2")),
           ("doi", ("DO", "UR", "M3", "N1")))


def tag_lines(text: str) -> list[dict[str, int]]:
    """For each reference in *text* (``TY`` to ``ER``), the line where each tag first appears."""
    out: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        tag = _tag(line.lstrip("\ufeff"))
        if tag == "TY":
            current = {"TY": number}
            out.append(current)
        elif tag and current is not None:
            current.setdefault(tag, number)
            if tag == "ER":
                current = None
    return out


def check_lengths(record: Record, lines: dict[str, int], label: str, number: int) -> None:
    """Refuse a reference with a field the screening log cannot hold (``FILE:LINE: ...``)."""
    for name, tags in _LOGGED:
        value = "; ".join(record.authors) if name == "authors" else str(getattr(record, name) or "")
        if len(value) > MAX_FIELD_CHARS:
            tag = next((t for t in tags if t in lines), "")
            line = lines.get(tag) or lines.get("TY", 0)
            raise EvsynthError(
                f"{label}:{line}: reference {number}: the {name}" + (f" ({tag})" if tag else "")
                + f" has {len(value):,} characters, over the limit of {MAX_FIELD_CHARS:,} for a cell "
                "of the screening log; nothing imported (shorten it in the file, or export it again)")


def to_ris_entries(citations: Iterable[Citation]) -> list[dict[str, Any]]:
    """rispy dictionaries for exported citations (see :mod:`evsynth.screening.citations`)."""
    out: list[dict[str, Any]] = []
    for c in citations:
        entry: dict[str, Any] = {"type_of_reference": "JOUR", "id": c.key}
        if c.authors:
            entry["authors"] = list(c.authors)
        if c.title:
            entry["title"] = c.title
        if c.journal:
            entry["secondary_title"] = c.journal
        if c.year:
            entry["year"] = c.year
        if c.doi:
            entry["doi"] = c.doi
        if c.pmid:
            entry["accession_number"] = f"PMID: {c.pmid}"
        if c.note:
            entry["notes"] = [c.note]
        out.append(entry)
    return out


def dumps_ris(citations: Iterable[Citation]) -> str:
    """RIS text for exported citations, written by rispy."""
    return rispy.dumps(to_ris_entries(citations))
