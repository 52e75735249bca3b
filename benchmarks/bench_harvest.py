"""Benchmark: harvesting from a loopback server that behaves like NCBI, at NCBI's 3 requests/s.

Compares, in one run and against the same server (``tests/support/eutils_server.py``):

* evsynth (``evsynth.search.harvest.run_query``, its own 3 req/s limiter);
* the Bio.Entrez history loop of the Biopython Tutorial ("Searching for and
  downloading abstracts using the history": esearch usehistory=y, then efetch
  by WebEnv/query_key in batches, retrying 5xx answers in an outer loop);
* pymed (``PubMed.query``), if installed (``pip install pymed``; not an evsynth
  dependency).

Scenarios: ``plain`` (9,000 records), ``over-cap`` (12,000 records: PubMed's
9,999 cap applies) and ``8% errors`` (9,000 records, 8% of answers are 5xx).
For each tool: records obtained, wall time, requests the server saw, 429s
received, and for evsynth the wall time against its bound (requests / 3 per s).

Then parsing throughput: evsynth's parser against ``Bio.Entrez.read`` on the
same XML (generated records and the recorded NCBI answers).

Bio.Entrez and pymed hard-code NCBI's address; this script (only) redirects
them to the loopback server. Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_harvest.py [--quick]

It takes a few minutes; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.support.eutils_server import FakeEutils, Faults, make_corpus, render_article_set  # noqa: E402

from tests.support.entrez_reference import read_records  # noqa: E402
from evsynth.search.eutils import EutilsClient  # noqa: E402
from evsynth.search.harvest import SearchSpec, run_query  # noqa: E402
from evsynth.search.pubmed_xml import parse_pubmed_xml  # noqa: E402
from evsynth.search.ratelimit import RateLimiter  # noqa: E402

NCBI = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
RATE = 3.0
BATCH = 500
TERM = "thyroid[tiab] AND liver[tiab]"


@dataclass
class Outcome:
    tool: str
    scenario: str
    expected: int
    records: int
    seconds: float
    requests: int
    http_429: int
    result: str
    bound: float | None = None


def run_evsynth(server: FakeEutils) -> tuple[int, str, float | None]:
    client = EutilsClient(base_url=server.url, limiter=RateLimiter(rate=RATE))
    with tempfile.TemporaryDirectory() as tmp:
        result = run_query(client, SearchSpec(term=TERM, datetype="edat", batch=BATCH),
                           Path(tmp) / "run")
    return len(result.records), "ok", client.stats.requests / RATE


def run_biopython(server: FakeEutils) -> tuple[int, str, float | None]:
    """The Biopython Tutorial's history loop, with Bio.Entrez pointed at *server*."""
    from urllib.error import HTTPError

    from Bio import Entrez

    original = Entrez._build_request

    def redirected(cgi, *args, **kwargs):  # type: ignore[no-untyped-def]
        return original(cgi.replace(NCBI, server.url), *args, **kwargs)

    Entrez._build_request = redirected
    Entrez.email = "benchmark@example.org"
    Entrez._open.previous = 0
    got: set[str] = set()
    try:
        search = Entrez.read(Entrez.esearch(db="pubmed", term=TERM, usehistory="y"))
        count = int(search["Count"])
        webenv, query_key = search["WebEnv"], search["QueryKey"]
        for start in range(0, count, BATCH):
            attempt = 0
            while attempt < 3:
                attempt += 1
                try:
                    handle = Entrez.efetch(db="pubmed", retmode="xml", retstart=start,
                                           retmax=BATCH, webenv=webenv, query_key=query_key)
                    break
                except HTTPError as err:
                    if 500 <= err.code <= 599:
                        time.sleep(15)  # the Tutorial's pause before another attempt
                    else:
                        raise
            data = handle.read()
            tree = Entrez.read(io.BytesIO(data))
            got |= {str(a["MedlineCitation"]["PMID"]) for a in tree["PubmedArticle"]}
            got |= {str(b["BookDocument"]["PMID"]) for b in tree["PubmedBookArticle"]}
        return len(got), "ok", None
    except Exception as exc:  # the failure is the finding
        return len(got), f"died: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}", None
    finally:
        Entrez._build_request = original


