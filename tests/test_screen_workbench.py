"""Screening from the terminal in one process (--next, --decide with several ids, --from) and
the screening server's guards (loopback, token, Host header, cross-site POSTs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.screening.dual import cohens_kappa
from evsynth.screening.files import ReviewFiles
from tests.support.screening_project import corpus, make_project


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("screen-cli"), corpus(12))


@pytest.fixture
def project(template, tmp_path, monkeypatch) -> Path:
    shutil.copytree(template, tmp_path / "review")
    monkeypatch.chdir(tmp_path / "review")
    return tmp_path / "review"


def log(project: Path, name: str = "screening.csv"):
    files = ReviewFiles(project / "extracted")
    return {e.record_id: e for e in files.load_log(files.extracted / name)}


def test_next_follows_the_ranking_by_default(project, capsys):
    """Before any decision the order is the project's seeded random start; --next shows its first record."""
    from evsynth.prioritise.pending import rank_pending, record_texts
    from evsynth.search.runs import records_of_runs

    files = ReviewFiles(project / "extracted")
    first = rank_pending(files.load_log(files.screening),
                         record_texts(records_of_runs(files.runs).values()), 0)[0]
    assert main(["screen", "--next"]) == 0
    assert f"\n{first}  [title/abstract: pending]" in capsys.readouterr().out


