"""Splitting a search into date windows that each fit under PubMed's retrieval cap.

PubMed reports the true ``Count`` of a search but serves only its first 9,999
records, by esearch paging or by efetch from the history server (NCBI's error:
"'retstart' cannot be larger than 9998. For PubMed, ESearch can only retrieve
the first 9,999 records matching the query"). So a search whose count exceeds
the cap is re-run over halves of its date range (``mindate``/``maxdate`` on the
chosen ``datetype``, both ends inclusive), recursively, until every window
holds at most 9,999 records. Windows are disjoint and, empty ones included,
tile the whole range, so the union of their ids
must equal the whole search's count; :func:`plan_windows` checks that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from evsynth.core.errors import EvsynthError
from evsynth.search.eutils import PUBMED_RETRIEVAL_CAP, SearchResult
from evsynth.search.queries import format_pubmed_date

#: Range used when a search has no date limit: before PubMed's oldest records,
#: and a few years past today for issues dated ahead.
EARLIEST = date(1700, 1, 1)


def open_end(today: date) -> date:
    """The upper bound of an open date range: 31 December, five years from *today*."""
    return date(today.year + 5, 12, 31)


@dataclass(frozen=True)
class Window:
    """One esearch over a date range (``""`` bounds: no date limit) and what it found."""

    mindate: str
    maxdate: str
    count: int
    ids: tuple[str, ...]
    webenv: str = ""
    query_key: str = ""


#: esearch(mindate, maxdate) for one window; ``None`` bounds mean no date limit.
Search = Callable[[str | None, str | None], SearchResult]


def plan_windows(search: Search, first: SearchResult, lo: date | None, hi: date | None,
                 today: date, cap: int = PUBMED_RETRIEVAL_CAP) -> list[Window]:
    """Windows covering the search *first* (run over [lo, hi]), each within *cap*.

    Raises :class:`EvsynthError` when a single day holds more than *cap* records
    or when the windows' union differs from ``first.count``.
    """
    if first.count <= cap:
        windows = [_window(first, lo, hi, explicit=lo is not None or hi is not None)]
    else:
        # the first search already counted the whole range: split it without asking again
        windows = _split(search, lo or EARLIEST, hi or open_end(today), cap, known=first)
    union = {i for w in windows for i in w.ids}
    served = sum(len(w.ids) for w in windows)
    if served != sum(w.count for w in windows):
        raise EvsynthError(f"esearch served {served} ids for windows counting "
                           f"{sum(w.count for w in windows)}; PubMed's answer was incomplete")
    if len(union) != first.count:
        raise EvsynthError(
            f"date windows hold {len(union)} distinct records but PubMed counts {first.count} "
            "for the whole search (records without a date of this type, or PubMed changed "
            "during the run); try --datetype edat or run again")
    return windows


def _window(result: SearchResult, lo: date | None, hi: date | None, explicit: bool) -> Window:
    return Window(mindate=format_pubmed_date(lo) if explicit and lo else "",
                  maxdate=format_pubmed_date(hi) if explicit and hi else "",
                  count=result.count, ids=result.ids, webenv=result.webenv,
                  query_key=result.query_key)


def _split(search: Search, lo: date, hi: date, cap: int,
           known: SearchResult | None = None) -> list[Window]:
    result = known or search(format_pubmed_date(lo), format_pubmed_date(hi))
    if result.count <= cap:
        return [_window(result, lo, hi, explicit=True)]
    if lo >= hi:
        raise EvsynthError(
            f"{result.count} records on the single day {format_pubmed_date(lo)}: more than "
            f"PubMed's {cap:,} cap, so date windows cannot split them; try another --datetype "
            "(edat gives every record an exact day)")
    mid = date.fromordinal((lo.toordinal() + hi.toordinal()) // 2)
    return _split(search, lo, mid, cap) + _split(search, date.fromordinal(mid.toordinal() + 1),
                                                  hi, cap)
