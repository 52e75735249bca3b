"""Estimators of the between-study variance τ² for the intercept-only random-effects model.

Names and definitions follow metafor's ``rma.uni(method = ...)`` (Viechtbauer
2005, 2010; ``help(rma.uni)``). With wᵢ = 1/vᵢ, S₁ = Σwᵢ, S₂ = Σwᵢ²,
ȳ_w the wᵢ-weighted mean and Q = Σwᵢ(yᵢ − ȳ_w)²:

``DL``   DerSimonian & Laird (1986): τ² = max(0, (Q − (k−1)) / (S₁ − S₂/S₁)).
``HE``   Hedges (1983) / Hedges & Olkin: τ² = max(0, (Σ(yᵢ−ȳ)² − (Σvᵢ − Σvᵢ/k)) / (k−1)).
``SJ``   Sidik & Jonkman (2005): τ₀² = Σ(yᵢ−ȳ)²/k, wᵢ = 1/(vᵢ+τ₀²),
         τ² = τ₀² Σwᵢ(yᵢ − ȳ_w)² / (k−1).
``PM``   Paule & Mandel (1982): the root of Q(τ²) = k − 1 with
         Q(τ²) = Σ(yᵢ − μ̂(τ²))²/(vᵢ+τ²); 0 when Q(0) < k − 1.
``ML``/``REML`` maximum and restricted maximum likelihood by Fisher scoring
         from the (truncated) HE estimate, step halving to stay >= 0, stopping
         when the change is below ``threshold`` (metafor's default 1e-5,
         ``maxiter`` 100), then metafor's check that the log-likelihood at τ² = 0
         is not higher (``ll0check``).
``EE``   equal-effects (common-effect) model: τ² = 0.

For k = 1 every estimator gives τ² = 0 (as metafor).
"""

from __future__ import annotations

import numpy as np
# scipy is imported inside the functions that use it: commands that only need this module's
# names (validate reads the analysis plan) start without loading scipy.

ESTIMATORS: tuple[str, ...] = ("DL", "REML", "PM", "ML", "HE", "SJ", "EE")

#: metafor ``rma.uni`` control defaults: ``threshold``, ``maxiter`` and ``tol`` (= ``.Machine$double.eps^0.25``).
FISHER_THRESHOLD = 1e-5
FISHER_MAXITER = 100
LL0_TOL = float(np.finfo(float).eps ** 0.25)


class ConvergenceError(ValueError):
    """An iterative estimator did not converge."""


