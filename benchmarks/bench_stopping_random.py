"""How often the stopping criterion misses its target when the screening order is *random*.

The criterion (:mod:`evsynth.prioritise.stopping`) computes each window's
p-value as if the last ``n`` records had been a random draw, then takes the
smallest over the windows and is checked after every decision: multiple
looks. This script measures what that costs when the order really is random
(no ranking): the share of replays in which the rule fires with recall below
the target (95 %, confidence 95 %; the nominal error is 5 %), for the rule
evsynth uses (``bonferroni``: the error allowance split over the windows) and
for the published rule's plain minimum (``none``), on the same sequences.

* synthetic sequences: N records, R includes, shuffled (``--sims`` each);
* the four Cohen et al. (2006) sets in the seeded random order evsynth uses
  before it can rank (``--seeds`` each).

Run from the repository root (a few minutes)::

    PYTHONPATH=src python benchmarks/bench_stopping_random.py [--sims 400] [--seeds 50]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from evsynth.prioritise.ranking import random_keys  # noqa: E402
from evsynth.prioritise.simulate import parse_labelled_csv  # noqa: E402
from evsynth.prioritise.stopping import CORRECTIONS, first_stop  # noqa: E402

TARGET = CONFIDENCE = 0.95
SETS = ("ADHD", "Triptans", "NSAIDS", "BetaBlockers")


def judge(labels_in_order: np.ndarray, correction: str) -> tuple[int, float]:
    stop = first_stop(labels_in_order, target_recall=TARGET, confidence=CONFIDENCE,
                      correction=correction)
    assert stop is not None  # with every record screened the criterion is always met
    return stop, float(labels_in_order[:stop].sum() / labels_in_order.sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    print("| order | N | R | runs | correction | stopped at, median share of N | "
          "runs with recall < 95 % |")
    print("|---|---:|---:|---:|---|---:|---:|")

    def line(name: str, total: int, relevant: int, sequences: list[np.ndarray]) -> None:
        for correction in CORRECTIONS:
            stops, misses = [], 0
            for labels in sequences:
                stop, recall = judge(labels, correction)
                stops.append(stop / total)
                misses += recall < TARGET - 1e-12
            print(f"| {name} | {total} | {relevant} | {len(sequences)} | {correction} | "
                  f"{np.median(stops):.3f} | {misses / len(sequences):.1%} |", flush=True)

    for total, relevant in ((300, 5), (500, 10), (500, 50), (1000, 20), (2000, 40)):
        sequences = []
        for _ in range(args.sims):
            labels = np.zeros(total, dtype=np.int64)
            labels[:relevant] = 1
            rng.shuffle(labels)
            sequences.append(labels)
        line("shuffled", total, relevant, sequences)
    for name in SETS:
        path = ROOT / "tests" / "data" / "drug_class_review" / f"{name}.csv"
        data = parse_labelled_csv(path.read_text(encoding="utf-8"), path.name, "label2", "I")
        sequences = [data.labels[np.argsort(random_keys([str(i) for i in range(data.records)], seed),
                                            kind="stable")] for seed in range(args.seeds)]
        line(f"{name}, seeded random", data.records, data.relevant, sequences)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