def run_pymed(server: FakeEutils, expected: int) -> tuple[int, str, float | None]:
    try:
        import pymed.api
    except ImportError:
        return 0, "skipped: pymed not installed", None
    original = pymed.api.BASE_URL
    pymed.api.BASE_URL = server.url.split("/entrez/")[0]
    got: set[str] = set()
    try:
        client = pymed.api.PubMed(tool="benchmark", email="benchmark@example.org")
        for article in client.query(TERM, max_results=expected):
            got.add(str(article.pubmed_id).split()[0])
        return len(got), "ok", None
    except Exception as exc:
        return len(got), f"died: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}", None
    finally:
        pymed.api.BASE_URL = original


def harvest_table(quick: bool) -> list[Outcome]:
    plain, over = (1500, 12_000) if quick else (9000, 12_000)
    scenarios = [("plain", make_corpus(plain), Faults()),
                 ("over-cap", make_corpus(over), Faults()),
                 ("8% errors", make_corpus(plain), Faults(error_rate=0.08, seed=8))]
    tools: list[tuple[str, Callable[[FakeEutils, int], tuple[int, str, float | None]]]] = [
        ("evsynth", lambda s, n: run_evsynth(s)),
        ("Bio.Entrez loop", lambda s, n: run_biopython(s)),
        ("pymed", run_pymed),
    ]
    with FakeEutils(make_corpus(50), rate_limit=None) as server:  # warm-up: imports, caches
        run_evsynth(server), run_biopython(server), run_pymed(server, 50)
    out = []
    for scenario, corpus, faults in scenarios:
        for tool, run in tools:
            with FakeEutils(corpus, rate_limit=RATE, retry_after=1, faults=faults) as server:
                time.sleep(1.1)  # a fresh rate window
                start = time.monotonic()
                records, result, bound = run(server, len(corpus))
                seconds = time.monotonic() - start
                out.append(Outcome(tool, scenario, len(corpus), records, seconds,
                                   server.count(), server.count(status=429), result, bound))
            o = out[-1]
            print(f"  {scenario:10} {tool:16} {o.records:6}/{o.expected:<6} {o.seconds:6.1f} s "
                  f"{o.requests:4} req {o.http_429:3} x429  {o.result}", flush=True)
    return out


def parse_table(repeat: int = 3) -> list[tuple[str, int, float, float]]:
    docs = [("generated, 2,000 records", render_article_set(make_corpus(2000, seed=3)))]
    fixtures = ROOT / "tests" / "fixtures" / "ncbi"
    real = [p.read_bytes() for p in sorted(fixtures.glob("pubmed*.xml"))]
    rows = []

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    from Bio import Entrez

    for label, data in docs:
        n = len(parse_pubmed_xml(data))
        ours = best(lambda: parse_pubmed_xml(data))
        bio = best(lambda: Entrez.read(io.BytesIO(data)))
        rows.append((label, n, n / ours, n / bio))
        by_pmid = sorted(parse_pubmed_xml(data), key=lambda r: r.pmid)
        assert by_pmid == sorted(read_records(data), key=lambda r: r.pmid), "parsers disagree"
    n = sum(len(parse_pubmed_xml(d)) for d in real)
    ours = best(lambda: [parse_pubmed_xml(d) for d in real])
    bio = best(lambda: [Entrez.read(io.BytesIO(d)) for d in real])
    rows.append((f"recorded NCBI answers ({len(real)} files)", n, n / ours, n / bio))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller plain scenarios")
    args = parser.parse_args()
    print(f"Harvest at {RATE:g} requests/s, batches of {BATCH}, server enforcing 3/s "
          "(429 + Retry-After: 1):")
    rows = harvest_table(args.quick)
    print("\nSummary")
    print(f"{'scenario':10} {'tool':16} {'records':>15} {'wall s':>7} {'requests':>8} "
          f"{'429s':>5} {'wall/bound':>10}  result")
    for o in rows:
        ratio = f"{o.seconds / o.bound:10.2f}" if o.bound else f"{'':10}"
        print(f"{o.scenario:10} {o.tool:16} {o.records:>7}/{o.expected:<7} {o.seconds:7.1f} "
              f"{o.requests:8} {o.http_429:5} {ratio}  {o.result}")
    print("\nParsing throughput (records/s, best of 3)")
    for label, n, ours, bio in parse_table():
        print(f"  {label:38} n={n:5}  evsynth {ours:9.0f}  Bio.Entrez.read {bio:9.0f}  "
              f"ratio {ours / bio:5.1f}x")


if __name__ == "__main__":
    main()
