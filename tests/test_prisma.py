"""PRISMA 2020 counts that add up, the bundled review's 'not reported' form, and the SVG."""

import xml.etree.ElementTree as ET

from hypothesis import given, settings, strategies as st

from evsynth.cli.main import main
from evsynth.screening.dedup import load_merges, unmerge
from evsynth.report.prisma_svg import render_svg as prisma_svg
from evsynth.screening.prisma import (
    check_invariants, counts_as_dict, prisma_counts, review_prisma_counts,
)
from evsynth.screening.log import REASONS, ScreeningEntry, decide, load_log, record_id, save_log
from evsynth.review.load import read_studies
from evsynth.screening.files import ReviewFiles
from evsynth.screening.known import previous_from_rows
from tests.support.living_helpers import RIS, decided, entry, declare_sheets, studies_csv

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_counts_from_imports_and_decisions_add_up(tmp_path, capsys):
    for name, source in [("embase.ris", "embase"), ("scopus.ris", "scopus"), ("wos.ris", "wos"),
                         ("central.ris", "central")]:
        assert main(["import", str(RIS / name), "--source", source, "--root", str(tmp_path),
                     "--date", "2025-03-12"]) == 0
    log = load_log(tmp_path / "extracted" / "screening.csv")
    d = dict(reviewer="AB", date="2025-03-20")
    log = decide(log, "R00004", "exclude", reason="review/editorial", **d)
    log = decide(log, "R00005", "exclude", reason="wrong intervention", **d)
    log = decide(log, "R00001", "include", stage="full text", **d)
    log = decide(log, "R00002", "exclude", stage="full text", reason="wrong population", **d)
    log = decide(log, "R00003", "exclude", stage="full text", reason="full text not retrieved", **d)
    log = decide(log, "R00006", "include", **d)  # passed title/abstract, full text pending
    counts = prisma_counts(log, load_merges(tmp_path / "extracted" / "merge-log.csv"))
    db = counts.databases
    assert db.identified == {"central": 3, "embase": 4, "scopus": 4, "wos": 3}
    assert db.identified_total == 14 and db.duplicates_removed == 7
    assert (db.screened, db.awaiting_screening, db.excluded_screening) == (6, 1, 2)
    assert (db.sought, db.not_retrieved, db.assessed, db.awaiting_assessment) == (4, 1, 2, 1)
    assert db.excluded_reasons == {"wrong population": 1} and db.included == 1
    assert counts.other_methods.identified_total == 0
    assert counts.total_studies == 1 and not counts.is_update
    assert check_invariants(counts) == []


def test_invariants_catch_counts_that_do_not_add_up():
    counts = prisma_counts([decided(1, "include", stage="full text")], previous_studies=3)
    assert check_invariants(counts) == [] and counts.total_studies == 4
    from dataclasses import replace
    broken = replace(counts, databases=replace(counts.databases, screened=2), total_studies=5)
    problems = check_invariants(broken)
    assert any("identified - duplicates = screened" in p for p in problems)
    assert any("previous + new studies = total" in p for p in problems)


_rows = st.lists(st.tuples(
    st.sampled_from(["title/abstract", "full text"]),
    st.sampled_from(["include", "exclude", "pending", "maybe"]),
    st.sampled_from(REASONS),
    st.sampled_from(["pubmed", "embase", "citation chasing"])), max_size=30)


@settings(max_examples=60, deadline=None)
@given(_rows, st.integers(min_value=0, max_value=20))
def test_invariants_hold_for_any_valid_log(rows, previous):
    entries = []
    for i, (stage, decision, reason, source) in enumerate(rows, start=1):
        if decision == "exclude" and reason == "full text not retrieved":
            stage = "full text"
        entries.append(ScreeningEntry(record_id(i), source=source, title=f"T{i}", stage=stage,
                                      decision=decision, reason=reason if decision == "exclude" else "",
                                      reviewer="AB", date="2025-01-01"))
    counts = prisma_counts(entries, previous_studies=previous)
    assert check_invariants(counts) == []
    assert counts.total_studies == previous + sum(e.is_included for e in entries)
    assert (counts.databases.identified_total + counts.other_methods.identified_total) == len(entries)


def test_unmerge_moves_a_duplicate_back_and_counts_follow(tmp_path, capsys):
    for name, source in [("embase.ris", "embase"), ("wos.ris", "wos")]:
        main(["import", str(RIS / name), "--source", source, "--root", str(tmp_path), "--date", "2025-03-12"])
    log, merges = load_log(tmp_path / "extracted" / "screening.csv"), load_merges(tmp_path / "extracted" / "merge-log.csv")
    before = prisma_counts(log, merges).databases
    log2, merges2 = unmerge(log, merges, merges[0].merge_id, "2025-03-13")
    after = prisma_counts(log2, merges2).databases
    assert after.identified_total == before.identified_total
    assert after.duplicates_removed == before.duplicates_removed - 1
    assert after.awaiting_screening == before.awaiting_screening + 1


