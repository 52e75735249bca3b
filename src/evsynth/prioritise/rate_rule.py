"""The ranked-rate stopping rule: how many includes can the rest of the ranking still hold?

Pure functions on the decisions in screening order (1 include, 0 exclude) and the number of
records in all. The hypergeometric criterion (:mod:`evsynth.prioritise.stopping`) treats the
records screened last as a random draw from them and the rest; a ranking that works puts
includes first, so that criterion is cautious and gives back little of what the ranking
earned. This rule instead *models* how the ranking thins out.

The model (an inhomogeneous Poisson process along the ranking, as in point-process stopping:
Sneyd & Stevenson 2019, doi:10.18653/v1/D19-1351; Stevenson & Bin-Hezam 2024,
doi:10.1145/3631990; here fitted by maximum likelihood to the include positions and bounded
by profile likelihood):

* The ranking starts after the first include (before it the order is the random start), at
  record ``s``. Of the ``t`` records screened, ``m = t − s`` are ranked; the ``k`` includes
  among them sit at ranked positions ``j_1 … j_k`` (``1 … m``), scaled ``x_i = j_i / m``.
* Include rate at ranked position ``j``: ``λ(j) = exp(c − b·j/m)``; ``b > 0`` means the
  ranking thins out, ``b = 0`` is no better than random, ``b < 0`` gets richer.
* Log-likelihood with ``c`` profiled out (``e^c = k / S(b)``, ``S(b) = Σ_{j=1}^{m} e^{−b j/m}``):
  ``ℓ(b) = k·log k − k·log S(b) − b·Σ x_i − k``, concave in ``b``.
* Includes expected among the ``L = N − t`` records left:
  ``Λ(b) = k · e^{−b} (1 − e^{−b L/m}) / (1 − e^{−b})`` (``k·L/m`` at ``b = 0``), which falls
  as ``b`` grows.
* ``b_low``: the lower end of the profile-likelihood interval for ``b`` at the review's
  confidence, ``2(ℓ(b̂) − ℓ(b_low)) = χ²₁(confidence)``; ``Λ_up = Λ(b_low)`` (the slowest
  thinning the data allow).
* Recall is below the target ``τ`` only if at least ``m* = floor(r/τ) + 1 − r`` includes are
  left (``r`` found in all). ``p = P(Y ≥ m*)`` for ``Y ~ Poisson(Λ_up)``; the rule is met when
  ``p < 1 − confidence`` and at least :data:`MIN_RANKED_INCLUDES` includes were found after
  the random start (a two-parameter fit needs a few events).

What is proved: nothing — the Poisson tail covers the count only if the rate has the assumed
shape. What is measured (``benchmarks/bench_screening.py``; ``docs/methods/stopping.md``): on
the four Cohen et al. (2006) sets it reached 95 % recall in every ranked run and in ≥ 95 % of
random orders, and left unscreened far more than the hypergeometric criterion; on two of nine
other sets of the collection (``benchmarks/bench_stopping_heldout.py``) it stopped short in
ranked order, in a long gap before a second group of includes. So it is experimental
(``[screening] stopping_rule = "rate"``), not the default. In a random
order the fitted ``b`` is near 0, the interval includes ``b = 0`` and ``Λ_up`` is the flat
rate times what is left, so the rule behaves like a count over the rest. It can fail like
every ranked rule when the ranking buries a whole kind of include at the bottom: the random-
sample check (:mod:`evsynth.prioritise.sample`) is the rule whose promise does not lean on
the ranking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evsynth.core.errors import EvsynthError
from evsynth.prioritise.stopping import (
    StoppingStatus, _first_met, _first_true, _p_value, check_target, rejects,
)

if TYPE_CHECKING:
    import numpy as np

#: Includes after the random start before the rule may fire (a judgement: two parameters are
#: fitted; stated in docs/methods/stopping.md).
MIN_RANKED_INCLUDES = 5

#: Search range of the thinning ``b`` (per ranked block; ``e^{±60}`` spans any real ranking).
_B_LOW, _B_HIGH = -60.0, 60.0


@dataclass(frozen=True)
class RateFit:
    """The fitted thinning of the ranking after ``t`` decisions."""

    #: Records after the random start (``m``) and includes among them (``k``).
    ranked: int
    ranked_includes: int
    #: Maximum-likelihood thinning ``b̂`` and the lower end of its interval ``b_low``.
    b_hat: float
    b_low: float
    #: Includes expected among the records left: at ``b̂`` and at ``b_low`` (``Λ_up``).
    expected_left: float
    expected_left_upper: float


def _log_abs_expm1(z: float) -> float:
    """``log |e^z − 1|`` without overflow for large ``z``."""
    if z > 30.0:
        return z + math.log1p(-math.exp(-z))
    return math.log(abs(math.expm1(z)))


def _log_s(b: float, m: int) -> float:
    """``log Σ_{j=1}^{m} e^{−b j/m}`` in closed form (a geometric sum), stable in ``b``."""
    if b == 0.0:
        return math.log(m)
    # S = e^{−b/m} (1 − e^{−b}) / (1 − e^{−b/m})
    return -b / m + _log_abs_expm1(-b) - _log_abs_expm1(-b / m)


def _loglik(b: float, k: int, sum_x: float, m: int) -> float:
    return k * math.log(k) - k * _log_s(b, m) - b * sum_x - k


def _expected_left(b: float, k: int, m: int, left: int) -> float:
    """``Λ(b) = k e^{−b} (1 − e^{−bL/m}) / (1 − e^{−b})``."""
    if left <= 0:
        return 0.0
    if b == 0.0:
        return k * left / m
    log_value = math.log(k) - b + _log_abs_expm1(-b * left / m) - _log_abs_expm1(-b)
    return math.exp(min(log_value, 700.0))


def fit_rate(labels: Sequence[int] | np.ndarray, total: int, confidence: float = 0.95
             ) -> RateFit | None:
    """The fit above for decisions *labels* (screening order) among *total* records;
    ``None`` before any include after the random start."""
    import numpy as np
    array = np.asarray(labels, dtype=np.int64)
    positions = np.flatnonzero(array)
    if positions.size < 2:
        return None
    start = int(positions[0]) + 1
    m = int(array.shape[0]) - start
    ranked = positions[1:] - start + 1          # 1 … m
    return _fit(int(ranked.size), float(ranked.sum()) / m, m, total - int(array.shape[0]),
                confidence)


def _fit(k: int, sum_x: float, m: int, left: int, confidence: float) -> RateFit:
    from scipy.optimize import brentq, minimize_scalar
    from scipy.stats import chi2

    def negative(b: float) -> float:
        return -_loglik(b, k, sum_x, m)

    best = minimize_scalar(negative, bounds=(_B_LOW, _B_HIGH), method="bounded",
                           options={"xatol": 1e-10})
    b_hat = float(best.x)
    top = _loglik(b_hat, k, sum_x, m)
    drop = chi2.ppf(confidence, 1) / 2.0

    def gap(b: float) -> float:
        return top - _loglik(b, k, sum_x, m) - drop

    b_low = _B_LOW if gap(_B_LOW) <= 0 else float(brentq(gap, _B_LOW, b_hat, xtol=1e-12))
    return RateFit(ranked=m, ranked_includes=k, b_hat=b_hat, b_low=b_low,
                   expected_left=_expected_left(b_hat, k, m, left),
                   expected_left_upper=_expected_left(b_low, k, m, left))


def misses_allowed_below(found: int, target_recall: float) -> int:
    """``m* = floor(r/τ) + 1 − r``: the fewest includes left that put recall below ``τ``."""
    return math.floor(round(found / target_recall, 9)) + 1 - found


def rate_p_value(labels: Sequence[int] | np.ndarray, total: int, *, target_recall: float = 0.95,
                 confidence: float = 0.95) -> float:
    """``P(Y ≥ m*)``, ``Y ~ Poisson(Λ_up)`` (module docstring); 1 while fewer than
    :data:`MIN_RANKED_INCLUDES` includes came after the random start."""
    import numpy as np
    from scipy.stats import poisson

    array = np.asarray(labels, dtype=np.int64)
    if array.shape[0] >= total:
        return 0.0
    fit = fit_rate(array, total, confidence)
    if fit is None or fit.ranked_includes < MIN_RANKED_INCLUDES:
        return 1.0
    needed = misses_allowed_below(int(array.sum()), target_recall)
    return float(poisson.sf(needed - 1, fit.expected_left_upper))


def first_rate_stop(labels: Sequence[int] | np.ndarray, *, target_recall: float = 0.95,
                    confidence: float = 0.95, gate: float | None = None) -> int | None:
    """Records screened when the rule is first met, replaying a fully screened sequence
    (``total = len(labels)``); ``None`` if never.

    *gate* (exploratory, benchmarks only): also require the hypergeometric criterion
    (:func:`evsynth.prioritise.stopping.h0_p_value`) to be met at confidence *gate* — a
    guard against stopping in a gap before a second group of includes (what the ungated rule
    did on two held-out sets; ``docs/methods/stopping.md``).

    Each check is O(1) after prefix sums (the
    fit needs only ``k``, ``Σ x`` and ``m``). Within a stretch of excludes ``p`` falls as
    the stretch grows (``Σ x`` and the records left shrink; seen in every case measured, not
    proved), so each stretch is checked at its end and bisected, as
    :func:`evsynth.prioritise.stopping.first_stop` does; ``tests/test_rate_rule.py`` compares
    it with checking after every decision."""
    import numpy as np
    from scipy.stats import poisson

    array = np.asarray(labels, dtype=np.int64)
    total = int(array.shape[0])
    positions = np.flatnonzero(array)
    if positions.size < 1 + MIN_RANKED_INCLUDES:
        return None
    start = int(positions[0]) + 1
    alpha = 1.0 - confidence
    found = np.cumsum(array)
    ranked_positions = np.arange(1, total + 1) - start        # ranked index of record t
    ranked_sum = np.cumsum(np.where(ranked_positions > 0, array * ranked_positions, 0))
    first = int(positions[MIN_RANKED_INCLUDES]) + 1

    def met(t: int) -> bool:
        if t >= total:
            return True          # everything screened (reported as never: see below)
        if t < first:
            return False
        m = t - start
        k = int(found[t - 1]) - 1
        fit = _fit(k, float(ranked_sum[t - 1]) / m, m, total - t, confidence)
        needed = misses_allowed_below(int(found[t - 1]), target_recall)
        if not rejects(float(poisson.sf(needed - 1, fit.expected_left_upper)), alpha):
            return False
        if gate is None:
            return True
        seen = positions[: int(np.searchsorted(positions, t))]
        return rejects(_p_value(array[:t], seen, total, target_recall), 1.0 - gate)

    stop = _first_met(met, positions, total)
    return None if stop is None or stop >= total else stop


def rate_more_needed(labels: Sequence[int] | np.ndarray, total: int, *,
                     target_recall: float = 0.95, confidence: float = 0.95) -> int:
    """About how many further records would meet the rule if none of them is an include
    (0 when met): bisection over appended excludes. Appending excludes lowers ``Σ x`` and the
    records left, so ``p`` falls in every case measured; this is not proved, hence "about"."""
    import numpy as np
    array = np.asarray(labels, dtype=np.int64)
    left = total - int(array.shape[0])
    alpha = 1.0 - confidence

    def met_after(extra: int) -> bool:
        extended = np.concatenate((array, np.zeros(extra, dtype=np.int64)))
        p = rate_p_value(extended, total, target_recall=target_recall, confidence=confidence)
        return rejects(p, alpha)

    return _first_true(met_after, 0, left)  # met_after(left): all screened, p = 0


def rate_status(labels: Sequence[int] | np.ndarray, total: int, *, target_recall: float = 0.95,
                confidence: float = 0.95) -> StoppingStatus:
    """The rule's :class:`~evsynth.prioritise.stopping.StoppingStatus` (``rule = "rate"``)."""
    import numpy as np
    check_target(target_recall, confidence)
    array = np.asarray(labels, dtype=np.int64)
    t = int(array.shape[0])
    if total < t:
        raise EvsynthError(f"{t} records screened but only {total} in all")
    positions = np.flatnonzero(array)
    p = rate_p_value(array, total, target_recall=target_recall, confidence=confidence)
    met = rejects(p, 1.0 - confidence)
    more = 0 if met else rate_more_needed(array, total, target_recall=target_recall,
                                          confidence=confidence)
    streak = t - (int(positions[-1]) + 1) if positions.size else t
    return StoppingStatus(screened=t, total=total, includes_found=int(positions.size),
                          target_recall=target_recall, confidence=confidence, p_value=p,
                          met=met, more_needed=more, irrelevant_streak=streak, rule="rate")
