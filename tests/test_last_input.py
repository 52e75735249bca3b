"""The last inputs that slipped (issue 20): each gives one clear line, never a traceback.

TOML nested or sized beyond reason, the screening page's JSON bodies and Host
header, ``screen --from`` on a FIFO, a device, an impossible date, a note, a
record twice; query terms with control characters or of absurd size; a sheet
that is a FIFO; a busy ``--port``; a reviewer name with a line break; a huge
bogus record id.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from evsynth.cli.main import MAX_ERROR_CHARS, main
from evsynth.core.toml_read import MAX_CHARS
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import load_log, save_log
from evsynth.workbench.app import WorkbenchServer, create_app, Allowed
from evsynth.workbench.session import ScreeningSession
from tests.support.living_helpers import decided, entry

DEEP = "x = " + "[" * 5000 + "]" * 5000 + "\n"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("evsynth: error: "), err[:500]
    assert "Traceback" not in err and "RecursionError" not in err
    return err


@pytest.mark.parametrize("name", ["review.toml", "analysis.toml", "sheets.toml"])
def test_toml_nested_too_deeply_names_the_file(project: Path, capsys, name: str) -> None:
    path = project / name
    path.write_text(path.read_text() + "\n[deep]\n" + DEEP if name != "review.toml" else DEEP + path.read_text())
    assert main(["validate", "--root", str(project)]) != 0
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert "Traceback" not in text and "RecursionError" not in text
    assert f"{name}: values nested too deeply (over 32 levels of tables or arrays)" in text


def test_toml_too_large_names_the_file(project: Path, capsys) -> None:
    path = project / "review.toml"
    text = path.read_text() + "\n# " + "x" * MAX_CHARS + "\n"
    path.write_text(text)
    assert main(["validate", "--root", str(project)]) == 1
    assert one_error_line(capsys) == (f"evsynth: error: review.toml: {len(text):,} characters, over the limit "
                                      "of 1,000,000 for a TOML file of the project; is it the right file?\n")


def test_query_too_deep_too_large_or_with_a_control_character(project: Path, capsys) -> None:
    queries = project / "queries"
    queries.mkdir()
    head = 'name = "q"\nversion = 1\ndatabase = "pubmed"\nrationale = "t"\n'
    (queries / "q.toml").write_text(head + 'term = "liver[tiab]\\u0000"\n')
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr()
    assert "field 'term': holds the invisible character U+0000 at position 12; delete it" in out.out + out.err
    (queries / "q.toml").write_text(head + 'term = "' + "liver[tiab] OR " * 2_000 + 'liver[tiab]"\n')
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "field 'term': 30,011 characters, over the limit of 20,000 for a query term" in text
    assert len(text) < 400
    (queries / "q.toml").write_text(head + 'term = "' + "liver[tiab] OR " * 120_000 + 'liver[tiab]"\n')
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "q.toml: 1,800,080 characters, over the limit of 1,000,000" in text and len(text) < 400
    (queries / "q.toml").write_text(head + 'term = "x"\n' + DEEP)
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr()
    assert "q.toml: values nested too deeply" in out.out + out.err


def test_error_lines_are_cut_to_a_readable_length(project: Path, capsys) -> None:
    save_log(project / "extracted" / "screening.csv", [entry(1)])
    assert main(["screen", "--decide", "R" + "9" * 3_000_000, "exclude", "--reviewer", "AB",
                 "--root", str(project)]) == 1
    err = one_error_line(capsys)
    assert len(err) < MAX_ERROR_CHARS + 100 and "3,000,001 characters" in err


# -- screen --from ---------------------------------------------------------------------

@pytest.fixture
def logged(project: Path) -> Path:
    save_log(project / "extracted" / "screening.csv", [entry(n) for n in range(1, 5)])
    return project


def from_file(project: Path, text: str, capsys, *extra: str) -> tuple[int, str]:
    path = project / "decisions.csv"
    path.write_text(text)
    code = main(["screen", "--from", str(path), "--reviewer", "AB", "--root", str(project), *extra])
    captured = capsys.readouterr()
    return code, captured.err


def test_from_refuses_an_impossible_date(logged: Path, capsys) -> None:
    code, err = from_file(logged, "record_id,decision,date\nR00001,exclude,2026-13-45\n", capsys)
    assert code == 1 and err.endswith("decisions.csv:2:date: 2026-13-45 is not a calendar date\n")


def test_from_keeps_the_note(logged: Path, capsys) -> None:
    code, _ = from_file(logged, "record_id,decision,note\nR00001,exclude,seen in the protocol\n", capsys)
    assert code == 0
    row = load_log(logged / "extracted" / "screening.csv")[0]
    assert (row.decision, row.notes) == ("exclude", "seen in the protocol")


def test_from_refuses_a_record_twice_at_one_stage(logged: Path, capsys) -> None:
    before = (logged / "extracted" / "screening.csv").read_bytes()
    code, err = from_file(logged, "record_id,decision\nR00002,exclude\nR00003,include\nR00002,include\n", capsys)
    assert code == 1
    assert err.endswith("decisions.csv:4:record_id: R00002 is decided twice at title/abstract in this file "
                        "(lines 2 and 4); keep one row\n")
    assert (logged / "extracted" / "screening.csv").read_bytes() == before
    # included on title/abstract and decided at full text in one file is still one decision per stage
    code, _ = from_file(logged, "record_id,decision\nR00002,include\nR00002,include\n", capsys)
    assert code == 0


def test_from_reads_regular_files_only(logged: Path, capsys) -> None:
    fifo = logged / "pipe.csv"
    os.mkfifo(fifo)
    assert main(["screen", "--from", str(fifo), "--reviewer", "AB", "--root", str(logged)]) == 1
    assert "pipe.csv: not a regular file (a FIFO, device or socket); give a CSV file" in one_error_line(capsys)
    assert main(["screen", "--from", "/dev/zero", "--reviewer", "AB", "--root", str(logged)]) == 1
    assert "/dev/zero: not a regular file" in one_error_line(capsys)


def test_from_over_the_size_limit(logged: Path, capsys) -> None:
    big = logged / "big.csv"
    big.write_text("record_id,decision\n" + "R00001,exclude\n" * 400_000)
    assert main(["screen", "--from", str(big), "--reviewer", "AB", "--root", str(logged)]) == 1
    assert "over the limit of 5,000,000 bytes for a decisions file" in one_error_line(capsys)


def test_bogus_record_id_not_echoed_whole(logged: Path, capsys) -> None:
    code, err = from_file(logged, "record_id,decision\n" + "R" + "1" * 100_000 + ",exclude\n", capsys)
    assert code == 1 and len(err) < 400 and "100,001 characters" in err


def test_reviewer_with_a_line_break_refused(logged: Path, capsys) -> None:
    assert main(["screen", "--decide", "R00001", "exclude", "--reviewer", "A\nB", "--root", str(logged)]) == 1
    assert "--reviewer: the name holds the invisible character U+000A (line feed)" in one_error_line(capsys)
    session = ScreeningSession.open(ReviewFiles(logged / "extracted"), "A\x1bB")
    with pytest.raises(Exception, match="reviewer: the name holds the invisible character U[+]001B"):
        session.decide("R00001", "exclude")


def test_validate_refuses_an_impossible_date_in_the_log(logged: Path, capsys) -> None:
    save_log(logged / "extracted" / "screening.csv", [decided(1, "exclude", date="2026-13-45")])
    assert main(["validate", "--root", str(logged)]) == 1
    out = capsys.readouterr()
    assert "screening.csv:2:date: 2026-13-45 is not a calendar date" in out.out + out.err


# -- sheets, port, page ----------------------------------------------------------------

def test_fifo_sheet_is_not_a_regular_file(project: Path, capsys) -> None:
    sheet = project / "extracted" / "cohorts.csv"
    sheet.unlink()
    os.mkfifo(sheet)
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr()
    assert "extracted/cohorts.csv:0:*: not a regular file" in out.out + out.err
    assert "file is missing" not in out.out + out.err


def test_busy_port_is_one_line(logged: Path, capsys) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        assert main(["screen", "--serve", "--reviewer", "AB", "--port", str(port), "--root", str(logged)]) == 1
    finally:
        taken.close()
    assert f"--port {port}: cannot listen on 127.0.0.1" in one_error_line(capsys)


@pytest.fixture
def page(logged: Path):
    session = ScreeningSession.open(ReviewFiles(logged / "extracted"), "AB", clock=lambda: "2025-03-04")
    allowed = Allowed(port=5555)
    app = create_app(session, "tok", allowed)
    return app.test_client(), session


HEADERS = {"Host": "127.0.0.1:5555", "Content-Type": "application/json"}


def test_deeply_nested_body_is_a_json_400(page) -> None:
    client, _ = page
    answer = client.post("/tok/api/decide", data="[" * 100_000, headers=HEADERS)
    assert answer.status_code == 400 and answer.is_json
    assert answer.get_json() == {"error": "the request body is over 65,536 bytes"}
    answer = client.post("/tok/api/decide", data="[" * 1_000, headers=HEADERS)
    assert answer.status_code == 400
    assert answer.get_json() == {"error": "the request body nests deeper than 8 levels"}
    answer = client.post("/tok/api/decide", data='{"record_id": "R00001", "decision": ', headers=HEADERS)
    assert answer.status_code == 400 and answer.get_json() == {"error": "the request body is not valid JSON"}
    answer = client.post("/tok/api/decide", data='{"record_id": "R00001", "decision": "exclude"}',
                         headers=HEADERS)
    assert answer.status_code == 200


def test_request_without_host_header_refused(page) -> None:
    client, _ = page
    assert client.get("/tok/api/state", headers={"Host": "127.0.0.1:5555"}).status_code == 200
    environ = {"HTTP_HOST": ""}
    answer = client.get("/tok/api/state", environ_overrides=environ)
    assert answer.status_code == 400


def test_over_long_record_id_on_the_page_not_echoed_whole(page) -> None:
    client, _ = page
    answer = client.post("/tok/api/decide", json={"record_id": "R" + "7" * 60_000, "decision": "exclude"},
                         headers={"Host": "127.0.0.1:5555"})
    assert answer.status_code == 400 and len(answer.get_json()["error"]) < 300
