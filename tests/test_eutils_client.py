"""The E-utilities client against the loopback server: paging, POST, retries, errors."""

from __future__ import annotations

import pytest
from tests.support.eutils_server import Faults, make_corpus

from evsynth.core.errors import EvsynthError
from evsynth.search.eutils import (DEFAULT_BASE_URL, EutilsClient, EutilsError, resolve_base_url)
from evsynth.search.ratelimit import RateLimiter


def test_base_url_resolution(monkeypatch):
    monkeypatch.delenv("EVSYNTH_EUTILS_URL", raising=False)
    assert resolve_base_url() == DEFAULT_BASE_URL
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", "http://127.0.0.1:9/x")
    assert resolve_base_url() == "http://127.0.0.1:9/x/"
    assert resolve_base_url("http://127.0.0.1:8/y/") == "http://127.0.0.1:8/y/"
    with pytest.raises(EvsynthError):
        resolve_base_url("ftp://nowhere")


def test_esearch_history_and_count(eutils_server, fast_client):
    server = eutils_server(make_corpus(50), rate_limit=None)
    client = fast_client(server, email="reviewer@example.org")
    result = client.esearch("thyroid[tiab]", usehistory=True, retmax=10)
    assert server.log[0].params["tool"] == "evsynth"
    assert server.log[0].params["email"] == "reviewer@example.org"
    assert result.count == 50
    assert len(result.ids) == 10
    assert result.ids[0] == str(20_000_050)
    assert result.webenv.startswith("MCID_") and result.query_key == "1"
    batch = client.fetch_batch(result.ids[:10], webenv=result.webenv,
                               query_key=result.query_key, retstart=0)
    assert sorted(r.pmid for r in batch.records) == sorted(result.ids[:10])


def test_long_id_list_goes_by_post(eutils_server, fast_client):
    server = eutils_server(make_corpus(400), rate_limit=None)
    client = fast_client(server)
    pmids = [str(r.pmid) for r in server.records]
    records = client.efetch_records(pmids, batch=400)
    assert [r.pmid for r in records] == pmids
    assert server.log[-1].method == "POST"
    few = client.efetch_records(pmids[:3])
    assert len(few) == 3 and server.log[-1].method == "GET"


def test_faults_are_retried_until_every_batch_is_whole(eutils_server, fast_client):
    faults = Faults(error_rate=0.08, truncate_rate=0.05, malformed_rate=0.05, html_rate=0.03,
                    seed=3)
    server = eutils_server(make_corpus(600), rate_limit=None, faults=faults)
    client = fast_client(server, max_tries=10)
    pmids = [str(r.pmid) for r in server.records]
    records = client.efetch_records(pmids, batch=20)
    assert [r.pmid for r in records] == pmids
    assert client.stats.retries > 0
    assert client.stats.http_5xx + client.stats.bad_bodies == client.stats.retries


def test_hanging_response_times_out_and_is_retried(eutils_server, fast_client):
    server = eutils_server(make_corpus(5), rate_limit=None,
                           faults=Faults(hang_rate=1.0, hang_seconds=1.0))
    client = fast_client(server, timeout=0.3, max_tries=2)
    with pytest.raises(EutilsError, match=r"efetch failed after 2 tries; .*no answer within 0.3 s"):
        client.efetch_records(["20000001"])
    assert client.stats.timeouts == 2
    server.faults = Faults()
    assert client.efetch_records(["20000001"])[0].pmid == "20000001"


def test_429_honours_retry_after(eutils_server):
    server = eutils_server(make_corpus(5), rate_limit=3, retry_after=1)
    slept: list[float] = []
    # a limiter far above the server's limit provokes 429s
    client = EutilsClient(base_url=server.url, limiter=RateLimiter(rate=100), backoff=0.01,
                          max_backoff=0.02, max_tries=8,
                          sleep=lambda s: (slept.append(s), __import__("time").sleep(s)))
    for _ in range(5):
        client.esearch("thyroid")
    assert client.stats.http_429 >= 1
    assert server.count("esearch", 429) == client.stats.http_429
    assert all(s >= 1.0 for s in slept)


