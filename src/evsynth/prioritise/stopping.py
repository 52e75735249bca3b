"""When is it safe to stop screening? A statistical stopping criterion with a stated recall.

Pure functions on the sequence of screening decisions in the order they were
made (1 = include, 0 = exclude) and the number of records there are in all.

The criterion (Callaghan & Müller-Bloch 2020, "Statistical stopping criteria
for automated screening in systematic reviews", Systematic Reviews 9:273)
tests the null hypothesis *H0: recall so far is below the target τ*:

* ``N`` records in all, ``t`` screened in the order ``x_1 … x_t``,
  ``r = Σ x_i`` includes found.
* Recall ``r / R`` (``R`` = includes there are) is below ``τ`` exactly when
  ``R > r / τ``, so under H0 at least ``floor(r / τ) + 1`` includes exist.
* Take the last ``n`` records screened as a sample drawn without replacement
  from the "urn" of those ``n`` plus the ``N − t`` not yet screened
  (``M = N − t + n`` records). If ``k`` includes are in the sample and
  ``r_AL = r − k`` were found before it, H0 needs at least
  ``K̂ = floor(r / τ) + 1 − r_AL`` includes in the urn.
* ``p_n = P(X ≤ k)`` for ``X ~ Hypergeometric(M, K̂, n)`` (the smallest
  ``K̂`` is the one most favourable to H0; if ``K̂ > M`` the urn cannot hold
  that many and ``p_n = 0``).
* Every window ``n = 1 … t`` is tried and ``p = min_n p_n``. H0 is rejected
  (the criterion is *met*) when ``p < 1 − confidence``.

Windows, and what the rule promises. ``p_n`` is a valid p-value only if the
window's ``n`` records are a random draw from the urn. The windows worth trying
start right after an include (see below), so the window is picked *by* the
decisions it holds; taking the plain minimum over windows, as Callaghan &
Müller-Bloch do, then rejects a true H0 more often than ``1 − confidence``
(in a random screening order, 400 shuffled sequences each: 7.2 % with 10
includes in 500 records, 12.2 % with 50, for a nominal 5 %;
``benchmarks/bench_stopping_random.py``). So the error
allowance ``α = 1 − confidence`` is split over the windows by the number of
includes ``k`` they hold — a weighted Bonferroni correction:

* ``α_k = α / 2^(k+1)`` for ``k = 0 … r − 1`` (half for the records screened
  since the last include, a quarter for the window holding one include, …),
* ``α_r = α / 2^r`` for the whole sequence (the weights add up to 1),

and H0 is rejected when some window has ``p_n < α_k``. The reported p-value
is ``min_n p_n / w_k`` (``w_k = α_k / α``), capped at 1. Why each window's
test holds on its own in a random order: the window starts right after an
include, and given everything up to that include, the records after it (in
the window or not yet screened) are in random order, so the window is a
random draw from its urn. ``correction = "none"`` gives the published rule
(plain minimum) for comparison.

What it still does not cover: the criterion is checked after every decision
(multiple looks). Within a run of excludes ``p`` only falls, so each run is
one look in effect, and the rule's error in a random order measured at most
4.0 % for a nominal 5 % (``bench_stopping_random.py``: five shuffled settings
of 400 sequences, the four Cohen et al. sets in 50 random orders each); that is
a measurement, not a proof.

In a ranked order the windows are not random draws, and what that does
depends on the ranking. When it works, records ranked higher hold includes
more densely than those ranked lower, so the records screened most recently
hold *more* includes than a random draw from them and the rest would: ``p``
comes out larger and the rule is cautious (``benchmarks/bench_screening.py``
measures recall at stop on the Cohen et al. 2006 data). When the ranking
hides includes it cannot tell from the rest at the bottom of the order, the
recent records are *poorer* than what is left and the rule can stop short of
the target; the benchmark's artificial 50,000-record set (the four sets
repeated, so every hidden include is hidden twelve times) shows it. Only
screening a random sample of what is left removes that dependence: the
random-sample check at the end of this module (:func:`sample_p_value`,
used by :mod:`evsynth.prioritise.sample`).

Within a run of irrelevant records the window's ``k`` stays put while ``n``
and ``M`` grow by one, which can only lower ``p_n``; so among the windows
holding ``k`` includes the smallest ``p_n`` is the longest one — the whole
sequence, or the one starting just after an include — and only those ``r + 1``
windows are computed (same value as trying all ``t``; checked in the tests).

"How many more": appending excludes can only lower ``p`` (each window grows
by one irrelevant record), so the smallest number of further records that
would meet the criterion *if none of them is an include* is found by
bisection. It is a lower bound on the work left, not a promise.

Other published rules are here too, as pure functions on a fully screened order, for the
comparison in ``benchmarks/bench_screening.py`` (``docs/methods/stopping.md``): the target
method (:func:`target_method_stop`), the quantile binomial coefficient bound
(:func:`qbcb_stop`) and point-process stopping (:func:`point_process_stop`). With the 20–42
includes of the benchmark sets the two sample-based rules read every record at 95 % / 95 %
(they need about 60 includes in their sample), the point process with its source's settings
never fires, and none replaced the criterion above.

The number of irrelevant records in a row at the end (:attr:`StoppingStatus.irrelevant_streak`)
is the popular heuristic ("stop after so many irrelevant in a row"); it is
reported as a heuristic and gives no guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from evsynth.core.errors import EvsynthError


@dataclass(frozen=True)
class StoppingStatus:
    """Where a review stands against its stopping criterion."""

    #: Records screened so far (``t``) and records in all (``N``).
    screened: int
    total: int
    #: Includes found among the screened records (``r``).
    includes_found: int
    target_recall: float
    confidence: float
    #: ``min_n p_n``: the p-value of H0 "recall is below the target".
    p_value: float
    #: ``p_value < 1 − confidence``.
    met: bool
    #: Further records that would meet the criterion if none of them is an
    #: include (0 when met; a lower bound on the work left).
    more_needed: int
    #: Heuristic only: irrelevant records in a row at the end of the sequence.
    irrelevant_streak: int
    #: A caveat the screening views add to :meth:`describe` (e.g. for an unranked order).
    note: str = ""
    #: Which rule the status is of: ``hypergeometric`` (this module) or ``rate``
    #: (:mod:`evsynth.prioritise.rate_rule`).
    rule: str = "hypergeometric"

    def describe(self) -> str:
        """One line for the screening views."""
        head = (f"{self.screened} of {self.total} records screened at title/abstract, "
                f"{self.includes_found} include{'s' if self.includes_found != 1 else ''} found. ")
        target = f"recall ≥ {_percent(self.target_recall)} with {_percent(self.confidence)} confidence"
        tail = f" {self.note}" if self.note else ""
        left = self.total - self.screened
        if self.rule == "rate":
            name = "Stopping rule (ranked rate)"
            if self.met:
                return head + f"{name} MET: {target} (p = {self.p_value:.3g})." + tail
            return (head + f"{name} not met for {target} (p = {self.p_value:.3g}); about "
                    f"{self.more_needed} more of the {left} left, if none of them is an "
                    "include." + tail)
        if self.met:
            return head + f"Stopping criterion MET: {target} (p = {self.p_value:.3g})." + tail
        return (head + f"Stopping criterion not met for {target} (p = {self.p_value:.3g}); "
                f"at least {self.more_needed} more of the {left} left, if none of them is an "
                "include." + tail)

    def heuristic(self) -> str:
        """The irrelevant-in-a-row count, labelled as a heuristic."""
        streak = self.irrelevant_streak
        if self.screened == 0:
            said = "nothing screened yet."
        elif streak == 0:
            said = "the last record screened was an include."
        elif streak == 1:
            said = "the last record screened was excluded."
        else:
            said = f"the last {streak} records screened were all excluded."
        return "Heuristic only, no guarantee: " + said


def _percent(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return text + " %"


def check_target(target_recall: float, confidence: float) -> None:
    """A one-line error unless 0 < target_recall ≤ 1 and 0 < confidence < 1."""
    if not (0.0 < target_recall <= 1.0):
        raise EvsynthError(f"target recall must be above 0 and at most 1, not {target_recall}")
    if not (0.0 < confidence < 1.0):
        raise EvsynthError(f"confidence must be above 0 and below 1, not {confidence}")


#: Floating-point slack: p must be below 1 − confidence by more than this to count
#: (so p = 0.05 computed as 0.04999999999999999 does not meet a 95 % criterion).
_SLACK = 1e-12


def rejects(p: float, alpha: float) -> bool:
    """H0 rejected: *p* below ``alpha`` by more than the floating-point slack."""
    return p < alpha - _SLACK


def _as_labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    import numpy as np
    array = np.asarray(labels, dtype=np.int64)
    if array.ndim != 1 or not np.isin(array, (0, 1)).all():
        raise EvsynthError("screening decisions must be a sequence of 0 (exclude) and 1 (include)")
    return array


#: How the error allowance is shared among the windows (module docstring).
CORRECTIONS = ("bonferroni", "none")


def _check_correction(correction: str) -> None:
    if correction not in CORRECTIONS:
        raise EvsynthError(f"stopping correction must be one of {', '.join(CORRECTIONS)}, "
                           f"not {correction!r}")


def window_shares(k: np.ndarray, r: int, correction: str = "bonferroni") -> np.ndarray:
    """``−log2 w_k`` (integers). The share of the error allowance for a window holding
    *k* of the *r* includes is ``w_k = 1 / 2^(k+1)`` for ``k < r`` and ``1 / 2^r`` for the
    whole sequence (``k = r``); ``w_k = 1`` (exponent 0) with ``correction = "none"``
    (the plain minimum). Kept as exponents: ``2^−(k+1)`` is below the smallest double
    once ``k`` passes 1,073."""
    import numpy as np
    k = np.asarray(k, dtype=np.int64)
    if correction == "none":
        return np.zeros_like(k)
    return np.where(k >= r, r, k + 1)


def _windows(include_positions: np.ndarray, t: int, total: int, target_recall: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The candidate windows after *t* decisions (module docstring): the whole sequence and
    the windows starting just after each include — their sizes ``n``, includes ``k(n)``
    (``r`` minus the includes before the window), ``K̂`` and urn sizes ``M = N − t + n``."""
    import numpy as np
    r = include_positions.shape[0]
    sizes = np.concatenate((t - include_positions - 1, [t]))
    sizes = sizes[sizes > 0]
    k = r - np.searchsorted(include_positions, t - sizes, side="left")
    k_hat = math.floor(r / target_recall) + 1 - (r - k)
    return sizes, k, k_hat, total - t + sizes


