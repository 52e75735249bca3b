"""`evsynth identify` on the loopback E-utilities server: proposals ranked with their evidence
(ESearch + ECitMatch), a person's confirmation into studies.csv; then `chase` and the
retraction watch act on the bundled review's confirmed identifiers."""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
from datetime import date

import pytest

from evsynth.cli.main import main
from evsynth.report.compute import compute
from evsynth.screening.log import load_log
from evsynth.search.eutils import CitationQuery, parse_ecitmatch
from tests.conftest import REPO
from tests.support.eutils_server import SyntheticRecord

# The seed query as version 1 wrote it: the loopback server knows its words (TOPIC), and the
# bundled query file moves on with the review (version 2 names every loco-regional treatment).
SEED_QUERY_V1 = REPO / "tests" / "fixtures" / "seed-query-v1" / "seed-lrt-thyroid-liver.toml"

# Every word of the bundled review's query, so the loopback server's simple search finds them.
TOPIC = frozenset({"thyroid", "neoplasms", "cancer", "carcinoma", "liver", "secondary", "metastases",
                   "hepatic", "loco-regional", "treatment", "therapy", "locoregional", "tace", "rfa"})


def record(pmid: int, title: str, authors: tuple[str, ...], year: int, journal: str, **kw) -> SyntheticRecord:
    day = date(year, 6, 1)
    return SyntheticRecord(pmid=pmid, title=title, edat=day, pdat=day, mdat=day, keywords=TOPIC,
                           authors=authors, journal=journal,
                           abstract=(("", kw.pop("abstract", "Hepatic metastases of thyroid carcinoma.")),),
                           **kw)


LORENZ = record(16360382, "Selective arterial chemoembolization for hepatic metastases from medullary "
                "thyroid carcinoma", ("Lorenz K", "Brauckhoff M"), 2005, "Surgery",
                doi="10.1016/j.surg.2005.09.020", volume="138", first_page="986")
DECOYS = [
    record(16000001, "Parathyroid surgery outcomes", ("Lorenz K",), 2005, "Langenbecks Arch Surg",
           abstract="Parathyroid glands."),
    record(16000002, "Hepatic metastases of thyroid carcinoma treated by TACE", ("Lorenzo A",), 2005,
           "Surgery"),
    record(16000003, "Thyroid carcinoma follow-up", ("Lorenz K",), 2009, "World J Surg"),
]
HUGHES = record(29708149, "Treatment of hepatic metastases from medullary thyroid cancer with "
                "transarterial embolisation", ("Hughes P",), 2017, "Eur Radiol Exp",
                doi="10.1186/s41747-017-0013-6",
                comments=(("RetractionIn", "Eur Radiol Exp. 2026;10:1", "41000001"),))
FROMIGUE = record(16608897, "Chemoembolization for liver metastases from medullary thyroid carcinoma",
                  ("Fromigué J",), 2006, "J Clin Endocrinol Metab")


@pytest.fixture
def server(eutils_server, monkeypatch):
    fake = eutils_server([LORENZ, HUGHES, FROMIGUE, *DECOYS,
                          record(40000001, "A reference of Lorenz on TACE", ("Ref A",), 2003, "Radiology")],
                         rate_limit=None,
                         links={"16360382": {"pubmed_pubmed_refs": ["40000001", "16608897"]}})
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", fake.url)
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "200")
    return fake


@pytest.fixture
def unidentified(project):
    """The bundled review with S22 unidentified again, but its journal and year known."""
    path = project / "extracted" / "studies.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    header = list(rows[0])
    for row in rows:
        if row["study_id"] == "S22":
            row.update(pmid="", doi="", title="", identified_by="", journal="Surgery", year="2005")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (project / "queries").mkdir()
    shutil.copy2(SEED_QUERY_V1, project / "queries")
    return project


def test_ecitmatch_answers_are_read_per_key():
    body = (b"surgery|2005|138|986|lorenz k|S22|16360382\n"
            b"surgery|2005|||siperstein|S16|AMBIGUOUS 9426432,11376399\n"
            b"nowhere|1999|||x|S8|NOT_FOUND;INVALID_JOURNAL\n")
    out = parse_ecitmatch(body)
    assert (out["S22"].pmid, out["S22"].status) == ("16360382", "found")
    assert out["S16"].status == "ambiguous" and out["S16"].candidates == ("9426432", "11376399")
    assert out["S8"].status == "not found" and not out["S8"].pmid
    assert CitationQuery("S22", "Surgery", "2005", "", "", "Lorenz|K").bdata() == "Surgery|2005|||Lorenz K|S22|"


