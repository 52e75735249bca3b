"""Estimators of the between-study variance τ² for the intercept-only random-effects model.

Names and definitions follow metafor's ``rma.uni(method = ...)`` (Viechtbauer
2005, 2010; ``help(rma.uni)``). With wᵢ = 1/vᵢ, S₁ = Σwᵢ, S₂ = Σwᵢ²,
ȳ_w the wᵢ-weighted mean and Q = Σwᵢ(yᵢ − ȳ_w)²:

``DL``
    DerSimonian & Laird (1986): τ² = max(0, (Q − (k−1)) / (S₁ − S₂/S₁)).
``HE``
    Hedges (1983) / Hedges & Olkin: τ² = max(0, (Σ(yᵢ−ȳ)² − (Σvᵢ − Σvᵢ/k)) / (k−1)).
``SJ``
    Sidik & Jonkman (2005): τ₀² = Σ(yᵢ−ȳ)²/k, wᵢ = 1/(vᵢ+τ₀²),
    τ² = τ₀² Σwᵢ(yᵢ − ȳ_w)² / (k−1).
``PM``
    Paule & Mandel (1982): the root of Q(τ²) = k − 1 with
    Q(τ²) = Σ(yᵢ − μ̂(τ²))²/(vᵢ+τ²); 0 when Q(0) < k − 1.
``ML``/``REML``
    maximum and restricted maximum likelihood by Fisher scoring
    from the (truncated) HE estimate, step halving to stay >= 0, stopping
    when the change is below ``threshold`` (metafor's default 1e-5,
    ``maxiter`` 100), then metafor's check that the log-likelihood at τ² = 0
    is not higher (``ll0check``).
``EE``
    equal-effects (common-effect) model: τ² = 0.

For k = 1 every estimator gives τ² = 0 (as metafor).
"""

from __future__ import annotations

import numpy as np

from evsynth.core import model_names

from evsynth.meta._distributions import _chi2_isf, _chi2_ppf

# scipy is imported inside the functions that use it: commands that only need this module's
# names (validate reads the analysis plan) start without loading scipy.

ESTIMATORS = model_names.ESTIMATORS  # ("DL", "REML", "PM", "ML", "HE", "SJ", "EE")

#: metafor ``rma.uni`` control defaults: ``threshold``, ``maxiter`` and ``tol`` (= ``.Machine$double.eps^0.25``).
FISHER_THRESHOLD = 1e-5
FISHER_MAXITER = 100
LL0_TOL = float(np.finfo(float).eps ** 0.25)


class ConvergenceError(ValueError):
    """An iterative estimator did not converge."""