def _p_value(labels: np.ndarray, include_positions: np.ndarray, total: int,
             target_recall: float, correction: str = "bonferroni") -> float:
    """``min_n p_n / w_k`` over the windows that can give the minimum (module docstring),
    capped at 1; ``p_n / w_k = p_n · 2^shares`` is exact in floating point (``ldexp``)."""
    import numpy as np
    from scipy.stats import hypergeom

    t = labels.shape[0]
    if t == 0:
        return 1.0
    r = include_positions.shape[0]
    sizes, k, k_hat, urn = _windows(include_positions, t, total, target_recall)
    impossible = k_hat > urn
    p = np.where(impossible, 0.0, hypergeom.cdf(k, urn, np.minimum(k_hat, urn), sizes))
    with np.errstate(over="ignore"):  # p · 2^shares may pass the largest double: inf, capped below
        adjusted = np.ldexp(p, window_shares(k, r, correction))
    return float(min(1.0, adjusted.min()))


def h0_p_value(labels: Sequence[int] | np.ndarray, total: int, target_recall: float = 0.95,
               correction: str = "bonferroni") -> float:
    """p-value of H0 "recall is below *target_recall*" after screening *labels* in order.

    ``labels``: decisions in screening order (1 include, 0 exclude); ``total``:
    records in all, screened or not (``N ≥ len(labels)``); *correction*: one of
    :data:`CORRECTIONS` (module docstring).
    """
    import numpy as np
    array = _as_labels(labels)
    if total < array.shape[0]:
        raise EvsynthError(f"{array.shape[0]} records screened but only {total} in all")
    check_target(target_recall, 0.5)
    _check_correction(correction)
    return _p_value(array, np.flatnonzero(array), total, target_recall, correction)


