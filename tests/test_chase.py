"""`evsynth chase` against the loopback E-utilities server: refs and cited-by of included studies."""

from evsynth.cli.main import main
from evsynth.screening.dedup import load_merges
from evsynth.screening.log import load_log, save_log
from tests.support.living_helpers import decided, entry, declare_sheets, studies_csv, synthetic


def test_chase_adds_unseen_references_and_citations(tmp_path, eutils_server, monkeypatch, capsys):
    server = eutils_server([
        synthetic(30000001, "Included study one"), synthetic(30000002, "Included study two"),
        synthetic(30000010, "A reference of study one"),
        synthetic(30000011, "Shared reference also in Embase", doi="10.1000/shared.11"),
        synthetic(30000012, "A citing paper later retracted",
                  comments=(("RetractionIn", "J Synth Oncol. 2025;3:3", "30000099"),)),
        synthetic(30000013, "Already excluded paper"),
    ], rate_limit=None, links={
        "30000001": {"pubmed_pubmed_refs": ["30000010", "30000011"],
                     "pubmed_pubmed_citedin": ["30000012", "30000002"]},
        "30000002": {"pubmed_pubmed_refs": ["30000011", "30000013"]},
    })
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", server.url)
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "100")
    ext = tmp_path / "extracted"
    ext.mkdir()
    declare_sheets(tmp_path)
    (ext / "studies.csv").write_text(studies_csv(("S16", "16", "Fromigue", "", "", ""),
                                                 ("S17", "17", "Rossi", "", "30000002", "")))
    save_log(ext / "screening.csv", [
        decided(1, "include", stage="full text", pmid="30000001"),
        decided(2, "exclude", reason="wrong population", pmid="30000013"),
        entry(3, source="embase", doi="10.1000/shared.11", title="Shared reference also in Embase"),
    ])
    assert main(["chase", "--root", str(tmp_path), "--date", "2025-04-01"]) == 0
    out = capsys.readouterr().out
    assert "chased 2 included studies (1 without PMID left out): 3 references, 2 cited-by; 3 not yet in the log" in out
    assert "citation chasing: 2 new pending, 1 merged with records from other databases" in out
    log = load_log(ext / "screening.csv")
    new = {e.pmid: e for e in log if e.source == "citation chasing"}
    assert sorted(new) == ["30000010", "30000012"]
    assert all(e.decision == "pending" and e.added == "2025-04-01" for e in new.values())
    assert new["30000012"].flag == "retracted" and "30000099" in new["30000012"].flag_detail
    shared = next(e for e in log if e.record_id == "R00003")
    assert shared.source == "embase; citation chasing" and shared.pmid == "30000011"
    assert [m.key for m in load_merges(ext / "merge-log.csv")] == ["doi"]
    elinks = [r for r in server.log if r.utility == "elink"]
    assert sorted(r.params["linkname"] for r in elinks) == ["pubmed_pubmed_citedin", "pubmed_pubmed_refs"]
    # A second chase finds nothing new and asks nobody again.
    assert main(["chase", "--root", str(tmp_path), "--date", "2025-04-02"]) == 0
    assert "0 not yet in the log" in capsys.readouterr().out
    assert len(load_log(ext / "screening.csv")) == len(log)


def test_chase_without_pmids_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", "http://127.0.0.1:9/")
    save_log(tmp_path / "extracted" / "screening.csv", [decided(1, "include", stage="full text")])
    assert main(["chase", "--root", str(tmp_path)]) == 0
    assert "No included study has a PMID to chase (1 without PMID)." in capsys.readouterr().out
