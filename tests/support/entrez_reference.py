"""The reference reading of PubMed XML: Biopython's ``Bio.Entrez.read``, mapped to records.

:mod:`evsynth.pubmed_xml` is the parser evsynth uses (faster); this module
applies the same field rules to Bio.Entrez's parse tree so that tests and the
benchmark can check the two agree record for record. Bio.Entrez keeps inline
markup (``<i>``, ``<sup>`` …) inside strings; it is removed here, as
:func:`evsynth.pubmed_xml.flatten` does.
"""

from __future__ import annotations

import io
import re
from typing import Any

from evsynth.search.records import CommentCorrection, MeshHeading, MeshQualifier, Record

#: Inline formatting elements PubMed allows in titles and abstracts (pubmed_250101.dtd
#: ``%text;``: b, i, sup, sub, u) and MathML presentation elements (W3C MathML 3,
#: chapter 3), which Bio.Entrez leaves in the text as markup (``mml:`` prefix dropped).
_MATHML = ("math|mrow|msub|msup|msubsup|munder|mover|munderover|mmultiscripts|mprescripts|"
           "none|mi|mn|mo|mtext|ms|mspace|mfrac|msqrt|mroot|mstyle|mfenced|mpadded|mphantom|"
           "menclose|mtable|mtr|mtd|semantics|annotation")
_MARKUP = re.compile(r"</?(?:mml:)?(?:b|i|sup|sub|u|" + _MATHML + r")(?:\s[^<>]*)?/?>")
_YEAR = re.compile(r"\b(\d{4})\b")


def read_records(xml: bytes) -> list[Record]:
    """Parse *xml* with ``Bio.Entrez.read`` and map every article to a :class:`Record`."""
    from Bio import Entrez

    tree = Entrez.read(io.BytesIO(xml))
    return records_from_entrez(tree)


def records_from_entrez(tree: Any) -> list[Record]:
    """Records from a ``Bio.Entrez.read`` tree of a ``PubmedArticleSet`` (articles, then books)."""
    out = [_article(a) for a in tree.get("PubmedArticle", [])]
    out += [_book(b) for b in tree.get("PubmedBookArticle", [])]
    return out


def _text(value: Any) -> str:
    return " ".join(_MARKUP.sub("", str(value)).split()) if value is not None else ""


def _date(node: Any) -> str:
    if not node:
        return ""
    if "MedlineDate" in node:
        return _text(node["MedlineDate"])
    return " ".join(_text(node[k]) for k in ("Year", "Season", "Month", "Day") if k in node)


def _year(pub_date: str) -> int | None:
    m = _YEAR.search(pub_date)
    return int(m.group(1)) if m else None


def _abstract(node: Any) -> str:
    if not node:
        return ""
    lines = []
    for part in node.get("AbstractText", []):
        label = getattr(part, "attributes", {}).get("Label", "")
        text = _text(part)
        lines.append(f"{label}: {text}" if label else text)
    return "\n".join(x for x in lines if x)


def _authors(authors: Any) -> tuple[str, ...]:
    names = []
    for a in authors or []:
        if getattr(a, "attributes", {}).get("ValidYN", "Y") == "N":
            continue
        if "CollectiveName" in a:
            names.append(_text(a["CollectiveName"]))
            continue
        last = _text(a.get("LastName", ""))
        initials = _text(a.get("Initials", "")) or _text(a.get("ForeName", ""))
        name = " ".join(p for p in (last, initials) if p)
        if name:
            names.append(name)
    return tuple(names)


def _ids(id_list: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    for e in id_list or []:
        kind = e.attributes.get("IdType", "")
        if kind and kind not in ids and str(e).strip():
            ids[kind] = str(e).strip()
    return ids


def _mesh(headings: Any) -> tuple[MeshHeading, ...]:
    out = []
    for h in headings or []:
        d = h["DescriptorName"]
        out.append(MeshHeading(
            descriptor=_text(d), ui=d.attributes.get("UI", ""),
            major=d.attributes.get("MajorTopicYN") == "Y",
            qualifiers=tuple(MeshQualifier(name=_text(q), ui=q.attributes.get("UI", ""),
                                           major=q.attributes.get("MajorTopicYN") == "Y")
                             for q in h.get("QualifierName", []))))
    return tuple(out)


def _comments(items: Any) -> tuple[CommentCorrection, ...]:
    return tuple(CommentCorrection(ref_type=c.attributes.get("RefType", ""),
                                   ref_source=_text(c.get("RefSource", "")),
                                   pmid=_text(c.get("PMID", "")))
                 for c in items or [])


def _article(a: Any) -> Record:
    cit = a["MedlineCitation"]
    art = cit.get("Article", {})
    pub_date = _date(art.get("Journal", {}).get("JournalIssue", {}).get("PubDate"))
    ids = _ids(a.get("PubmedData", {}).get("ArticleIdList"))
    doi = ids.get("doi", "")
    if not doi:
        for loc in art.get("ELocationID", []):
            if loc.attributes.get("EIdType") == "doi" and loc.attributes.get("ValidYN", "Y") != "N":
                doi = str(loc).strip()
                break
    return Record(
        pmid=str(cit["PMID"]), title=_text(art.get("ArticleTitle", "")) or
        _text(art.get("VernacularTitle", "")),
        abstract=_abstract(art.get("Abstract")), authors=_authors(art.get("AuthorList")),
        journal=_text(art.get("Journal", {}).get("Title", "")), year=_year(pub_date),
        pub_date=pub_date, doi=doi, pmcid=ids.get("pmc", ""),
        mesh=_mesh(cit.get("MeshHeadingList")),
        publication_types=tuple(_text(p) for p in art.get("PublicationTypeList", [])),
        language=tuple(_text(x) for x in art.get("Language", [])),
        comments_corrections=_comments(cit.get("CommentsCorrectionsList")),
        article_type="PubmedArticle")


def _book(b: Any) -> Record:
    doc = b["BookDocument"]
    book = doc.get("Book", {})
    pub_date = _date(book.get("PubDate"))
    ids = _ids(doc.get("ArticleIdList"))
    for k, v in _ids(b.get("PubmedBookData", {}).get("ArticleIdList")).items():
        ids.setdefault(k, v)
    authors = ()
    for author_list in doc.get("AuthorList", []):
        authors = _authors(author_list)
        break
    if not authors:
        for author_list in book.get("AuthorList", []):
            authors = _authors(author_list)
            break
    return Record(
        pmid=str(doc["PMID"]),
        title=_text(doc.get("ArticleTitle", "")) or _text(book.get("BookTitle", "")),
        abstract=_abstract(doc.get("Abstract")), authors=authors,
        journal=_text(book.get("BookTitle", "")), year=_year(pub_date), pub_date=pub_date,
        doi=ids.get("doi", ""), pmcid=ids.get("pmc", ""), mesh=(),
        publication_types=tuple(_text(p) for p in doc.get("PublicationType", [])),
        language=tuple(_text(x) for x in doc.get("Language", [])),
        comments_corrections=_comments(doc.get("CommentsCorrectionsList")),
        article_type="PubmedBookArticle")
