"""A client for NCBI's E-utilities (esearch, efetch, epost, elink) that survives bad days.

Rules it follows, with their sources:

* Base URL: NCBI's (:data:`DEFAULT_BASE_URL`) unless overridden by ``--eutils-url``
  or the environment variable ``EVSYNTH_EUTILS_URL`` (tests point it at a
  loopback server; see :func:`resolve_base_url`).
* Rate: at most 3 requests/s, 10 with an API key (NCBI, "A General Introduction
  to the E-utilities", https://www.ncbi.nlm.nih.gov/books/NBK25497/), enforced by
  a :class:`evsynth.search.ratelimit.RateLimiter` shared across threads and processes.
* Identification: every request carries ``tool`` and, when given, ``email``
  (same source). The API key comes from ``NCBI_API_KEY`` only (read by the
  command line, passed here); it is sent in the body of a POST (never in a URL)
  and never stored, logged or put in an error message
  (:func:`redact`: every answer's body is redacted before it is parsed, so no
  message built from a server's answer can carry the key).
* Long id lists go by HTTP POST: NCBI recommends POST beyond about 200 UIDs and
  answers 414 to over-long GET URLs (NBK25499, "EPost"/"EFetch"). Like
  Biopython, we switch to POST when the encoded parameters exceed 1,000 characters.
* Retries: on HTTP 429 (waiting at least its ``Retry-After``), 5xx, connection
  errors, timeouts and bodies that are truncated or not the XML asked for, with
  exponential backoff (``backoff * 2**(try-1)`` seconds, capped at ``max_backoff``)
  and jitter (a random half to whole of that step), at most ``max_tries``
  attempts; then one
  clear :class:`EutilsError`. Other 4xx answers (such as PubMed's 9,999-record
  history cap) are final at once.
* A fetched batch is accepted only when it parses and holds exactly the PMIDs
  asked for (:meth:`EutilsClient.fetch_batch`).
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlencode, urlsplit

from evsynth import __version__
from evsynth.core.errors import EvsynthError
from evsynth.search.pubmed_xml import PubmedXmlError, parse_pubmed_xml
from evsynth.search.ratelimit import RateLimiter, default_lock_path, ncbi_rate
from evsynth.search.records import Record

if TYPE_CHECKING:  # requests is imported when a client is made: commands without the network start faster
    import requests

#: NCBI's E-utilities endpoint.
DEFAULT_BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
#: Environment variable that overrides the base URL (a mirror or a test server).
ENV_BASE_URL = "EVSYNTH_EUTILS_URL"
#: Environment variable holding the NCBI API key (the only place it is read from).
ENV_API_KEY = "NCBI_API_KEY"
#: Environment variable that sets the request rate; honoured only for a base URL
#: other than NCBI's, so nobody can exceed NCBI's limit by accident.
ENV_RATE = "EVSYNTH_EUTILS_RATE"
#: PubMed serves only the first 9,999 records of a search, by esearch paging or
#: by efetch from the history server: "'retstart' cannot be larger than 9998.
#: For PubMed, ESearch can only retrieve the first 9,999 records matching the
#: query." (NCBI's error text; NBK25499 documents the limit as 10,000).
PUBMED_RETRIEVAL_CAP = 9999
#: Above this many characters of encoded parameters, send a POST.
POST_THRESHOLD = 1000

T = TypeVar("T")


class EutilsError(EvsynthError):
    """An E-utilities request failed for good (after retries, or a final answer)."""


class MalformedResponse(Exception):
    """A response body that is not the XML asked for (worth retrying)."""


@dataclass
class RequestStats:
    """What the client did, for the run's manifest."""

    requests: int = 0
    retries: int = 0
    http_429: int = 0
    http_5xx: int = 0
    timeouts: int = 0
    connection_errors: int = 0
    bad_bodies: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    """One esearch answer.

    ``count`` is PubMed's total for the query (it may exceed the ids served);
    ``phrases_not_found`` lists the ErrorList/PhraseNotFound entries: PubMed
    searched *without* those phrases.
    """

    count: int
    ids: tuple[str, ...] = ()
    retstart: int = 0
    webenv: str = ""
    query_key: str = ""
    query_translation: str = ""
    warnings: tuple[str, ...] = ()
    phrases_not_found: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Batch:
    """A fetched, verified batch: the XML as received and its records."""

    xml: bytes
    records: tuple[Record, ...] = field(default=())


