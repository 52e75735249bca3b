"""Benchmark: prioritised screening and the stopping rule on the Cohen et al. (2006) sets.

On ADHD, Triptans, NSAIDS and BetaBlockers (``tests/data/drug_class_review/``,
relevant = ``label2 == "I"``), for seeds 0 … N-1, in one run:

* WSS@95 of evsynth's ranking (:mod:`evsynth.prioritise.ranking`), of random
  order (the seeded random order evsynth starts with, continued to the end),
  and of ASReview's default model if a Python with ``asreview`` is given
  (``--asreview-python``; ASReview is not an evsynth dependency, install it in
  a separate venv). ASReview starts from the same random records as evsynth
  (its prior records) and retrains after every record, as its own simulation
  does; evsynth retrains as ``evsynth simulate`` does (after every decision
  for the first 100 records, then every 1 % of those screened);
* the stopping rule (target recall and confidence 95 % / 95 %) on the same
  orders, as evsynth applies it (``bonferroni``) and as published (``none``):
  recall at stop (minimum, and share of runs reaching the target) and the
  share of records it saved; and the random-sample check after
  :data:`SAMPLE_AFTER` excludes in a row (``evsynth simulate --sample-after``);
* recall after 10 % of the records screened, of evsynth's ranking and of
  ASReview's default (same orders as WSS@95);
* the candidate models (same seeds, same start, same retraining):
  :data:`VARIANTS`; the choice among them was made on nine other sets of the
  collection by ``tuning_sets.py``, not here (``--model PREFIX`` limits the
  comparison);
* speed: ranking 5,000 records (features, training on 500 decisions, order)
  against fitting the title/abstract TF-IDF alone (the baseline), a re-rank
  with the features reused, and 50,000 records (the four sets repeated, 1,617
  relevant) against the same baseline on them: ``evsynth simulate`` with one
  seed in a child process (wall, CPU, peak memory, load average; unless
  ``--no-large-simulate``), ranking them after the first fit (features
  reused), and simulate's steps in this process — parse, features, one
  ranking and, unless ``--no-large-replay``, a whole replay and the stopping
  rule over it.

Run from the repository root (the time is printed at the end)::

    PYTHONPATH=src python benchmarks/bench_screening.py [--seeds 10] \
        [--asreview-python PATH/TO/venv/bin/python] [--no-compare] [--no-large] [--no-large-replay] \
        [--no-large-simulate] [--json FILE]

It is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from evsynth.prioritise import ranking  # noqa: E402
from evsynth.prioritise.ranking import (  # noqa: E402
    RankingItem, build_features, random_keys, rank,
)
from evsynth.prioritise.simulate import (  # noqa: E402
    LabelledSet, judge, parse_labelled_csv, random_start, replay, wss,
)
from evsynth.prioritise.stopping import (  # noqa: E402
    CORRECTIONS, RuleStop, first_sample_stop, first_stop, hypergeometric_stop,
    point_process_stop, qbcb_stop, target_method_stop,
)
from evsynth.prioritise.rate_rule import first_rate_stop  # noqa: E402

DATA = ROOT / "tests" / "data" / "drug_class_review"
SETS = ("ADHD", "Triptans", "NSAIDS", "BetaBlockers")
TARGET, CONFIDENCE = 0.95, 0.95
#: Excludes in a row after which the replay switches to the random-sample check.
SAMPLE_AFTER = (25, 50, 100, 200)
#: The same for the 50,000-record set.
LARGE_SAMPLE_AFTER = (500, 1000, 2000, 4000)


#: Seeded random orders per set, and shuffled synthetic sequences, for the rules in random order.
RANDOM_RUNS = 50
SYNTHETIC = (500, 10, 100)  # records, includes, shuffled runs (the test case)


#: Share of the records screened for recall@10 %.
EARLY = 0.10


def recall_at(labels_in_order: np.ndarray, share: float = EARLY) -> float:
    """Share of the relevant records among the first ``ceil(share·N)`` screened (the
    whole order, all N records)."""
    n = int(math.ceil(round(share * labels_in_order.shape[0], 9)))
    return float(labels_in_order[:n].sum() / labels_in_order.sum())


def load(name: str, label: str = "label2") -> LabelledSet:
    path = DATA / f"{name}.csv"
    return parse_labelled_csv(path.read_text(encoding="utf-8"), path.name, label, "I")


# --- the models compared (same start, same retraining schedule) ----------------------

def _weights(labels: np.ndarray, ratio: float, scale: bool) -> np.ndarray:
    """Includes weigh, together, *ratio* times the excludes; *scale*: weights average 1."""
    n_inc = labels.sum()
    weight = np.where(labels == 1, 1.0, n_inc / (ratio * (labels.size - n_inc)))
    return weight * (labels.size / weight.sum()) if scale else weight


def _svm(c: float, ratio: float, scale: bool) -> Callable[..., np.ndarray]:
    def scorer(features: Any, train: np.ndarray, labels: np.ndarray, seed: int,
               rows: np.ndarray) -> np.ndarray:
        from sklearn.svm import LinearSVC
        model = LinearSVC(C=c, random_state=seed)
        model.fit(features[train], labels, sample_weight=_weights(labels, ratio, scale))
        return model.decision_function(features[rows])
    return scorer


def _logistic(features: Any, train: np.ndarray, labels: np.ndarray, seed: int,
              rows: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(C=1.0, solver="liblinear", random_state=seed)
    model.fit(features[train], labels, sample_weight=_weights(labels, ranking.INCLUDE_WEIGHT, True))
    return model.decision_function(features[rows])


def _naive_bayes(features: Any, train: np.ndarray, labels: np.ndarray, seed: int,
                 rows: np.ndarray) -> np.ndarray:
    from sklearn.naive_bayes import MultinomialNB
    model = MultinomialNB(alpha=3.822)  # ASReview's ELAS u3 (its former default)
    model.fit(features[train], labels, sample_weight=_weights(labels, 1.2, True))
    log = model.predict_log_proba(features[rows])
    return log[:, 1] - log[:, 0]


def _tfidf(data: LabelledSet, stop_words: str | None, min_df: int,
           keyword_weight: float) -> Any:
    """Title/abstract TF-IDF (words and word pairs) with an optional MeSH block."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    text = [f"{t} {a}" for t, a in zip(data.titles, data.abstracts)]
    blocks = [TfidfVectorizer(ngram_range=(1, 2), stop_words=stop_words, sublinear_tf=True,
                              min_df=min_df, max_df=0.95).fit_transform(text)]
    if keyword_weight:
        terms = TfidfVectorizer(tokenizer=lambda x: [k.strip().lower() for k in x.split(";")
                                                     if k.strip()],
                                token_pattern=None, lowercase=False, sublinear_tf=True,
                                min_df=min_df)
        blocks.append(keyword_weight * terms.fit_transform(data.keywords))
    return hstack(blocks, format="csr")


