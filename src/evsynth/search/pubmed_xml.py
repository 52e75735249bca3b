"""Parse PubMed efetch XML (``PubmedArticleSet``) into :class:`evsynth.search.records.Record`.

Element names follow NLM's PubMed DTD (pubmed_250101.dtd,
https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd). Rules:

* title: ``ArticleTitle`` (``BookTitle`` for a book without one) with inline
  markup (``<i>``, ``<sup>``, MathML …) flattened to its text;
* abstract: each ``AbstractText`` on its own line, ``LABEL: text`` when labelled;
* authors: ``LastName Initials`` (or ``LastName``/``ForeName`` alone), or the
  ``CollectiveName``; authors marked ``ValidYN="N"`` are left out;
* pub_date: ``Year Month Day``, ``Year Season`` or the ``MedlineDate`` as
  printed (e.g. ``1998 Dec-1999 Jan``); year: its first four-digit year;
* doi / pmcid: the record's own ``ArticleIdList`` (not its references'), DOI
  falling back to ``ELocationID EIdType="doi"``;
* MeSH headings with qualifiers and ``MajorTopicYN`` flags; publication types;
  languages; every ``CommentsCorrections`` (``RetractionIn``, ``ErratumIn`` …).

Bio.Entrez's parser is the reference reading: ``tests/support/entrez_reference.py``
maps its output to the same records, and the tests check that both agree on
every fixture. This module uses the standard library's ElementTree, which is
several times faster.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from evsynth.core.errors import EvsynthError
from evsynth.search.records import CommentCorrection, MeshHeading, MeshQualifier, Record

_YEAR = re.compile(r"\b(\d{4})\b")


class PubmedXmlError(EvsynthError):
    """The bytes are not PubMed article XML (HTML, truncated, another document)."""


def parse_pubmed_xml(data: bytes | str, source: str = "efetch answer") -> list[Record]:
    """All records of a ``PubmedArticleSet`` document, in document order."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    head = raw[:600].lstrip().lower()
    if head.startswith(b"<html") or b"<html" in head or b"<!doctype html" in head:
        raise PubmedXmlError(f"{source}: got an HTML page, not PubMed XML "
                             "(efetch needs retmode=xml)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise PubmedXmlError(f"{source}: not well-formed XML ({exc}); "
                             "the answer is truncated or damaged") from None
    if root.tag != "PubmedArticleSet":
        raise PubmedXmlError(f"{source}: expected <PubmedArticleSet>, got <{root.tag}>")
    records = []
    for child in root:
        if child.tag == "PubmedArticle":
            records.append(_article(child))
        elif child.tag == "PubmedBookArticle":
            records.append(_book_article(child))
    return records


def flatten(element: ET.Element | None) -> str:
    """The element's text with inline markup removed and white space collapsed."""
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _article(node: ET.Element) -> Record:
    citation = node.find("MedlineCitation")
    if citation is None:
        raise PubmedXmlError("PubmedArticle without MedlineCitation")
    article = citation.find("Article")
    if article is None:
        article = ET.Element("Article")
    pub_date = _pub_date(article.find("Journal/JournalIssue/PubDate"))
    ids = _article_ids(node.find("PubmedData/ArticleIdList"))
    doi = ids.get("doi", "")
    if not doi:
        for loc in article.iterfind("ELocationID"):
            if loc.get("EIdType") == "doi" and loc.get("ValidYN", "Y") != "N":
                doi = (loc.text or "").strip()
                break
    return Record(
        pmid=(citation.findtext("PMID") or "").strip(),
        title=flatten(article.find("ArticleTitle")) or flatten(article.find("VernacularTitle")),
        abstract=_abstract(article.find("Abstract")),
        authors=_authors(article.find("AuthorList")),
        journal=flatten(article.find("Journal/Title")),
        year=_year(pub_date),
        pub_date=pub_date,
        doi=doi,
        pmcid=ids.get("pmc", ""),
        mesh=_mesh(citation.find("MeshHeadingList")),
        publication_types=tuple(flatten(p) for p in article.iterfind(
            "PublicationTypeList/PublicationType")),
        language=tuple(flatten(e) for e in article.iterfind("Language")),
        comments_corrections=_comments(citation.find("CommentsCorrectionsList")),
        article_type="PubmedArticle",
    )