def generalized_q(yi: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    """The generalised Q statistic Q(τ²); Q(0) is Cochran's Q.

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances (:func:`evsynth.meta.transforms.escalc_proportions`).
    tau2 : float
        The between-study variance the weights are taken at.

    Returns
    -------
    float
        Q(τ²) = Σ wᵢ(yᵢ − μ̂)², wᵢ = 1/(vᵢ + τ²), μ̂ the wᵢ-weighted mean.

    Notes
    -----
    Decreasing in τ²; Paule–Mandel (:func:`tau2_pm`) and the Q-profile interval
    (:func:`tau2_qprofile_ci`) solve equations in it.

    References
    ----------
    Cochran WG (1954). The combination of estimates from different experiments.
    Biometrics 10(1):101–129.

    Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
    meta-analysis. Statistics in Medicine 26(1):37–52.
    """
    w = 1.0 / (vi + tau2)
    mu = np.sum(w * yi) / np.sum(w)
    return float(np.sum(w * (yi - mu) ** 2))


def tau2_dl(yi: np.ndarray, vi: np.ndarray) -> float:
    """DerSimonian–Laird τ², truncated at 0 (metafor ``method = "DL"``).

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances.

    Returns
    -------
    float
        τ² = max(0, (Q − (k−1)) / (S₁ − S₂/S₁)), wᵢ = 1/vᵢ, S₁ = Σwᵢ, S₂ = Σwᵢ².

    Notes
    -----
    statsmodels ``combine_effects(method_re="chi2")`` computes the untruncated
    moment estimate (Q − (k−1))/(S₁ − S₂/S₁); metafor truncates it at 0.

    References
    ----------
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Controlled
    Clinical Trials 7(3):177–188; metafor ``rma(method = "DL")``.
    """
    # statsmodels is imported here, not at the top: it alone took seconds to import on a loaded
    # machine, and only DL needs it (every command that imports the pooling code paid for it)
    from statsmodels.stats.meta_analysis import combine_effects

    with np.errstate(invalid="ignore", divide="ignore"):  # its RE SE and I² are NaN/inf in corner cases
        return max(0.0, float(combine_effects(yi, vi, method_re="chi2").tau2))


def tau2_he(yi: np.ndarray, vi: np.ndarray) -> float:
    """Hedges' estimator of τ², truncated at 0 (metafor ``method = "HE"``).

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances.

    Returns
    -------
    float
        τ² = max(0, (Σ(yᵢ−ȳ)² − Σvᵢ(1 − 1/k)) / (k−1)), ȳ the unweighted mean.

    Notes
    -----
    Also the start of the Fisher scoring of ML and REML (:func:`tau2_fisher`).

    References
    ----------
    Hedges LV (1983). A random effects model for effect sizes. Psychological Bulletin
    93(2):388–395; metafor ``rma(method = "HE")``.
    """
    k = len(yi)
    rss = float(np.sum((yi - yi.mean()) ** 2))
    return max(0.0, (rss - (vi.sum() - vi.sum() / k)) / (k - 1))


def tau2_sj(yi: np.ndarray, vi: np.ndarray) -> float:
    """Sidik–Jonkman τ²: one weighted step from τ₀² = Σ(yᵢ−ȳ)²/k (metafor's default start).

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances.

    Returns
    -------
    float
        τ² = τ₀² Q(τ₀²) / (k−1), with Q the generalised Q (:func:`generalized_q`).

    Notes
    -----
    τ₀² is the population variance of the yᵢ (R's ``var(yi) * (k−1)/k``), as metafor's
    ``rma(method = "SJ")`` starts by default.

    References
    ----------
    Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for
    meta-analysis. Journal of the Royal Statistical Society, Series C 54(2):367–384.
    """
    k = len(yi)
    tau0 = float(np.var(yi))  # population variance = var(yi) (k−1)/k in R
    return max(0.0, tau0 * generalized_q(yi, vi, tau0) / (k - 1))


def tau2_pm(yi: np.ndarray, vi: np.ndarray, upper: float = 100.0) -> float:
    """Paule–Mandel τ²: the root of Q(τ²) = k − 1 (Brent's method, to 1e-12).

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances.
    upper : float
        The first upper end of the search bracket (metafor's 100).

    Returns
    -------
    float
        The root, or 0 when Q(0) < k − 1.

    Raises
    ------
    ConvergenceError
        When Q(τ²) is still above k − 1 at τ² = 10¹².

    Notes
    -----
    metafor searches [0, 100] with ``uniroot(tol = .Machine$double.eps^0.25)``;
    here the bracket is widened when Q(100) is still above k − 1 instead of
    stopping with an error, and the root is found to 1e-12: the converged answer,
    which metafor's looser tolerance approximates.

    References
    ----------
    Paule RC, Mandel J (1982). Consensus values and weighting factors. Journal of
    Research of the National Bureau of Standards 87(5):377–385; metafor
    ``rma(method = "PM")``.
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

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances.
    reml : bool
        Restricted (``True``, metafor ``"REML"``) or full maximum likelihood (``"ML"``).
    threshold, maxiter : float, int
        Stop when the change is below *threshold*; give up after *maxiter* steps
        (metafor's ``control = list(threshold, maxiter)``, defaults 1e-5 and 100).
    stepadj : float
        Step length multiplier (metafor's ``control = list(stepadj = ...)``).

    Returns
    -------
    float
        τ̂² ≥ 0.

    Raises
    ------
    ConvergenceError
        After *maxiter* steps without convergence (metafor: "Fisher scoring algorithm
        did not converge").

    Notes
    -----
    With P = W − wwᵀ/Σw (W = diag wᵢ, wᵢ = 1/(vᵢ+τ²)), Py = w∘(y − μ̂), the step is
    REML: (yᵀPPy − tr P)/tr(PP); ML: (yᵀPPy − Σwᵢ)/Σwᵢ² (Viechtbauer 2005, eqs. 11, 14),
    multiplied by ``stepadj``, halved while it would make τ² negative. It starts from
    the HE estimate and ends with metafor's ``ll0check``: τ² = 0 when the
    log-likelihood there is higher.

    References
    ----------
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in
    the random-effects model. Journal of Educational and Behavioral Statistics
    30(3):261–293; metafor ``rma(method = "REML")`` / ``"ML"``.
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

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances.
    method : {"REML", "DL", "PM", "ML", "HE", "SJ", "EE"}
        The estimator (:data:`ESTIMATORS`).

    Returns
    -------
    tau2 : float
        The estimate (:func:`estimate_tau2`).
    note : str
        Empty, or the sentence saying that Fisher scoring needed ``stepadj = 0.5``.

    Raises
    ------
    ConvergenceError
        When even the remedy does not converge.

    Notes
    -----
    With metafor's defaults Fisher scoring sometimes oscillates (metafor then
    stops with "Fisher scoring algorithm did not converge"); ``help(rma)``
    advises a smaller step, ``control = list(stepadj = 0.5, maxiter = 1000)``,
    which is tried here before giving up.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1–48; ``help(rma)``.
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
    """τ² by ``method`` (one of :data:`ESTIMATORS`); 0 for k = 1 and for ``EE``.

    Parameters
    ----------
    yi, vi : array_like
        Observed outcomes and their sampling variances.
    method : {"REML", "DL", "PM", "ML", "HE", "SJ", "EE"}
        metafor's ``method``; case-insensitive.

    Returns
    -------
    float
        τ̂² ≥ 0.

    Raises
    ------
    ValueError
        For an unknown method.
    ConvergenceError
        When ML/REML Fisher scoring does not converge (:func:`estimate_tau2_noted`
        retries with metafor's remedy).

    Notes
    -----
    Dispatches to :func:`tau2_dl`, :func:`tau2_he`, :func:`tau2_sj`, :func:`tau2_pm`
    or :func:`tau2_fisher`; the formulas are in the module docstring.

    References
    ----------
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in
    the random-effects model. Journal of Educational and Behavioral Statistics
    30(3):261–293.

    Examples
    --------
    >>> from evsynth.meta.transforms import escalc_proportions
    >>> from evsynth.meta.tau2 import estimate_tau2
    >>> es = escalc_proportions([5, 12, 3, 0], [10, 19, 8, 6], "PLO")
    >>> round(estimate_tau2(es.yi, es.vi, "DL"), 4), round(estimate_tau2(es.yi, es.vi, "REML"), 4)
    (0.3001, 0.121)
    """
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

    Parameters
    ----------
    yi, vi : numpy.ndarray
        Observed outcomes and their sampling variances.
    tau2 : float
        The point estimate τ̂² (sets the search limit).
    level : float
        Confidence level, e.g. 0.95.

    Returns
    -------
    lower, upper : float
        The limits.
    upper_truncated : bool
        True when the upper limit is really "> τ²_max".

    Notes
    -----
    The limits solve Q(τ²) = χ²_{k−1, 1−α/2} (lower) and Q(τ²) = χ²_{k−1, α/2}
    (upper), Q(τ²) being the generalised Q (:func:`generalized_q`), which
    decreases in τ². A limit whose equation has no root in [0, τ²_max] is set
    to the end of that interval, as metafor does, with τ²_max = max(100, 10 τ̂²)
    (metafor's default search limit). Roots are found with Brent's method to 1e-10
    (metafor: ``uniroot`` with ``tol = .Machine$double.eps^0.25``), so the limits
    are the converged answer that metafor's approximates.

    References
    ----------
    Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
    meta-analysis. Statistics in Medicine 26(1):37–52; metafor ``confint(res)``.
    """
    from scipy import optimize
    k = len(yi)
    lo_end, hi_end = 0.0, max(100.0, 10.0 * tau2)
    crit_u = float(_chi2_isf((1 - level) / 2, k - 1))
    crit_l = float(_chi2_ppf((1 - level) / 2, k - 1))
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