def stopping_status(labels: Sequence[int] | np.ndarray, total: int, *,
                    target_recall: float = 0.95, confidence: float = 0.95,
                    correction: str = "bonferroni") -> StoppingStatus:
    """The criterion for decisions *labels* (screening order) among *total* records."""
    import numpy as np
    check_target(target_recall, confidence)
    _check_correction(correction)
    array = _as_labels(labels)
    t = array.shape[0]
    if total < t:
        raise EvsynthError(f"{t} records screened but only {total} in all")
    positions = np.flatnonzero(array)
    alpha = 1.0 - confidence
    p = _p_value(array, positions, total, target_recall, correction)
    met = rejects(p, alpha)
    more = 0 if met else _more_needed(array, positions, total, target_recall, alpha, correction)
    streak = t - (int(positions[-1]) + 1) if positions.size else t
    return StoppingStatus(screened=t, total=total, includes_found=int(positions.size),
                          target_recall=target_recall, confidence=confidence, p_value=p,
                          met=met, more_needed=more, irrelevant_streak=streak)


def _more_needed(labels: np.ndarray, positions: np.ndarray, total: int,
                 target_recall: float, alpha: float, correction: str) -> int:
    """Smallest m ≤ N − t such that m further excludes meet the criterion (bisection)."""
    import numpy as np
    left = total - labels.shape[0]

    def met_after(m: int) -> bool:
        import numpy as np
        extended = np.concatenate((labels, np.zeros(m, dtype=np.int64)))
        return rejects(_p_value(extended, positions, total, target_recall, correction), alpha)

    return _first_true(met_after, 0, left)  # met_after(left): all screened, p = 0