def test_bounded_tries_then_clear_error(eutils_server, fast_client):
    server = eutils_server(make_corpus(5), rate_limit=None, faults=Faults(error_rate=1.0))
    client = fast_client(server, max_tries=3)
    with pytest.raises(EutilsError) as err:
        client.esearch("thyroid")
    assert "esearch failed after 3 tries" in str(err.value)
    assert "HTTP 5" in str(err.value)
    assert server.count("esearch") == 3


def test_cap_error_is_final_and_worded(eutils_server, fast_client):
    server = eutils_server(make_corpus(10_050, first=__import__("datetime").date(2020, 1, 1)),
                           rate_limit=None)
    client = fast_client(server)
    with pytest.raises(EutilsError, match="cannot be larger than 9998"):
        client.esearch("thyroid", retstart=10_000)
    result = client.esearch("thyroid", usehistory=True, retmax=0)
    assert result.count == 10_050
    with pytest.raises(EutilsError, match="HTTP 400.*first 9,999 records"):
        client.fetch_batch([str(i) for i in range(5)], webenv=result.webenv,
                           query_key=result.query_key, retstart=9999)
    assert server.count("efetch") == 1


def test_phrase_not_found_and_empty(eutils_server, fast_client):
    server = eutils_server(make_corpus(5), rate_limit=None)
    client = fast_client(server)
    result = client.esearch("abcXYZ[tiab]")
    assert result.count == 0
    assert result.phrases_not_found == ("abcxyz",)
    assert "No items found." in result.warnings


def test_epost_and_elink(eutils_server, fast_client):
    server = eutils_server(make_corpus(5), rate_limit=None,
                           links={"20000001": {"pubmed_pubmed_refs": ["20000002", "20000003"],
                                               "pubmed_pubmed_citedin": ["20000005"]}})
    client = fast_client(server)
    webenv, key = client.epost(["20000001", "20000002"])
    batch = client.fetch_batch(["20000001", "20000002"], webenv=webenv, query_key=key)
    assert {r.pmid for r in batch.records} == {"20000001", "20000002"}
    refs = client.elink(["20000001", "20000004"], "pubmed_pubmed_refs")
    assert refs == {"20000001": ("20000002", "20000003"), "20000004": ()}
    assert client.elink(["20000001"], "pubmed_pubmed_citedin") == {"20000001": ("20000005",)}


def test_api_key_never_in_error_messages(eutils_server):
    server = eutils_server(make_corpus(2), rate_limit=None, faults=Faults(error_rate=1.0))
    secret = "SECRETKEY0123456789"
    client = EutilsClient(base_url=server.url, api_key=secret, limiter=RateLimiter(rate=100),
                          backoff=0.01, max_backoff=0.01, max_tries=2)
    with pytest.raises(EutilsError) as err:
        client.esearch("thyroid")
    assert secret not in str(err.value)
    assert server.log[-1].has_api_key
    assert secret not in repr(client.stats)
    dead = EutilsClient(base_url="http://127.0.0.1:9/", api_key=secret,
                        limiter=RateLimiter(rate=100), backoff=0.01, max_backoff=0.01,
                        max_tries=2, timeout=1)
    with pytest.raises(EutilsError) as err:
        dead.esearch("thyroid")
    assert secret not in str(err.value)
    assert "connection failed" in str(err.value)


def test_server_allows_ten_per_second_with_a_key(eutils_server):
    server = eutils_server(make_corpus(3), rate_limit=3, key_rate_limit=10)
    keyed = EutilsClient(base_url=server.url, api_key="abc", limiter=RateLimiter(rate=1000),
                         max_tries=1)
    for _ in range(10):
        keyed.esearch("thyroid")
    with pytest.raises(EutilsError, match="HTTP 429"):
        keyed.esearch("thyroid")
    assert server.count(status=429) == 1 and server.count() == 11


def test_no_internet_guard():
    import socket

    with pytest.raises(OSError, match="tests stay on 127.0.0.1"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_rate_override_applies_to_other_servers_only(monkeypatch):
    from evsynth.search.eutils import default_limiter

    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "500")
    assert default_limiter(DEFAULT_BASE_URL, False).rate == 3
    assert default_limiter(DEFAULT_BASE_URL, True).rate == 10
    assert default_limiter("http://127.0.0.1:8/", False).rate == 500
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "fast")
    with pytest.raises(EvsynthError, match="EVSYNTH_EUTILS_RATE must be a number"):
        default_limiter("http://127.0.0.1:8/", False)