def generalized_q(yi: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    """Q(τ²) = Σ wᵢ(yᵢ − μ̂)², wᵢ = 1/(vᵢ + τ²), μ̂ the wᵢ-weighted mean (Q(0) is Cochran's Q)."""
    w = 1.0 / (vi + tau2)
    mu = np.sum(w * yi) / np.sum(w)
    return float(np.sum(w * (yi - mu) ** 2))


def tau2_dl(yi: np.ndarray, vi: np.ndarray) -> float:
    """DerSimonian–Laird τ², truncated at 0.

    statsmodels ``combine_effects(method_re="chi2")`` computes the untruncated
    moment estimate (Q − (k−1))/(S₁ − S₂/S₁); metafor truncates it at 0.
    """
    # statsmodels is imported here, not at the top: it alone took seconds to import on a loaded
    # machine, and only DL needs it (every command that imports the pooling code paid for it)
    from statsmodels.stats.meta_analysis import combine_effects

    with np.errstate(invalid="ignore", divide="ignore"):  # its RE SE and I² are NaN/inf in corner cases
        return max(0.0, float(combine_effects(yi, vi, method_re="chi2").tau2))


def tau2_he(yi: np.ndarray, vi: np.ndarray) -> float:
    """Hedges' estimator: (Σ(yᵢ−ȳ)² − Σvᵢ(1 − 1/k)) / (k−1), truncated at 0."""
    k = len(yi)
    rss = float(np.sum((yi - yi.mean()) ** 2))
    return max(0.0, (rss - (vi.sum() - vi.sum() / k)) / (k - 1))


def tau2_sj(yi: np.ndarray, vi: np.ndarray) -> float:
    """Sidik–Jonkman: one weighted step from τ₀² = Σ(yᵢ−ȳ)²/k (metafor's default start)."""
    k = len(yi)
    tau0 = float(np.var(yi))  # population variance = var(yi) (k−1)/k in R
    return max(0.0, tau0 * generalized_q(yi, vi, tau0) / (k - 1))


def tau2_pm(yi: np.ndarray, vi: np.ndarray, upper: float = 100.0) -> float:
    """Paule–Mandel: the root of Q(τ²) = k − 1 (Brent's method, to 1e-12).

    metafor searches [0, 100] with ``uniroot(tol = .Machine$double.eps^0.25)``;
    here the bracket is widened when Q(100) is still above k − 1 instead of
    stopping with an error.
    """
    from scipy import optimize
    k = len(yi)
    target = k - 1
    if generalized_q(yi, vi, 0.0) < target:
        return 0.0
    while generalized_q(yi, vi, upper) > target:
        upper *= 10
        if upper > 1e12:
            raise ConvergenceError("Paule–Mandel: no root of Q(tau2) = k - 1 below 1e12")
    return float(optimize.brentq(lambda t: generalized_q(yi, vi, t) - target, 0.0, upper,
                                 xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=500))


def _loglik(yi: np.ndarray, vi: np.ndarray, tau2: float, reml: bool) -> float:
    """Log-likelihood (ML) or restricted log-likelihood (REML) of the intercept-only model."""
    w = 1.0 / (vi + tau2)
    mu = np.sum(w * yi) / np.sum(w)
    rss = np.sum(w * (yi - mu) ** 2)
    k = len(yi)
    if reml:
        return float(-0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(vi + tau2))
                     - 0.5 * np.log(np.sum(w)) - 0.5 * rss)
    return float(-0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(vi + tau2)) - 0.5 * rss)


def tau2_fisher(yi: np.ndarray, vi: np.ndarray, reml: bool = True,
                threshold: float = FISHER_THRESHOLD, maxiter: int = FISHER_MAXITER,
                stepadj: float = 1.0) -> float:
    """ML or REML τ² by Fisher scoring, as metafor's ``rma.uni`` (see module docstring).

    With P = W − wwᵀ/Σw (W = diag wᵢ, wᵢ = 1/(vᵢ+τ²)), Py = w∘(y − μ̂), the step is
    REML: (yᵀPPy − tr P)/tr(PP); ML: (yᵀPPy − Σwᵢ)/Σwᵢ² (Viechtbauer 2005, eqs. 11, 14),
    multiplied by ``stepadj`` (metafor's ``control = list(stepadj = ...)``).
    """
    tau2 = tau2_he(yi, vi)
    change = threshold + 1
    iterations = 0
    while change > threshold:
        iterations += 1
        old = tau2
        w = 1.0 / (vi + tau2)
        s1, s2, s3 = w.sum(), np.sum(w ** 2), np.sum(w ** 3)
        mu = np.sum(w * yi) / s1
        ypp = np.sum((w * (yi - mu)) ** 2)
        if reml:
            tr_p = s1 - s2 / s1
            tr_pp = s2 - 2 * s3 / s1 + (s2 / s1) ** 2
            adj = (ypp - tr_p) / tr_pp
        else:
            adj = (ypp - s1) / s2
        adj *= stepadj
        if not np.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iterations > maxiter:
            raise ConvergenceError("Fisher scoring algorithm did not converge; try method PM or DL")
    if _loglik(yi, vi, 0.0, reml) - _loglik(yi, vi, tau2, reml) > LL0_TOL and tau2 > threshold:
        tau2 = 0.0
    return max(0.0, float(tau2))