def _first_true(met: Callable[[int], bool], low: int, high: int) -> int:
    """The smallest ``m`` in ``low … high`` with ``met(m)``, for a *met* that stays true
    once true and holds at *high* (bisection)."""
    while low < high:
        mid = (low + high) // 2
        if met(mid):
            high = mid
        else:
            low = mid + 1
    return low


def first_stop(labels: Sequence[int] | np.ndarray, *, target_recall: float = 0.95,
               confidence: float = 0.95, correction: str = "bonferroni") -> int | None:
    """Records screened when the criterion is first met, replaying a fully screened
    sequence (``total = len(labels)``) one decision at a time; ``None`` if never.

    Used by ``evsynth simulate``. The answer is the one checking after every
    decision gives, found with far fewer checks: between two includes only
    excludes are appended, and appending an exclude can only lower ``p`` (module
    docstring), so within each such stretch the criterion is met from some point
    on or not at all. Each stretch is checked at its last decision and, if met
    there, bisected for the first one: about ``r + 1 + log2(N)`` checks of at most
    ``r + 1`` windows each instead of ``N`` checks (``tests/test_stopping.py``
    compares it with the decision-by-decision replay); of those windows, the ones
    a bound shows cannot reject are not computed (:func:`_rejected`).
    """
    import numpy as np
    check_target(target_recall, confidence)
    _check_correction(correction)
    array = _as_labels(labels)
    total = array.shape[0]
    positions = np.flatnonzero(array)
    alpha = 1.0 - confidence

    def met(t: int) -> bool:
        import numpy as np
        seen = positions[: np.searchsorted(positions, t)]
        return _rejected(t, seen, total, target_recall, alpha, correction)

    return _first_met(met, positions, total)


#: A window is left out of :func:`_rejected` when a bound shows ``p_n / w_k`` is at least this
#: many times ``α`` (so the window could not have rejected H0, with room to spare for the
#: rounding of the probability computed otherwise).
_PRUNE_AT = 1.5