def _evsynth_features(data: LabelledSet) -> Any:
    return build_features(data.titles, data.abstracts, data.keywords)


def _no_mesh(data: LabelledSet) -> Any:
    return build_features(data.titles, data.abstracts, [""] * data.records)


#: name -> (features of a data set, scorer; ``None`` = evsynth's own)
VARIANTS: dict[str, tuple[Callable[[LabelledSet], Any], Callable[..., np.ndarray] | None]] = {
    "evsynth: SVM C 0.05, includes ×9.8, MeSH ×0.1": (_evsynth_features, None),
    "same without MeSH": (_no_mesh, None),
    "same with C 0.11 (ELAS u4's)": (_evsynth_features, _svm(0.11, ranking.INCLUDE_WEIGHT, True)),
    "ELAS u4 settings (no stop words, no MeSH, C 0.11)":
        (lambda d: _tfidf(d, None, 1, 0.0), _svm(0.11, 9.8, True)),
    "previous evsynth (C 0.1, weights ×10 unscaled, MeSH ×0.2, terms in ≥ 2 records)":
        (lambda d: _tfidf(d, "english", 2, 0.2), _svm(0.1, 10.0, False)),
    "logistic regression, includes ×9.8": (_evsynth_features, _logistic),
    "naive Bayes (ELAS u3 settings)": (lambda d: _tfidf(d, "english", 1, 0.0), _naive_bayes),
}


# --- the stopping rules compared (same orders) -------------------------------------------

def _oracle(y: np.ndarray) -> RuleStop:
    """Stops exactly when ⌈0.95·R⌉ includes are found (needs the answer; the bound to beat)."""
    needed = math.ceil(round(TARGET * int(y.sum()), 9))
    stop = int(np.searchsorted(np.cumsum(y), needed)) + 1
    return RuleStop(stop, needed)


def _sample_check(after: int) -> Callable[[np.ndarray, np.ndarray, int], RuleStop]:
    """``evsynth screen --sample`` after *after* excludes in a row (the rest in a seeded
    random order, the sample check's stop; the order's own rule if it never switches)."""
    def rule(y: np.ndarray, permutation: np.ndarray, seed: int) -> RuleStop:
        run = judge(np.arange(y.shape[0]), y, seed, TARGET, CONFIDENCE, sample_after=after)
        if run.stopped_at is None or run.recall_at_stop is None:
            return RuleStop(int(y.shape[0]), int(y.sum()))
        return RuleStop(run.stopped_at, int(round(run.recall_at_stop * int(y.sum()))))
    return rule


def _oracle_switch(y: np.ndarray, permutation: np.ndarray, seed: int) -> RuleStop:
    """The random-sample check started exactly when the target is reached (needs the answer):
    what the best-timed switch to the sample check can save at best."""
    start = _oracle(y).examined
    rest = start + np.random.default_rng([seed, 24]).permutation(y.shape[0] - start)
    drawn = first_sample_stop(y[rest], int(y[:start].sum()), target_recall=TARGET,
                              confidence=CONFIDENCE)
    if drawn is None:
        return RuleStop(int(y.shape[0]), int(y.sum()))
    return RuleStop(start + drawn, int(y[:start].sum() + y[rest[:drawn]].sum()))


