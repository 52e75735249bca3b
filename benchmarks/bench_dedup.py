"""De-duplication in linear time: merging 2 x N records, time per record as a ratio across sizes.

For each N, :func:`evsynth.screening.dedup.merge_records` merges N synthetic
PubMed records into an empty log (every record new), then the same N studies
again as another database exports them (no PMID; two in three with a DOI, the
rest matched by title, first author and year), in reverse order. The result is
the time per merged record at each N divided by that at the smallest N, in the
same run: linear time keeps the ratio near 1 (a quadratic merge would give
4 and 16 for N x 4 and N x 16). Seconds are printed too, but they vary
several-fold with the load of a shared 2-core machine; the ratios are the result.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_dedup.py                 # N = 3000, 12000, 48000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_dedup.py --sizes 3000 12000 --repeat 5

Each size runs ``--repeat`` times, the sizes interleaved so a busy machine slows
them alike; the median is reported. Every run checks that all N records were
matched (by DOI or by title) and none was added twice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from evsynth.screening.dedup import merge_records
from evsynth.search.records import Record


def harvest(n: int) -> tuple[list[Record], list[Record]]:
    """N records as PubMed gives them, and the same N as another database exports them."""
    pubmed = [Record(pmid=str(30_000_000 + i), doi=f"10.5555/x.{i}" if i % 3 else "",
                     title=f"Synthetic study {i} of liver metastases", authors=(f"Author{i % 7} A",),
                     year=2000 + i % 20)
              for i in range(n)]
    other = [Record(pmid="", doi=r.doi.upper(), title=r.title.upper() + ".", authors=r.authors,
                    year=r.year)
             for r in reversed(pubmed)]
    return pubmed, other


def one_run(n: int) -> float:
    """Seconds to merge 2 x N records (harvest built beforehand, not timed)."""
    pubmed, other = harvest(n)
    started = time.perf_counter()
    first = merge_records([], [], pubmed, "pubmed", "2025-01-01")
    again = merge_records(first.entries, first.merges, other, "embase", "2025-01-02")
    elapsed = time.perf_counter() - started
    with_doi = sum(1 for r in pubmed if r.doi)
    if (len(first.new_ids) != n or again.new_ids or again.merged != n
            or again.matched["doi"] != with_doi
            or again.matched["title+year+first_author"] != n - with_doi):
        raise SystemExit(f"N = {n}: wrong merge (new {len(first.new_ids)}, merged {again.merged}, "
                         f"matched {dict(again.matched)})")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3_000, 12_000, 48_000],
                        help="values of N, smallest first (the first is the baseline)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median reported)")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    one_run(min(sizes))  # warm up
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(args.repeat):
        for n in sizes:
            times[n].append(one_run(n))
    base = statistics.median(times[sizes[0]]) / (2 * sizes[0])
    rows = []
    print(f"{'N':>8} {'records merged':>15} {'median s':>9} {'µs/record':>10} {'ratio':>6}")
    for n in sizes:
        seconds = statistics.median(times[n])
        per = seconds / (2 * n)
        rows.append({"n": n, "records": 2 * n, "median_seconds": round(seconds, 4),
                     "microseconds_per_record": round(per * 1e6, 2),
                     "ratio_to_smallest": round(per / base, 3)})
        print(f"{n:>8} {2 * n:>15} {seconds:>9.3f} {per * 1e6:>10.2f} {per / base:>6.2f}")
    print(json.dumps({"repeat": args.repeat, "sizes": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
