"""A loopback E-utilities server that behaves like NCBI's, for tests and benchmarks.

Start it on 127.0.0.1 (port 0: the system picks a free one) over a synthetic
PubMed corpus::

    from tests.support.eutils_server import FakeEutils, Faults, make_corpus

    with FakeEutils(make_corpus(500)) as server:
        client = EutilsClient(base_url=server.url, ...)

or use the ``eutils_server`` factory fixture in ``tests/conftest.py``.

What it mimics (NCBI's E-utilities documentation, NBK25499, and answers
recorded from NCBI in ``tests/fixtures/ncbi/``):

* ``esearch.fcgi``: XML, or JSON with ``retmode=json``; ``term``,
  ``retstart``/``retmax`` (default 20), ``Count``,
  ``usehistory=y`` (returns ``WebEnv`` + ``QueryKey``), ``mindate``/``maxdate``
  with ``datetype`` ``edat``/``pdat``/``mdat`` (inclusive, ``YYYY[/MM[/DD]]``),
  ids newest PMID first; PubMed's 9,999 cap: ``retstart`` > 9998 answers NCBI's
  ``<ERROR>`` text and windows crossing it are clamped; words that match no
  record give ``ErrorList/PhraseNotFound`` (and ``No items found.`` when
  nothing matches). ``all[sb]`` matches every record.
* ``efetch.fcgi``: ``retmode=xml`` by ``id`` (GET or POST, comma-separated,
  unknown ids left out) or by ``WebEnv``/``query_key``/``retstart``/``retmax``
  (HTTP 400 with NCBI's text past the cap); without ``retmode=xml`` an HTML page,
  as NCBI does.
* ``ecitmatch.cgi``: the batch citation matcher (``bdata`` lines
  ``journal|year|volume|first_page|author|key|``; see :meth:`FakeEutils.ecitmatch`).
* ``epost.fcgi`` and ``elink.fcgi`` (``linkname`` ``pubmed_pubmed_refs`` /
  ``pubmed_pubmed_citedin`` from ``FakeEutils.links``; one LinkSet per ``id``).
* Rate limit: more than ``rate_limit`` accepted requests (``key_rate_limit``
  with an ``api_key``) in any 1-second sliding window gives HTTP 429 with
  ``Retry-After`` and NCBI's JSON body.

The search model is deliberately simple: a record matches when any query word
(field tags, quotes, parentheses and AND/OR/NOT removed) is one of its
``keywords``; ``<language>[la]`` keeps records whose language code is the
language's first three letters (``english[la]`` -> ``eng``).

**Adding records between runs** (living updates): ``server.add_records(recs)``
(thread-safe; later searches see them). ``make_corpus(n, start_pmid=..., first=...,
last=...)`` makes more, with dates in a range.

**Faults**: ``server.faults = Faults(error_rate=0.08, truncate_rate=0.02, ...)``
(or the ``faults=`` argument). Each accepted request draws from a seeded random
generator: a 5xx, a body cut in half, malformed XML, an HTML page, or a hang of
``hang_seconds`` before answering. ``Faults.utilities`` restricts them to
some utilities. ``server.log`` lists every request (the API key value is never
kept, only whether one was sent); ``server.count(...)`` counts them.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

#: PubMed's retrieval cap and its error text (as NCBI words it).
CAP = 9999
CAP_ERROR = ("Search Backend failed: Exception:\n'retstart' cannot be larger than 9998. "
             "For PubMed, ESearch can only retrieve the first 9,999 records matching the "
             "query. To obtain more than 9,999 PubMed records, consider using EDirect that "
             "contains additional logic to batch PubMed search results automatically so "
             "that an arbitrary number can be retrieved. For details see "
             "https://www.ncbi.nlm.nih.gov/books/NBK25499/")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DEFAULT_KEYWORDS = ("thyroid", "carcinoma", "liver", "metastases", "tace", "rfa")


@dataclass
class SyntheticRecord:
    """One generated PubMed record with its three dates (entrez, publication, modification)."""

    pmid: int
    title: str
    edat: date
    pdat: date
    mdat: date
    keywords: frozenset[str] = frozenset(DEFAULT_KEYWORDS)
    abstract: tuple[tuple[str, str], ...] = ()   # (label, text with inline markup)
    authors: tuple[str, ...] = ("Smith J",)       # "Last Initials" or a collective name
    collective: str = ""
    journal: str = "Journal of Synthetic Oncology"
    medline_date: str = ""
    doi: str = ""
    pmcid: str = ""
    mesh: tuple[tuple[str, bool, tuple[str, ...]], ...] = ()
    comments: tuple[tuple[str, str, str], ...] = ()   # (RefType, RefSource, PMID)
    book: bool = False
    language: str = "eng"
    volume: str = "1"
    first_page: str = ""


def make_corpus(n: int, *, start_pmid: int = 20_000_001, first: date = date(2000, 1, 1),
                last: date = date(2023, 12, 31), seed: int = 0,
                keywords: Iterable[str] = DEFAULT_KEYWORDS) -> list[SyntheticRecord]:
    """*n* records with PMIDs from *start_pmid*, entrez dates spread evenly over [first, last].

    Every so often a record carries a feature the parser must handle: a
    MedlineDate (every 50th), a Season, a collective author (every 97th), a
    structured abstract with inline markup (every 3rd), a retraction notice and
    erratum (every 211th), a book article (every 500th).
    """
    rng = random.Random(seed)
    span = max((last - first).days, 0)
    words = frozenset(keywords)
    out = []
    for i in range(n):
        edat = first + timedelta(days=(span * i) // max(n - 1, 1))
        pdat = edat - timedelta(days=rng.randint(0, 60))
        mdat = edat + timedelta(days=rng.randint(0, 400))
        pmid = start_pmid + i
        abstract: tuple[tuple[str, str], ...]
        if i % 3 == 0:
            abstract = (("BACKGROUND", f"Loco-regional <i>therapy</i> in case {i}."),
                        ("RESULTS", f"Response in {i % 17} of 17 patients (p &lt; 0.05)."))
        else:
            abstract = (("", f"Plain abstract number {i} with H<sub>2</sub>O."),)
        out.append(SyntheticRecord(
            pmid=pmid,
            title=f"Synthetic study {i} of <i>liver</i> metastases from thyroid carcinoma",
            edat=edat, pdat=pdat, mdat=mdat, keywords=words, abstract=abstract,
            authors=(f"Author{i % 7} A", f"Second{i % 11} BC"),
            collective="Synthetic Thyroid Study Group" if i % 97 == 5 else "",
            medline_date=(f"{pdat.year} {MONTHS[pdat.month - 1]}-{pdat.year + 1} Jan"
                          if i % 50 == 7 else ""),
            doi=f"10.5555/synth.{pmid}" if i % 4 else "",
            pmcid=f"PMC{pmid + 1}" if i % 5 == 0 else "",
            mesh=(("Thyroid Neoplasms", i % 2 == 0, ("therapy", "pathology")),
                  ("Liver Neoplasms", False, ("secondary",)), ("Humans", False, ())),
            comments=((("RetractionIn", f"J Synth Oncol. {edat.year};1:1", str(pmid + 1)),
                       ("ErratumIn", f"J Synth Oncol. {edat.year};2:2", ""))
                      if i % 211 == 3 else ()),
            book=(i % 500 == 250),
        ))
    return out


def render_record(rec: SyntheticRecord) -> str:
    """The record as a PubmedArticle (or PubmedBookArticle) element, as efetch prints it."""
    if rec.medline_date:
        pub_date = f"<MedlineDate>{escape(rec.medline_date)}</MedlineDate>"
    elif rec.pmid % 13 == 0:
        pub_date = f"<Year>{rec.pdat.year}</Year><Season>Spring</Season>"
    else:
        pub_date = (f"<Year>{rec.pdat.year}</Year><Month>{MONTHS[rec.pdat.month - 1]}</Month>"
                    f"<Day>{rec.pdat.day:02d}</Day>")
    authors = "".join(
        f"<Author ValidYN=\"Y\"><LastName>{escape(a.split(' ')[0])}</LastName>"
        f"<Initials>{escape(a.split(' ')[1])}</Initials></Author>" for a in rec.authors)
    if rec.collective:
        authors += (f"<Author ValidYN=\"Y\"><CollectiveName>{escape(rec.collective)}"
                    "</CollectiveName></Author>")
    authors += "<Author ValidYN=\"N\"><LastName>Wrong</LastName><Initials>X</Initials></Author>"
    abstract = "".join(
        f"<AbstractText Label=\"{label}\">{text}</AbstractText>" if label
        else f"<AbstractText>{text}</AbstractText>" for label, text in rec.abstract)
    ids = f"<ArticleId IdType=\"pubmed\">{rec.pmid}</ArticleId>"
    if rec.doi:
        ids += f"<ArticleId IdType=\"doi\">{rec.doi}</ArticleId>"
    if rec.pmcid:
        ids += f"<ArticleId IdType=\"pmc\">{rec.pmcid}</ArticleId>"
    history = "".join(
        f"<PubMedPubDate PubStatus=\"{status}\"><Year>{d.year}</Year><Month>{d.month}</Month>"
        f"<Day>{d.day}</Day></PubMedPubDate>"
        for status, d in (("entrez", rec.edat), ("pubmed", rec.edat), ("medline", rec.mdat)))
    comments = "".join(
        f"<CommentsCorrections RefType=\"{t}\"><RefSource>{escape(s)}</RefSource>"
        + (f"<PMID Version=\"1\">{p}</PMID>" if p else "") + "</CommentsCorrections>"
        for t, s, p in rec.comments)
    if rec.book:
        return (
            "<PubmedBookArticle><BookDocument>"
            f"<PMID Version=\"1\">{rec.pmid}</PMID>"
            f"<ArticleIdList><ArticleId IdType=\"bookaccession\">NBK{rec.pmid}</ArticleId>"
            "</ArticleIdList>"
            "<Book><Publisher><PublisherName>Synthetic Press</PublisherName></Publisher>"
            f"<BookTitle book=\"synth{rec.pmid}\">Handbook of {rec.title}</BookTitle>"
            f"<PubDate>{pub_date}</PubDate></Book>"
            f"<ArticleTitle>{rec.title}</ArticleTitle>"
            f"<Language>{rec.language}</Language>"
            f"<AuthorList Type=\"authors\">{authors}</AuthorList>"
            "<PublicationType UI=\"D016454\">Review</PublicationType>"
            f"<Abstract>{abstract}</Abstract></BookDocument>"
            f"<PubmedBookData><History>{history}</History>"
            "<PublicationStatus>ppublish</PublicationStatus>"
            f"<ArticleIdList>{ids}</ArticleIdList></PubmedBookData></PubmedBookArticle>")
    mesh = "".join(
        f"<MeshHeading><DescriptorName UI=\"D{zlib.crc32(d.encode()) % 10**6:06d}\" MajorTopicYN="
        f"\"{'Y' if major else 'N'}\">{escape(d)}</DescriptorName>"
        + "".join(f"<QualifierName UI=\"Q{len(q):06d}\" MajorTopicYN=\"{'Y' if major else 'N'}\">"
                  f"{escape(q)}</QualifierName>" for q in quals)
        + "</MeshHeading>" for d, major, quals in rec.mesh)
    return (
        "<PubmedArticle><MedlineCitation Status=\"MEDLINE\" Owner=\"NLM\">"
        f"<PMID Version=\"1\">{rec.pmid}</PMID>"
        "<Article PubModel=\"Print\"><Journal><JournalIssue CitedMedium=\"Print\">"
        f"<Volume>{escape(rec.volume)}</Volume><PubDate>{pub_date}</PubDate></JournalIssue>"
        f"<Title>{escape(rec.journal)}</Title></Journal>"
        f"<ArticleTitle>{rec.title}</ArticleTitle>"
        + (f"<Pagination><StartPage>{escape(rec.first_page)}</StartPage></Pagination>"
           if rec.first_page else "") +
        f"<Abstract>{abstract}</Abstract>"
        f"<AuthorList CompleteYN=\"Y\">{authors}</AuthorList>"
        f"<Language>{rec.language}</Language>"
        "<PublicationTypeList><PublicationType UI=\"D016428\">Journal Article</PublicationType>"
        "</PublicationTypeList></Article>"
        + (f"<CommentsCorrectionsList>{comments}</CommentsCorrectionsList>" if comments else "")
        + (f"<MeshHeadingList>{mesh}</MeshHeadingList>" if mesh else "")
        + "</MedlineCitation><PubmedData>"
        f"<History>{history}</History><PublicationStatus>ppublish</PublicationStatus>"
        f"<ArticleIdList>{ids}</ArticleIdList></PubmedData></PubmedArticle>")


def render_article_set(records: Iterable[SyntheticRecord]) -> bytes:
    """A whole efetch answer."""
    body = "".join(render_record(r) for r in records)
    return ('<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
            '1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
            f"<PubmedArticleSet>{body}</PubmedArticleSet>").encode("utf-8")


@dataclass
class Faults:
    """Injected failures, drawn per accepted request from a seeded generator."""

    error_rate: float = 0.0       # HTTP 500/502/503
    truncate_rate: float = 0.0    # body cut in half (Content-Length matches the cut body)
    malformed_rate: float = 0.0   # well-sized but broken XML
    html_rate: float = 0.0        # an HTML page where XML was asked
    hang_rate: float = 0.0        # wait hang_seconds before answering
    hang_seconds: float = 5.0
    delay: float = 0.0            # latency added to every answer
    utilities: tuple[str, ...] = ("esearch", "efetch", "epost", "elink")
    seed: int = 1


@dataclass
class LoggedRequest:
    """One request as the server saw it."""

    utility: str
    method: str
    params: dict[str, str]
    status: int
    fault: str = ""
    has_api_key: bool = False
    pmids_served: tuple[str, ...] = ()
    at: float = 0.0


@dataclass
class _Stored:
    ids: list[str]


class FakeEutils:
    """The server. ``url`` is its base URL (ends with ``/``); use as a context manager."""

    def __init__(self, records: Iterable[SyntheticRecord] = (), *,
                 rate_limit: float | None = 3, key_rate_limit: float = 10,
                 retry_after: int = 1, faults: Faults | None = None,
                 links: dict[str, dict[str, Sequence[str]]] | None = None,
                 phrases_in_window: bool = False, key_error: str = "") -> None:
        self._lock = threading.Lock()
        #: "xml": a request with an API key gets the utility's answer with ``<ERROR>Invalid
        #: api_key KEY</ERROR>`` (the key echoed back, as NCBI does); "http": HTTP 400 with
        #: ``{"error": "Invalid api_key KEY"}``; "": the key is accepted.
        self.key_error = key_error
        #: True: a word matching no record *of the date window* is PhraseNotFound, as PubMed
        #: answered for an empty update window (issue 22); False: no record at all.
        self.phrases_in_window = phrases_in_window
        self._records: dict[int, SyntheticRecord] = {}
        self.add_records(records)
        self.rate_limit = rate_limit
        self.key_rate_limit = key_rate_limit
        self.retry_after = retry_after
        self.faults = faults or Faults()
        self.links: dict[str, dict[str, Sequence[str]]] = links or {}
        self.log: list[LoggedRequest] = []
        self._history: dict[str, dict[str, _Stored]] = {}
        self._arrivals: dict[bool, deque[float]] = {False: deque(), True: deque()}
        self._rng = random.Random(self.faults.seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- corpus -----------------------------------------------------------------------

    def add_records(self, records: Iterable[SyntheticRecord]) -> None:
        """Add (or replace) records; searches after this see them."""
        with self._lock:
            for rec in records:
                self._records[rec.pmid] = rec

    @property
    def records(self) -> list[SyntheticRecord]:
        """The corpus, by PMID."""
        with self._lock:
            return [self._records[k] for k in sorted(self._records)]

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> "FakeEutils":
        """Listen on 127.0.0.1 on a free port, serving from a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeEutils":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123/entrez/eutils/``."""
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/entrez/eutils/"

    # -- statistics -------------------------------------------------------------------

    def count(self, utility: str | None = None, status: int | None = None) -> int:
        """Requests logged, optionally of one utility and/or one status."""
        with self._lock:
            return sum(1 for r in self.log if (utility is None or r.utility == utility)
                       and (status is None or r.status == status))

    def served_pmids(self) -> list[str]:
        """Every PMID served by efetch, in order, with repeats."""
        with self._lock:
            return [p for r in self.log for p in r.pmids_served]

    # -- request handling (called from handler threads) ---------------------------------

    def _admit(self, has_key: bool) -> bool:
        """Sliding 1-second window of accepted requests per client (key or no key)."""
        limit = self.key_rate_limit if has_key else self.rate_limit
        if limit is None:
            return True
        now = time.monotonic()
        with self._lock:
            window = self._arrivals[has_key]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    def _draw_fault(self, utility: str) -> str:
        f = self.faults
        if utility not in f.utilities:
            return ""
        with self._lock:
            x = self._rng.random()
        for name, rate in (("5xx", f.error_rate), ("truncate", f.truncate_rate),
                           ("malformed", f.malformed_rate), ("html", f.html_rate),
                           ("hang", f.hang_rate)):
            if x < rate:
                return name
            x -= rate
        return ""

    def _search(self, params: dict[str, str]) -> tuple[list[str], list[str]]:
        """Matching ids (newest PMID first) and the words that matched nothing."""
        term = params.get("term", "")
        languages = {m.lower()[:3] for m in re.findall(r"(\w+)\[(?:la|lang|language)\]", term,
                                                         re.IGNORECASE)}
        term = re.sub(r"\w+\[(?:la|lang|language)\]", " ", term, flags=re.IGNORECASE)
        words = [w.lower() for w in re.findall(r"[A-Za-z0-9\-]+", re.sub(r"\[[^\]]*\]", " ", term))
                 if w.upper() not in {"AND", "OR", "NOT"}]
        everything = "all[sb]" in term.lower()
        with self._lock:
            recs = list(self._records.values())
        datetype = params.get("datetype", "pdat")
        lo = _parse_date(params.get("mindate", ""), end=False)
        hi = _parse_date(params.get("maxdate", ""), end=True)
        in_window = [r for r in recs if (lo is None or getattr(r, datetype) >= lo)
                     and (hi is None or getattr(r, datetype) <= hi)]
        known = in_window if self.phrases_in_window else recs
        vocabulary = set().union(*(r.keywords for r in known)) if known else set()
        missing = [w for w in dict.fromkeys(words) if w not in vocabulary]
        wanted = set(words) & set().union(*(r.keywords for r in recs)) if recs else set()
        hits = [r for r in in_window if (everything or (r.keywords & wanted))
                and (not languages or r.language in languages)]
        return [str(r.pmid) for r in sorted(hits, key=lambda r: -r.pmid)], missing

    def esearch(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        if params.get("datetype", "pdat") not in {"edat", "pdat", "mdat"}:
            return 200, _esearch_error(f"Invalid datetype: {params['datetype']}"), "text/xml"
        ids, missing = self._search(params)
        retstart = int(params.get("retstart") or 0)
        retmax = int(params.get("retmax") if params.get("retmax") not in (None, "") else 20)
        if retstart > CAP - 1 and len(ids) > CAP:
            if params.get("retmode") == "json":  # NCBI's own JSON here is not even valid JSON
                return 200, json.dumps({"esearchresult": {"ERROR": CAP_ERROR}}).encode(), \
                    "application/json"
            return 200, _esearch_error(CAP_ERROR), "text/xml"
        warnings = []
        shown = ids[retstart:retstart + retmax]
        if retstart + retmax > CAP and len(ids) > CAP:
            shown = ids[retstart:CAP]
            warnings.append(f"<OutputMessage>Restrictions achieved. start and count adjusted to "
                            f"{retstart}, {len(shown)}</OutputMessage>")
        history = ""
        if params.get("usehistory") == "y":
            webenv, key = self._store(params.get("WebEnv", ""), ids)
            history = f"<QueryKey>{key}</QueryKey><WebEnv>{webenv}</WebEnv>"
        errors = "".join(f"<PhraseNotFound>{escape(w)}</PhraseNotFound>" for w in missing)
        if not ids:
            warnings.append("<OutputMessage>No items found.</OutputMessage>")
        if params.get("retmode") == "json":
            return 200, self._esearch_json(ids, shown, retstart, history, missing,
                                            params), "application/json"
        body = ('<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC '
                '"-//NLM//DTD esearch 20060628//EN" '
                '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
                f"<eSearchResult><Count>{len(ids)}</Count><RetMax>{len(shown)}</RetMax>"
                f"<RetStart>{retstart}</RetStart>{history}<IdList>"
                + "".join(f"<Id>{i}</Id>" for i in shown)
                + f"</IdList><TranslationSet/><QueryTranslation>{escape(params.get('term', ''))}"
                "</QueryTranslation>"
                + (f"<ErrorList>{errors}</ErrorList>" if errors else "")
                + (f"<WarningList>{''.join(warnings)}</WarningList>" if warnings else "")
                + "</eSearchResult>")
        return 200, body.encode(), "text/xml"

    @staticmethod
    def _esearch_json(ids: list[str], shown: list[str], retstart: int, history: str,
                      missing: list[str], params: dict[str, str]) -> bytes:
        """The ``retmode=json`` form of an esearch answer (as pymed reads it)."""
        result: dict[str, object] = {
            "count": str(len(ids)), "retmax": str(len(shown)), "retstart": str(retstart),
            "idlist": shown, "translationset": [],
            "querytranslation": params.get("term", "")}
        if history:
            key, webenv = re.findall(r">([^<]+)<", history)
            result.update(querykey=key, webenv=webenv)
        if missing:
            result["errorlist"] = {"phrasesnotfound": missing}
        return json.dumps({"header": {"type": "esearch", "version": "0.3"},
                           "esearchresult": result}).encode()

    def _store(self, webenv: str, ids: list[str]) -> tuple[str, str]:
        with self._lock:
            if not webenv or webenv not in self._history:
                webenv = "MCID_" + uuid.uuid4().hex[:24]
                self._history[webenv] = {}
            sets = self._history[webenv]
            key = str(len(sets) + 1)
            sets[key] = _Stored(ids=list(ids))
            return webenv, key

    def efetch(self, params: dict[str, str]) -> tuple[int, bytes, str, tuple[str, ...]]:
        if "WebEnv" in params:
            with self._lock:
                stored = self._history.get(params["WebEnv"], {}).get(params.get("query_key", ""))
            if stored is None:
                return (200, b"<eFetchResult><ERROR>Cannot retrieve query from history"
                        b"</ERROR></eFetchResult>", "text/xml", ())
            retstart = int(params.get("retstart") or 0)
            retmax = int(params.get("retmax") or 20)
            if retstart > CAP - 1 and len(stored.ids) > CAP:
                body = f"<eFetchResult><ERROR>{escape(CAP_ERROR)}</ERROR></eFetchResult>"
                return 400, body.encode(), "text/xml", ()
            end = retstart + retmax
            if len(stored.ids) > CAP:
                end = min(end, CAP)
            ids = stored.ids[retstart:end]
        else:
            ids = [i.strip() for i in params.get("id", "").split(",") if i.strip()]
        with self._lock:
            recs = [self._records[int(i)] for i in ids if i.isdigit() and int(i) in self._records]
        if params.get("retmode") != "xml":
            text = "".join(f"<pre>Pubmed-entry ::= {{ pmid {r.pmid} }}</pre>" for r in recs)
            return 200, f"<html><body>{text}</body></html>".encode(), "text/html", ()
        return 200, render_article_set(recs), "text/xml", tuple(str(r.pmid) for r in recs)

    def epost(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        ids = [i for i in params.get("id", "").split(",") if i.strip().isdigit()]
        if not ids:
            return 200, (b"<ePostResult><ERROR>Empty ID list; Nothing to store</ERROR>"
                         b"</ePostResult>"), "text/xml"
        webenv, key = self._store(params.get("WebEnv", ""), ids)
        return 200, (f"<ePostResult><QueryKey>{key}</QueryKey><WebEnv>{webenv}</WebEnv>"
                     "</ePostResult>").encode(), "text/xml"

    def ecitmatch(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """NCBI's batch citation matcher: each ``journal|year|volume|first_page|author|key|``
        line answered with the PMID appended, ``NOT_FOUND`` or ``AMBIGUOUS`` and the
        candidates. A given field must match (journal and author case-insensitively,
        the author by the first author's surname); an empty field matches all.
        """
        with self._lock:
            recs = list(self._records.values())
        lines = []
        for line in re.split(r"[\r\n]+", params.get("bdata", "")):
            parts = line.split("|")
            if len(parts) < 6:
                continue
            journal, year, volume, page, author, key = (p.strip() for p in parts[:6])
            hits = [r for r in recs
                    if (not journal or r.journal.lower() == journal.lower())
                    and (not year or str(r.pdat.year) == year)
                    and (not volume or r.volume == volume)
                    and (not page or r.first_page == page)
                    and (not author or (r.authors and r.authors[0].split()[0].lower()
                                        == author.split()[0].lower()))]
            if len(hits) == 1:
                result = str(hits[0].pmid)
            elif hits:
                result = "AMBIGUOUS " + ",".join(str(r.pmid) for r in hits)
            else:
                result = "NOT_FOUND;INVALID_JOURNAL" if journal and not any(
                    r.journal.lower() == journal.lower() for r in recs) else "NOT_FOUND"
            lines.append("|".join([journal, year, volume, page, author, key, result]))
        return 200, ("\n".join(lines) + "\n").encode(), "text/plain"

    def elink(self, ids: list[str], params: dict[str, str]) -> tuple[int, bytes, str]:
        linkname = params.get("linkname", "pubmed_pubmed")
        sets = []
        for i in ids:
            linked = self.links.get(i, {}).get(linkname, ())
            dbs = (f"<LinkSetDb><DbTo>pubmed</DbTo><LinkName>{linkname}</LinkName>"
                   + "".join(f"<Link><Id>{x}</Id></Link>" for x in linked)
                   + "</LinkSetDb>") if linked else ""
            sets.append(f"<LinkSet><DbFrom>pubmed</DbFrom><IdList><Id>{i}</Id></IdList>"
                        f"{dbs}</LinkSet>")
        return 200, f"<eLinkResult>{''.join(sets)}</eLinkResult>".encode(), "text/xml"


#: The root element of each utility's XML answer (where NCBI puts an <ERROR>).
_ROOTS = {"esearch": "eSearchResult", "efetch": "eFetchResult", "epost": "ePostResult",
          "elink": "eLinkResult", "esummary": "eSummaryResult"}


def _esearch_error(text: str) -> bytes:
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<eSearchResult><ERROR>{escape(text)}"
            "</ERROR></eSearchResult>").encode()


def _parse_date(text: str, *, end: bool) -> date | None:
    """PubMed's ``YYYY``, ``YYYY/MM`` or ``YYYY/MM/DD``; a range end takes the last day."""
    parts = [int(p) for p in re.findall(r"\d+", text)]
    if not parts:
        return None
    year = parts[0]
    if len(parts) == 1:
        return date(year, 12, 31) if end else date(year, 1, 1)
    month = parts[1]
    if len(parts) == 2:
        if not end:
            return date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return nxt - timedelta(days=1)
    return date(year, month, parts[2])


_CANONICAL = {"webenv": "WebEnv", "query_key": "query_key", "retstart": "retstart",
              "retmax": "retmax", "retmode": "retmode", "usehistory": "usehistory"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEutils
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._handle(parse_qs(urlparse(self.path).query, keep_blank_values=True), "GET")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        query = parse_qs(urlparse(self.path).query, keep_blank_values=True)
        for k, v in query.items():
            form.setdefault(k, v)
        self._handle(form, "POST")

    def _handle(self, multi: dict[str, list[str]], method: str) -> None:
        fake = self.fake
        utility = urlparse(self.path).path.rsplit("/", 1)[-1].removesuffix(".fcgi").removesuffix(".cgi")
        has_key = bool(multi.get("api_key", [""])[0])
        params = {k: v[0] for k, v in multi.items() if k != "api_key"}
        for k in list(params):  # NCBI's parameter names are case-insensitive (webenv, WebEnv)
            canonical = _CANONICAL.get(k.lower())
            if canonical and canonical != k:
                params[canonical] = params.pop(k)
        if len(multi.get("id", [])) > 1:  # repeated id= parameters are one list
            params["id"] = ",".join(multi["id"])
        entry = LoggedRequest(utility=utility, method=method, params=params, status=0,
                              has_api_key=has_key, at=time.monotonic())
        with fake._lock:
            fake.log.append(entry)
        if not fake._admit(has_key):
            limit = fake.key_rate_limit if has_key else fake.rate_limit
            body = json.dumps({"error": "API rate limit exceeded", "count": str(int(limit) + 1),
                               "limit": str(int(limit))}).encode()
            entry.status = 429
            self._send(429, body, "application/json",
                       {"Retry-After": str(fake.retry_after)})
            return
        if has_key and fake.key_error:
            key = multi["api_key"][0]
            entry.status = 400 if fake.key_error == "http" else 200
            if fake.key_error == "http":
                self._send(400, json.dumps({"error": f"Invalid api_key {key}"}).encode(),
                           "application/json")
            elif utility == "ecitmatch":
                self._send(200, f"ERROR: Invalid api_key {key}\n".encode(), "text/plain")
            else:
                root = _ROOTS.get(utility, "eResult")
                self._send(200, f'<?xml version="1.0"?><{root}><ERROR>Invalid api_key {key}</ERROR>'
                                f"</{root}>".encode(), "text/xml")
            return
        fault = fake._draw_fault(utility)
        entry.fault = fault
        if fake.faults.delay:
            time.sleep(fake.faults.delay)
        if fault == "hang":
            time.sleep(fake.faults.hang_seconds)
        if fault == "5xx":
            entry.status = random.choice([500, 502, 503])
            self._send(entry.status, b"<html><body><h1>Service unavailable</h1></body></html>",
                       "text/html")
            return
        served: tuple[str, ...] = ()
        if utility == "esearch":
            status, body, ctype = fake.esearch(params)
        elif utility == "efetch":
            status, body, ctype, served = fake.efetch(params)
        elif utility == "epost":
            status, body, ctype = fake.epost(params)
        elif utility == "ecitmatch":
            status, body, ctype = fake.ecitmatch(params)
        elif utility == "elink":
            ids = [i for v in multi.get("id", []) for i in v.split(",") if i]
            status, body, ctype = fake.elink(ids, params)
        else:
            status, body, ctype = 404, b"unknown utility", "text/plain"
        if fault == "truncate":
            body = body[: len(body) // 2]
            served = ()
        elif fault == "malformed":
            body = body.replace(b"</", b"<", 3)
            served = ()
        elif fault == "html":
            body, ctype, served = b"<html><body>Temporarily unavailable</body></html>", "text/html", ()
        entry.status = status
        entry.pmids_served = served
        self._send(status, body, ctype)

    def _send(self, status: int, body: bytes, ctype: str,
              headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