def _book_article(node: ET.Element) -> Record:
    doc = node.find("BookDocument")
    if doc is None:
        raise PubmedXmlError("PubmedBookArticle without BookDocument")
    book = doc.find("Book")
    if book is None:
        book = ET.Element("Book")
    pub_date = _pub_date(book.find("PubDate"))
    ids = _article_ids(doc.find("ArticleIdList"))
    ids.update({k: v for k, v in _article_ids(node.find("PubmedBookData/ArticleIdList")).items()
                if k not in ids})
    authors = _authors(doc.find("AuthorList")) or _authors(book.find("AuthorList"))
    return Record(
        pmid=(doc.findtext("PMID") or "").strip(),
        title=flatten(doc.find("ArticleTitle")) or flatten(book.find("BookTitle")),
        abstract=_abstract(doc.find("Abstract")),
        authors=authors,
        journal=flatten(book.find("BookTitle")),
        year=_year(pub_date),
        pub_date=pub_date,
        doi=ids.get("doi", ""),
        pmcid=ids.get("pmc", ""),
        mesh=(),
        publication_types=tuple(flatten(p) for p in doc.iterfind(
            "PublicationType")),
        language=tuple(flatten(e) for e in doc.iterfind("Language")),
        comments_corrections=_comments(doc.find("CommentsCorrectionsList")),
        article_type="PubmedBookArticle",
    )


def _pub_date(node: ET.Element | None) -> str:
    if node is None:
        return ""
    medline = node.findtext("MedlineDate")
    if medline:
        return " ".join(medline.split())
    parts = [node.findtext(tag) for tag in ("Year", "Season", "Month", "Day")]
    return " ".join(p.strip() for p in parts if p and p.strip())


def _year(pub_date: str) -> int | None:
    match = _YEAR.search(pub_date)
    return int(match.group(1)) if match else None


def _abstract(node: ET.Element | None) -> str:
    if node is None:
        return ""
    lines = []
    for part in node.iterfind("AbstractText"):
        text = flatten(part)
        label = (part.get("Label") or "").strip()
        lines.append(f"{label}: {text}" if label else text)
    return "\n".join(line for line in lines if line)


def _authors(node: ET.Element | None) -> tuple[str, ...]:
    if node is None:
        return ()
    names = []
    for author in node.iterfind("Author"):
        if author.get("ValidYN", "Y") == "N":
            continue
        collective = flatten(author.find("CollectiveName"))
        if collective:
            names.append(collective)
            continue
        last = flatten(author.find("LastName"))
        initials = flatten(author.find("Initials")) or flatten(author.find("ForeName"))
        name = " ".join(p for p in (last, initials) if p)
        if name:
            names.append(name)
    return tuple(names)


def _article_ids(node: ET.Element | None) -> dict[str, str]:
    ids: dict[str, str] = {}
    if node is None:
        return ids
    for e in node.iterfind("ArticleId"):
        kind = e.get("IdType", "")
        if kind and kind not in ids and (e.text or "").strip():
            ids[kind] = e.text.strip()
    return ids


def _yes(value: str | None) -> bool:
    return value == "Y"


def _mesh(node: ET.Element | None) -> tuple[MeshHeading, ...]:
    if node is None:
        return ()
    headings = []
    for heading in node.iterfind("MeshHeading"):
        descriptor = heading.find("DescriptorName")
        if descriptor is None:
            continue
        headings.append(MeshHeading(
            descriptor=flatten(descriptor), ui=descriptor.get("UI", ""),
            major=_yes(descriptor.get("MajorTopicYN")),
            qualifiers=tuple(MeshQualifier(name=flatten(q), ui=q.get("UI", ""),
                                           major=_yes(q.get("MajorTopicYN")))
                             for q in heading.iterfind("QualifierName"))))
    return tuple(headings)


def _comments(node: ET.Element | None) -> tuple[CommentCorrection, ...]:
    if node is None:
        return ()
    return tuple(CommentCorrection(ref_type=c.get("RefType", ""),
                                   ref_source=flatten(c.find("RefSource")),
                                   pmid=flatten(c.find("PMID")))
                 for c in node.iterfind("CommentsCorrections"))
