"""Harvest runs against the loopback server: paging past the cap, faults, resume, outputs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.support.eutils_server import Faults, make_corpus

from evsynth.cli.main import main
from evsynth.core.errors import EvsynthError
from evsynth.search.harvest import SearchSpec, load_run, run_query, search_pmids
from evsynth.search.records import Record

ROOT = Path(__file__).resolve().parents[1]
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def cli_env(server, **extra: str) -> dict[str, str]:
    """Environment for an ``evsynth`` subprocess pointed at the loopback server."""
    env = {k: v for k, v in os.environ.items() if k not in ("NCBI_API_KEY",)}
    env.update(PYTHONPATH=str(ROOT / "src"), EVSYNTH_EUTILS_URL=server.url,
               EVSYNTH_EUTILS_RATE="500")
    env.update(extra)
    return env


def test_small_run_outputs_and_replay(eutils_server, fast_client, tmp_path):
    server = eutils_server(make_corpus(120), rate_limit=None)
    client = fast_client(server)
    result = run_query(client, SearchSpec(term="thyroid[tiab]", batch=50), tmp_path / "run")
    run = tmp_path / "run"
    lines = (run / "records.jsonl").read_text(encoding="utf-8").splitlines()
    pmids = [json.loads(line)["pmid"] for line in lines]
    assert pmids == sorted({str(r.pmid) for r in server.records}, key=int)
    assert all(SNAKE.match(k) for k in json.loads(lines[0]))
    assert len((run / "records.csv").read_text(encoding="utf-8").split("\npmid")) == 1
    manifest = json.loads((run / "manifest.json").read_text())
    for key in ("query", "query_translation", "warnings", "count", "ids_retrieved", "date_windows",
                "datetype", "mindate", "maxdate", "started_utc", "finished_utc",
                "evsynth_version", "biopython_version", "base_url", "requests", "retries"):
        assert key in manifest, key
    assert manifest["count"] == manifest["ids_retrieved"] == manifest["records"] == 120
    assert manifest["requests"] == 1 + 3  # one esearch, three efetch batches
    assert manifest["base_url"] == server.url
    assert manifest["started_utc"].endswith("Z")
    assert (run / "ids.txt").read_text().split() == pmids
    replayed_manifest, replayed = load_run(run)
    assert replayed_manifest == manifest
    assert replayed == result.records
    assert all(isinstance(r, Record) for r in replayed)
    # efetch went by history server, in batches of 50
    fetches = [r for r in server.log if r.utility == "efetch"]
    assert [r.params.get("retstart") for r in fetches] == ["0", "50", "100"]
    assert all("WebEnv" in r.params for r in fetches)


def test_over_the_cap_splits_dates_and_gets_every_record(eutils_server, fast_client, tmp_path):
    corpus = make_corpus(12_000, first=date(2001, 1, 1), last=date(2020, 12, 31))
    server = eutils_server(corpus, rate_limit=None)
    client = fast_client(server)
    result = run_query(client, SearchSpec(term="liver[tiab]", datetype="edat", batch=2000),
                       tmp_path / "run")
    m = result.manifest
    assert m["count"] == 12_000 and m["records"] == 12_000 and m["ids_retrieved"] == 12_000
    assert m["coverage"] == {"count": 12_000, "windows_union": 12_000, "equal": True}
    windows = m["date_windows"]
    assert len(windows) >= 2 and all(w["count"] <= 9999 for w in windows)
    assert sum(w["count"] for w in windows) == 12_000
    for a, b in zip(windows, windows[1:]):  # contiguous, non-overlapping
        assert date.fromisoformat(b["mindate"].replace("/", "-")) == \
            date.fromisoformat(a["maxdate"].replace("/", "-")) + timedelta(days=1)
    assert [r.pmid for r in result.records] == [str(r.pmid) for r in corpus]
    assert server.count("efetch", 400) == 0  # never asked past the cap
    assert any("exceed PubMed's 9,999 cap" in w for w in m["warnings"])


def test_date_limits_are_inclusive(eutils_server, fast_client, tmp_path):
    corpus = make_corpus(400, first=date(2010, 1, 1), last=date(2010, 12, 31))
    server = eutils_server(corpus, rate_limit=None)
    spec = SearchSpec(term="thyroid", datetype="edat", mindate="2010/03", maxdate="2010/05/31")
    result = run_query(fast_client(server), spec, tmp_path / "run")
    expected = [str(r.pmid) for r in corpus if date(2010, 3, 1) <= r.edat <= date(2010, 5, 31)]
    assert [r.pmid for r in result.records] == expected
    search = next(r for r in server.log if r.utility == "esearch")
    assert (search.params["mindate"], search.params["maxdate"],
            search.params["datetype"]) == ("2010/03/01", "2010/05/31", "edat")


def test_faults_8_percent_5xx_and_truncation_end_with_all_records(eutils_server, fast_client,
                                                                   tmp_path):
    corpus = make_corpus(3000)
    clean = run_query(fast_client(eutils_server(corpus, rate_limit=None)),
                      SearchSpec(term="thyroid", batch=100), tmp_path / "clean")
    faults = Faults(error_rate=0.08, truncate_rate=0.08, malformed_rate=0.02, seed=11)
    server = eutils_server(corpus, rate_limit=None, faults=faults)
    client = fast_client(server, max_tries=12)
    result = run_query(client, SearchSpec(term="thyroid", batch=100), tmp_path / "faulty")
    assert result.manifest["retries"] > 0
    assert result.manifest["request_stats"]["http_5xx"] > 0
    assert result.manifest["request_stats"]["bad_bodies"] > 0
    assert (tmp_path / "faulty" / "records.jsonl").read_bytes() == \
        (tmp_path / "clean" / "records.jsonl").read_bytes()
    assert (tmp_path / "faulty" / "records.csv").read_bytes() == \
        (tmp_path / "clean" / "records.csv").read_bytes()
    assert clean.records == result.records


def test_empty_result(eutils_server, fast_client, tmp_path):
    corpus = make_corpus(20, first=date(2015, 1, 1), last=date(2015, 12, 31))
    server = eutils_server(corpus, rate_limit=None)
    result = run_query(fast_client(server), SearchSpec(term="thyroid", mindate="1990",
                                                       maxdate="1991"), tmp_path / "run")
    assert result.records == []
    assert result.manifest["count"] == 0
    assert "PubMed found no records for this search" in result.manifest["warnings"]
    assert (tmp_path / "run" / "records.jsonl").read_text() == ""
    assert load_run(tmp_path / "run")[1] == []


def test_phrase_not_found_stops_with_one_line(eutils_server, tmp_path, capsys, monkeypatch):
    server = eutils_server(make_corpus(10), rate_limit=None)
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "500")
    code = main(["harvest", "--term", "thyroid AND abcXYZ[tiab]", "--out", str(tmp_path / "r"),
                 "--eutils-url", server.url])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith('evsynth: error: PubMed did not find "abcxyz" '
                          "(ErrorList/PhraseNotFound)")
    assert not (tmp_path / "r" / "manifest.json").exists()


def test_malformed_xml_every_time_gives_clear_error(eutils_server, tmp_path, capsys, monkeypatch):
    server = eutils_server(make_corpus(10), rate_limit=None,
                           faults=Faults(malformed_rate=1.0, utilities=("efetch",)))
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "500")
    code = main(["harvest", "--term", "thyroid", "--out", str(tmp_path / "r"),
                 "--eutils-url", server.url, "--max-tries", "2"])
    err = capsys.readouterr().err
    lines = err.splitlines()
    # One line per retry (by history, then by id list), then the one error line.
    assert code == 1 and len(lines) == 3 and lines[-1].startswith("evsynth: error: ")
    assert all(line.startswith("retry 2/2 in ") and "not well-formed XML" in line for line in lines[:2])
    assert "efetch failed after 2 tries; last problem:" in err
    assert "not well-formed XML" in err
    assert server.count("efetch") >= 2


@pytest.mark.parametrize("argv, message", [
    (["harvest", "--term", "thyroid"], "--term needs --out DIR"),
    (["harvest", "--term", "(thyroid", "--out", "x"], "--term: unbalanced parentheses"),
    (["harvest", "--term", "thyroid", "--out", "x", "--mindate", "2020/13"],
     "--mindate: '2020/13' is not a calendar date"),
    (["harvest", "--term", "thyroid", "--out", "x", "--mindate", "2021", "--maxdate", "2020"],
     "mindate 2021 is after maxdate 2020"),
    (["harvest", "--term", "thyroid", "--out", "x", "--batch", "0"],
     "--batch must be between 1 and 10,000"),
    (["harvest", "nosuch", "--root", "QDIR"], "QDIR/queries/nosuch.toml: no such query"),
    (["harvest", "nosuch"], "not inside a review project"),
    (["harvest", "--eutils-url", "ftp://x", "--term", "t", "--out", "x"],
     "E-utilities URL must start with http"),
])
def test_bad_input_is_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "QDIR" / "queries").mkdir(parents=True)
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", "http://127.0.0.1:9/")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_api_key_never_written(eutils_server, tmp_path):
    server = eutils_server(make_corpus(60), rate_limit=None,
                           faults=Faults(error_rate=0.2, seed=5))
    secret = "K3Y" + "9" * 33
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "evsynth", "harvest", "--term", "thyroid",
                           "--out", str(out), "--batch", "20", "--max-tries", "10"],
                          env=cli_env(server, NCBI_API_KEY=secret, EVSYNTH_EUTILS_RATE="50"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert all(r.has_api_key and r.method == "POST" for r in server.log)
    assert secret not in proc.stdout + proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                import gzip
                data = gzip.decompress(data)
            assert secret.encode() not in data, path
    assert "api_key" not in (out / "manifest.json").read_text()


def test_limiter_keeps_the_server_from_answering_429(eutils_server, tmp_path):
    """The real limiter (3/s) against a server enforcing 3/s: a burst of 7 requests, no 429."""
    from evsynth.search.eutils import EutilsClient
    from evsynth.search.ratelimit import RateLimiter

    server = eutils_server(make_corpus(30), rate_limit=3)
    client = EutilsClient(base_url=server.url, limiter=RateLimiter(rate=3))
    start = time.monotonic()
    run_query(client, SearchSpec(term="thyroid", batch=5), tmp_path / "run")
    elapsed = time.monotonic() - start
    assert server.count() == 7 and server.count(status=429) == 0
    arrivals = sorted(r.at for r in server.log)
    assert all(b - a >= 1.0 for a, b in zip(arrivals, arrivals[3:]))
    assert elapsed >= 2.0


def test_kill_and_resume_finishes_without_refetching(eutils_server, fast_client, tmp_path):
    corpus = make_corpus(1500)
    reference = run_query(fast_client(eutils_server(corpus, rate_limit=None)),
                          SearchSpec(term="thyroid", batch=50), tmp_path / "reference")
    server = eutils_server(corpus, rate_limit=None,
                           faults=Faults(delay=0.15, utilities=("efetch",)))
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "evsynth", "harvest", "--term", "thyroid", "--out", str(out),
            "--batch", "50"]
    proc = subprocess.Popen(argv, env=cli_env(server), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "batches").glob("*.xml.gz"))) < 6:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    done = sorted((out / "batches").glob("*.xml.gz"))
    assert 6 <= len(done) < 30, "killed mid-run"
    assert not (out / "manifest.json").exists()
    time.sleep(0.3)  # let the server finish the request that was in flight at the kill
    restart_at = time.monotonic()
    server.faults = Faults()
    again = subprocess.run(argv, env=cli_env(server), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert "resumed" in again.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] is True
    assert manifest["batches"]["reused"] >= len(done)
    assert manifest["batches"]["reused"] + manifest["batches"]["fetched"] == 30
    plan = json.loads((out / "plan.json").read_text())
    kept = {p for b in plan["batches"] if (out / b["file"]) in done for p in b["pmids"]}
    refetched = [p for r in server.log if r.at >= restart_at for p in r.pmids_served]
    assert not kept & set(refetched), "a committed batch was fetched again"
    assert len(refetched) == 1500 - manifest["batches"]["reused"] * 50
    assert (out / "records.jsonl").read_bytes() == \
        (tmp_path / "reference" / "records.jsonl").read_bytes()
    assert (out / "records.csv").read_bytes() == \
        (tmp_path / "reference" / "records.csv").read_bytes()
    assert load_run(out)[1] == reference.records


def test_resume_flag_continues_newest_unfinished_run(eutils_server, fast_client, tmp_path,
                                                     monkeypatch, capsys):
    server = eutils_server(make_corpus(200), rate_limit=None)
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "q1.toml").write_text('name = "q1"\nterm = "thyroid[tiab] AND english[la]"\n'
                                     'language = ["english"]\n')
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "500")
    assert main(["harvest", "q1", "--root", str(tmp_path), "--eutils-url", server.url,
                 "--batch", "40"]) == 0
    (run,) = (queries / "runs" / "q1").iterdir()
    first = (run / "records.jsonl").read_bytes()
    (run / "manifest.json").unlink()
    for name in ("0000-000040.xml.gz", "0000-000120.xml.gz"):
        (run / "batches" / name).unlink()
    (run / "batches" / "0000-000160.xml.gz").write_bytes(b"garbage")
    served = len(server.served_pmids())
    assert main(["harvest", "q1", "--root", str(tmp_path), "--eutils-url", server.url,
                 "--batch", "40", "--resume"]) == 0
    assert "resumed (2 batches kept)" in capsys.readouterr().out
    assert len(server.served_pmids()) - served == 120
    assert (run / "records.jsonl").read_bytes() == first
    manifest, records = load_run(run)
    assert manifest["query"]["name"] == "q1" and manifest["query"]["version"] == 1
    assert len(records) == 200
    assert main(["harvest", "q1", "--root", str(tmp_path), "--eutils-url", server.url,
                 "--resume"]) == 1
    assert "no unfinished run to resume" in capsys.readouterr().err


def test_a_different_search_in_the_same_folder_is_refused(eutils_server, fast_client, tmp_path):
    server = eutils_server(make_corpus(20), rate_limit=None)
    client = fast_client(server)
    run_query(client, SearchSpec(term="thyroid"), tmp_path / "run")
    with pytest.raises(EvsynthError, match="already holds a finished run"):
        run_query(client, SearchSpec(term="thyroid"), tmp_path / "run")
    (tmp_path / "run" / "manifest.json").unlink()
    with pytest.raises(EvsynthError, match="holds a different search"):
        run_query(client, SearchSpec(term="liver"), tmp_path / "run")


def test_load_run_refuses_unfinished_or_changed_runs(eutils_server, fast_client, tmp_path):
    server = eutils_server(make_corpus(20), rate_limit=None)
    run_query(fast_client(server), SearchSpec(term="thyroid"), tmp_path / "run")
    jsonl = tmp_path / "run" / "records.jsonl"
    jsonl.write_text(jsonl.read_text().replace("Synthetic", "Edited", 1))
    with pytest.raises(EvsynthError, match="changed since the run"):
        load_run(tmp_path / "run")
    (tmp_path / "run" / "manifest.json").unlink()
    with pytest.raises(EvsynthError, match="unfinished run"):
        load_run(tmp_path / "run")


def test_more_than_the_cap_on_one_day_is_a_clear_error(eutils_server, fast_client, tmp_path):
    day = date(2020, 1, 15)
    server = eutils_server(make_corpus(10_050, first=day, last=day), rate_limit=None)
    spec = SearchSpec(term="thyroid", datetype="edat", mindate="2020/01/01",
                      maxdate="2020/01/31")
    with pytest.raises(EvsynthError, match=r"10050 records on the single day 2020/01/15: more "
                                           r"than PubMed's 9,999 cap"):
        run_query(fast_client(server), spec, tmp_path / "run")


def test_stale_temporary_files_are_cleared_on_resume(eutils_server, fast_client, tmp_path):
    server = eutils_server(make_corpus(30), rate_limit=None)
    client = fast_client(server)
    run_query(client, SearchSpec(term="thyroid", batch=10), tmp_path / "run")
    run = tmp_path / "run"
    (run / "manifest.json").unlink()
    stale = run / "batches" / ".0000-000010.xml.gz.abcd.tmp"
    stale.write_bytes(b"half")
    result = run_query(client, SearchSpec(term="thyroid", batch=10), run)
    assert not stale.exists()
    assert result.manifest["batches"] == {"size": 10, "total": 3, "fetched": 0, "reused": 3}


def test_progress_bar_only_when_asked(eutils_server, fast_client, tmp_path, capsys):
    server = eutils_server(make_corpus(40), rate_limit=None)
    run_query(fast_client(server), SearchSpec(term="thyroid", batch=10), tmp_path / "quiet")
    assert capsys.readouterr().err == ""
    run_query(fast_client(server), SearchSpec(term="thyroid", batch=10), tmp_path / "tty",
              progress=True)
    assert "efetch" in capsys.readouterr().err


def test_harvest_without_name_runs_every_query(eutils_server, tmp_path, monkeypatch, capsys):
    server = eutils_server(make_corpus(30), rate_limit=None)
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "a.toml").write_text('name = "a"\nterm = "thyroid[tiab]"\n')
    (queries / "b.toml").write_text('name = "b"\nterm = "liver[mh]"\nmindate = "2050"\n')
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "500")
    assert main(["harvest", "--root", str(tmp_path), "--eutils-url", server.url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("a: 30 records (PubMed count 30)")
    assert "\nb: 0 records (PubMed count 0)" in out
    for name, n in (("a", 30), ("b", 0)):
        (run,) = (queries / "runs" / name).iterdir()
        assert re.fullmatch(r"\d{8}T\d{6}Z", run.name)
        assert len(load_run(run)[1]) == n


def test_search_pmids_past_the_cap_without_fetching(eutils_server, fast_client):
    corpus = make_corpus(10_200, first=date(2019, 1, 1), last=date(2020, 12, 31))
    server = eutils_server(corpus, rate_limit=None)
    pmids = search_pmids(fast_client(server), SearchSpec(term="thyroid", datetype="edat"))
    assert pmids == [str(r.pmid) for r in corpus]
    assert server.count("efetch") == 0