#: The remedy ``help(rma)`` gives when Fisher scoring does not converge.
FISHER_FALLBACK = {"stepadj": 0.5, "maxiter": 1000}


def estimate_tau2_noted(yi: np.ndarray, vi: np.ndarray, method: str = "REML") -> tuple[float, str]:
    """τ² by ``method``, and a note ("" if none) when ML/REML needed metafor's remedy.

    With metafor's defaults Fisher scoring sometimes oscillates (metafor then
    stops with "Fisher scoring algorithm did not converge"); ``help(rma)``
    advises a smaller step, ``control = list(stepadj = 0.5, maxiter = 1000)``,
    which is tried here before giving up.
    """
    try:
        return estimate_tau2(yi, vi, method), ""
    except ConvergenceError:
        if method.upper() not in ("ML", "REML"):
            raise
    tau2 = tau2_fisher(np.asarray(yi, dtype=float), np.asarray(vi, dtype=float),
                       reml=method.upper() == "REML", **FISHER_FALLBACK)
    return tau2, (f"{method.upper()}: Fisher scoring did not converge with metafor's defaults; "
                  "converged with step length 0.5 (metafor: control = list(stepadj = 0.5, "
                  "maxiter = 1000)).")


def estimate_tau2(yi: np.ndarray, vi: np.ndarray, method: str = "REML") -> float:
    """τ² by ``method`` (one of :data:`ESTIMATORS`); 0 for k = 1 and for ``EE``."""
    method = method.upper()
    if method not in ESTIMATORS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(ESTIMATORS)}")
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if len(yi) < 2 or method == "EE":
        return 0.0
    if method == "DL":
        return tau2_dl(yi, vi)
    if method == "HE":
        return tau2_he(yi, vi)
    if method == "SJ":
        return tau2_sj(yi, vi)
    if method == "PM":
        return tau2_pm(yi, vi)
    return tau2_fisher(yi, vi, reml=(method == "REML"))


def tau2_qprofile_ci(yi: np.ndarray, vi: np.ndarray, tau2: float,
                     level: float = 0.95) -> tuple[float, float, bool]:
    """Q-profile confidence interval for τ² (Viechtbauer 2007; metafor ``confint(type = "QP")``).

    The limits solve Q(τ²) = χ²_{k−1, 1−α/2} (lower) and Q(τ²) = χ²_{k−1, α/2}
    (upper), Q(τ²) being the generalised Q (:func:`generalized_q`), which
    decreases in τ². A limit whose equation has no root in [0, τ²_max] is set
    to the end of that interval, as metafor does, with τ²_max = max(100, 10 τ̂²)
    (metafor's default search limit). Returns ``(lower, upper, upper_truncated)``,
    ``upper_truncated`` telling that the upper limit is really "> τ²_max".
    Roots are found with Brent's method to 1e-10 (metafor: ``uniroot`` with
    ``tol = .Machine$double.eps^0.25``).
    """
    from scipy import optimize
    from scipy.stats import chi2 as stats_chi2
    k = len(yi)
    lo_end, hi_end = 0.0, max(100.0, 10.0 * tau2)
    crit_u = float(stats_chi2.isf((1 - level) / 2, k - 1))
    crit_l = float(stats_chi2.ppf((1 - level) / 2, k - 1))
    q_lo, q_hi = generalized_q(yi, vi, lo_end), generalized_q(yi, vi, hi_end)

    def root(target: float) -> float:
        return float(optimize.brentq(lambda t: generalized_q(yi, vi, t) - target, lo_end, hi_end,
                                     xtol=1e-10, maxiter=1000))

    truncated = False
    if q_lo < crit_l:
        lower = upper = lo_end
    else:
        if q_hi > crit_l:
            upper, truncated = hi_end, True
        else:
            upper = root(crit_l)
    if q_hi > crit_u:
        lower = upper = hi_end
        truncated = True
    elif q_lo < crit_u:
        lower = lo_end
    else:
        lower = root(crit_u)
    return lower, upper, truncated
