"""De-duplication: normalisers, which key matched, merges that can be undone."""

from hypothesis import given, strategies as st

from evsynth.screening.dedup import (
    active_merges, match_record, merge_records, normalise_author, normalise_doi, normalise_title,
    unmerge,
)
from evsynth.search.records import Record
from tests.support.living_helpers import decided, entry


def test_normalise_doi():
    assert normalise_doi("https://doi.org/10.1000/ABC.12") == "10.1000/abc.12"
    assert normalise_doi("doi: 10.1000/xyz.") == "10.1000/xyz"
    assert normalise_doi("http://dx.doi.org/10.1000/Q") == "10.1000/q"
    assert normalise_doi("not a doi") == ""


def test_normalise_title_and_author():
    assert normalise_title("Müller's <i>RFA</i> study: a  Case-Report.") == "mullers rfa study a case report"
    assert normalise_title("[Hepatic metastases of thyroid cancer].") == "hepatic metastases of thyroid cancer"
    assert normalise_author("Müller, Anna") == "muller"
    assert normalise_author("Muller A") == "muller"
    assert normalise_author("van der Berg, P.") == "vanderberg"
    assert normalise_author("O'Brien S") == "obrien"


@given(st.text(max_size=60))
def test_normalised_title_is_idempotent(title):
    once = normalise_title(title)
    assert normalise_title(once) == once


def test_match_prefers_pmid_then_doi_then_title():
    rows = [entry(1, pmid="111", title="Alpha"), entry(2, doi="10.1/b", title="Beta"),
            entry(3, title="Gamma trial of TACE", first_author="Rossi M", year="2023")]
    assert match_record(Record(pmid="111", doi="10.1/b"), rows).key == "pmid"
    by_doi = match_record(Record(pmid="", doi="https://doi.org/10.1/B"), rows)
    assert (by_doi.record_id, by_doi.key) == ("R00002", "doi")
    by_title = match_record(Record(pmid="", title="GAMMA trial of T.A.C.E", authors=("Rossi, Marco",),
                                   year=2024), rows)
    assert by_title.key == "title+year+first_author" and by_title.record_id == "R00003"
    assert "2023/2024" in by_title.value
    # Same title, but two years apart or another first author: not a duplicate.
    assert match_record(Record(pmid="", title="Gamma trial of TACE", authors=("Rossi M",), year=2025), rows) is None
    assert match_record(Record(pmid="", title="Gamma trial of TACE", authors=("Bianchi L",), year=2023), rows) is None


def test_merge_keeps_decision_adds_source_fills_ids_and_can_be_undone():
    rows = [decided(1, "exclude", reason="wrong population", title="Beta", doi="10.1/b", year="")]
    incoming = [Record(pmid="222", doi="10.1/B", title="Beta", year=2021, authors=("Chen W",)),
                Record(pmid="", title="New one", authors=("Li N",), year=2022)]
    result = merge_records(rows, [], incoming, "wos", "2025-03-01")
    assert result.new_ids == ["R00002"]
    assert dict(result.matched) == {"doi": 1}
    merged = result.entries[0]
    assert merged.decision == "exclude" and merged.reason == "wrong population"  # not asked again
    assert merged.source == "pubmed; wos" and merged.pmid == "222" and merged.year == "2021"
    (merge,) = result.merges
    assert (merge.merge_id, merge.record_id, merge.key, merge.filled, merge.added_source) == (
        "M00001", "R00001", "doi", "pmid;year", "wos")

    entries, merges = unmerge(result.entries, result.merges, "M00001", "2025-03-02")
    assert entries[0] == rows[0]  # the row is back as it was
    restored = entries[-1]
    assert (restored.record_id, restored.pmid, restored.source, restored.decision) == (
        "R00003", "222", "wos", "pending")
    assert merges[0].reverted == "2025-03-02" and active_merges(merges) == []


def test_duplicates_within_one_batch_are_merged_too():
    batch = [Record(pmid="", title="Same paper", authors=("Tanaka K",), year=2024),
             Record(pmid="", title="SAME PAPER.", authors=("Tanaka, Kenji",), year=2024)]
    result = merge_records([], [], batch, "scopus", "2025-03-01")
    assert result.new_ids == ["R00001"]
    assert result.matched["title+year+first_author"] == 1
    assert result.entries[0].source == "scopus"
    assert result.merges[0].added_source == ""  # same source: nothing added to the row


_pool = st.sampled_from([
    ("111", "", "Alpha study of TACE", "Rossi M", 2020),
    ("", "10.1/b", "Beta study of RFA", "Chen W", 2021),
    ("", "10.1/B", "Beta study of RFA", "Chen, Wei", 2021),
    ("", "", "Gamma: a case report", "Tanaka K", 2022),
    ("", "", "GAMMA - a case report.", "Tanaka, K.", 2023),
    ("222", "10.1/d", "Delta", "Li N", 2019),
    ("", "10.1/d", "Delta (other title)", "Li N", 2019),
])


@given(st.lists(st.tuples(_pool, st.sampled_from(["embase", "scopus", "wos"])), max_size=25))
def test_every_record_is_new_merged_or_seen_and_prisma_adds_up(batch):
    from evsynth.screening.prisma import check_invariants, prisma_counts
    entries, merges = [], []
    total = 0
    for (pmid, doi, title, author, year), source in batch:
        result = merge_records(entries, merges, [Record(pmid=pmid, doi=doi, title=title,
                                                        authors=(author,), year=year)], source, "2025-01-01")
        assert len(result.new_ids) + result.merged + sum(result.seen.values()) == 1
        total += 1 - sum(result.seen.values())
        entries, merges = result.entries, result.merges
    counts = prisma_counts(entries, merges)
    assert counts.databases.identified_total == total
    assert counts.databases.identified_total - counts.databases.duplicates_removed == len(entries)
    assert check_invariants(counts) == []
    assert len({e.record_id for e in entries}) == len(entries)


def test_a_large_harvest_merges_every_record_once():
    """12,000 records, then the same again from another source: every one merged by PMID,
    none added twice (the speed, linear in N, is measured in benchmarks/bench_dedup.py)."""
    records = [Record(pmid=str(30000000 + i), doi=f"10.5555/x.{i}" if i % 3 else "",
                      title=f"Synthetic study {i}", authors=(f"Author{i % 7} A",), year=2000 + i % 20)
               for i in range(12000)]
    first = merge_records([], [], records, "pubmed", "2025-01-01")
    again = merge_records(first.entries, first.merges, records[::-1], "embase", "2025-01-02")
    assert len(first.new_ids) == 12000 and again.merged == 12000 and not again.new_ids
    assert again.matched["pmid"] == 12000
    assert len(again.entries) == 12000 and len(again.merges) == 12000
    assert all(e.source == "pubmed; embase" for e in again.entries)
