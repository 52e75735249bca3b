"""Fixes of issue 12: PRISMA counts each study once in an init project; export says what
"included" means; update after harvest starts from the harvest's date; a failed harvest
leaves no empty run folder; retries are reported one line each."""

from __future__ import annotations

from evsynth.cli.main import main
from evsynth.screening.log import save_log
from evsynth.review.load import read_studies
from evsynth.screening.files import ReviewFiles
from evsynth.screening.known import previous_from_rows
from evsynth.screening.prisma import check_invariants, review_prisma_counts
from tests.support.living_helpers import decided, entry



def _prisma(ext):
    """The PRISMA counts as the build computes them: studies.csv by the sheet engine, the logs once."""
    entries, merges = ReviewFiles(ext).load()
    return review_prisma_counts(previous_from_rows(read_studies(ext.parent)), entries, merges)

def _init_project(tmp_path, capsys):
    assert main(["init", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    return tmp_path / "p"


def test_prisma_of_an_init_project_counts_each_study_once(tmp_path, capsys):
    project = _init_project(tmp_path, capsys)
    ext = project / "extracted"
    save_log(ext / "screening.csv", [
        decided(1, "include", stage="full text", pmid="30000001"),
        decided(2, "include", stage="full text", pmid="30000002", doi="10.1000/two"),
        decided(3, "exclude", reason="wrong population"),
        entry(4),
    ])
    header = (ext / "studies.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    rows = [{"study_id": "S1", "reference": "1", "first_author": "Author1", "citation_as_printed": "Author1 et al.",
             "pmid": "30000001"},
            {"study_id": "S2", "reference": "2", "first_author": "Author2", "citation_as_printed": "Author2 et al.",
             "doi": "10.1000/TWO"},
            {"study_id": "S3", "reference": "3", "first_author": "Hand", "citation_as_printed": "Hand et al.",
             "pmid": ""}]
    lines = [",".join(header)] + [",".join(r.get(c, "") for c in header) for r in rows]
    (ext / "studies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = _prisma(ext)
    assert counts.previous_studies == 1          # only the study the log does not hold
    assert counts.new_studies == 2
    assert counts.total_studies == 3 == len(rows)  # each study once
    assert check_invariants(counts) == []
    # Every curated study is in the log: the new-review form, no "previous version".
    lines[-1] = ",".join({"study_id": "S3", "reference": "3", "first_author": "Hand",
                          "citation_as_printed": "Hand et al."}.get(c, "") for c in header)
    (ext / "studies.csv").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    counts = _prisma(ext)
    assert not counts.is_update and counts.total_studies == 2


def test_export_explains_what_included_means(tmp_path, capsys):
    project = _init_project(tmp_path, capsys)
    ext = project / "extracted"
    save_log(ext / "screening.csv", [decided(1, "include"), decided(2, "include"),
                                     decided(3, "include", stage="full text", pmid="30000003")])
    assert main(["export", "--root", str(project), "--out", str(tmp_path / "x.ris")]) == 0
    out = capsys.readouterr().out
    assert "1 included studies (ris)" in out
    assert ("included = included at full text (1 from the screening log) and the rows of "
            "studies.csv (0); 2 records included at title/abstract await their full-text "
            "decision and are not exported") in out


QUERY = '''name = "lrt-liver"
version = 1
database = "pubmed"
term = "thyroid[tiab] AND liver[tiab]"
datetype = "pdat"
rationale = "test query"
'''


def _living_project(tmp_path, monkeypatch, server):
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", server.url)
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "200")
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "lrt-liver.toml").write_text(QUERY)
    (tmp_path / "extracted").mkdir()
    monkeypatch.chdir(tmp_path)


def test_update_after_harvest_starts_from_the_harvest(tmp_path, monkeypatch, eutils_server, capsys):
    import re
    from datetime import date, timedelta

    from evsynth.screening.log import load_log
    from evsynth.screening.update import load_update_log
    from tests.support.living_helpers import synthetic

    server = eutils_server([synthetic(31000001, "TACE of liver metastases", edat=date(2024, 1, 10)),
                            synthetic(31000002, "RFA of liver metastases", edat=date(2024, 3, 1))],
                           rate_limit=None)
    _living_project(tmp_path, monkeypatch, server)
    assert main(["harvest"]) == 0
    searches = server.count("esearch")
    today = date.today()
    assert main(["update", "--today", today.isoformat()]) == 0
    out = capsys.readouterr().out
    assert re.search(r"lrt-liver: the harvest of \d{4}-\d\d-\d\d \(queries/runs/lrt-liver/\d{8}T\d{6}Z\) "
                     r"into the log: 2 records, 2 new, 0 duplicates", out), out
    assert [e.pmid for e in load_log("extracted/screening.csv")] == ["31000001", "31000002"]
    search = [r for r in server.log if r.utility == "esearch"][searches:]
    assert len(search) == 1  # the update searched once, from the harvest's day, not from the start
    history = load_update_log(tmp_path / "extracted" / "update-log.csv")
    harvested = date(*map(int, history[0].maxdate.split("/")))   # the day the harvest searched
    assert history[0].searched_utc.startswith(harvested.isoformat())
    start = (harvested - timedelta(days=7)).strftime("%Y/%m/%d")
    assert (search[0].params["mindate"], search[0].params["datetype"]) == (start, "edat")
    assert [h.run_folder.split("/")[2] for h in history] == ["lrt-liver", "lrt-liver"]
    assert "first run" not in out


def test_a_failed_harvest_leaves_no_run_folder_and_says_each_retry(tmp_path, monkeypatch, eutils_server, capsys):
    import re

    from tests.support.eutils_server import Faults
    server = eutils_server([], rate_limit=None, faults=Faults(error_rate=1.0))
    _living_project(tmp_path, monkeypatch, server)
    assert main(["harvest", "--max-tries", "3"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [re.sub(r"in \d+\.\d s", "in T s", line) for line in err[:2]] == [
        "retry 2/3 in T s: HTTP 50" + err[0][-1], "retry 3/3 in T s: HTTP 50" + err[1][-1]]
    assert all(re.fullmatch(r"retry \d/3 in \d+\.\d s: HTTP 50[023]", line) for line in err[:2])
    assert err[2].startswith("evsynth: error: esearch failed after 3 tries; last problem: HTTP 50")
    runs = tmp_path / "queries" / "runs"
    assert not runs.exists() or not any(p.is_dir() for p in runs.rglob("*") if not any(p.iterdir()))
    assert not (runs / "lrt-liver").exists() or not list((runs / "lrt-liver").iterdir())
