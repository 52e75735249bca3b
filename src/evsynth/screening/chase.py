"""Citation chasing: references and cited-by records of the included studies, via Entrez elink.

Backward chasing uses elink ``pubmed_pubmed_refs`` (what an included study
cites, as deposited in PubMed) and forward chasing ``pubmed_pubmed_citedin``
(what cites it, from PubMed Central); NCBI, "Entrez Link Descriptions"
(https://eutils.ncbi.nlm.nih.gov/entrez/query/static/entrezlinks.html).
Only studies with a PMID can be chased; the others are reported. Unseen
records enter the screening log as pending, with source ``citation chasing``
(PRISMA 2020: identification via other methods, "citation searching").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evsynth.screening.dedup import Merge, MergeResult, merge_records
from evsynth.search.eutils import EutilsClient
from evsynth.screening.known import PreviousStudy
from evsynth.screening.retraction_watch import flag_new_rows
from evsynth.screening.log import ScreeningEntry
from evsynth.search.records import Record

SOURCE = "citation chasing"
LINKS: tuple[str, ...] = ("pubmed_pubmed_refs", "pubmed_pubmed_citedin")


def included_pmids(entries: Sequence[ScreeningEntry], previous: Sequence[PreviousStudy]) -> list[str]:
    """PMIDs of every included study (previous version and log), sorted, each once."""
    pmids = {p.pmid for p in previous if p.pmid.isdigit()}
    pmids |= {e.pmid for e in entries if e.is_included and e.pmid}
    return sorted(pmids, key=int)


@dataclass
class ChaseResult:
    """What one chase found and did."""

    chased: list[str]
    without_pmid: int
    links: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    unseen: list[str] = field(default_factory=list)
    merge: MergeResult | None = None
    #: The records fetched (what :func:`merge_chased` merges into the log as it is now).
    fetched: list[Record] = field(default_factory=list)

    def linked(self, linkname: str) -> int:
        """Distinct PMIDs linked by *linkname* over all chased studies."""
        return len({p for ids in self.links.get(linkname, {}).values() for p in ids})


def chase(client: EutilsClient, entries: Sequence[ScreeningEntry], merges: Sequence[Merge],
          previous: Sequence[PreviousStudy], date: str, *, batch: int = 100) -> ChaseResult:
    """Ask elink for references and citations of the included studies; add unseen records.

    A linked PMID already in the log (or an included study itself) is not
    fetched again; the rest are fetched with efetch and merged (a record the
    log holds from another database, matched by DOI or title, is merged, not
    added twice).
    """
    pmids = included_pmids(entries, previous)
    without = sum(1 for p in previous if not p.pmid) + sum(
        1 for e in entries if e.is_included and not e.pmid)
    result = ChaseResult(chased=pmids, without_pmid=without)
    for linkname in LINKS:
        found: dict[str, tuple[str, ...]] = {}
        for start in range(0, len(pmids), batch):
            found.update(client.elink(pmids[start:start + batch], linkname))
        result.links[linkname] = found
    known = {e.pmid for e in entries if e.pmid} | set(pmids)
    linked = {p for links in result.links.values() for ids in links.values() for p in ids}
    result.unseen = sorted(linked - known, key=int)
    records = client.efetch_records(result.unseen, require_all=False) if result.unseen else []
    result.fetched = list(records)
    return merge_chased(result, entries, merges, date)


def merge_chased(result: ChaseResult, entries: Sequence[ScreeningEntry], merges: Sequence[Merge],
                 date: str) -> ChaseResult:
    """*result* with its fetched records merged into *entries* and *merges* (:attr:`ChaseResult.merge`).

    The command calls it again on the logs re-read under the project's lock, so
    decisions made while elink and efetch ran are kept.
    """
    merged = merge_records(entries, merges, result.fetched, SOURCE, date)
    merged.entries[:] = flag_new_rows(merged.entries, result.fetched, merged.new_ids)
    result.merge = merged
    return result
