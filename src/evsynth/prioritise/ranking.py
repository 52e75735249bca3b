"""Ranking records by predicted relevance, learning from the decisions made so far.

Pure functions: text and decisions in, an order out. Nothing here reads or
writes files.

* **Features** (:func:`build_features`): TF-IDF of title + abstract (words and
  word pairs, English stop words removed, sublinear term frequency, terms in
  at most 95 % of the records), side by side with a TF-IDF of the MeSH
  headings/keywords (each ``;``-separated heading one term) scaled by
  :data:`KEYWORD_WEIGHT`. Fitted on all records, decided or not (no labels
  are used).
* **Model** (:func:`scores`): a linear support-vector machine
  (scikit-learn ``LinearSVC``, squared hinge loss, ``C`` = :data:`C`),
  trained on the decided records with sample weights that give the includes,
  together, :data:`INCLUDE_WEIGHT` times the weight of the excludes, scaled so
  the weights average 1 (includes are rare; without weighting the model learns
  "exclude everything"). The weighting and the word-pair features follow
  ASReview's default model (ELAS u4: TF-IDF with word pairs, ``LinearSVC``
  with ``C`` = 0.11, includes ×9.8); evsynth adds the stop-word list, the MeSH
  block and a smaller ``C`` (first picked on the four benchmark sets). Among six
  declared candidates these settings had the best mean WSS@95 on nine Cohen et
  al. (2006) sets that the benchmark does not score
  (``benchmarks/tuning_sets.py``, results in ``benchmarks/tuning_results.json``);
  ``benchmarks/bench_screening.py`` scores them against ASReview on the other four.
* **Order** (:func:`rank`): pending records by decreasing decision value; ties
  (and everything before the first include *and* the first exclude exist) by
  a seeded random key, ``SHA-256(seed, record id)``, so the same seed and the
  same decisions always give the same order, and a new record does not
  reshuffle the old ones.

The model is retrained from scratch on every call: a screening view calls
:func:`rank` after each batch of decisions; ``evsynth simulate`` after every
:func:`batch_size` decisions (every decision for the first 100 records, then
whenever the records screened have grown by 1 %; on sets of more than 5,000 records by a
larger share, 10 % from 50,000 records on: :func:`retrain_divisor`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Regularisation of the linear SVM (ASReview ELAS u4 uses 0.11).
C = 0.05
#: Includes weigh, in total, this many times as much as the excludes (as in ELAS u4).
INCLUDE_WEIGHT = 9.8
#: Weight of the MeSH/keyword block relative to the title/abstract block.
KEYWORD_WEIGHT = 0.1
#: Word n-grams of the title/abstract block.
NGRAM_RANGE = (1, 2)


@dataclass(frozen=True)
class RankingItem:
    """One record as the ranking sees it."""

    #: The record id (unique).
    key: str
    title: str = ""
    abstract: str = ""
    #: MeSH headings and keywords, ``;``-separated.
    keywords: str = ""
    #: 1 include, 0 exclude, ``None`` not decided yet.
    label: int | None = None


#: A simulation retrains after every ``screened // divisor`` decisions (at least one); the
#: divisor is ``RETRAIN_DIVISOR`` for sets of up to ``RETRAIN_WORK // RETRAIN_DIVISOR``
#: records (5,000) and falls with larger sets, to no less than ``RETRAIN_DIVISOR_MIN``.
RETRAIN_DIVISOR = 100
RETRAIN_DIVISOR_MIN = 10
RETRAIN_WORK = 500_000


def retrain_divisor(total: int) -> int:
    """``d(N) = min(100, max(10, 500,000 // N))`` for a set of *total* = ``N`` records:
    100 up to 5,000 records, 50 for 10,000, 10 from 50,000 on."""
    return min(RETRAIN_DIVISOR, max(RETRAIN_DIVISOR_MIN, RETRAIN_WORK // max(1, total)))


def batch_size(screened: int, total: int = 0) -> int:
    """Decisions before the next retraining in a simulation, with *screened* records
    decided so far of *total*: ``max(1, screened // d(N))`` (:func:`retrain_divisor`;
    ``total`` 0, the default, counts as a small set): 1 until 100 are decided, then
    1 % of them, on sets of up to 5,000 records; on larger sets a larger share.

    Early decisions change the model most, so it learns from each one; later a
    batch grows with the records screened (geometrically: each retraining waits
    for ``1 / d`` more records), which keeps a replay of ``N`` records at about
    ``d + d·ln(N / d)`` trainings (a few more, as batches round down) whose cost
    adds up to about as much as ``d`` trainings on all ``N``. With ``d = 100``
    that is 781 trainings for 50,000 records, most of the replay's time
    (``docs/methods/stopping.md``, "Speed"); ``d(N)`` keeps the work of a replay
    near that of 5,000 records × 100 until ``N`` reaches 50,000 (104 trainings
    there), and leaves the schedule of the benchmark sets (at most 2,072
    records) as it was."""
    return max(1, screened // retrain_divisor(total))


def random_keys(keys: Sequence[str], seed: int) -> np.ndarray:
    """A seeded random number in [0, 1) per key: ``SHA-256("seed:key")``'s first 8 bytes."""
    import hashlib
    import numpy as np
    out = np.empty(len(keys), dtype=np.float64)
    for i, key in enumerate(keys):
        digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
        out[i] = int.from_bytes(digest[:8], "big") / 2.0**64
    return out


def _split_keywords(text: str) -> list[str]:
    return [part.strip().lower() for part in text.split(";") if part.strip()]


def build_features(titles: Sequence[str], abstracts: Sequence[str],
                   keywords: Sequence[str]) -> Any:
    """The feature matrix (scipy sparse, one row per record); ``None`` if no record has
    any word to go on (every title, abstract and keyword empty)."""
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(titles)
    text = [f"{t} {a}" for t, a in zip(titles, abstracts)]
    blocks = []
    words = TfidfVectorizer(ngram_range=NGRAM_RANGE, stop_words="english", sublinear_tf=True,
                            max_df=1.0 if n < 20 else 0.95, dtype=np.float64)
    try:
        blocks.append(words.fit_transform(text))
    except ValueError:  # empty vocabulary
        pass
    if any(k.strip() for k in keywords):
        terms = TfidfVectorizer(tokenizer=_split_keywords, token_pattern=None, lowercase=False,
                                sublinear_tf=True, dtype=np.float64)
        try:
            blocks.append(KEYWORD_WEIGHT * terms.fit_transform(keywords))
        except ValueError:
            pass
    if not blocks:
        return None
    return hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0].tocsr()


def scores(features: Any, train: np.ndarray, labels: np.ndarray, seed: int,
           rows: np.ndarray) -> np.ndarray:
    """Decision values for *rows* of a model trained on rows *train* with *labels* (0/1,
    both present). Larger = more likely an include."""
    import numpy as np
    from sklearn.svm import LinearSVC

    n_inc = int(labels.sum())
    n_exc = labels.shape[0] - n_inc
    weight = np.where(labels == 1, 1.0, n_inc / (INCLUDE_WEIGHT * n_exc))
    weight *= labels.shape[0] / weight.sum()
    model = LinearSVC(C=C, random_state=seed)
    model.fit(features[train], labels, sample_weight=weight)
    return model.decision_function(features[rows])


#: ``scores``' signature: (features, train rows, their labels, seed, rows to score) -> values.
Scorer = Callable[[Any, "np.ndarray", "np.ndarray", int, "np.ndarray"], "np.ndarray"]


def order_rows(features: Any, labels: np.ndarray, tiebreak: np.ndarray, seed: int,
               scorer: Scorer | None = None) -> np.ndarray:
    """Undecided rows (``labels == -1``), most likely include first.

    ``labels``: 1, 0, or -1 (undecided) per row; ``tiebreak``: a random key per
    row (:func:`random_keys`). Before at least one include and one exclude
    (or without features) the order is by *tiebreak* alone. *scorer* replaces
    :func:`scores` (the benchmark compares models this way).
    """
    import numpy as np
    pending = np.flatnonzero(labels < 0)
    decided = np.flatnonzero(labels >= 0)
    known = labels[decided]
    if features is None or pending.size == 0 or known.sum() == 0 or known.sum() == known.size:
        return pending[np.argsort(tiebreak[pending], kind="stable")]
    value = (scorer or scores)(features, decided, known, seed, pending)
    return pending[np.lexsort((tiebreak[pending], -value))]


#: Feature matrices of the last few calls of :func:`rank`, by a digest of their texts: the
#: features do not depend on the decisions, so a screening page that re-ranks after each
#: batch only retrains the model (the matrix is read-only once built).
_FEATURE_CACHE: dict[bytes, Any] = {}
_FEATURE_CACHE_SIZE = 4


def _cached_features(titles: list[str], abstracts: list[str], keywords: list[str]) -> Any:
    import hashlib  # here, not at the top: the listing with nothing to rank never needs it
    digest = hashlib.sha256()
    for part in (*titles, *abstracts, *keywords):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    digest.update(str(len(titles)).encode())
    key = digest.digest()
    if key not in _FEATURE_CACHE:
        if len(_FEATURE_CACHE) >= _FEATURE_CACHE_SIZE:
            _FEATURE_CACHE.pop(next(iter(_FEATURE_CACHE)))
        _FEATURE_CACHE[key] = build_features(titles, abstracts, keywords)
    return _FEATURE_CACHE[key]


def rank(items: Sequence[RankingItem], seed: int) -> list[str]:
    """The undecided items' keys, most likely include first (reproducible for a seed)."""
    import numpy as np
    keys = [item.key for item in items]
    features = _cached_features([i.title for i in items], [i.abstract for i in items],
                                [i.keywords for i in items])
    labels = np.array([-1 if i.label is None else int(i.label) for i in items], dtype=np.int64)
    order = order_rows(features, labels, random_keys(keys, seed), seed)
    return [keys[i] for i in order]