def _rejected(t: int, include_positions: np.ndarray, total: int, target_recall: float,
              alpha: float, correction: str) -> bool:
    """``rejects(_p_value(...), alpha)`` for the first *t* decisions, with the includes at
    *include_positions*: the same answer, computing ``p_n`` only for the windows that could
    reject. Markov's inequality bounds each window's ``p_n = P(X ≤ k) ≥ 1 − E[X] / (k + 1)``
    with ``E[X] = n·K̂ / M``; where that bound times ``2^(k+1)`` (or ``2^r``) is at least
    :data:`_PRUNE_AT` ``· α``, ``p_n / w_k ≥ 1.5·α`` and the window is skipped. Most windows
    of a long sequence are (those holding many includes, and the short ones after the last
    includes), so a replay of 50,000 records with 1,617 includes computes a small share of
    the hypergeometric probabilities ``_p_value`` would."""
    import numpy as np
    from scipy.stats import hypergeom

    if t == 0:
        return False
    r = include_positions.shape[0]
    sizes, k, k_hat, urn = _windows(include_positions, t, total, target_recall)
    impossible = k_hat > urn
    if impossible.any():
        return rejects(0.0, alpha)
    shares = window_shares(k, r, correction)
    bound = 1.0 - sizes * (k_hat / urn) / (k + 1)
    with np.errstate(over="ignore"):
        keep = (bound <= 0.0) | (np.ldexp(np.maximum(bound, 0.0), shares) < _PRUNE_AT * alpha)
    if not keep.any():
        return False
    p = hypergeom.cdf(k[keep], urn[keep], k_hat[keep], sizes[keep])
    with np.errstate(over="ignore"):
        adjusted = np.ldexp(p, shares[keep])
    return rejects(float(min(1.0, adjusted.min())), alpha)


def _first_met(met: Callable[[int], bool], positions: np.ndarray, total: int) -> int | None:
    """The first ``t`` in 1 … *total* with ``met(t)``, where ``met`` can only turn true within
    a stretch of ``t`` that adds no include (*positions*: the includes' 0-based positions):
    each stretch ``[1, p0], [p0+1, p1], …`` is checked at its end and bisected if met there."""
    import numpy as np
    starts = np.concatenate(([1], positions + 1))
    ends = np.concatenate((positions, [total]))
    for low, high in zip(starts.tolist(), ends.tolist()):
        if low <= high and met(high):
            return _first_true(met, low, high)
    return None


# --- the random-sample check -----------------------------------------------------------
#
# Callaghan & Müller-Bloch's variant that does not lean on the ranking: at some point
# the records still unscreened (the urn, ``N_s`` of them) are put in a random order and
# screened in it. The first ``n`` of that order are a random draw from the urn, so the
# hypergeometric test is exact for them, whatever the ranking did before. With
# ``r_b`` includes found before the sample began and ``k`` among the ``n`` drawn,
# ``r = r_b + k`` and H0 "recall < target" needs ``K̂ = floor(r / τ) + 1 − r_b`` includes
# in the urn: ``p_k(n) = P(X ≤ k)``, ``X ~ Hypergeometric(N_s, K̂, n)``.
#
# Checked after every decision, and still exact: while the sample holds ``k`` includes,
# ``K̂`` is fixed and ``p_k(n)`` only falls as ``n`` grows, so the rule fires during that
# stretch exactly when the (k+1)-th include of the sample has not come by the first ``n*_k``
# with ``p_k(n*_k) < α_k``, a number fixed in advance. If recall is below the target there,
# the urn holds at least ``K̂`` includes and that happens with probability at most
# ``p_k(n*_k) < α_k``. Giving stretch ``k`` the share ``α_k = α / 2^(k+1)`` (they add up to
# α), the rule stops short of the target with probability at most α, for any urn: a
# bound, not a measurement. The reported p-value is ``min(1, p_k(n) · 2^(k+1))``.


def sample_p_value(drawn: int, includes: int, urn: int, includes_before: int,
                   target_recall: float = 0.95) -> float:
    """p-value of H0 "recall is below *target_recall*" after *drawn* records of a random
    sample from an urn of *urn* records held *includes* includes, *includes_before* having
    been found before the sample began: ``min(1, p_k(n) · 2^(k+1))`` (formula above)."""
    import numpy as np
    from scipy.stats import hypergeom

    check_target(target_recall, 0.5)
    if not 0 <= includes <= drawn <= urn or includes_before < 0:
        raise EvsynthError(f"a sample of {drawn} records with {includes} includes cannot come "
                           f"from {urn} records")
    if drawn == 0:
        return 1.0
    found = includes_before + includes
    k_hat = math.floor(found / target_recall) + 1 - includes_before
    if k_hat > urn:
        return 0.0
    with np.errstate(over="ignore"):  # the share 2^-(k+1) may pass below the smallest double
        return float(min(1.0, np.ldexp(hypergeom.cdf(includes, urn, k_hat, drawn), includes + 1)))


