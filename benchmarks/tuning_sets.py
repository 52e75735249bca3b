"""Choose the ranking model on Cohen et al. (2006) sets that the benchmark does not score.

``bench_screening.py`` scores the ranking on four of the fifteen drug class
review sets (ADHD, Triptans, NSAIDS, BetaBlockers, in ``tests/data/``). A
model chosen on those four would be tuned on its own test; this script
chooses among the declared candidates (``bench_screening.VARIANTS``, fixed
before any was scored here, less :data:`LEFT_OUT`) on the *other* sets of the same collection, which
the ASReview repository held until commit ``5d22fe38c`` ("Remove datasets"):
folder ``data/datasets/drug_class_review/`` at its parent
:data:`COMMIT`. The sets are not committed to evsynth; they are read from a
local clone of the ASReview repository given on the command line::

    git clone <the ASReview repository> asreview   # any clone with that commit
    PYTHONPATH=src python benchmarks/tuning_sets.py --asreview-git asreview/.git \
        [--seeds 3] [--json benchmarks/tuning_results.json]

(``--asreview-git`` is the git directory; ``--folder DIR`` reads the CSV files
from a folder instead.) Each candidate is replayed exactly as in the benchmark
(same random start per seed, same retraining schedule), relevant = ``label2 ==
"I"``; per set and candidate: WSS@95 and recall after 10 % of the records,
means over the seeds. The choice: the highest WSS@95 averaged over the sets
(each set counts once, whatever its size); recall@10 % is reported, not used.
A set whose file is absent from the clone is skipped and named in the output.
With ``--cache FILE`` every (set, model) result is kept there as it is
finished and read back on the next run (a replay is deterministic). With
``--asreview-python`` ASReview's default model is also run on each set from
the same random start (as in ``bench_screening.py``): reported beside the
candidates, not one of them.

It is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_screening as bench  # noqa: E402
from evsynth.prioritise.simulate import LabelledSet, parse_labelled_csv, replay, wss  # noqa: E402

#: The ASReview commit that last held the drug class review sets.
COMMIT = "a61d0d1495521b1d04d59302bbb1805e858c0657"
FOLDER = "data/datasets/drug_class_review"
#: The eleven sets the benchmark does not score (file stem -> git blob id at COMMIT).
TUNING_SETS = {
    "ACEInhibitors": "eb2ce1032b6c2a99a1e1091b0cbcc18b33202201",
    "Antihistamines": "3e8e4c33e7b13e1be9bb8170b60ecd5cedf49457",
    "AtypicalAntipsychotics": "b6ad802b9be75096f000929422ec819ea031a9cf",
    "CalciumChannelBlockers": "741d569c127e5defbde986aac0b7b7ac02038863",
    "Estrogens": "1c178c9197bf13b454777e4b30dafb1c934d4534",
    "Opiods": "d642be4457c7d415a3b7ef9ab6f6acb2bef57959",
    "OralHypoglycemics": "c78a9b4ce8808a2572cc1e3dea6e1ec9d3e109dc",
    "ProtonPumpInhibitors": "c781f7bd89580a2748c815376aed7de658b3cf7d",
    "SkeletalMuscleRelaxants": "59c067e1908978ae3f5ba3a0629164f81363f693",
    "Statins": "6caae70050fbefac6b7f53e9ec54714603ee11ff",
    "UrinaryIncontinence": "f4448c24cd4b2d507dadd37dd9c18c70bba79728",
}
#: Candidates of ``bench_screening.VARIANTS`` not scored here, and why.
LEFT_OUT = {
    "logistic regression, includes ×9.8":
        "too slow to ship: scikit-learn's liblinear took 42.6 s CPU for one replay of "
        "UrinaryIncontinence (327 records, 40 relevant) against 0.9–1.3 s for the SVMs and "
        "naive Bayes; on the four benchmark sets it tied the shipped SVM (mean 0.672 vs 0.673)",
}


def read_set(name: str, git_dir: Path | None, folder: Path | None,
             label: str = "label2") -> LabelledSet | None:
    """The set *name* from the clone (checked against its blob id) or the folder; ``None``
    if it is not there (a partial clone may lack the largest files)."""
    if folder is not None:
        path = folder / f"{name}.csv"
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8")
    else:
        got = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "blob", TUNING_SETS[name]],
                             capture_output=True)
        if got.returncode != 0:
            return None
        text = got.stdout.decode("utf-8")
    return parse_labelled_csv(text, f"{name}.csv", label, "I")


def candidates() -> list[str]:
    return [m for m in bench.VARIANTS if m not in LEFT_OUT]


def score(data: LabelledSet, seeds: range, cache: dict[str, Any],
          save: Any) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for name in candidates():
        make, scorer = bench.VARIANTS[name]
        key = f"{data.name}|{name}|{len(seeds)}"
        if key not in cache:
            X = make(data)
            w, r = [], []
            for seed in seeds:
                y = data.labels[replay(X, data.labels, seed, scorer)]
                w.append(wss(y, 0.95))
                r.append(bench.recall_at(y))
            cache[key] = {"wss95": w, "recall10": r}
            save()
        out[name] = cache[key]
        w, r = out[name]["wss95"], out[name]["recall10"]
        print(f"  {name}: WSS@95 {np.mean(w):.3f}, recall@10 % {np.mean(r):.3f}",
              file=sys.stderr, flush=True)
    return out


def source_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with where the sets come from (``--asreview-git`` or ``--folder``) and
    ``--seeds``; shared with ``bench_stopping_heldout.py``."""
    parser = argparse.ArgumentParser(description=description)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--asreview-git", type=Path, help="git directory of an ASReview clone")
    source.add_argument("--folder", type=Path, help="a folder holding the sets' CSV files")
    parser.add_argument("--seeds", type=int, default=3)
    return parser