def _bundled(tmp_path, references):
    ext = tmp_path / "extracted"
    ext.mkdir()
    declare_sheets(tmp_path)
    (ext / "studies.csv").write_text(studies_csv(*((f"S{r}", str(r), f"Author{r}", "", "", "")
                                                   for r in references)))
    return ext


def _counts(ext, notes=(), own_series=True):
    """The PRISMA counts as the build computes them (by default the authors' own series has a procedure)."""
    previous = previous_from_rows(read_studies(ext.parent))
    entries, merges = ReviewFiles(ext).load()
    return review_prisma_counts(previous, entries, merges, own_series=own_series, notes=notes)


SEED_NOTES = ("Previous version: studies identified by a PubMed search and manual cross-referencing.",)


def test_bundled_review_without_log_shows_not_reported_and_its_provenance(tmp_path):
    refs = [8, 11, 12, 13] + list(range(16, 29))
    assert len(refs) == 17
    ext = _bundled(tmp_path, refs)
    counts = _counts(ext, notes=SEED_NOTES)
    assert counts.total_studies == 18  # 17 published studies + the authors' case series
    assert not counts.is_update
    assert counts.databases.identified == {"pubmed": None}
    assert counts.other_methods.identified == {"cross-referencing": None}
    assert counts.databases.screened is None and counts.databases.excluded_reasons is None
    assert check_invariants(counts) == []
    texts = _texts(prisma_svg(counts))
    assert "Records screened (not\u00a0reported)" in texts
    assert "PubMed (not\u00a0reported)" in texts
    assert not any("n\u00a0=\u00a00" in t for t in texts)  # never zeros for unreported boxes
    assert not any("18" in t for t in texts)  # a number the previous version never printed
    assert "PubMed search" in " ".join(texts) and "cross-referencing" in " ".join(texts)
    joined = " ".join(texts).replace("\u00a0", " ")
    assert "Studies included in review: 17 published studies + the authors' case series" in joined
    assert counts_as_dict(counts)["databases"]["screened"] is None


def test_bundled_review_with_an_update_uses_the_updated_form(tmp_path):
    ext = _bundled(tmp_path, [8, 11, 12])
    save_log(ext / "screening.csv", [decided(1, "include", stage="full text"), entry(2),
                                     decided(3, "exclude", reason="not English",
                                             source="citation chasing")])
    counts = _counts(ext)
    assert counts.is_update and counts.previous_studies == 4
    assert counts.new_studies == 1 and counts.total_studies == 5
    assert counts.databases.identified == {"pubmed": 2}
    assert counts.other_methods.identified == {"citation chasing": 1}
    assert check_invariants(counts) == []
    texts = _texts(prisma_svg(counts))
    assert "Previous studies" in texts
    assert "3 published studies + the authors' case series" in " ".join(" ".join(texts).split())
    assert any(t.startswith("Total studies included in review") for t in texts)


def test_svg_is_deterministic_well_formed_and_escapes_text():
    rows = [decided(1, "include", stage="full text", title="<script>alert(1)</script> & co")]
    counts = prisma_counts(rows, notes=('Note with <b>tags</b> & "quotes"',),
                           database_sources=["pubmed"], other_sources=["citation chasing"])
    svg = prisma_svg(counts, title="Flow & <update>")
    assert svg == prisma_svg(counts, title="Flow & <update>")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert "<b>" not in svg and "<update>" not in svg and "&lt;update&gt;" in svg
    texts = _texts(svg)
    assert "Flow & <update>" in texts
    assert any("Citation searching" in t for t in texts)
    assert "Identification" in texts and "Screening" in texts and "Included" in texts


def test_other_methods_column_has_the_prisma_2020_boxes_only():
    """PRISMA 2020: records from other methods go straight to 'reports sought' (no record screening)."""
    from evsynth.screening.prisma import PrismaCounts, not_reported_column

    counts = PrismaCounts(databases=not_reported_column(["pubmed"]),
                          other_methods=not_reported_column(["citation chasing"]),
                          total_studies=3, total_reports=3)
    svg = prisma_svg(counts)
    assert svg.count("Records screened") == 1
    assert svg.count("Duplicate records removed") == 1
    assert svg.count("Reports sought for retrieval") == 2
    assert svg.count("Reports assessed for eligibility") == 2


def test_without_an_own_case_series_the_previous_version_is_the_published_studies(tmp_path):
    ext = _bundled(tmp_path, [8, 11, 12])
    counts = _counts(ext, own_series=False)
    assert counts.total_studies == 3 and counts.total_detail == ("3 published studies",)
    assert counts.notes == ()
