"""Run ASReview's default model on one data set; used by ``bench_screening.py``.

Runs under a Python that has ``asreview`` installed (not an evsynth
dependency; e.g. a throwaway venv with ``pip install asreview``), which the
benchmark passes as ``--asreview-python``. It only uses ASReview's public
simulation API the way its own ``asreview simulate`` command does (a first
cycle that labels the given prior records, then the default model,
``get_ai_config("elas_u4")`` in ASReview 2/3, querying one record at a time
and retraining after each), so the order it prints is ASReview's own.

Input (JSON on stdin)::

    {"csv": "data set with columns title, abstract, included",
     "priors": {"SEED": [row, row, ...], ...},   # the random start, same as evsynth's
     "stop_after_relevant": int,                 # stop once this many includes are found
     "min_records": int}                         # ... and at least this many records screened
                                                 # (optional; for recall after 10 % of them)

Output (JSON on stdout): ``{"version": "...", "model": "...", "orders": {"SEED": [row, ...]}}``,
each order the rows in the order ASReview screened them, priors first.
"""

from __future__ import annotations

import json
import logging
import sys


class _FoundEnough:
    """Stop the simulation once ``target`` relevant records are labelled and at least
    ``records`` records screened."""

    def __init__(self, target: int, records: int = 0) -> None:
        self.target = target
        self.records = records

    def stop(self, results, labels) -> bool:  # noqa: ANN001 - ASReview's stopper protocol
        return len(results) >= len(labels) or (int(results["label"].sum()) >= self.target
                                               and len(results) >= self.records)


def main() -> int:
    logging.getLogger().setLevel(logging.ERROR)
    job = json.load(sys.stdin)
    import asreview
    from asreview import load_dataset
    from asreview.learner import ActiveLearningCycle
    from asreview.models.models import get_ai_config
    from asreview.models.queriers import TopDown
    from asreview.models.stoppers import IsFittable
    from asreview.simulation.simulate import Simulate

    config = get_ai_config("elas_u4")
    orders: dict[str, list[int]] = {}
    with load_dataset(job["csv"], dataset_id="bench.csv") as db:
        df = db.input.get_df()
        labels = db.input["included"]
        # the TF-IDF features do not depend on the labels: fit them once per data set,
        # exactly as the default cycle would (its own feature extractor on the same frame)
        features = ActiveLearningCycle.from_meta(config["value"]).transform(df)
        for seed, priors in job["priors"].items():
            cycles = [ActiveLearningCycle(querier=TopDown(), stopper=IsFittable()),
                      ActiveLearningCycle.from_meta(config["value"])]
            sim = Simulate(features, labels, cycles, stopper=_FoundEnough(job["stop_after_relevant"],
                                                        job.get("min_records", 0)),
                           skip_transform=True, print_progress=False)
            sim.label(priors)
            sim.review()
            orders[seed] = [int(i) for i in sim._results["record_id"].tolist()]
    json.dump({"version": asreview.__version__, "model": config["name"], "orders": orders},
              sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
