"""Random-intercept logistic regression for single proportions (GLMM), fitted by ML with adaptive Gauss–Hermite quadrature.

The model of metafor ``rma.glmm(measure = "PLO", method = "ML")`` and meta
``metaprop(method = "GLMM")``, both of which call
``lme4::glmer(cbind(xi, ni - xi) ~ 1 + (1 | study), family = binomial, nAGQ = 7)``
(metafor's default ``nAGQ = 7``)::

    xᵢ | uᵢ ~ Binomial(nᵢ, expit(β + σ uᵢ)),   uᵢ ~ N(0, 1),   τ² = σ².

The marginal likelihood of study i, Lᵢ = ∫ Bin(xᵢ; nᵢ, expit(β + σu)) φ(u) du,
is evaluated by adaptive Gauss–Hermite quadrature (Liu & Pierce 1994; Pinheiro
& Bates 1995): with ûᵢ the mode of gᵢ(u) = log Bin(·) + log φ(u) and
sᵢ = (−gᵢ''(ûᵢ))^{−1/2} = (1 + σ² nᵢ p̂ᵢ(1−p̂ᵢ))^{−1/2},
Lᵢ ≈ sᵢ Σⱼ ωⱼ exp(gᵢ(ûᵢ + sᵢ zⱼ) + zⱼ²/2) over the nAGQ-point rule (zⱼ, ωⱼ)
for the weight e^{−z²/2}. Studies with 0 % or 100 % events need no
continuity correction: their binomial likelihood is finite for every β, σ.

The standard error of β̂ is the β-block of the inverse Hessian of −log L in
(σ, β), as lme4's ``vcov()`` for nAGQ > 0 (``use.hessian = TRUE``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize, special


class GlmmError(ValueError):
    """The GLMM has no finite maximum-likelihood estimate for these data."""


@dataclass(frozen=True)
class GlmmFit:
    """ML fit of the random-intercept logistic model (logit scale)."""

    beta: float
    se: float
    tau2: float
    loglik: float
    nagq: int


def _log_binom(x: np.ndarray, n: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log Bin(x; n, expit(η)) = log C(n, x) + xη − n log(1 + e^η)."""
    const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return const + x * eta - n * np.logaddexp(0.0, eta)


def loglik_agq(beta: float, sigma: float, x: np.ndarray, n: np.ndarray, nagq: int = 7,
               modes: np.ndarray | None = None) -> float:
    """Marginal log-likelihood Σᵢ log Lᵢ(β, σ) by nAGQ-point adaptive Gauss–Hermite quadrature.

    ``modes`` (optional, shape (k,)) is a starting guess for the modes ûᵢ and is
    overwritten with the modes found (a warm start for the next call).
    """
    x = x[:, None]
    n = n[:, None]
    u = np.zeros_like(x, dtype=float) if modes is None else modes.reshape(-1, 1).copy()
    u = _modes(beta, sigma, x, n, u)
    if modes is not None:
        modes[:] = u[:, 0]
    p = special.expit(beta + sigma * u)
    scale = 1.0 / np.sqrt(1.0 + sigma * sigma * n * p * (1 - p))
    z, w = _rule(nagq)
    nodes = u + scale * z[None, :]
    g = _log_binom(x, n, beta + sigma * nodes) - 0.5 * nodes ** 2 - 0.5 * np.log(2 * np.pi)
    terms = g + 0.5 * z[None, :] ** 2 + np.log(w)[None, :]
    return float(np.sum(np.log(scale[:, 0]) + special.logsumexp(terms, axis=1)))


