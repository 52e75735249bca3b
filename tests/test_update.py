"""`evsynth update` on the loopback E-utilities server: two successive updates, retraction watch."""

from datetime import date

import shutil

import pytest

from evsynth.cli.main import main
from evsynth.search.queries import Query
from evsynth.screening.log import decide, load_log, save_log
from evsynth.screening.update import UpdateRun, load_update_log, update_window
from tests.support.living_helpers import declare_sheets, studies_csv, synthetic

QUERY = '''name = "lrt-liver"
version = 1
database = "pubmed"
term = "thyroid[tiab] AND liver[tiab]"
datetype = "pdat"
mindate = ""
maxdate = ""
rationale = "test query"
'''


def _run(h, **kw):
    return UpdateRun(query=h, version="1", searched_utc="2024-06-30T10:00:00Z", datetype="edat",
                     mindate="", found=0, new=0, merged=0, already_seen=0, in_previous_version=0,
                     run_folder="x", **kw)


def test_update_window_overlaps_the_last_run_and_first_run_takes_everything():
    query = Query(name="q", term="x", mindate="2000/01/01")
    assert update_window(query, [], date(2024, 6, 30)) == ("2000/01/01", "2024/06/30", True)
    history = [_run("q", maxdate="2024/05/31"), _run("q", maxdate="2024/06/30"), _run("other", maxdate="2024/07/30")]
    assert update_window(query, history, date(2024, 7, 31)) == ("2024/06/23", "2024/07/31", False)
    assert update_window(query, history, date(2024, 7, 31), overlap_days=0)[0] == "2024/06/30"


@pytest.fixture
def project(tmp_path, eutils_server, monkeypatch):
    server = eutils_server([
        synthetic(31000001, "TACE for liver metastases of medullary thyroid carcinoma", edat=date(2024, 1, 10)),
        synthetic(31000002, "A review of everything", edat=date(2024, 3, 1), authors=("Garcia L",)),
        synthetic(31000003, "RFA of a hepatic metastasis", edat=date(2024, 6, 25), authors=("Chen W",)),
    ], rate_limit=None)
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", server.url)
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "100")
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "lrt-liver.toml").write_text(QUERY)
    (tmp_path / "extracted").mkdir()
    monkeypatch.chdir(tmp_path)
    return server