def test_next_shows_the_abstract_and_the_command_to_decide(project, capsys):
    with (project / "review.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[screening]\norder = "log"\n')  # follow R00001 by id
    assert main(["screen", "--next"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Next: title/abstract (0 of 12 decided; 12 open at title/abstract, 0 at full text)")
    assert "R00001  [title/abstract: pending]" in out
    assert "BACKGROUND: Loco-regional therapy in case 0." in out  # from records.jsonl of the run
    assert "MeSH: *Thyroid Neoplasms; Liver Neoplasms; Humans" in out
    assert "evsynth screen --decide R00001 include|exclude|maybe" in out
    # in log order the status says its promise was not measured for that order
    assert 'The records are screened in log order (review.toml [screening] order = "log")' in out
    assert main(["screen", "--as", "cd", "--next"]) == 0
    assert "evsynth screen --as cd --decide R00001 include" in capsys.readouterr().out


def test_next_shows_the_stopping_status_for_the_projects_target(project, capsys):
    """--next says where the review stands (review.toml's target), also when nothing is left."""
    from evsynth.prioritise.pending import stopping_status

    with (project / "review.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[screening]\ntarget_recall = 0.8\nconfidence = 0.9\n")

    def expected(name: str = "screening.csv") -> list[str]:
        status = stopping_status(list(log(project, name).values()), target_recall=0.8,
                                 confidence=0.9)
        return [status.describe(), "  " + status.heuristic()]

    assert main(["screen", "--next"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Next: title/abstract (0 of 12 decided")
    assert lines[1:3] == expected()
    assert lines[1].startswith("0 of 12 records screened at title/abstract, 0 includes found. "
                               "Stopping criterion not met for recall ≥ 80 % with 90 % confidence")
    assert "log order" not in lines[1]  # ranked (the default): no caveat
    assert main(["screen", "--decide", "R00001", "include", "--reviewer", "AB",
                 "--date", "2025-03-01"]) == 0
    assert main(["screen", "--decide", "R00002", "R00003", "exclude", "--reviewer", "AB",
                 "--date", "2025-03-02"]) == 0
    capsys.readouterr()
    assert main(["screen", "--next"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == expected()
    assert lines[1].startswith("3 of 12 records screened at title/abstract, 1 include found.")
    assert lines[2] == ("  Heuristic only, no guarantee: the last 2 records screened were "
                        "all excluded.")
    # A second reviewer's --next counts their own (blind) decisions, not the main log's.
    assert main(["screen", "--as", "cd", "--next"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == expected("screening-cd.csv")
    assert lines[1].startswith("0 of 12 records screened at title/abstract, 0 includes found.")
    # Nothing left: the status still shows, and with every record screened the criterion is met.
    rest = [f"R{n:05d}" for n in range(4, 13)]
    assert main(["screen", "--decide", *rest, "exclude", "--reviewer", "AB",
                 "--date", "2025-03-03"]) == 0
    assert main(["screen", "--decide", "R00001", "exclude", "--reason", "wrong population",
                 "--reviewer", "AB", "--date", "2025-03-04"]) == 0  # at full text
    capsys.readouterr()
    assert main(["screen", "--next"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["Nothing to screen (12 records in the log).", *expected()]
    assert lines[1].startswith("12 of 12 records screened at title/abstract, 1 include found. Stopping "
                               "criterion MET: recall ≥ 80 % with 90 % confidence")


def test_page_api_reports_the_stopping_status_and_updates_it_after_each_decision(
        project, monkeypatch):
    """Through Flask's test client: /api/state carries where the review stands (review.toml's
    target), every decision's answer carries the new status, and neither the ranking nor the
    status is recomputed unless the log changed."""
    from evsynth.workbench.app import Allowed, create_app
    from evsynth.workbench import session as session_module
    from evsynth.prioritise.pending import stopping_status
    from evsynth.workbench.session import ScreeningSession

    with (project / "review.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[screening]\ntarget_recall = 0.8\nconfidence = 0.9\n")
    calls = {"rank": 0, "status": 0}

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(session_module, "rank_pending", counted("rank", session_module.rank_pending))
    monkeypatch.setattr(session_module, "stopping_status",
                        counted("status", session_module.stopping_status))
    files = ReviewFiles(project / "extracted")

    def client_of(session):
        app = create_app(session, "tok", Allowed(port=8765))
        return app.test_client()

    day = ["2025-03-04"]
    main_session = ScreeningSession.open(files, "AB", clock=lambda: day[0])
    client = client_of(main_session)
    base = "http://127.0.0.1:8765"

    def get_state():
        response = client.get("/tok/api/state", base_url=base)
        assert response.status_code == 200
        return response.get_json()

    def post(path, payload):
        response = client.post(f"/tok/api/{path}", json=payload, base_url=base)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def expected(name="screening.csv"):
        return stopping_status(list(log(project, name).values()), target_recall=0.8,
                               confidence=0.9)

    state = get_state()
    stop = state["stopping"]
    assert (stop["screened"], stop["total"], stop["includes_found"], stop["met"]) == (0, 12, 0, False)
    assert stop["summary"] == expected().describe()
    assert "recall ≥ 80 % with 90 % confidence" in stop["summary"]
    assert stop["more_needed"] == expected().more_needed > 0
    assert stop["heuristic"] == expected().heuristic()
    assert stop["heuristic"].startswith("Heuristic only, no guarantee:")
    assert get_state() == state
    assert calls == {"rank": 1, "status": 1}   # a second look recomputes nothing

    first = state["record"]["record_id"]
    state = post("decide", {"record_id": first, "decision": "include"})
    stop = state["stopping"]
    assert (stop["screened"], stop["includes_found"], stop["irrelevant_streak"]) == (1, 1, 0)
    assert stop["summary"] == expected().describe()
    assert calls == {"rank": 2, "status": 2}   # once per change of the log
    second = state["record"]["record_id"]
    day[0] = "2025-03-05"  # a day later (within a day the log cannot tell the order)
    state = post("decide", {"record_id": second, "decision": "exclude"})
    stop = state["stopping"]
    assert (stop["screened"], stop["includes_found"], stop["irrelevant_streak"]) == (2, 1, 1)
    assert stop["summary"].startswith("2 of 12 records screened at title/abstract, 1 include found.")
    assert stop["heuristic"] == expected().heuristic() == (
        "Heuristic only, no guarantee: the last record screened was excluded.")
    skipped = post("skip", {"record_id": state["record"]["record_id"]})
    assert skipped["stopping"] == stop and calls == {"rank": 3, "status": 3}  # skip writes nothing
    state = post("undo", {})
    assert state["stopping"]["screened"] == 1
    assert state["stopping"]["summary"] == expected().describe()
    # A second reviewer's page counts their own blind decisions only.
    blind = client_of(ScreeningSession.open(files, "CD", "cd", clock=lambda: "2025-03-04"))
    response = blind.get("/tok/api/state", base_url=base)
    stop = response.get_json()["stopping"]
    assert (stop["screened"], stop["includes_found"]) == (0, 0)
    assert stop["summary"] == expected("screening-cd.csv").describe()


def test_listing_hint_keeps_as_name_for_a_second_reviewer(project, capsys):
    assert main(["screen", "--as", "cd", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "evsynth screen --as cd --decide RECORD_ID" in out
    assert "... 10 more" in out


def test_decide_several_ids_in_one_process(project, capsys):
    assert main(["screen", "--decide", "R00002", "32000003", "R00005", "exclude",
                 "--reviewer", "AB", "--date", "2025-03-01"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"R0000{n}: title/abstract: exclude by AB" for n in (2, 3, 5)]
    rows = log(project)
    assert [rows[f"R0000{n}"].decision for n in range(1, 7)] == \
        ["pending", "exclude", "exclude", "pending", "exclude", "pending"]
    # An unknown id anywhere: nothing is written.
    before = (project / "extracted" / "screening.csv").read_bytes()
    assert main(["screen", "--decide", "R00001", "R09999", "include", "--reviewer", "AB"]) == 1
    assert "no record 'R09999'" in capsys.readouterr().err
    assert (project / "extracted" / "screening.csv").read_bytes() == before
    assert main(["screen", "--decide", "R00001", "yes", "--reviewer", "AB"]) == 1
    assert "the last value must be the decision" in capsys.readouterr().err


def test_decisions_from_a_csv_all_checked_before_any_is_written(project, capsys):
    good = project / "decisions.csv"
    good.write_text("pmid,decision,reason,stage,reviewer,date\n"
                    "32000001,include,,,,\n"
                    "32000002,exclude,wrong population,,CD,2025-03-02\n"
                    "32000001,exclude,wrong study design,full text,,\n"
                    "32000006,maybe,,,,\n", encoding="utf-8")
    assert main(["screen", "--from", str(good), "--reviewer", "AB", "--date", "2025-03-01"]) == 0
    rows = log(project)
    assert (rows["R00001"].stage, rows["R00001"].decision, rows["R00001"].reason,
            rows["R00001"].reviewer) == ("full text", "exclude", "wrong study design", "AB")
    assert (rows["R00002"].reviewer, rows["R00002"].date) == ("CD", "2025-03-02")
    assert rows["R00006"].decision == "maybe"
    capsys.readouterr()
    before = (project / "extracted" / "screening.csv").read_bytes()
    for body, message in [
        ("record_id,decision\nR00007,include\nR00008,exclude\nR00009,include,extra\n", ":4: more cells than columns"),
        ("record_id,decision,reason\nR00007,include,\nR00008,exclude,too old\n", ":3:reason: 'too old' is not in the project's list"),
        ("record_id,decision,stage\nR00007,include,\nR00008,exclude,full text\n", ":3: an exclude at full text needs --reason"),
        ("record_id,decision\nR00007,include\nR0008,exclude\n", ":3:record_id: 'R0008' is not a record id"),
        ("record_id,decision,date\nR00007,include,1 March\n", ":2:date: '1 March' is not YYYY-MM-DD"),
        ("record_id,decision\nR00007,include\nR00004,include\n", ":3: R00004 is flagged RETRACTED"),
        ("id,decision\nR00007,include\n", ":1: needs a column record_id or pmid"),
        ("record_id,verdict\nR00007,include\n", ":1: missing column decision"),
    ]:
        bad = project / "bad.csv"
        bad.write_text(body, encoding="utf-8")
        assert main(["screen", "--from", str(bad), "--reviewer", "AB"]) == 1, body
        err = capsys.readouterr().err
        assert err.startswith(f"evsynth: error: {bad}") and message in err and err.count("\n") == 1, err
        assert (project / "extracted" / "screening.csv").read_bytes() == before
    ok = project / "ok.csv"
    ok.write_text("record_id,decision,note\nR00004,include,checked with the authors\n")
    assert main(["screen", "--from", str(ok), "--reviewer", "AB", "--allow-retracted"]) == 0
    assert "included although retracted: checked with the authors" in log(project)["R00004"].notes


def test_second_reviewer_decides_from_a_csv_blind(project, capsys):
    assert main(["screen", "--decide", "R00001", "include", "--reviewer", "AB"]) == 0
    (project / "cd.csv").write_text("record_id,decision\nR00001,exclude\nR00002,include\n")
    assert main(["screen", "--as", "cd", "--from", "cd.csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "screening-cd.csv: R00001: title/abstract: exclude by cd",
        "screening-cd.csv: R00002: title/abstract: include by cd"]
    assert log(project)["R00001"].decision == "include"  # main log untouched
    assert log(project, "screening-cd.csv")["R00001"].decision == "exclude"


def test_cohens_kappa_matches_a_published_example():
    # Wikipedia, "Cohen's kappa", worked example: 50 proposals, both yes 20, A yes/B no 5,
    # A no/B yes 10, both no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohens_kappa(pairs) == pytest.approx(0.4, abs=1e-12)
    assert cohens_kappa([]) is None
    assert cohens_kappa([("include", "include")] * 3) is None  # p_e = 1: undefined
    assert cohens_kappa([("a", "b"), ("b", "a")]) == pytest.approx(-1.0)


def _request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def test_serve_prints_its_address_first_and_refuses_what_it_should(project):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "evsynth.cli.main", "screen", "--serve",
                                "--reviewer", "AB"], cwd=project, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = process.stdout.readline().strip()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/([A-Za-z0-9_-]{40,})/", first)
        assert match, first
        port, token = match.groups()
        status, body, headers = _request(first)
        assert status == 200 and b"<title>Screening" in body
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert _request(first.replace(token, "x" * len(token)))[0] == 404
        assert _request(f"http://127.0.0.1:{port}/")[0] == 404
        # DNS rebinding: another host name pointing at 127.0.0.1 is refused.
        assert _request(first, headers={"Host": f"evil.example:{port}"})[0] == 400
        decide = first + "api/decide"
        payload = json.dumps({"record_id": "R00001", "decision": "include"}).encode()
        json_type = {"Content-Type": "application/json"}
        assert _request(decide, data=payload, headers=json_type | {
            "Origin": "http://evil.example"})[0] == 403
        assert _request(decide, data=payload, headers=json_type | {
            "Sec-Fetch-Site": "cross-site"})[0] == 403
        assert _request(decide, data=b"record_id=R00001&decision=include", headers={
            "Content-Type": "application/x-www-form-urlencoded"})[0] == 415
        assert log(project)["R00001"].decision == "pending"  # nothing refused was written
        status, body, _ = _request(decide, data=payload, headers=json_type | {
            "Origin": f"http://127.0.0.1:{port}"})
        assert status == 200 and json.loads(body)["progress"]["decided"] == 0
        row = log(project)["R00001"]
        assert (row.decision, row.reviewer) == ("include", "AB")
        status, body, _ = _request(decide, data=json.dumps(
            {"record_id": "R00004", "decision": "include"}).encode(), headers=json_type)
        assert status == 400 and "--allow-retracted" in json.loads(body)["error"]
        assert process.poll() is None  # still serving
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0


def test_serve_needs_a_reviewer_and_a_usable_port(project, capsys):
    assert main(["screen", "--serve"]) == 1
    assert "needs a reviewer name" in capsys.readouterr().err
    assert main(["screen", "--port", "8080"]) == 1
    assert "--port goes with --serve" in capsys.readouterr().err
