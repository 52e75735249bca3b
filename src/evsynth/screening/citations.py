"""Included studies as references for reference managers: RIS, BibTeX and CSL-JSON.

Only what the logs know is written — identifiers that are empty stay absent
(never invented). Formats:

* RIS via ``rispy`` (:func:`evsynth.screening.ris.dumps_ris`);
* BibTeX ``@article`` entries, LaTeX special characters escaped (BibTeX's
  reserved characters as listed in Patashnik, *BibTeXing*, 1988);
* CSL-JSON as specified by the Citation Style Language schema
  (``csl-data.json``: ``id``, ``type``, ``title``, ``author`` with
  ``family``/``given``, ``container-title``, ``issued.date-parts``, ``DOI``, ``PMID``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from evsynth.screening.dedup import normalise_author
from evsynth.core.errors import EvsynthError
from evsynth.screening.log import ScreeningEntry



@dataclass(frozen=True)
class Citation:
    """One included study as a reference."""

    key: str
    authors: tuple[str, ...] = ()
    title: str = ""
    journal: str = ""
    year: str = ""
    doi: str = ""
    pmid: str = ""
    note: str = ""


def citation_from_entry(entry: ScreeningEntry) -> Citation:
    """A screening-log row as a citation (key: the record id)."""
    authors = tuple(a.strip() for a in entry.authors.split(";") if a.strip()) or (
        (entry.first_author,) if entry.first_author else ())
    return Citation(key=entry.record_id, authors=authors, title=entry.title,
                    journal=entry.journal, year=entry.year, doi=entry.doi, pmid=entry.pmid)


def citation_from_study(row: Mapping[str, str]) -> Citation:
    """A row of ``extracted/studies.csv`` as a citation (key: the study id).

    The bundled review's sheet gives the first author and the paper's reference
    number; year, PMID and DOI are written only when the sheet has them.
    """
    reference = str(row.get("reference", "") or "").strip()
    note = f"Reference [{reference}] of the source review" if reference else ""
    first = str(row.get("first_author", "") or "").strip()
    return Citation(key=str(row.get("study_id", "")).strip(), authors=(first,) if first else (),
                    title=str(row.get("title", "") or "").strip(),
                    journal=str(row.get("journal", "") or "").strip(),
                    year=str(row.get("year", "") or "").strip(),
                    doi=str(row.get("doi", "") or "").strip(),
                    pmid=str(row.get("pmid", "") or "").strip(), note=note)


def split_name(name: str) -> dict[str, str]:
    """``Smith, John`` / ``Smith JA`` -> ``{"family": ..., "given": ...}``; else ``{"literal": name}``."""
    name = " ".join(name.split())
    if "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
        return {"family": family, "given": given} if given else {"family": family}
    parts = name.split()
    if len(parts) >= 2 and re.fullmatch(r"[A-Z]{1,3}", parts[-1]):
        return {"family": " ".join(parts[:-1]), "given": parts[-1]}
    if len(parts) == 1:
        return {"family": name}
    return {"literal": name}


_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def bibtex_escape(text: str) -> str:
    """Escape BibTeX/LaTeX reserved characters so the value is read literally."""
    return "".join(_BIBTEX_ESCAPES.get(ch, ch) for ch in text)


def _bibtex_name(name: str) -> str:
    parts = split_name(name)
    if "literal" in parts:
        return "{" + bibtex_escape(parts["literal"]) + "}"
    family = bibtex_escape(parts["family"])
    return f"{family}, {bibtex_escape(parts['given'])}" if parts.get("given") else family


def bibtex_keys(citations: Sequence[Citation]) -> list[str]:
    """Keys ``surnameYEAR`` (``a``, ``b``, ... appended when two would clash)."""
    bases = []
    for c in citations:
        surname = normalise_author(c.authors[0]) if c.authors else ""
        bases.append((surname or c.key.lower() or "ref") + (c.year or ""))
    keys: list[str] = []
    for base in bases:
        if bases.count(base) == 1:
            keys.append(base)
            continue
        suffix = "abcdefghijklmnopqrstuvwxyz"[sum(1 for k in keys if k.startswith(base)) % 26]
        keys.append(base + suffix)
    return keys


def dumps_bibtex(citations: Iterable[Citation]) -> str:
    """BibTeX ``@article`` entries, one per citation, in the given order."""
    items = list(citations)
    chunks = []
    for key, c in zip(bibtex_keys(items), items):
        fields = []
        if c.authors:
            fields.append(("author", " and ".join(_bibtex_name(a) for a in c.authors)))
        for name, value in (("title", c.title), ("journal", c.journal), ("year", c.year),
                            ("doi", c.doi), ("pmid", c.pmid), ("note", c.note)):
            if value:
                fields.append((name, bibtex_escape(value)))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        chunks.append(f"@article{{{key},\n{body}\n}}\n")
    return "\n".join(chunks)


def csl_items(citations: Iterable[Citation]) -> list[dict[str, object]]:
    """CSL-JSON items (``article-journal``)."""
    out: list[dict[str, object]] = []
    for c in citations:
        item: dict[str, object] = {"id": c.key, "type": "article-journal"}
        if c.title:
            item["title"] = c.title
        if c.authors:
            item["author"] = [split_name(a) for a in c.authors]
        if c.journal:
            item["container-title"] = c.journal
        if c.year and c.year.isdigit():
            item["issued"] = {"date-parts": [[int(c.year)]]}
        if c.doi:
            item["DOI"] = c.doi
        if c.pmid:
            item["PMID"] = c.pmid
        if c.note:
            item["note"] = c.note
        out.append(item)
    return out


def dumps_csl_json(citations: Iterable[Citation]) -> str:
    """CSL-JSON text (a list of items, two-space indent, trailing newline)."""
    return json.dumps(csl_items(citations), indent=2, ensure_ascii=False) + "\n"
