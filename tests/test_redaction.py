"""The NCBI key never reaches a message built from a server's answer (issue 20).

The loopback server answers a keyed request with ``<ERROR>Invalid api_key KEY</ERROR>``
(the key echoed back, as NCBI does) in each utility's own answer, or with HTTP 400
naming the key; every message the client builds from it has ``***`` instead.
"""

from __future__ import annotations

import pytest

from evsynth.cli.main import main
from evsynth.search.eutils import CitationQuery, EutilsClient, EutilsError, redact, redact_bytes
from evsynth.search.ratelimit import RateLimiter
from tests.support.eutils_server import make_corpus

SECRET = "0123456789abcdef0123456789abcdef0123"  # the shape of an NCBI key (36 hex characters)


def client_for(server, retried: list[str]) -> EutilsClient:
    return EutilsClient(base_url=server.url, api_key=SECRET, limiter=RateLimiter(rate=1000),
                        backoff=0.001, max_backoff=0.001, max_tries=2, on_retry=retried.append)


CALLS = {
    "esearch": lambda c: c.esearch("thyroid"),
    "efetch": lambda c: c.efetch_records(["20000001"]),
    "epost": lambda c: c.epost(["20000001"]),
    "elink": lambda c: c.elink(["20000001"]),
    "ecitmatch": lambda c: c.ecitmatch([CitationQuery(key="k", journal="J", year="2020")]),
}


@pytest.mark.parametrize("utility", sorted(CALLS))
@pytest.mark.parametrize("how", ["xml", "http"])
def test_key_echoed_by_the_server_is_redacted(eutils_server, utility: str, how: str) -> None:
    server = eutils_server(make_corpus(2), rate_limit=None, key_error=how)
    retried: list[str] = []
    client = client_for(server, retried)
    try:
        answer = CALLS[utility](client)
    except EutilsError as exc:
        message = str(exc)
    else:  # ECitMatch's text answer has no error element: the answer holds no key either
        assert utility == "ecitmatch" and SECRET not in repr(answer)
        return
    assert server.log and server.log[0].has_api_key
    assert SECRET not in message and not any(SECRET in line for line in retried)
    assert SECRET[:12] not in message  # not even a part cut off at a line's end
    if how == "http":
        assert message == f"{utility} answered HTTP 400: {{\"error\": \"Invalid api_key ***\"}}"
    elif utility in ("esearch", "epost", "elink"):
        assert message == f"{utility}: PubMed answered: Invalid api_key ***"
    else:
        assert "***" in message or "eFetchResult" in message


def test_command_line_error_names_no_key(eutils_server, project, monkeypatch, capsys) -> None:
    server = eutils_server(make_corpus(2), rate_limit=None, key_error="xml")
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", server.url)
    monkeypatch.setenv("NCBI_API_KEY", SECRET)
    (project / "queries").mkdir()
    (project / "queries" / "q.toml").write_text(
        'name = "q"\nversion = 1\ndatabase = "pubmed"\nterm = "thyroid[tiab]"\nrationale = "t"\n')
    assert main(["harvest", "--root", str(project)]) != 0
    captured = capsys.readouterr()
    assert SECRET not in captured.err + captured.out
    assert "Invalid api_key ***" in captured.err


def test_redact_forms() -> None:
    assert redact(f"a {SECRET} b", SECRET) == "a *** b"
    assert redact("k+y%2F", "k y/") == "k+y%2F".replace("k+y%2F", "***")
    assert redact("x &lt;k&gt; y", "<k>") == "x *** y"
    assert redact("no key", None) == "no key"
    assert redact_bytes(f"<ERROR>{SECRET}</ERROR>".encode(), SECRET) == b"<ERROR>***</ERROR>"