def _rate(y: np.ndarray, permutation: np.ndarray, seed: int) -> RuleStop:
    """The ranked-rate rule (evsynth's default, :mod:`evsynth.prioritise.rate_rule`)."""
    stop = first_rate_stop(y, target_recall=TARGET, confidence=CONFIDENCE)
    return _read_all_of(y) if stop is None else RuleStop(stop, int(y[:stop].sum()))


def _gated(y: np.ndarray, permutation: np.ndarray, seed: int) -> RuleStop:
    """The ranked-rate rule that also needs the hypergeometric test met at 50 %."""
    stop = first_rate_stop(y, target_recall=TARGET, confidence=CONFIDENCE, gate=0.5)
    return _read_all_of(y) if stop is None else RuleStop(stop, int(y[:stop].sum()))


def _read_all_of(y: np.ndarray) -> RuleStop:
    return RuleStop(int(y.shape[0]), int(y.sum()))


#: The ranked-rate rule (``stopping_rule = "rate"``, experimental).
RATE_RULE = "ranked-rate rule: profile-likelihood bound on the includes left (experimental)"
#: The same, gated by the hypergeometric criterion at even odds (exploratory).
GATED_RULE = "ranked-rate rule gated by the hypergeometric test at 50 % (exploratory)"
#: evsynth's default rule.
DEFAULT_RULE = "hypergeometric, windows Bonferroni-weighted (evsynth's default; C&M-B 2020)"


def _either(y: np.ndarray, permutation: np.ndarray, seed: int) -> RuleStop:
    """The hypergeometric test or the power-law point process, whichever fires first."""
    first = min(hypergeometric_stop(y, target_recall=TARGET, confidence=CONFIDENCE).examined,
                point_process_stop(y, target_recall=TARGET, confidence=CONFIDENCE, rate="power",
                                   min_relevant=10).examined)
    return RuleStop(first, int(y[:first].sum()))


RULES: dict[str, Callable[[np.ndarray, np.ndarray, int], RuleStop]] = {
    "oracle: stops at exactly 95 % (not a rule)": lambda y, p, s: _oracle(y),
    DEFAULT_RULE:
        lambda y, p, s: hypergeometric_stop(y, target_recall=TARGET, confidence=CONFIDENCE),
    RATE_RULE: _rate,
    GATED_RULE: _gated,
    "hypergeometric, plain minimum (as published)":
        lambda y, p, s: hypergeometric_stop(y, target_recall=TARGET, confidence=CONFIDENCE,
                                            correction="none"),
    "random-sample check started at the oracle's point (bound, not a rule)": _oracle_switch,
    "random-sample check after 50 excludes in a row": _sample_check(50),
    "random-sample check after 100 excludes in a row": _sample_check(100),
    "target method (C&G 2016), 60 targets":
        lambda y, p, s: target_method_stop(y, p, target_recall=TARGET, confidence=CONFIDENCE),
    "QBCB (L, Y & F 2021), r = 59":
        lambda y, p, s: qbcb_stop(y, p, target_recall=TARGET, confidence=CONFIDENCE),
    "point process, exponential rate (S&S 2019), ≥ 20 includes at 30 %":
        lambda y, p, s: point_process_stop(y, target_recall=TARGET, confidence=CONFIDENCE),
    "point process, exponential rate, ≥ 10 includes at 30 %":
        lambda y, p, s: point_process_stop(y, target_recall=TARGET, confidence=CONFIDENCE,
                                           min_relevant=10),
    "point process, power-law rate (S&B-H 2024), ≥ 10 includes at 30 %":
        lambda y, p, s: point_process_stop(y, target_recall=TARGET, confidence=CONFIDENCE,
                                           rate="power", min_relevant=10),
    "hypergeometric (evsynth) or power-law point process, whichever first": _either,
}


def judge_rules(sequences: list[tuple[int, np.ndarray]]) -> dict[str, dict[str, list[float]]]:
    """Every rule on every (seed, decisions in screening order): share of the records left
    unscreened at the stop and recall there."""
    out: dict[str, dict[str, list[float]]] = {}
    for name, rule in RULES.items():
        unscreened, recall = [], []
        for seed, y in sequences:
            permutation = np.random.default_rng([seed, 23]).permutation(y.shape[0])
            stop = rule(y, permutation, seed)
            unscreened.append(1.0 - stop.examined / y.shape[0])
            recall.append(stop.found / int(y.sum()))
        out[name] = {"unscreened": unscreened, "recall": recall}
    return out


def random_sequences(labels: np.ndarray, runs: int) -> list[tuple[int, np.ndarray]]:
    """The set in *runs* seeded random orders (evsynth's random start, continued)."""
    keys = [str(i) for i in range(labels.shape[0])]
    return [(seed, labels[np.argsort(random_keys(keys, seed), kind="stable")])
            for seed in range(runs)]


