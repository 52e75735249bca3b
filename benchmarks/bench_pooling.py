"""Time evsynth's pooling of proportions against R's metafor in the same run.

    PYTHONPATH=src python benchmarks/bench_pooling.py [--quick]

For k = 10, 100, 1000 studies (REML, PLO) and the GLMM at k = 100 it times
``evsynth.meta.pooling.pool_proportions`` (estimate, CI, PI, Q, I², H², Q-profile
τ² CI, per-study Clopper–Pearson CIs, back-transformation) and, when
``Rscript`` with metafor is on PATH, the equivalent metafor calls inside one R
process (``rma`` + ``predict(transf = transf.ilogit)`` + ``confint``, and
``rma.glmm(measure = "PLO")``), so R's start-up is not counted. Each figure is
seconds per call; the ratio is
evsynth / metafor (below 1: evsynth is faster). Both sides time blocks of
``reps`` calls after a warm-up and keep the best of 3 blocks (R's clock ticks
in milliseconds, so single calls are not timed one by one). Data: simulated with a fixed
seed (n ~ U{5..80}, logit p ~ N(−1, 0.8²)).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evsynth.meta.pooling import pool_proportions

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- as.integer(args[2])
glmm <- args[3] == "GLMM"
one <- function() {
  if (glmm) {
    res <- rma.glmm(measure = "PLO", xi = d$events, ni = d$total)
    p <- predict(res, transf = transf.ilogit)
  } else {
    res <- rma(measure = "PLO", xi = d$events, ni = d$total, method = "REML")
    p <- predict(res, transf = transf.ilogit)
    ci <- confint(res)
  }
}
one()  # warm-up
best <- Inf
for (block in 1:3) {
  t0 <- proc.time()[["elapsed"]]
  for (i in seq_len(reps)) one()
  best <- min(best, (proc.time()[["elapsed"]] - t0) / reps)
}
cat(best, "\n")
"""

CASES = [("REML", 10, 200), ("REML", 100, 50), ("REML", 1000, 3), ("GLMM", 100, 10)]


def simulate(k: int, seed: int = 20240517) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + k)
    n = rng.integers(5, 81, size=k)
    p = 1 / (1 + np.exp(-rng.normal(-1.0, 0.8, size=k)))
    return rng.binomial(n, p), n


def time_python(events: np.ndarray, totals: np.ndarray, method: str, reps: int) -> float:
    """Seconds per call: the best of 3 blocks of ``reps`` calls (the same scheme as the R side)."""
    pool_proportions(events, totals, method=method)  # warm-up (imports, caches)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            pool_proportions(events, totals, method=method)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def time_r(events: np.ndarray, totals: np.ndarray, method: str, reps: int, workdir: Path) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    data = workdir / "counts.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["events", "total"])
        writer.writerows(zip(events.tolist(), totals.tolist()))
    script = workdir / "bench.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(data), str(reps), method],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  (R failed: {out.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    return float(out.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    print(f"{'model':<6} {'k':>5} {'reps':>5} {'evsynth s/call':>15} {'metafor s/call':>15} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for method, k, reps in CASES:
            reps = max(2, reps // 5) if args.quick else reps
            events, totals = simulate(k)
            py = time_python(events, totals, method, reps)
            r = time_r(events, totals, method, reps, Path(tmp))
            ratio = f"{py / r:7.3g}" if r else "    n/a"
            r_text = f"{r:15.5f}" if r is not None else f"{'(no R)':>15}"
            print(f"{method:<6} {k:>5} {reps:>5} {py:15.5f} {r_text} {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