def sample_more_needed(drawn: int, includes: int, urn: int, includes_before: int,
                       target_recall: float = 0.95, confidence: float = 0.95) -> int:
    """Further records of the sample that would meet the criterion if none of them is an
    include (0 when met): ``p`` falls as ``n`` grows with ``k`` fixed, so bisection;
    with the whole urn drawn ``p = 0``."""
    alpha = 1.0 - confidence

    def met_after(m: int) -> bool:
        return rejects(sample_p_value(drawn + m, includes, urn, includes_before, target_recall),
                       alpha)

    return _first_true(met_after, 0, urn - drawn)


def first_sample_stop(sample: Sequence[int] | np.ndarray, includes_before: int, *,
                      target_recall: float = 0.95, confidence: float = 0.95) -> int | None:
    """Records of a random sample (decisions in its order, the whole urn) screened when the
    random-sample check is first met; ``None`` if never. Within a stretch without a new
    include ``p`` only falls, so each stretch is checked at its end and bisected, as in
    :func:`first_stop`."""
    import numpy as np
    check_target(target_recall, confidence)
    array = _as_labels(sample)
    urn = array.shape[0]
    positions = np.flatnonzero(array)
    alpha = 1.0 - confidence

    def met(n: int) -> bool:
        import numpy as np
        found = int(np.searchsorted(positions, n))
        return rejects(sample_p_value(n, found, urn, includes_before, target_recall), alpha)

    return _first_met(met, positions, urn)


# --- other published rules, compared in benchmarks/bench_screening.py ----------------------
#
# Each takes the decisions in the order the records were screened (the ranking, or a random
# order) and says where a reviewer following the rule stops: a :class:`RuleStop` with the
# records read (for the sample-based rules, the random sample *and* the ranked records, each
# record counted once) and the includes among them. ``None`` never happens: a rule that
# cannot fire reads every record.


@dataclass(frozen=True)
class RuleStop:
    """Where a rule stopped: records read in all (``examined``) and includes among them."""

    examined: int
    found: int


def _read_all(labels: np.ndarray) -> RuleStop:
    return RuleStop(int(labels.shape[0]), int(labels.sum()))


def target_set_size(target_recall: float = 0.95, confidence: float = 0.95) -> int:
    """Size of the target set of the target method (Cormack & Grossman 2016):
    ``t = ⌈−ln(1 − confidence) / (1 − target_recall)⌉`` (60 for 95 % / 95 %).

    Cormack, G. V. & Grossman, M. R. (2016). Engineering quality and reliability in
    technology-assisted review. SIGIR '16, doi:10.1145/2911451.2911510. The formula is the
    one of the reference implementation of Sneyd & Stevenson's comparisons
    (``target_method_fns.get_target_size``): the smallest ``t`` with
    ``exp(−t(1 − τ)) ≤ 1 − confidence``; as ``τ^t ≤ exp(−t(1 − τ))``, the chance that all
    ``t`` random targets lie where recall is still below ``τ`` is at most ``1 − confidence``.
    """
    check_target(target_recall, confidence)
    if target_recall >= 1.0:
        raise EvsynthError("the target method needs a target recall below 1")
    return math.ceil(-math.log(1.0 - confidence) / (1.0 - target_recall))


