"""Benchmark: the stopping rules on Cohen et al. (2006) sets they were not designed on.

The ranked-rate rule (:mod:`evsynth.prioritise.rate_rule`) was designed looking at the four
benchmark sets (``bench_screening.py``): two design choices (the fit starts after the first
include; at least five includes after it) were made after seeing its results there. This
script measures it, beside the hypergeometric criterion and the oracle, on the other sets of
the same collection (read from an ASReview clone, as ``tuning_sets.py`` does; not committed),
which played no part in its design (with `--label label1` and `--with-four`, the title/abstract labels of all thirteen: other includes, other orders): evsynth's replays (``--seeds``) and 50 seeded random
orders per set. Per set: WSS@95 of the ranking, share unscreened at stop (mean), recall at
stop (minimum; runs ≥ target)::

    PYTHONPATH=src python benchmarks/bench_stopping_heldout.py --asreview-git CLONE/.git [--seeds 3]

It is not part of the test suite.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_screening as bench  # noqa: E402
from tuning_sets import TUNING_SETS, read_set, source_arguments  # noqa: E402

from evsynth.prioritise.ranking import build_features  # noqa: E402
from evsynth.prioritise.simulate import replay, wss  # noqa: E402

RULES = ("oracle: stops at exactly 95 % (not a rule)", bench.DEFAULT_RULE, bench.RATE_RULE,
         bench.GATED_RULE)


def main() -> int:
    parser = source_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="label2", choices=("label2", "label1"),
                        help="relevant = this column is I: label2 (full text, the benchmark's) or "
                             "label1 (title/abstract: more includes, other orders)")
    parser.add_argument("--with-four", action="store_true",
                        help="also the four benchmark sets (useful with --label label1)")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"Stopping rules on held-out Cohen et al. sets (target {bench.TARGET:.0%}, confidence "
          f"{bench.CONFIDENCE:.0%}; relevant: {args.label} = I); ranked: {args.seeds} evsynth "
          "replays; random: "
          f"{bench.RANDOM_RUNS} seeded random orders. Cells: share unscreened at stop, mean; "
          "lowest recall at stop; runs ≥ target.")
    print("| set | records | relevant | WSS@95 | rule | ranked | random |")
    print("|---|---:|---:|---:|---|---|---|")
    names = list(TUNING_SETS) + (list(bench.SETS) if args.with_four else [])
    for name in names:
        data = (read_set(name, args.asreview_git, args.folder, args.label)
                if name in TUNING_SETS else bench.load(name, args.label))
        if data is None:
            print(f"| {name} | not in the clone | | | | | |")
            continue
        features = build_features(data.titles, data.abstracts, data.keywords)
        seeds = range(args.seeds)
        orders = [replay(features, data.labels, seed) for seed in seeds]
        ranked = bench.judge_rules([(s, data.labels[o]) for s, o in zip(seeds, orders)])
        rnd = bench.judge_rules(bench.random_sequences(data.labels, bench.RANDOM_RUNS))
        w = float(np.mean([wss(data.labels[o], 0.95) for o in orders]))
        for rule in RULES:
            cells = []
            for got in (ranked[rule], rnd[rule]):
                rec = got["recall"]
                cells.append(f"{np.mean(got['unscreened']):.3f}; {min(rec):.3f}; "
                             f"{sum(x >= bench.TARGET - 1e-9 for x in rec)}/{len(rec)}")
            print(f"| {name} | {data.records} | {data.relevant} | {w:.3f} | {rule} | "
                  f"{cells[0]} | {cells[1]} |", flush=True)
    print(f"\nwhole benchmark: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