def resolve_base_url(option: str | None = None) -> str:
    """The base URL: the ``--eutils-url`` option, else ``EVSYNTH_EUTILS_URL``, else NCBI's."""
    url = option or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    if not re.match(r"^https?://", url):
        raise EvsynthError(f"E-utilities URL must start with http:// or https://: {url!r}")
    return url if url.endswith("/") else url + "/"


def public_url(url: str) -> str:
    """*url* without user info, query or fragment: safe to record in a manifest."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def api_key_from_env() -> str | None:
    """The NCBI API key from ``NCBI_API_KEY``, or None."""
    key = os.environ.get(ENV_API_KEY, "").strip()
    return key or None


def default_limiter(base_url: str, has_api_key: bool) -> RateLimiter:
    """NCBI's limit shared across processes; ``EVSYNTH_EUTILS_RATE`` applies to other servers only."""
    rate = ncbi_rate(has_api_key)
    raw = os.environ.get(ENV_RATE)
    if raw and base_url != DEFAULT_BASE_URL:
        try:
            rate = float(raw)
        except ValueError:
            raise EvsynthError(f"{ENV_RATE} must be a number of requests per second, not {raw!r}")
        if rate <= 0:
            raise EvsynthError(f"{ENV_RATE} must be positive, not {raw!r}")
    server = urlsplit(base_url).hostname or "unknown"
    return RateLimiter(rate=rate, lock_path=default_lock_path(has_api_key, server))