def _sample_positives(labels: np.ndarray, sample_order: np.ndarray, wanted: int
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Draw records in *sample_order* (positions in the screening order) until *wanted*
    includes are drawn: (the positions drawn, the includes' positions among them); ``None``
    if the records hold fewer includes."""
    import numpy as np

    hits = np.flatnonzero(labels[sample_order])
    if hits.shape[0] < wanted:
        return None
    drawn = sample_order[: int(hits[wanted - 1]) + 1]
    return drawn, sample_order[hits[:wanted]]


def _after_sample(labels: np.ndarray, drawn: np.ndarray, stop: int) -> RuleStop:
    """The ranked records up to *stop* plus the drawn records beyond it."""
    beyond = drawn[drawn >= stop]
    return RuleStop(stop + int(beyond.shape[0]),
                    int(labels[:stop].sum()) + int(labels[beyond].sum()))


def target_method_stop(labels: Sequence[int] | np.ndarray, sample_order: Sequence[int] | np.ndarray,
                       *, target_recall: float = 0.95, confidence: float = 0.95) -> RuleStop:
    """The target method (Cormack & Grossman 2016): draw records at random (*sample_order*,
    a permutation of the screening positions) until ``t`` = :func:`target_set_size` includes
    — the target set — are drawn; screen in order until every target is found; stop. With
    fewer than ``t`` includes in all, every record is read. Guarantee (proved, for any
    order): recall ≥ τ with probability ≥ *confidence*, because the targets are a random
    draw of the includes."""
    import numpy as np

    array = _as_labels(labels)
    t = target_set_size(target_recall, confidence)
    got = _sample_positives(array, np.asarray(sample_order, dtype=np.int64), t)
    if got is None:
        return _read_all(array)
    drawn, targets = got
    return _after_sample(array, drawn, int(targets.max()) + 1)


def qbcb_sizes(target_recall: float = 0.95, confidence: float = 0.95,
               positives: int | None = None) -> tuple[int, int]:
    """``(r, j)`` of the quantile binomial coefficient bound (QBCB; Lewis, Yang & Frieder 2021):
    a random sample holding ``r`` includes is drawn, and the review may stop once it has found
    ``j`` of them, ``j = 1 + min{k : P(Bin(r, τ) ≤ k) ≥ confidence}``. *positives* = ``r``;
    by default the smallest ``r`` for which ``j ≤ r`` exists (59 for 95 % / 95 %).

    Lewis, D. D., Yang, E. & Frieder, O. (2021). Certifying one-phase technology-assisted
    reviews. CIKM '21, 893–902, doi:10.1145/3459637.3482415.
    """
    from scipy.stats import binom

    check_target(target_recall, confidence)
    if positives is None:
        positives = 1
        while binom.cdf(positives - 1, positives, target_recall) < confidence - _SLACK:
            positives += 1
    cdf = binom.cdf(list(range(positives + 1)), positives, target_recall)
    j = 1 + next(k for k, c in enumerate(cdf) if c >= confidence - _SLACK)
    if j > positives:
        raise EvsynthError(f"a QBCB sample of {positives} includes cannot certify recall "
                           f"{target_recall} with confidence {confidence}")
    return positives, j


def qbcb_stop(labels: Sequence[int] | np.ndarray, sample_order: Sequence[int] | np.ndarray,
              *, target_recall: float = 0.95, confidence: float = 0.95,
              positives: int | None = None) -> RuleStop:
    """QBCB (:func:`qbcb_sizes`): draw in *sample_order* until ``r`` includes are drawn, then
    stop once the screening order has reached ``j`` of them. Every record is read when there
    are fewer than ``r`` includes. Guarantee (proved, any order): the ``j``-th smallest rank
    of ``r`` random includes bounds the ``τ`` quantile of all includes' ranks with
    probability ≥ *confidence*."""
    import numpy as np

    array = _as_labels(labels)
    r, j = qbcb_sizes(target_recall, confidence, positives)
    got = _sample_positives(array, np.asarray(sample_order, dtype=np.int64), r)
    if got is None:
        return _read_all(array)
    drawn, targets = got
    return _after_sample(array, drawn, int(np.sort(targets)[j - 1]) + 1)


#: Rate functions of the point-process rule: ``rate(x) = a·exp(−k·x)`` (Sneyd & Stevenson)
#: and ``a·x^k`` (power law, Stevenson & Bin-Hezam).
RATES = ("exponential", "power")


def _fit_rate(labels: np.ndarray, screened: int, windows: int, rate: str
              ) -> tuple[float, float] | None:
    """Least-squares fit of the rate function to the share of includes in *windows* equal
    windows of the first *screened* records; ``None`` if the fit fails."""
    import numpy as np
    from scipy.optimize import curve_fit

    parts = np.array_split(np.arange(screened), windows)
    size = max(1, parts[0].shape[0])
    y = np.array([labels[p].sum() / size for p in parts if p.size], dtype=np.float64)
    if rate == "exponential":
        x = np.array([round((p[0] + p[-1]) / 2) for p in parts if p.size], dtype=np.float64)

        def f(v: np.ndarray, a: float, k: float) -> np.ndarray:
            return a * np.exp(-k * v)
        start = (0.1, 0.001)
    else:
        x = np.array([p[0] + 1 for p in parts if p.size], dtype=np.float64)

        def f(v: np.ndarray, a: float, k: float) -> np.ndarray:
            return a * np.power(v, k)
        start = (0.1, -0.5)
    try:
        with np.errstate(all="ignore"):
            (a, k), _ = curve_fit(f, x, y, p0=start, maxfev=5000)
    except (RuntimeError, ValueError, TypeError):
        return None
    if not (math.isfinite(a) and math.isfinite(k)):
        return None
    return float(a), float(k)


def _rate_integral(a: float, k: float, low: float, high: float, rate: str) -> float:
    """``∫ rate`` from *low* to *high* (the expected includes there)."""
    if rate == "exponential":
        if abs(k) < 1e-15:
            return a * (high - low)
        return a / k * (math.exp(-k * low) - math.exp(-k * high))
    if abs(k + 1.0) < 1e-12:
        return a * (math.log(high) - math.log(low))
    return a / (k + 1.0) * (high ** (k + 1.0) - low ** (k + 1.0))


def point_process_stop(labels: Sequence[int] | np.ndarray, *, target_recall: float = 0.95,
                       confidence: float = 0.95, rate: str = "exponential",
                       min_relevant: int = 20, start: float = 0.30, step: float = 0.05,
                       windows: int = 10) -> RuleStop:
    """Point-process stopping (Sneyd & Stevenson 2019; Stevenson & Bin-Hezam 2024).

    The includes are modelled as an inhomogeneous Poisson process along the ranking with
    rate ``λ(x)`` (:data:`RATES`). At each look (the first ``start`` share of the records,
    then every further ``step``), ``λ`` is fitted (least squares) to the share of includes
    in ``windows`` equal windows of the records screened; if the fit agrees with what was
    found (``found ≥ τ·round(∫₁ⁿ λ)``), the number of includes in all is predicted as the
    ``confidence`` quantile of ``Poisson(μ)``, ``μ = ∫ λ`` over the whole list, and the
    rule stops once ``found ≥ τ·that quantile``. Fewer than *min_relevant* includes by the
    first look: every record is read (the source's condition, 20 there).
    Guarantee: none proved — the Poisson quantile covers the count only if the fitted rate
    is the true one; the recall it reaches is measured (``benchmarks/bench_screening.py``).

    Sneyd, A. & Stevenson, M. (2019). Modelling stopping criteria for search results using
    Poisson processes. EMNLP-IJCNLP 2019, 3484–3489, doi:10.18653/v1/D19-1351.
    Stevenson, M. & Bin-Hezam, R. (2024). Stopping methods for technology assisted reviews
    based on point processes. ACM TOIS 42(3), doi:10.1145/3631990.
    """
    from scipy.stats import poisson

    check_target(target_recall, confidence)
    if rate not in RATES:
        raise EvsynthError(f"rate must be one of {', '.join(RATES)}, not {rate!r}")
    array = _as_labels(labels)
    total = int(array.shape[0])
    looks = []
    share = start
    while share < 1.0 - 1e-9:
        looks.append(int(round(total * share)))
        share += step
    cumulative = array.cumsum()
    if not looks or looks[0] < windows or int(cumulative[looks[0] - 1]) < min_relevant:
        return _read_all(array)
    for n in looks:
        found = int(cumulative[n - 1])
        fit = _fit_rate(array, n, windows, rate)
        if fit is None:
            continue
        a, k = fit
        low = 0.0 if rate == "exponential" else 1.0
        if found < target_recall * round(_rate_integral(a, k, low, float(n), rate)):
            continue
        mu = _rate_integral(a, k, low, float(total), rate)
        if not (math.isfinite(mu) and mu >= 0.0):
            continue
        predicted = float(poisson.ppf(confidence, mu))
        if math.isfinite(predicted) and target_recall * predicted <= found:
            return RuleStop(n, found)
    return _read_all(array)


def hypergeometric_stop(labels: Sequence[int] | np.ndarray, *, target_recall: float = 0.95,
                        confidence: float = 0.95, correction: str = "bonferroni") -> RuleStop:
    """:func:`first_stop` as a :class:`RuleStop` (every record read if it never fires)."""
    array = _as_labels(labels)
    stop = first_stop(array, target_recall=target_recall, confidence=confidence,
                      correction=correction)
    if stop is None:
        return _read_all(array)
    return RuleStop(stop, int(array[:stop].sum()))