def test_identify_ranks_candidates_with_evidence_and_a_person_confirms(unidentified, server, capsys):
    root = str(unidentified)
    assert main(["identify", "--root", root, "--study", "S22"]) == 0
    out = capsys.readouterr().out
    assert server.count("ecitmatch") == 1 and server.count("esearch") == 1
    assert "ECitMatch: found PMID 16360382" in out
    ranked = re.findall(r"^  \d\. PMID (\d+) score ([\d.]+)", out, re.MULTILINE)
    # Lorenz K 2005 on another topic (5), Lorenzo A 2005 in Surgery on the topic (4.5) and
    # Lorenz K 2009 (3.5, beyond --top 3) trail the record ECitMatch names (11).
    assert [p for p, _ in ranked] == ["16360382", "16000001", "16000002"]
    scores = [float(s) for _, s in ranked]
    assert scores == sorted(scores, reverse=True) and scores[0] - scores[1] >= 4
    first = out[out.index("1. PMID 16360382"):out.index("2. PMID")]
    assert "+4 ECitMatch matched the citation fields to this PMID" in first
    assert "+3 first author Lorenz K" in first and "+2 year 2005" in first and "+1 journal Surgery" in first
    assert "+0 first author is Lorenzo A, not Lorenz" in out and "16000003" not in out
    # A record by another first author is refused; an unknown PMID too.
    assert main(["identify", "--root", root, "--confirm", "S22=16000002", "--reviewer", "AB"]) == 1
    assert "first author Lorenzo A is not Lorenz (S22); not confirmed" in capsys.readouterr().err
    assert main(["identify", "--root", root, "--confirm", "S22=99999999", "--reviewer", "AB"]) == 1
    assert "PubMed returned no record" in capsys.readouterr().err
    assert main(["identify", "--root", root, "--confirm", "S22=16360382"]) == 1
    assert "needs --reviewer" in capsys.readouterr().err
    assert main(["identify", "--root", root, "--confirm", "S22=16360382", "--reviewer", "AB",
                 "--date", "2025-05-02", "--source", "abstract: 11 MTC patients"]) == 0
    row = next(r for r in csv.DictReader((unidentified / "extracted" / "studies.csv").open(encoding="utf-8"))
               if r["study_id"] == "S22")
    assert (row["pmid"], row["doi"], row["journal"], row["year"]) == (
        "16360382", "10.1016/j.surg.2005.09.020", "Surgery", "2005")
    assert row["title"].startswith("Selective arterial chemoembolization")
    assert row["identified_by"] == "AB, 2025-05-02: PubMed record 16360382 (abstract: 11 MTC patients)"
    capsys.readouterr()
    assert main(["validate", "--root", str(unidentified)]) == 0


def test_bundled_review_lists_its_confirmed_identifiers():
    rows = {r["study_id"]: r for r in csv.DictReader((REPO / "extracted" / "studies.csv").open(encoding="utf-8"))}
    identified = {sid: (r["pmid"], r["doi"]) for sid, r in rows.items() if r["pmid"] or r["doi"]}
    seed = {sid: ids for sid, ids in identified.items() if rows[sid]["added_in"] in ("", "2021")}
    assert seed == {"S11": ("16608897", ""), "S22": ("16360382", "10.1016/j.surg.2005.09.020"),
                    "S27": ("29708149", "10.1186/s41747-017-0013-6")}
    # the 2026-12 studies carry the identifiers their public pages give (Herchuelz 2020's page gave none)
    assert {sid: ids for sid, ids in identified.items() if sid not in seed} == {
        "S29": ("36126186", "10.1530/ETJ-22-0130"), "S30": ("", "10.3803/EnM.2022.1437")}
    assert all(rows[s]["identified_by"].startswith("confirmed by hand on") for s in seed)
    assert all("stored public cop" in rows[s]["identified_by"] for s in identified if s not in seed)
    html = (REPO / "reports" / "review.html").read_text(encoding="utf-8")
    refs = html[html.index('<section id="references">'):]
    refs = refs[:refs.index("</section>")]
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/16360382/" rel="noreferrer">PMID 16360382</a>' in refs
    assert '<a href="https://doi.org/10.1186/s41747-017-0013-6" rel="noreferrer">doi:10.1186/s41747-017-0013-6</a>' in refs
    assert "Nervo A, Ragni A, Retta F, Calandri M, Gazzera C, Gallo M, Piovesan A, Arvat E." in refs
    assert refs.count("(not identified on PubMed yet)") == 14 + 1  # the seed's 14, and Herchuelz 2020 (no PMID or DOI seen)


def test_chase_and_retraction_watch_act_on_the_confirmed_identifiers(project, server, capsys):
    (project / "queries").mkdir()
    shutil.copy2(SEED_QUERY_V1, project / "queries")
    root = str(project)
    assert main(["chase", "--root", root, "--date", "2026-01-05"]) == 0
    out = capsys.readouterr().out
    assert "chased 3 included studies (14 without PMID left out): 2 references, 0 cited-by; 1 not yet in the log" in out
    chased = [e for e in load_log(project / "extracted" / "screening.csv") if e.source == "citation chasing"]
    assert [e.pmid for e in chased] == ["40000001"]
    # The living update's retraction watch checks the three identified studies; Hughes [27] is retracted.
    import os
    here = os.getcwd()
    os.chdir(project)
    try:
        assert main(["update", "--today", "2026-01-06"]) == 0
    finally:
        os.chdir(here)
    out = capsys.readouterr().out
    assert "retraction watch: 3 included studies with a PMID checked, 1 flagged (14 without PMID not checked)" in out
    assert "! S27 (PMID 29708149) RETRACTED" in out
    watch = (project / "extracted" / "retraction-watch.csv").read_text(encoding="utf-8").splitlines()
    assert watch[0] == "study,pmid,flag,detail,checked" and len(watch) == 4
    build = compute(project)
    table2 = build.tables["table2_literature"].table
    assert [row[0] for row in table2.rows if "†" in str(row[0])] == ["Hughes et al.† [27]"]