class EutilsClient:
    """E-utilities over HTTP with NCBI's rate limit, retries and response checks.

    ``api_key`` is passed in by the caller (the command line reads
    ``NCBI_API_KEY``); it is never stored anywhere but this object.
    """

    def __init__(self, base_url: str | None = None, email: str | None = None,
                 api_key: str | None = None, tool: str = "evsynth",
                 limiter: RateLimiter | None = None, max_tries: int = 6,
                 timeout: float = 60.0, backoff: float = 1.0, max_backoff: float = 60.0,
                 session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None,
                 on_retry: Callable[[str], None] | None = None) -> None:
        import requests

        self.base_url = resolve_base_url(base_url)
        self.email = email
        self._api_key = api_key or None
        self.tool = tool
        self.limiter = limiter or default_limiter(self.base_url, bool(self._api_key))
        self.max_tries = max(1, int(max_tries))
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", f"evsynth/{__version__}")
        self._sleep = sleep
        self._rng = rng or random.Random()
        #: Called with one line per retry (``retry 2/6 in 2.1 s: HTTP 503``); the command
        #: line prints it, so a slow server is never silent.
        self.on_retry = on_retry
        self.stats = RequestStats()
        self._stats_lock = threading.Lock()

    # -- the one retrying request ---------------------------------------------------

    def request(self, utility: str, params: Sequence[tuple[str, str]] | dict[str, str],
                parse: Callable[[bytes], T], *, suffix: str = ".fcgi") -> T:
        """Call ``<base>/<utility>.fcgi`` and return ``parse(body)``, retrying transient failures.

        (ECitMatch is ``ecitmatch.cgi``: *suffix* ``".cgi"``.)

        ``parse`` raises :class:`MalformedResponse` for a body worth retrying and
        :class:`EutilsError` for a final answer.
        """
        import requests

        items = list(params.items()) if isinstance(params, dict) else list(params)
        items.append(("tool", self.tool))
        if self.email:
            items.append(("email", self.email))
        if self._api_key:
            items.append(("api_key", self._api_key))
        url = f"{self.base_url}{utility}{suffix}"
        # With a key, always POST: the key then travels in the body, never in a URL that
        # urllib3's debug log, a proxy log or an error message could show.
        use_post = bool(self._api_key) or len(urlencode(items)) > POST_THRESHOLD
        reason = ""
        for attempt in range(1, self.max_tries + 1):
            retry_after = 0.0
            self.limiter.acquire()
            self._count("requests")
            try:
                if use_post:
                    response = self.session.post(url, data=items, timeout=self.timeout)
                else:
                    response = self.session.get(url, params=items, timeout=self.timeout)
                body = response.content
            except requests.Timeout:
                self._count("timeouts")
                reason = f"no answer within {self.timeout:g} s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                self._count("connection_errors")
                reason = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                if status == 429:
                    self._count("http_429")
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                    reason = "HTTP 429 Too Many Requests"
                elif status >= 500:
                    self._count("http_5xx")
                    reason = f"HTTP {status}"
                elif status >= 400:
                    raise EutilsError(self._redact(  # redacted before it is cut to a line
                        f"{utility} answered HTTP {status}: "
                        f"{_first_line(redact_bytes(body, self._api_key))}"))
                else:
                    try:
                        # every message below is built from the answer with the key taken out
                        return parse(redact_bytes(body, self._api_key))
                    except MalformedResponse as exc:
                        self._count("bad_bodies")
                        reason = self._redact(str(exc))
                    except EutilsError as exc:
                        raise EutilsError(self._redact(str(exc))) from None
            if attempt == self.max_tries:
                break
            self._count("retries")
            delay = self._rng.uniform(0.5, 1.0) * min(self.max_backoff,
                                                      self.backoff * 2 ** (attempt - 1))
            wait = max(delay, retry_after)
            if self.on_retry is not None:
                self.on_retry(self._redact(
                    f"retry {attempt + 1}/{self.max_tries} in {wait:.1f} s: {reason}"))
            self._sleep(wait)
        raise EutilsError(self._redact(
            f"{utility} failed after {self.max_tries} tries; last problem: {reason}"))

    # -- the utilities --------------------------------------------------------------

    def esearch(self, term: str, *, db: str = "pubmed", retstart: int = 0, retmax: int = 20,
                usehistory: bool = False, mindate: str | None = None,
                maxdate: str | None = None, datetype: str | None = None,
                sort: str | None = None) -> SearchResult:
        """Run a search; with ``usehistory`` the result set is kept on NCBI's history server."""
        params = [("db", db), ("term", term), ("retstart", str(retstart)),
                  ("retmax", str(retmax))]
        if usehistory:
            params.append(("usehistory", "y"))
        if mindate or maxdate:
            params += [("mindate", mindate or ""), ("maxdate", maxdate or "")]
            params.append(("datetype", datetype or "pdat"))
        elif datetype:
            params.append(("datetype", datetype))
        if sort:
            params.append(("sort", sort))
        return self.request("esearch", params, parse_esearch)

    def epost(self, ids: Iterable[str], *, db: str = "pubmed") -> tuple[str, str]:
        """Store ids on the history server; returns ``(webenv, query_key)``."""
        return self.request("epost", [("db", db), ("id", ",".join(ids))], parse_epost)

    def fetch_batch(self, pmids: Sequence[str], *, webenv: str = "", query_key: str = "",
                    retstart: int = 0, db: str = "pubmed", require_all: bool = True) -> Batch:
        """Fetch one batch of PubMed records and verify it.

        By history (``webenv``/``query_key``/``retstart``, ``len(pmids)`` records)
        when given, else by the id list. The batch is accepted only when it parses
        and holds the PMIDs asked for, each once (with ``require_all=False`` a
        subset is accepted: PubMed omits withdrawn ids); otherwise it is
        fetched again.
        """
        wanted = [str(p) for p in pmids]
        params = self._efetch_params(() if webenv else wanted, webenv, query_key, retstart,
                                     len(wanted), db)

        def parse(body: bytes) -> Batch:
            try:
                records = parse_pubmed_xml(body)
            except PubmedXmlError as exc:
                raise MalformedResponse(str(exc)) from None
            check_batch(wanted, records, require_all=require_all)
            return Batch(xml=body, records=tuple(records))

        return self.request("efetch", params, parse)

    def efetch_records(self, pmids: Iterable[str], *, batch: int = 200,
                       require_all: bool = True) -> list[Record]:
        """Records for a PMID list, fetched by POSTed id lists of ``batch`` ids, sorted by PMID."""
        ids = sorted(dict.fromkeys(str(p) for p in pmids), key=int)
        out: list[Record] = []
        for start in range(0, len(ids), batch):
            out.extend(self.fetch_batch(ids[start:start + batch],
                                        require_all=require_all).records)
        return sorted(out, key=lambda r: int(r.pmid))

    def elink(self, ids: Iterable[str], linkname: str = "pubmed_pubmed_refs", *,
              dbfrom: str = "pubmed", db: str = "pubmed") -> dict[str, tuple[str, ...]]:
        """Linked ids for each source id, e.g. ``pubmed_pubmed_refs`` (what it cites) or
        ``pubmed_pubmed_citedin`` (what cites it). One ``id`` parameter per source
        id, so NCBI answers one LinkSet per id.
        """
        source = [str(i) for i in ids]
        params = [("dbfrom", dbfrom), ("db", db), ("linkname", linkname), ("cmd", "neighbor")]
        params += [("id", i) for i in source]
        links = self.request("elink", params, lambda body: parse_elink(body, linkname))
        return {i: links.get(i, ()) for i in source}

    def ecitmatch(self, citations: Sequence[CitationQuery]) -> dict[str, CitationMatch]:
        """PubMed's batch citation matcher (ECitMatch, NBK25499): PMIDs for citation fields.

        Each citation is sent as ``journal|year|volume|first_page|author|key|``
        (lines joined by a carriage return, the form NCBI documents); NCBI
        answers one line per citation with the PMID appended, or ``NOT_FOUND``
        / ``AMBIGUOUS`` and candidate PMIDs. Returns a match per key.
        """
        if not citations:
            return {}
        bdata = "\r".join(c.bdata() for c in citations)
        return self.request("ecitmatch", [("db", "pubmed"), ("retmode", "xml"), ("bdata", bdata)],
                            parse_ecitmatch, suffix=".cgi")

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _efetch_params(ids: Sequence[str], webenv: str, query_key: str, retstart: int,
                       retmax: int, db: str) -> list[tuple[str, str]]:
        params = [("db", db), ("retmode", "xml")]
        if webenv:
            params += [("WebEnv", webenv), ("query_key", str(query_key)),
                       ("retstart", str(retstart)), ("retmax", str(retmax))]
        else:
            params.append(("id", ",".join(ids)))
        return params

    def _count(self, name: str) -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def _redact(self, text: str) -> str:
        """Remove the API key from any text that might be shown or written (:func:`redact`)."""
        return redact(text, self._api_key)