def synthetic_sequences() -> list[tuple[int, np.ndarray]]:
    records, includes, runs = SYNTHETIC
    rng = np.random.default_rng(2026)
    out = []
    for seed in range(runs):
        y = np.zeros(records, dtype=np.int64)
        y[:includes] = 1
        rng.shuffle(y)
        out.append((seed, y))
    return out


# --- ASReview ------------------------------------------------------------------------

def start_asreview(python: str, data: LabelledSet, seeds: range, workdir: Path) -> subprocess.Popen[str]:
    """ASReview's default model on *data* from evsynth's random start, in the background."""
    import csv
    path = workdir / f"{data.name}.asreview.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract", "included"])
        for t, a, y in zip(data.titles, data.abstracts, data.labels):
            writer.writerow([t, a, int(y)])
    job = {"csv": str(path),
           "priors": {str(s): random_start(data.labels, s) for s in seeds},
           "stop_after_relevant": math.ceil(round(TARGET * data.relevant, 9)),
           "min_records": math.ceil(round(EARLY * data.records, 9))}
    process = subprocess.Popen([python, str(ROOT / "benchmarks" / "asreview_runner.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=workdir)
    assert process.stdin is not None
    process.stdin.write(json.dumps(job))
    process.stdin.close()
    return process


def finish_asreview(process: subprocess.Popen[str], data: LabelledSet) -> dict[str, Any]:
    out = process.stdout.read() if process.stdout else ""
    err = process.stderr.read() if process.stderr else ""
    if process.wait() != 0:
        return {"error": (err.strip().splitlines() or ["failed"])[-1]}
    answer = json.loads(out)
    scores, early = [], []
    for seed, order in answer["orders"].items():
        order = np.array(order, dtype=np.int64)
        found = data.labels[order]
        # ASReview stopped once 95 % were found and 10 % screened: pad with the rest
        # (neither WSS@95 nor recall@10 % needs more)
        rest = np.setdiff1d(np.arange(data.records), order)
        padded = np.concatenate([found, data.labels[rest]])
        scores.append(wss(padded, 0.95))
        early.append(recall_at(padded))
    return {"version": answer["version"], "model": answer["model"], "wss95": scores,
            "recall10": early}


# --- parts of the benchmark ------------------------------------------------------------

def bench_set(data: LabelledSet, seeds: range, compare: bool,
              cache: Path | None = None, models: list[str] | None = None) -> dict[str, Any]:
    """One set. With *cache* (a folder), the replays' orders are read from / written to
    ``NAME.orders.json`` there (a replay is deterministic for its seed, the slow part)."""
    features = build_features(data.titles, data.abstracts, data.keywords)
    out: dict[str, Any] = {"records": data.records, "relevant": data.relevant}
    orders, randoms, seconds = [], [], []
    cached: dict[str, list[int]] = {}
    cache_file = cache / f"{Path(data.name).stem}.orders.json" if cache else None
    if cache_file is not None and cache_file.is_file():
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
    for seed in seeds:
        started = time.perf_counter()
        if str(seed) in cached:
            orders.append(np.array(cached[str(seed)], dtype=np.int64))
        else:
            orders.append(replay(features, data.labels, seed))
            cached[str(seed)] = orders[-1].tolist()
        seconds.append(time.perf_counter() - started)
        tiebreak = random_keys([str(i) for i in range(data.records)], seed)
        randoms.append(wss(data.labels[np.argsort(tiebreak, kind="stable")], 0.95))
    if cache_file is not None:
        cache.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cached), encoding="utf-8")
    for correction in CORRECTIONS:  # the same orders judged by both forms of the rule
        runs = [judge(order, data.labels, seed, TARGET, CONFIDENCE, correction)
                for seed, order in zip(seeds, orders)]
        out.setdefault("wss95", [r.wss95 for r in runs])
        out.setdefault("wss100", [r.wss100 for r in runs])
        out[f"stopped_at_{correction}"] = [r.stopped_at for r in runs]
        out[f"recall_at_stop_{correction}"] = [r.recall_at_stop for r in runs]
    for after in SAMPLE_AFTER:  # the random-sample check, from the same ranked orders
        runs = [judge(order, data.labels, seed, TARGET, CONFIDENCE, sample_after=after)
                for seed, order in zip(seeds, orders)]
        out[f"sample_after_{after}"] = {"stopped_at": [r.stopped_at for r in runs],
                                        "recall_at_stop": [r.recall_at_stop for r in runs]}
    out["random_wss95"] = randoms
    out["recall10"] = [recall_at(data.labels[order]) for order in orders]
    out["replay_seconds"] = seconds
    out["rules_ranked"] = judge_rules([(seed, data.labels[order]) for seed, order in zip(seeds, orders)])
    out["rules_random"] = judge_rules(random_sequences(data.labels, RANDOM_RUNS))
    if compare:
        table = {}
        for name, (make, scorer) in VARIANTS.items():
            if models and not any(name.startswith(m) for m in models):
                continue
            if make is _evsynth_features and scorer is None:
                table[name] = out["wss95"]
                continue
            X = make(data)
            table[name] = [wss(data.labels[replay(X, data.labels, s, scorer)], 0.95)
                           for s in seeds]
        out["models"] = table
    return out


def large_items(n: int) -> tuple[list[str], list[str], list[str], np.ndarray]:
    """*n* records: the four sets repeated (so the texts are real, if duplicated)."""
    titles: list[str] = []
    abstracts: list[str] = []
    keywords: list[str] = []
    labels: list[int] = []
    sets = [load(name) for name in SETS]
    while len(titles) < n:
        for data in sets:
            titles.extend(data.titles)
            abstracts.extend(data.abstracts)
            keywords.extend(data.keywords)
            labels.extend(int(x) for x in data.labels)
    return titles[:n], abstracts[:n], keywords[:n], np.array(labels[:n], dtype=np.int64)


def time_simulate(path: Path) -> dict[str, Any]:
    """``evsynth simulate PATH --label label --seeds 1`` in a child process: wall and CPU
    seconds (user + system, ``getrusage`` of the children), its peak memory (the largest
    child's resident set so far, so the figure is an upper bound if an earlier child used
    more), the load average before and after, and the WSS@95 and stop it printed."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "evsynth", "simulate", str(path), "--label",
                           "label", "--seeds", "1"], capture_output=True, text=True,
                          cwd=path.parent, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = json.loads(done.stdout)["runs"][0]
    return {"simulate_seconds": wall,
            "simulate_cpu_seconds": (after.ru_utime - before.ru_utime)
                                    + (after.ru_stime - before.ru_stime),
            "simulate_max_rss_mib": after.ru_maxrss / 1024,
            "simulate_load": [load, os.getloadavg()[0]],
            "simulate_wss95": run["wss95"], "simulate_stopped_at": run["stopped_at"],
            "simulate_recall_at_stop": run["recall_at_stop"]}


def bench_speed(large: bool, large_replay: bool = True,
                large_simulate: bool = True) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    out: dict[str, Any] = {}
    titles, abstracts, keywords, labels = large_items(5000)
    items = [RankingItem(key=f"R{i:05d}", title=t, abstract=a, keywords=k,
                         label=int(labels[i]) if i < 500 else None)
             for i, (t, a, k) in enumerate(zip(titles, abstracts, keywords))]
    started, cpu = time.perf_counter(), time.process_time()
    TfidfVectorizer(ngram_range=(1, 2), stop_words="english", sublinear_tf=True,
                    max_df=0.95).fit_transform([f"{t} {a}" for t, a in zip(titles, abstracts)])
    out["tfidf_5000_seconds"] = time.perf_counter() - started
    out["tfidf_5000_cpu_seconds"] = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    order = rank(items, seed=0)
    out["rank_5000_seconds"] = time.perf_counter() - started
    out["rank_5000_cpu_seconds"] = time.process_time() - cpu
    out["rank_5000_pending"] = len(order)
    # the screening page re-ranks after a batch of decisions: same texts, features reused
    items[500] = RankingItem(key=items[500].key, title=items[500].title,
                             abstract=items[500].abstract, keywords=items[500].keywords,
                             label=int(labels[500]))
    started, cpu = time.perf_counter(), time.process_time()
    rank(items, seed=0)
    out["rerank_5000_seconds"] = time.perf_counter() - started
    out["rerank_5000_cpu_seconds"] = time.process_time() - cpu
    if large:
        n = 50_000
        titles, abstracts, keywords, labels = large_items(n)
        with tempfile.TemporaryDirectory() as tmp:
            import csv
            path = Path(tmp) / "large.csv"
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["title", "abstract", "keywords", "label"])
                writer.writerows(zip(titles, abstracts, keywords, labels.tolist()))
            started = time.perf_counter()
            data = parse_labelled_csv(path.read_text(encoding="utf-8"), path.name, "label")
            out["large_parse_seconds"] = time.perf_counter() - started
            # the baseline of the 50,000-record figures: the title/abstract TF-IDF fit alone
            started, cpu = time.perf_counter(), time.process_time()
            TfidfVectorizer(ngram_range=(1, 2), stop_words="english", sublinear_tf=True,
                            max_df=0.95).fit_transform([f"{t} {a}" for t, a in
                                                        zip(data.titles, data.abstracts)])
            out["large_tfidf_seconds"] = time.perf_counter() - started
            out["large_tfidf_cpu_seconds"] = time.process_time() - cpu
            if large_simulate:
                out.update(time_simulate(path))
        started = time.perf_counter()
        features = build_features(data.titles, data.abstracts, data.keywords)
        out["large_features_seconds"] = time.perf_counter() - started
        big = [RankingItem(key=f"R{i:06d}", title=t, abstract=a, keywords=k,
                           label=int(data.labels[i]) if i < 1000 else None)
               for i, (t, a, k) in enumerate(zip(data.titles, data.abstracts, data.keywords))]
        started, cpu = time.perf_counter(), time.process_time()
        rank(big, seed=0)
        out["large_rank_seconds"] = time.perf_counter() - started
        out["large_rank_cpu_seconds"] = time.process_time() - cpu
        # after the first fit: one more decision, the same texts (features reused), re-ranked
        big[1000] = RankingItem(key=big[1000].key, title=big[1000].title,
                                abstract=big[1000].abstract, keywords=big[1000].keywords,
                                label=int(data.labels[1000]))
        started, cpu = time.perf_counter(), time.process_time()
        rank(big, seed=0)
        out["large_rerank_seconds"] = time.perf_counter() - started
        out["large_rerank_cpu_seconds"] = time.process_time() - cpu
        out["large_records"] = n
        out["large_relevant"] = data.relevant
        if large_replay:  # the slow part: about 100 trainings on up to 50,000 records
            started = time.perf_counter()
            order = replay(features, data.labels, 0)
            out["large_replay_seconds"] = time.perf_counter() - started
            out["large_wss95"] = wss(data.labels[order], 0.95)
            started = time.perf_counter()
            stop = first_stop(data.labels[order], target_recall=TARGET, confidence=CONFIDENCE)
            out["large_stop_seconds"] = time.perf_counter() - started
            out["large_stopped_at"] = stop
            out["large_recall_at_stop"] = (None if stop is None else
                                           float(data.labels[order][:stop].sum() / data.relevant))
            for after in LARGE_SAMPLE_AFTER:
                run = judge(order, data.labels, 0, TARGET, CONFIDENCE, sample_after=after)
                out[f"large_sample_after_{after}"] = [run.stopped_at, run.recall_at_stop]
    return out


# --- report -------------------------------------------------------------------------------

def _m(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ({np.min(values):.3f}–{np.max(values):.3f})"


def _rule_cells(got: dict[str, list[float]]) -> str:
    u, r = np.array(got["unscreened"]), np.array(got["recall"])
    reach = int((r >= TARGET - 1e-12).sum())
    return f"{u.mean():.3f} ({u.min():.3f}–{u.max():.3f}) | {r.min():.3f} | {reach}/{r.size}"


def print_rules(results: dict[str, Any]) -> None:
    """Per set and rule: share unscreened at stop, recall at stop (min, runs ≥ target)."""
    sets = results["sets"]
    print(f"\nStopping rules on the same orders (target {TARGET:.0%}, confidence {CONFIDENCE:.0%}): "
          "share of the records unscreened at stop, mean (min–max); recall at stop, minimum; "
          "runs with recall ≥ target. 'ranked': evsynth's replays (the seeds above); "
          f"'random': {RANDOM_RUNS} seeded random orders of the set.")
    for name, r in sets.items():
        wss95 = float(np.mean(r["wss95"]))
        print(f"\n{name}: {r['records']} records, {r['relevant']} relevant; WSS@95 of the ranking "
              f"{_m(r['wss95'])}; 60 % of it: {0.6 * wss95:.3f}")
        print("| rule | ranked: unscreened | min recall | ≥ target | random: unscreened | "
              "min recall | ≥ target |")
        print("|---|---|---:|---:|---|---:|---:|")
        for rule in RULES:
            print(f"| {rule} | {_rule_cells(r['rules_ranked'][rule])} | "
                  f"{_rule_cells(r['rules_random'][rule])} |")
    print("\nThe issue's aims: share unscreened at stop ≥ 60 % of the ranking's WSS@95 (mean "
          "over the ranked runs); recall ≥ 95 % in ≥ 95 % of the runs, ranked and random")
    print("| set | rule | unscreened | 60 % of WSS@95 | met | ranked ≥ target | random ≥ target |")
    print("|---|---|---:|---:|---|---:|---:|")
    for name, r in sets.items():
        for rule in (DEFAULT_RULE, RATE_RULE, GATED_RULE):
            ranked, rnd = r["rules_ranked"][rule], r["rules_random"][rule]
            share = float(np.mean(ranked["unscreened"]))
            aim = 0.6 * float(np.mean(r["wss95"]))
            ok_ranked = sum(x >= TARGET - 1e-9 for x in ranked["recall"])
            ok_random = sum(x >= TARGET - 1e-9 for x in rnd["recall"])
            print(f"| {name} | {rule} | {share:.3f} | {aim:.3f} | "
                  f"{'yes' if share >= aim else 'no'} | {ok_ranked}/{len(ranked['recall'])} | "
                  f"{ok_random}/{len(rnd['recall'])} |")
    if "rules_synthetic" in results:
        records, includes, runs = SYNTHETIC
        print(f"\nShuffled: {runs} random orders of {records} records with {includes} includes")
        print("| rule | unscreened | min recall | ≥ target |")
        print("|---|---|---:|---:|")
        for rule, got in results["rules_synthetic"].items():
            print(f"| {rule} | {_rule_cells(got)} |")


def print_report(results: dict[str, Any]) -> None:
    sets = results["sets"]
    if sets:
        print_sets(results, sets)
        print_rules(results)
    if "speed" in results:
        print_speed(results["speed"])


def _stop_cells(stopped_at: list[int | None], recall_at_stop: list[float | None],
                records: int) -> str:
    """Runs stopped, lowest recall at stop, runs reaching the target, records saved."""
    stops = [s for s in stopped_at if s is not None]
    recalls = [x for x in recall_at_stop if x is not None]
    reach = sum(1 for x in recalls if x >= TARGET - 1e-12)
    lowest = f"{min(recalls):.3f}" if recalls else "–"
    saved = _m([1 - s / records for s in stops]) if stops else "–"
    return f"{len(stops)}/{len(stopped_at)} | {lowest} | {reach}/{len(recalls)} | {saved} |"


def print_sets(results: dict[str, Any], sets: dict[str, Any]) -> None:
    print(f"\nseeds per set: {results['seeds']}; target recall {TARGET:.0%}, confidence {CONFIDENCE:.0%}")
    asr = results.get("asreview_note", "")
    versions = {f"ASReview {r['asreview']['version']}, model {r['asreview']['model']}"
                for r in sets.values() if "version" in r.get("asreview", {})}
    if versions:
        print("ASReview default model: " + "; ".join(sorted(versions)))
    print("\nWSS@95, mean (min–max) over seeds")
    print("| set | records | relevant | evsynth | random order | ASReview default |")
    print("|---|---:|---:|---|---|---|")
    for name, r in sets.items():
        a = r.get("asreview", {})
        cell = _m(a["wss95"]) if "wss95" in a else a.get("error", asr or "not run")
        print(f"| {name} | {r['records']} | {r['relevant']} | {_m(r['wss95'])} | "
              f"{_m(r['random_wss95'])} | {cell} |")
    print(f"\nRecall after {EARLY:.0%} of the records screened, mean (min–max) over seeds")
    print("| set | evsynth | ASReview default |")
    print("|---|---|---|")
    for name, r in sets.items():
        a = r.get("asreview", {})
        cell = _m(a["recall10"]) if "recall10" in a else a.get("error", asr or "not run")
        print(f"| {name} | {_m(r['recall10'])} | {cell} |")
    print("\nStopping rule (fires when H0 'recall < target' is rejected), on the same orders;"
          " bonferroni = evsynth's rule, none = the published plain minimum")
    print("| set | correction | runs stopped | recall at stop, min | runs reaching target | "
          "records saved, mean (min–max) |")
    print("|---|---|---:|---:|---:|---|")
    for name, r in sets.items():
        for correction in CORRECTIONS:
            print(f"| {name} | {correction} | " + _stop_cells(
                r[f"stopped_at_{correction}"], r[f"recall_at_stop_{correction}"], r["records"]))
    print("\nThe random-sample check (evsynth screen --sample) after N excludes in a row, on the "
          "same orders")
    print("| set | N | runs stopped | recall at stop, min | runs reaching target | "
          "records saved, mean (min–max) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, r in sets.items():
        for after in SAMPLE_AFTER:
            got = r[f"sample_after_{after}"]
            print(f"| {name} | {after} | "
                  + _stop_cells(got["stopped_at"], got["recall_at_stop"], r["records"]))
    if all("models" in r for r in sets.values()):
        names = list(next(iter(sets.values()))["models"])
        print("\nModel comparison, WSS@95 mean over seeds (same start, same retraining schedule)")
        print("| model | " + " | ".join(sets) + " | mean |")
        print("|---|" + "---:|" * (len(sets) + 1))
        for model in names:
            means = [float(np.mean(r["models"][model])) for r in sets.values()]
            print(f"| {model} | " + " | ".join(f"{m:.3f}" for m in means)
                  + f" | {np.mean(means):.3f} |")
    print("\nReplay time per seed (evsynth, whole order), seconds: "
          + ", ".join(f"{n} {np.mean(r['replay_seconds']):.1f}" for n, r in sets.items()))


def print_speed(s: dict[str, Any]) -> None:
    print(f"\nRanking 5,000 records (500 decided), wall / CPU seconds: first call "
          f"{s['rank_5000_seconds']:.2f} / {s['rank_5000_cpu_seconds']:.2f}; re-rank after a decision "
          f"(features reused) {s['rerank_5000_seconds']:.2f} / {s['rerank_5000_cpu_seconds']:.2f}; "
          f"baseline, the title/abstract TF-IDF fit alone {s['tfidf_5000_seconds']:.2f} / "
          f"{s['tfidf_5000_cpu_seconds']:.2f}; ratio first call / baseline (CPU) "
          f"{s['rank_5000_cpu_seconds'] / s['tfidf_5000_cpu_seconds']:.2f}")
    if "large_records" in s:
        base, base_cpu = s["large_tfidf_seconds"], s["large_tfidf_cpu_seconds"]
        print(f"50,000 records ({s['large_relevant']} relevant, the four sets repeated); baseline, "
              f"the title/abstract TF-IDF fit alone on them: {base:.1f} s (CPU {base_cpu:.1f} s)")
        print(f"  ranking them after the first fit (1,001 decided, features reused): "
              f"{s['large_rerank_seconds']:.2f} s (CPU {s['large_rerank_cpu_seconds']:.2f} s), "
              f"{s['large_rerank_cpu_seconds'] / base_cpu:.2f} × the baseline (CPU); the first "
              f"ranking, features included, with 1,000 decided {s['large_rank_seconds']:.1f} s "
              f"(CPU {s['large_rank_cpu_seconds']:.1f} s, "
              f"{s['large_rank_cpu_seconds'] / base_cpu:.2f} × the baseline)")
        if "simulate_seconds" in s:
            load = s["simulate_load"]
            print(f"  evsynth simulate FILE --label label --seeds 1 (a child process): "
                  f"{s['simulate_seconds']:.1f} s wall, CPU {s['simulate_cpu_seconds']:.1f} s "
                  f"({s['simulate_cpu_seconds'] / base_cpu:.1f} × the baseline), at most "
                  f"{s['simulate_max_rss_mib']:.0f} MiB resident; load average {load[0]:.1f} "
                  f"before, {load[1]:.1f} after (wall time on a shared machine depends on it); "
                  f"WSS@95 {s['simulate_wss95']:.3f}, stopped at {s['simulate_stopped_at']} "
                  f"(recall {s['simulate_recall_at_stop']:.3f})")
        print(f"  simulate's steps in this process: parse {s['large_parse_seconds']:.1f} s, "
              f"features {s['large_features_seconds']:.1f} s, "
              + (f"replay {s['large_replay_seconds']:.1f} s, WSS@95 "
                 f"{s['large_wss95']:.3f}, stopping rule over every decision "
                 f"{s['large_stop_seconds']:.1f} s (stopped at {s['large_stopped_at']}, recall "
                 f"{s['large_recall_at_stop']:.3f}); the random-sample check after N excludes in "
                 "a row: " + "; ".join(
                     f"N = {a}: stopped at {s[f'large_sample_after_{a}'][0]}, recall "
                     f"{s[f'large_sample_after_{a}'][1]:.3f}" for a in LARGE_SAMPLE_AFTER)
                 if "large_replay_seconds" in s else "replay and stopping rule not run"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--asreview-python", default=os.environ.get("ASREVIEW_PYTHON"),
                        help="a Python with asreview installed (default: $ASREVIEW_PYTHON)")
    parser.add_argument("--no-compare", action="store_true", help="skip the model comparison")
    parser.add_argument("--model", action="append", metavar="PREFIX",
                        help="compare only the models whose name starts with PREFIX (repeatable)")
    parser.add_argument("--no-large", action="store_true", help="skip the 50,000-record replay")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed measurements")
    parser.add_argument("--no-large-replay", action="store_true",
                        help="time the 50,000 records' parse, features and one ranking, but not "
                             "a whole replay with the stopping rule (slow; see the module docstring)")
    parser.add_argument("--no-large-simulate", action="store_true",
                        help="do not time `evsynth simulate` on the 50,000 records")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--orders-cache", type=Path, metavar="DIR",
                        help="read the replays' orders from DIR if there, else write them there")
    parser.add_argument("--sets", default=",".join(SETS),
                        help=f"comma-separated subset of {', '.join(SETS)} (default: all four)")
    args = parser.parse_args()
    seeds = range(args.seeds)
    results: dict[str, Any] = {"seeds": args.seeds, "sets": {}}
    if not args.asreview_python:
        results["asreview_note"] = "not run (no --asreview-python)"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in [n for n in args.sets.split(",") if n]:
            if name not in SETS:
                parser.error(f"unknown set {name!r}")
            data = load(name)
            process = (start_asreview(args.asreview_python, data, seeds, Path(tmp))
                       if args.asreview_python else None)
            print(f"{name}: {data.records} records, {data.relevant} relevant ...", file=sys.stderr,
                  flush=True)
            result = bench_set(data, seeds, compare=not args.no_compare, cache=args.orders_cache,
                               models=args.model)
            if process is not None:
                result["asreview"] = finish_asreview(process, data)
            results["sets"][name] = result
    results["rules_synthetic"] = judge_rules(synthetic_sequences())
    if not args.no_speed:
        print("speed ...", file=sys.stderr, flush=True)
        results["speed"] = bench_speed(large=not args.no_large,
                                       large_replay=not args.no_large_replay,
                                       large_simulate=not args.no_large_simulate)
    results["seconds"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float) + "\n", encoding="utf-8")
    print_report(results)
    print(f"\nwhole benchmark: {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