def test_two_successive_updates_and_a_retraction(project, tmp_path, capsys):
    server = project
    assert main(["update", "--today", "2024-06-30"]) == 0
    out = capsys.readouterr().out
    assert "lrt-liver: no lower limit to 2024/06/30 by Entrez date (first run: whole window): 3 found, 3 new, 0 duplicates" in out
    assert "to screen next: 3 at title/abstract, 0 at full text: evsynth screen" in out
    log = load_log("extracted/screening.csv")
    assert [(e.pmid, e.source, e.decision) for e in log] == [
        ("31000001", "pubmed", "pending"), ("31000002", "pubmed", "pending"), ("31000003", "pubmed", "pending")]
    # The reviewer screens: one included at full text, two excluded.
    d = dict(reviewer="AB", date="2024-07-02")
    log = decide(log, "31000001", "include", stage="full text", **d)
    log = decide(log, "31000002", "exclude", reason="review/editorial", **d)
    log = decide(log, "31000003", "exclude", reason="wrong population", **d)
    save_log("extracted/screening.csv", log)

    # Between the runs: two new records enter PubMed, one inside the overlap; the included study is retracted.
    server.add_records([
        synthetic(31000004, "Microwave ablation of thyroid cancer liver metastases", edat=date(2024, 6, 28)),
        synthetic(31000005, "Radioembolization in metastatic thyroid cancer", edat=date(2024, 7, 15)),
        synthetic(31000001, "TACE for liver metastases of medullary thyroid carcinoma", edat=date(2024, 1, 10),
                  comments=(("RetractionIn", "J Synth Oncol. 2024;9:1", "31000099"),
                            ("ErratumIn", "J Synth Oncol. 2024;8:5", ""))),
    ])
    assert main(["update", "--today", "2024-07-31"]) == 0
    out = capsys.readouterr().out
    assert ("lrt-liver: 2024/06/23 to 2024/07/31 by Entrez date: 3 found, 2 new, 1 duplicates (1 by pmid), "
            "of which 1 seen in earlier runs") in out
    assert "retraction watch: 1 included studies with a PMID checked, 1 flagged" in out
    assert "! R00001 (PMID 31000001) RETRACTED: RetractionIn: J Synth Oncol. 2024;9:1 (PMID 31000099); ErratumIn" in out
    assert "to screen next: 2 at title/abstract, 0 at full text" in out

    log = {e.pmid: e for e in load_log("extracted/screening.csv")}
    assert log["31000003"].decision == "exclude"  # seen again in the overlap: not asked again
    assert log["31000004"].decision == log["31000005"].decision == "pending"
    assert log["31000001"].flag == "retracted" and log["31000001"].decision == "include"
    searches = [r.params for r in server.log if r.utility == "esearch"]
    assert (searches[-1]["mindate"], searches[-1]["maxdate"], searches[-1]["datetype"]) == (
        "2024/06/23", "2024/07/31", "edat")
    history = load_update_log(tmp_path / "extracted" / "update-log.csv")
    assert [(h.mindate, h.maxdate, h.found, h.new) for h in history] == [
        ("", "2024/06/30", 3, 3), ("2024/06/23", "2024/07/31", 3, 2)]
    assert all((tmp_path / h.run_folder / "manifest.json").exists() for h in history)
    assert not any(h.run_folder.startswith("/") for h in history)
    watch = (tmp_path / "extracted" / "retraction-watch.csv").read_text().splitlines()
    assert watch[0] == "study,pmid,flag,detail,checked"
    assert watch[1].startswith("R00001,31000001,retracted,RetractionIn") and watch[1].endswith(",2024-07-31")

    # A third update on the same day finds only records already seen.
    assert main(["update", "--today", "2024-07-31"]) == 0
    assert "0 new" in capsys.readouterr().out
    assert len(load_log("extracted/screening.csv")) == 5


def test_update_errors_are_one_line(project, capsys):
    assert main(["update", "--today", "31/07/2024"]) == 1
    assert "--today '31/07/2024': expected a date YYYY-MM-DD" in capsys.readouterr().err
    assert main(["update", "--root", "nowhere"]) == 1
    assert "nowhere: no such project folder" in capsys.readouterr().err
    shutil.rmtree("queries")
    assert main(["update"]) == 1
    assert "queries: no queries folder" in capsys.readouterr().err


def test_update_survives_server_errors_and_flags_previous_version_studies(tmp_path, eutils_server, fast_client):
    from tests.support.eutils_server import Faults

    from evsynth.review.load import read_studies
    from evsynth.screening.files import ReviewFiles
    from evsynth.screening.known import previous_from_rows
    from evsynth.screening.update import run_update, summary

    server = eutils_server([synthetic(32000000 + i, f"Thyroid liver study {i}", edat=date(2024, 1, 1 + i))
                            for i in range(1, 25)]
                           + [synthetic(32000099, "Previous-version study", edat=date(2019, 5, 5),
                                        comments=(("ExpressionOfConcernIn", "Synth Rev. 2024;1:2", "32000098"),))],
                           rate_limit=None, faults=Faults(error_rate=0.25, truncate_rate=0.1, seed=7))
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "lrt-liver.toml").write_text(QUERY)
    ext = tmp_path / "extracted"
    ext.mkdir()
    declare_sheets(tmp_path)
    (ext / "studies.csv").write_text(studies_csv(("S16", "16", "Fromigue", "", "", ""),
                                                 ("S20", "20", "Synth", "", "32000099", "")))
    client = fast_client(server, max_tries=12)
    previous = previous_from_rows(read_studies(tmp_path))
    outcome = run_update(client, tmp_path / "queries", ReviewFiles(ext), previous, today=date(2024, 2, 1))
    assert client.stats.retries > 0  # faults were met and retried
    run = outcome.queries[0].run
    assert (run.found, run.new, run.in_previous_version) == (25, 24, 1)
    log = load_log(ext / "screening.csv")
    assert sorted(int(e.pmid) for e in log) == list(range(32000001, 32000025))  # S20 not screened again
    assert [(w.study, w.flag) for w in outcome.watch] == [("S20", "expression of concern")]
    text = summary(outcome)
    assert "25 found, 24 new, 0 duplicates; 1 already included in the previous version" in text
    assert "1 included studies with a PMID checked, 1 flagged (1 without PMID not checked)" in text
    assert "! S20 (PMID 32000099) EXPRESSION OF CONCERN: ExpressionOfConcernIn: Synth Rev. 2024;1:2 (PMID 32000098)" in text