#: What stands for the API key in a message.
REDACTED = "***"


def _key_forms(key: str) -> list[str]:
    """The key as it may appear in an answer: as sent, URL-encoded, XML-escaped."""
    from html import escape
    from urllib.parse import quote, quote_plus

    forms = {key, quote(key, safe=""), quote_plus(key), escape(key, quote=True)}
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: str, key: str | None) -> str:
    """*text* with the API *key* replaced by ``***`` wherever it appears (as sent,
    URL-encoded or XML-escaped). The one helper every message built from a
    server's answer goes through: the bodies of esearch, efetch, epost, elink and
    ECitMatch answers before they are parsed (:func:`redact_bytes`), HTTP error
    lines, retry lines and the final error."""
    if not key:
        return text
    for form in _key_forms(key):
        text = text.replace(form, REDACTED)
    return text


def redact_bytes(body: bytes, key: str | None) -> bytes:
    """An answer's *body* with the API *key* replaced by ``***`` (see :func:`redact`)."""
    if not key:
        return body
    for form in _key_forms(key):
        body = body.replace(form.encode("utf-8"), REDACTED.encode("ascii"))
    return body


@dataclass(frozen=True)
class CitationQuery:
    """The fields ECitMatch matches on (empty ones are left empty); *key* names the answer."""

    key: str
    journal: str = ""
    year: str = ""
    volume: str = ""
    first_page: str = ""
    author: str = ""

    def bdata(self) -> str:
        """``journal|year|volume|first_page|author|key|`` (``|`` and line breaks removed from values)."""
        values = (self.journal, self.year, self.volume, self.first_page, self.author, self.key)
        return "|".join(" ".join(v.replace("|", " ").split()) for v in values) + "|"


@dataclass(frozen=True)
class CitationMatch:
    """ECitMatch's answer for one citation: a PMID, or none, or several candidates."""

    key: str
    pmid: str = ""
    status: str = "found"  # found | not found | ambiguous
    candidates: tuple[str, ...] = ()


# -- response parsers (pure) --------------------------------------------------------

def parse_ecitmatch(body: bytes) -> dict[str, CitationMatch]:
    """ECitMatch's text answer: one ``journal|year|volume|page|author|key|RESULT`` line per citation."""
    text = body.decode("utf-8", "replace")
    head = text[:500].lstrip().lower()
    if head.startswith("<html") or "<!doctype html" in head:
        raise MalformedResponse("got an HTML page where ECitMatch's text lines were expected")
    out: dict[str, CitationMatch] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 7:
            continue
        key, result = parts[5].strip(), parts[6].strip()
        if result.isdigit():
            out[key] = CitationMatch(key, result)
        elif result.upper().startswith("AMBIGUOUS"):
            out[key] = CitationMatch(key, "", "ambiguous", tuple(re.findall(r"\d+", result)))
        else:
            out[key] = CitationMatch(key, "", "not found")
    return out