@lru_cache(maxsize=8)
def _rule(nagq: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes and weights for the weight e^{−z²/2} (Σω = √(2π))."""
    return hermegauss(nagq)


def _modes(beta: float, sigma: float, x: np.ndarray, n: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Modes ûᵢ of gᵢ(u) = xᵢη − nᵢ log(1 + e^η) − u²/2, η = β + σu (concave), by Newton with step halving.

    g'(u) = σ(x − np) − u, g''(u) = −σ²np(1 − p) − 1 <= −1; a step is halved
    until g does not decrease, so the iteration cannot oscillate when σ is large.
    """

    def g(v: np.ndarray) -> np.ndarray:
        eta = beta + sigma * v
        return x * eta - n * np.logaddexp(0.0, eta) - 0.5 * v * v

    current = g(u)
    for _ in range(200):
        p = special.expit(beta + sigma * u)
        grad = sigma * (x - n * p) - u
        hess = -(sigma * sigma * n * p * (1 - p)) - 1.0
        step = -grad / hess
        trial = u + step
        value = g(trial)
        for _ in range(60):
            worse = value < current - 1e-12 * np.abs(current)
            if not np.any(worse):
                break
            step = np.where(worse, step / 2, step)
            trial = u + step
            value = g(trial)
        u, current = trial, value
        if np.max(np.abs(step)) < 1e-11 * (1 + np.max(np.abs(u))):
            break
    return u


def binomial_loglik(x: np.ndarray, n: np.ndarray, p: np.ndarray) -> float:
    """Σ log Bin(xᵢ; nᵢ, pᵢ), with 0·log 0 = 0."""
    const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return float(np.sum(const + special.xlogy(x, p) + special.xlog1py(n - x, -p)))


def fit_glmm(events: np.ndarray, totals: np.ndarray, nagq: int = 7) -> GlmmFit:
    """Fit the random-intercept logistic model by ML (see the module docstring).

    Raises
    ------
    GlmmError
        With fewer than 2 studies, when no study (or every study) has an event
        (β̂ = ∓∞), or when τ² runs off to infinity (e.g. every study at 0 % or 100 %).
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    if len(x) < 2:
        raise GlmmError("GLMM needs at least 2 studies (metafor: more parameters than observations)")
    if x.sum() == 0:
        raise GlmmError("GLMM has no finite estimate: no study has an event (pooled logit is -infinity)")
    if x.sum() == n.sum():
        raise GlmmError("GLMM has no finite estimate: every patient had the event (pooled logit is +infinity)")
    if np.all((x == 0) | (x == n)):
        raise GlmmError("GLMM has no finite estimate: every study has 0% or 100% events, so the "
                        "between-study variance grows without bound (use a transformation model)")

    modes = np.zeros(len(x))

    def objective(theta: np.ndarray) -> float:
        return -loglik_agq(theta[0], theta[1], x, n, nagq, modes)

    def gradient(theta: np.ndarray) -> np.ndarray:
        h = 1e-6
        g = np.empty(2)
        for j in range(2):
            e = np.zeros(2)
            e[j] = h
            lo = theta - e
            if j == 1 and lo[1] < 0:  # one-sided at the σ = 0 boundary
                g[j] = (objective(theta + e) - objective(theta)) / h
            else:
                g[j] = (objective(theta + e) - objective(lo)) / (2 * h)
        return g

    start = _start_values(x, n)
    best = optimize.minimize(objective, start, jac=gradient, method="L-BFGS-B",
                             bounds=[(-50, 50), (0.0, 50.0)],
                             options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000})
    if best.x[1] > 0:  # the likelihood may peak on the σ = 0 boundary: compare with that fit
        boundary = optimize.minimize(lambda b: objective(np.array([b[0], 0.0])), best.x[:1],
                                     method="BFGS", options={"gtol": 1e-10})
        if boundary.fun < best.fun - 1e-12:
            best = optimize.OptimizeResult(x=np.array([boundary.x[0], 0.0]), fun=boundary.fun)
    beta, sigma = float(best.x[0]), float(best.x[1])
    if sigma > 49.0 or abs(beta) > 49.0:
        raise GlmmError("GLMM has no finite estimate: the between-study variance diverges")
    se = _beta_se(objective, beta, sigma)
    return GlmmFit(beta=beta, se=se, tau2=sigma * sigma, loglik=-float(best.fun), nagq=nagq)


def _start_values(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(β, σ) to start from: the DerSimonian–Laird fit on the logit scale (escalc PLO, ½ correction)."""
    zero_cell = (x == 0) | (x == n)
    xa, na = np.where(zero_cell, x + 0.5, x), np.where(zero_cell, n + 1.0, n)
    yi, vi = np.log(xa / (na - xa)), 1 / xa + 1 / (na - xa)
    w = 1 / vi
    ybar = np.sum(w * yi) / w.sum()
    q = np.sum(w * (yi - ybar) ** 2)
    tau2 = max(0.0, (q - (len(x) - 1)) / (w.sum() - np.sum(w ** 2) / w.sum()))
    w = 1 / (vi + tau2)
    return np.array([np.sum(w * yi) / w.sum(), max(np.sqrt(tau2), 0.1)])


def _beta_se(objective: Callable[[np.ndarray], float], beta: float, sigma: float) -> float:
    """SE of β̂: √[(H⁻¹)_ββ], H the central-difference Hessian of −log L in (β, σ).

    At the σ = 0 boundary only the β curvature is used (the model is then the
    common-effect logistic model).
    """
    h = 1e-4
    def f(theta: list[float]) -> float:
        return objective(np.asarray(theta, dtype=float))

    hbb = (f([beta + h, sigma]) - 2 * f([beta, sigma]) + f([beta - h, sigma])) / h ** 2
    if not hbb > 0:
        return float("nan")  # not a maximum in β: no standard error
    if sigma < 1e-3:
        return float(1 / np.sqrt(hbb))
    hss = (f([beta, sigma + h]) - 2 * f([beta, sigma]) + f([beta, sigma - h])) / h ** 2
    hbs = (f([beta + h, sigma + h]) - f([beta + h, sigma - h]) - f([beta - h, sigma + h])
           + f([beta - h, sigma - h])) / (4 * h * h)
    hess = np.array([[hbb, hbs], [hbs, hss]])
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return float(1 / np.sqrt(hbb))
    if cov[0, 0] <= 0:
        return float(1 / np.sqrt(hbb))
    return float(np.sqrt(cov[0, 0]))


def lrt_heterogeneity(events: np.ndarray, totals: np.ndarray) -> float:
    """Likelihood-ratio test of homogeneity: 2[ℓ(saturated) − ℓ(common p)] (metafor ``QE.LRT``).

    The saturated model puts p̂ᵢ = xᵢ/nᵢ; the common-effect model p̄ = Σxᵢ/Σnᵢ.
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    pbar = x.sum() / n.sum()
    return max(0.0, 2 * (binomial_loglik(x, n, x / n) - binomial_loglik(x, n, np.full_like(x, pbar))))