def main() -> int:
    parser = source_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--cache", type=Path, help="keep finished (set, model) results here")
    parser.add_argument("--asreview-python", help="a Python with asreview installed")
    args = parser.parse_args()
    seeds = range(args.seeds)
    cache: dict[str, Any] = {}
    if args.cache and args.cache.is_file():
        cache = json.loads(args.cache.read_text(encoding="utf-8"))

    def save() -> None:
        if args.cache:
            args.cache.write_text(json.dumps(cache), encoding="utf-8")

    started = time.perf_counter()
    command = ("PYTHONPATH=src python benchmarks/tuning_sets.py "
               + ("--asreview-git ASREVIEW_CLONE/.git" if args.asreview_git else "--folder DIR")
               + f" --seeds {args.seeds}"
               + (" --asreview-python ASREVIEW_VENV/bin/python" if args.asreview_python else ""))
    results: dict[str, Any] = {"command": command, "commit": COMMIT, "seeds": args.seeds,
                               "sets": {}, "missing": [], "left_out": LEFT_OUT}
    # smallest first: the cheap sets report early
    loaded = [(n, read_set(n, args.asreview_git, args.folder)) for n in TUNING_SETS]
    for name, data in sorted(loaded, key=lambda x: x[1].records if x[1] else 0):
        if data is None:
            results["missing"].append(name)
            continue
        print(f"{name}: {data.records} records, {data.relevant} relevant", file=sys.stderr,
              flush=True)
        results["sets"][name] = {"records": data.records, "relevant": data.relevant,
                                 "models": score(data, seeds, cache, save)}
        if args.asreview_python:
            key = f"{data.name}|ASReview|{len(seeds)}"
            if key not in cache:
                with tempfile.TemporaryDirectory() as tmp:
                    got = bench.finish_asreview(
                        bench.start_asreview(args.asreview_python, data, seeds, Path(tmp)), data)
                if "error" in got:
                    raise SystemExit(f"ASReview failed on {name}: {got['error']}")
                cache[key] = got
                save()
            results["sets"][name]["asreview"] = cache[key]
            print(f"  ASReview {cache[key]['version']} {cache[key]['model']}: WSS@95 "
                  f"{np.mean(cache[key]['wss95']):.3f}, recall@10 % "
                  f"{np.mean(cache[key]['recall10']):.3f}", file=sys.stderr, flush=True)
    sets = results["sets"]
    means = {m: {k: float(np.mean([np.mean(s["models"][m][k]) for s in sets.values()]))
                 for k in ("wss95", "recall10")} for m in candidates()}
    results["means"] = means
    results["chosen"] = max(means, key=lambda m: means[m]["wss95"])
    results["seconds"] = time.perf_counter() - started
    print(f"\n{len(sets)} tuning sets, seeds 0–{args.seeds - 1}; absent: "
          f"{', '.join(results['missing']) or 'none'}")
    print("WSS@95 per set (mean over seeds); last columns: mean over sets of WSS@95 and of "
          "recall@10 %")
    print("| model | " + " | ".join(sets) + " | WSS@95 | recall@10 % |")
    print("|---|" + "---:|" * (len(sets) + 2))
    for m in candidates():
        cells = [f"{np.mean(s['models'][m]['wss95']):.3f}" for s in sets.values()]
        print(f"| {m} | " + " | ".join(cells)
              + f" | {means[m]['wss95']:.3f} | {means[m]['recall10']:.3f} |")
    if args.asreview_python and sets:
        a = [s["asreview"] for s in sets.values()]
        results["asreview_means"] = {k: float(np.mean([np.mean(x[k]) for x in a]))
                                     for k in ("wss95", "recall10")}
        print(f"| ASReview {a[0]['version']} default ({a[0]['model']}), not a candidate | "
              + " | ".join(f"{np.mean(x['wss95']):.3f}" for x in a)
              + f" | {results['asreview_means']['wss95']:.3f} | "
              f"{results['asreview_means']['recall10']:.3f} |")
    print(f"\nchosen (highest mean WSS@95): {results['chosen']}")
    for m, why in LEFT_OUT.items():
        print(f"not scored: {m}: {why}")
    print(f"whole run: {results['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
