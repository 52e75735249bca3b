"""The PubMed XML parser on real NCBI answers and generated records, checked against Bio.Entrez."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.eutils_server import make_corpus, render_article_set

from tests.support.entrez_reference import read_records
from evsynth.search.eutils import EutilsError, MalformedResponse, parse_elink, parse_epost, parse_esearch
from evsynth.search.pubmed_xml import PubmedXmlError, parse_pubmed_xml
from evsynth.search.records import Record

NCBI = Path(__file__).parent / "fixtures" / "ncbi"
PUBMED_FIXTURES = sorted(NCBI.glob("pubmed*.xml"))


@pytest.mark.parametrize("path", PUBMED_FIXTURES, ids=lambda p: p.name)
def test_agrees_with_bio_entrez_on_every_fixture(path: Path):
    data = path.read_bytes()
    ours = parse_pubmed_xml(data)
    assert ours, "fixture holds records"
    assert ours == read_records(data)


def test_agrees_with_bio_entrez_on_generated_corpus():
    corpus = make_corpus(1200, seed=7)
    data = render_article_set(corpus)
    ours = sorted(parse_pubmed_xml(data), key=lambda r: r.pmid)
    reference = sorted(read_records(data), key=lambda r: r.pmid)
    assert len(ours) == 1200
    assert ours == reference
    kinds = {r.article_type for r in ours}
    assert kinds == {"PubmedArticle", "PubmedBookArticle"}


def test_real_record_fields():
    first, second = parse_pubmed_xml((NCBI / "pubmed1.xml").read_bytes())
    assert first.pmid == "12091962"
    assert first.pub_date == "1990 Spring" and first.year == 1990
    assert first.authors == ("Olivero JM",)
    assert first.journal == "Social justice (San Francisco, Calif.)"
    assert first.publication_types == ("Journal Article", "Review")
    assert first.language == ("eng",)
    assert first.abstract == ""
    aids = next(m for m in first.mesh if m.descriptor == "Acquired Immunodeficiency Syndrome")
    assert aids.major and aids.ui == "D000163"
    assert second.pub_date == "1976 Sep 28"
    assert second.doi == "10.1016/0005-2795(76)90109-4"
    chromatium = next(m for m in second.mesh if m.descriptor == "Chromatium")
    assert not chromatium.major
    assert [(q.name, q.major) for q in chromatium.qualifiers] == [("enzymology", True)]


def test_structured_abstract_markup_and_own_ids():
    (rec,) = parse_pubmed_xml((NCBI / "pubmed4.xml").read_bytes())
    assert rec.title.startswith("Leucocyte telomere length, genetic variants at the TERT gene")
    assert "<i>" not in rec.title
    lines = rec.abstract.split("\n")
    assert [line.split(":")[0] for line in lines] == ["OBJECTIVE", "DESIGN", "RESULTS",
                                                       "CONCLUSIONS"]
    assert "(TERT) gene region" in lines[0]
    assert rec.doi == "10.1136/gutjnl-2016-312510" and rec.pmcid == "PMC5442267"
    assert ("CommentIn", "27920200") in {(c.ref_type, c.pmid) for c in rec.comments_corrections}
    cites = [c for c in rec.comments_corrections if c.ref_type == "Cites"]
    assert len(cites) == 48


def test_collective_author_and_mathml():
    (rec,) = parse_pubmed_xml((NCBI / "pubmed7.xml").read_bytes())
    assert "Canadian Respiratory Research Network" in rec.authors
    assert "<m" not in rec.abstract


def test_medline_date_season_book_and_retraction():
    corpus = make_corpus(300)
    by_pmid = {r.pmid: r for r in parse_pubmed_xml(render_article_set(corpus))}
    medline = by_pmid[str(corpus[7].pmid)]
    assert medline.pub_date == corpus[7].medline_date
    assert medline.year == corpus[7].pdat.year
    retracted = by_pmid[str(corpus[3].pmid)]
    assert retracted.is_retracted
    assert [c.ref_type for c in retracted.comments_corrections] == ["RetractionIn", "ErratumIn"]
    book = by_pmid[str(corpus[250].pmid)]
    assert book.article_type == "PubmedBookArticle"
    assert book.journal.startswith("Handbook of Synthetic study 250")
    assert by_pmid[str(corpus[5].pmid)].authors[-1] == "Synthetic Thyroid Study Group"
    assert all("Wrong X" not in r.authors for r in by_pmid.values())


def test_medline_date_hand_written():
    xml = b"""<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
    <Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate>
    </JournalIssue><Title>J</Title></Journal><ArticleTitle>T <sup>99m</sup>Tc</ArticleTitle>
    </Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""
    (rec,) = parse_pubmed_xml(xml)
    assert rec.pub_date == "1998 Dec-1999 Jan" and rec.year == 1998
    assert rec.title == "T 99mTc"
    assert rec == read_records(b'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC '
                               b'"-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
                               b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
                               + xml)[0]


def test_html_where_xml_was_asked_is_a_clear_error():
    with pytest.raises(PubmedXmlError, match="HTML page, not PubMed XML"):
        parse_pubmed_xml((NCBI / "pubmed3.html").read_bytes(), "pubmed3.html")


def test_truncated_xml_is_a_clear_error():
    data = (NCBI / "pubmed2.xml").read_bytes()
    with pytest.raises(PubmedXmlError, match="not well-formed XML"):
        parse_pubmed_xml(data[: len(data) // 2])
    with pytest.raises(PubmedXmlError, match="expected <PubmedArticleSet>"):
        parse_pubmed_xml((NCBI / "esearch1.xml").read_bytes())


def test_records_round_trip_through_json():
    for rec in parse_pubmed_xml((NCBI / "pubmed4.xml").read_bytes()):
        again = Record.from_dict(json.loads(json.dumps(rec.to_dict())))
        assert again == rec


def test_esearch_answers():
    result = parse_esearch((NCBI / "esearch1.xml").read_bytes())
    assert result.count == 63 and len(result.ids) == 20
    assert result.query_translation == '"biopython"[All Fields]'
    history = parse_esearch((NCBI / "esearch2.xml").read_bytes())
    assert history.count == 42249 and history.query_key == "1"
    assert history.webenv.startswith("MCID_")
    empty = parse_esearch((NCBI / "esearch8.xml").read_bytes())
    assert empty.count == 0 and empty.phrases_not_found == ("abcXYZ",)
    assert empty.warnings == ("No items found.",)


def test_epost_and_elink_answers():
    webenv, key = parse_epost((NCBI / "epost1.xml").read_bytes())
    assert webenv.startswith("MCID_") and key == "1"
    with pytest.raises(EutilsError, match="Invalid db name specified: nothing"):
        parse_epost((NCBI / "epost2.xml").read_bytes())
    with pytest.raises(EutilsError, match="Empty ID list; Nothing to store; Some IDs"):
        parse_epost((NCBI / "epost3.xml").read_bytes())
    links = parse_elink((NCBI / "elink3.xml").read_bytes(), "pubmed_pubmed")
    assert set(links) == {"11812492", "11774222"}
    assert "39386366" in links["11812492"]
    with pytest.raises(MalformedResponse, match="HTML"):
        parse_esearch((NCBI / "pubmed3.html").read_bytes())


def test_fast_json_form_equals_to_dict():
    from evsynth.search.runs import record_json

    records = parse_pubmed_xml(render_article_set(make_corpus(600)))
    records += parse_pubmed_xml((NCBI / "pubmed4.xml").read_bytes())
    for rec in records:
        assert json.dumps(record_json(rec), sort_keys=True) == \
            json.dumps(rec.to_dict(), sort_keys=True)