def test_the_api_key_never_lands_in_a_file(project, tmp_path, monkeypatch, capsys):
    secret = "sEcReT-key-0123456789"
    monkeypatch.setenv("NCBI_API_KEY", secret)
    assert main(["update", "--today", "2024-06-30"]) == 0
    assert main(["chase"]) == 0
    out = capsys.readouterr()
    assert secret not in out.out + out.err
    assert project.log and all(r.has_api_key for r in project.log)  # it was sent...
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in written)
    assert not [p for p in written if secret.encode() in p.read_bytes()]  # ...and never stored


def test_a_revised_query_is_searched_over_its_whole_window_again(project, tmp_path, capsys):
    """Raising a query's version (its term changed) searches the whole window on the next update,
    so new terms reach older records; the same version again searches only since its last run."""
    server = project
    assert main(["update", "--today", "2024-06-30"]) == 0
    capsys.readouterr()
    query = tmp_path / "queries" / "lrt-liver.toml"
    query.write_text(QUERY.replace("version = 1", "version = 2")
                     .replace('term = "thyroid[tiab] AND liver[tiab]"',
                              'term = "thyroid[tiab] AND (liver[tiab] OR metastases[tiab])"'))
    assert main(["update", "--today", "2024-07-31"]) == 0
    out = capsys.readouterr().out
    assert "lrt-liver: no lower limit to 2024/07/31 by Entrez date (query revised, version 1 → 2: whole window)" in out
    searches = [r.params for r in server.log if r.utility == "esearch"]
    assert searches[-1]["mindate"] == searches[0]["mindate"]  # the whole window, as the first run
    assert main(["update", "--today", "2024-08-31"]) == 0
    assert "lrt-liver: 2024/07/24 to 2024/08/31 by Entrez date: " in capsys.readouterr().out
    history = load_update_log(tmp_path / "extracted" / "update-log.csv")
    assert [(h.version, h.mindate) for h in history] == [("1", ""), ("2", ""), ("2", "2024/07/24")]


def test_an_empty_window_is_not_an_unknown_phrase(tmp_path, eutils_server, monkeypatch, capsys):
    """PubMed answers PhraseNotFound for a phrase with no record in a narrow window; the update asks
    the whole query before calling the phrase unknown, and still stops for a phrase PubMed does not know."""
    from dataclasses import replace

    record = replace(synthetic(31000001, "Radioembolization of thyroid liver metastases", edat=date(2024, 1, 10)),
                     keywords=frozenset({"radioembolization", "thyroid"}))
    server = eutils_server([record], rate_limit=None, phrases_in_window=True)
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", server.url)
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "100")
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "lrt-liver.toml").write_text(QUERY.replace("thyroid[tiab] AND liver[tiab]",
                                                               "radioembolization[tiab]"))
    (tmp_path / "extracted").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["update", "--today", "2024-06-30"]) == 0
    assert main(["update", "--today", "2024-07-07"]) == 0  # an empty week
    out = capsys.readouterr().out
    assert "2024/06/23 to 2024/07/07 by Entrez date: 0 found" in out
    (tmp_path / "queries" / "lrt-liver.toml").write_text(QUERY.replace("thyroid[tiab] AND liver[tiab]",
                                                               "radioembolisationz[tiab]")
                                                 .replace("version = 1", "version = 2"))
    assert main(["update", "--today", "2024-07-14"]) == 1
    assert 'PubMed did not find "radioembolisationz" (ErrorList/PhraseNotFound)' in capsys.readouterr().err