def check_batch(wanted: Sequence[str], records: Sequence[Record], *, require_all: bool = True) -> None:
    """Raise :class:`MalformedResponse` unless *records* hold exactly the PMIDs *wanted*, once each."""
    got = [r.pmid for r in records]
    if len(set(got)) != len(got):
        raise MalformedResponse("batch holds a PMID twice")
    extra = set(got) - set(wanted)
    missing = set(wanted) - set(got)
    if extra or (missing and require_all):
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {min(missing, key=int)})")
        if extra:
            detail.append(f"{len(extra)} not asked for (e.g. {min(extra, key=int)})")
        raise MalformedResponse(f"batch holds {len(got)} records for {len(wanted)} PMIDs asked: "
                                + ", ".join(detail))


def _xml_root(body: bytes, expected: str) -> ET.Element:
    head = body[:500].lstrip().lower()
    if head.startswith(b"<html") or b"<!doctype html" in head or b"<html" in head:
        raise MalformedResponse(f"got an HTML page where {expected} XML was expected")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise MalformedResponse(f"response is not well-formed XML ({exc}); "
                                f"truncated or damaged after {len(body)} bytes") from None
    if root.tag != expected:
        raise MalformedResponse(f"expected <{expected}>, got <{root.tag}>")
    return root


def parse_esearch(body: bytes) -> SearchResult:
    """Read an ``eSearchResult``; a top-level ``<ERROR>`` is a final :class:`EutilsError`."""
    root = _xml_root(body, "eSearchResult")
    error = root.findtext("ERROR")
    if error:
        raise EutilsError(f"esearch: PubMed answered: {' '.join(error.split())}")
    count_text = root.findtext("Count")
    if count_text is None or not count_text.strip().isdigit():
        raise MalformedResponse("esearch answer has no Count")
    warnings = [" ".join(e.itertext()).strip() for e in root.iterfind("WarningList/*")]
    errors = [f"{e.tag}: {''.join(e.itertext()).strip()}" for e in root.iterfind("ErrorList/*")]
    return SearchResult(
        count=int(count_text),
        ids=tuple(e.text.strip() for e in root.iterfind("IdList/Id") if e.text),
        retstart=int(root.findtext("RetStart") or 0),
        webenv=(root.findtext("WebEnv") or "").strip(),
        query_key=(root.findtext("QueryKey") or "").strip(),
        query_translation=(root.findtext("QueryTranslation") or "").strip(),
        warnings=tuple(w for w in warnings if w),
        phrases_not_found=tuple((e.text or "").strip()
                                for e in root.iterfind("ErrorList/PhraseNotFound")),
        errors=tuple(errors),
    )


def parse_epost(body: bytes) -> tuple[str, str]:
    """``(webenv, query_key)`` from an ``ePostResult``; its ``<ERROR>`` lines are final."""
    root = _xml_root(body, "ePostResult")
    errors = [(e.text or "").strip() for e in root.iterfind("ERROR")]
    if errors:
        raise EutilsError("epost: PubMed answered: " + "; ".join(errors))
    webenv, key = root.findtext("WebEnv"), root.findtext("QueryKey")
    if not webenv or not key:
        raise MalformedResponse("epost answer has no WebEnv/QueryKey")
    return webenv.strip(), key.strip()


def parse_elink(body: bytes, linkname: str | None = None) -> dict[str, tuple[str, ...]]:
    """Linked ids per source id from an ``eLinkResult`` (only *linkname* when given)."""
    root = _xml_root(body, "eLinkResult")
    error = root.findtext("ERROR")
    if error:
        raise EutilsError(f"elink: PubMed answered: {error.strip()}")
    out: dict[str, tuple[str, ...]] = {}
    for linkset in root.iterfind("LinkSet"):
        sources = [(e.text or "").strip() for e in linkset.iterfind("IdList/Id")]
        linked: list[str] = []
        for db in linkset.iterfind("LinkSetDb"):
            if linkname and (db.findtext("LinkName") or "") != linkname:
                continue
            linked += [(e.text or "").strip() for e in db.iterfind("Link/Id")]
        for source in sources:
            out[source] = tuple(dict.fromkeys(out.get(source, ()) + tuple(linked)))
    return out


def _retry_after_seconds(value: str | None) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds form; dates count as 1 s)."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0


def _first_line(body: bytes) -> str:
    text = re.sub(r"<[^>]+>", " ", body[:2000].decode("utf-8", "replace"))
    return " ".join(text.split())[:300] or "(empty body)"
