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
(σ, β), as lme4's ``vcov()`` for nAGQ > 0 (``use.hessian = TRUE``); the
Hessian is taken by Richardson-extrapolated central differences with steps
scaled to the parameters (:func:`hessian_richardson`), from a log-likelihood
written without cancellation (:func:`_log_binom`).

:func:`marginal_proportion` integrates expit(β + σz) over the random-effect
distribution: the population-averaged proportion, beside the conditional
(median-study) proportion expit(β̂) that the model's intercept gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
# scipy is imported inside the functions that use it: commands that only need this module's
# names (validate reads the analysis plan) start without loading scipy.
from numpy.polynomial.hermite_e import hermegauss


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
    #: σ̂ = √τ̂², the standard deviation of the random intercepts.
    sigma: float = float("nan")
    #: Covariance of (β̂, σ̂), the inverse Hessian of −log L (row/column order β, σ).
    cov: tuple[tuple[float, float], tuple[float, float]] = ((float("nan"),) * 2,) * 2


def _softplus(t: np.ndarray) -> np.ndarray:
    """log(1 + e^t), accurate for every t (numpy ``logaddexp``)."""
    return np.logaddexp(0.0, t)


def _log_binom(x: np.ndarray, n: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log Bin(x; n, expit(η)) = log C(n, x) − x log(1 + e^{−η}) − (n − x) log(1 + e^η).

    Written without the cancelling pair xη − n log(1 + e^η): for a study near
    100 % (η ≈ 10, n = 1000) those two terms are ≈ 10⁴ each and their
    difference ≈ 10⁻², so the rounding error (≈ 10⁻¹²) would swamp the
    curvature that the standard error is computed from.
    """
    from scipy import special
    const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return const - x * _softplus(-eta) - (n - x) * _softplus(eta)


def loglik_agq(beta: float, sigma: float, x: np.ndarray, n: np.ndarray, nagq: int = 7,
               modes: np.ndarray | None = None) -> float:
    """Marginal log-likelihood Σᵢ log Lᵢ(β, σ) by nAGQ-point adaptive Gauss–Hermite quadrature.

    Parameters
    ----------
    beta, sigma : float
        The intercept β (logit scale) and the random intercepts' standard deviation σ.
    x, n : numpy.ndarray
        Event counts and sample sizes (float arrays), one per study.
    nagq : int
        Quadrature points (lme4's ``nAGQ``; metafor's default 7).
    modes : numpy.ndarray, optional
        Shape (k,): a starting guess for the modes ûᵢ, overwritten with the modes
        found (a warm start for the next call).

    Returns
    -------
    float
        Σᵢ log Lᵢ.

    Notes
    -----
    Lᵢ ≈ sᵢ Σⱼ ωⱼ exp(gᵢ(ûᵢ + sᵢ zⱼ) + zⱼ²/2), with gᵢ(u) = log Bin(xᵢ; nᵢ, expit(β + σu))
    + log φ(u), ûᵢ its mode and sᵢ = (1 + σ² nᵢ p̂ᵢ(1−p̂ᵢ))^(−1/2) (the module docstring).

    References
    ----------
    Liu Q, Pierce DA (1994). A note on Gauss–Hermite quadrature. Biometrika
    81(3):624–629.

    Pinheiro JC, Bates DM (1995). Approximations to the log-likelihood function in the
    nonlinear mixed-effects model. Journal of Computational and Graphical Statistics
    4(1):12–35.
    """
    return loglik_and_gradient(beta, sigma, x, n, nagq, modes)[0]


def loglik_and_gradient(beta: float, sigma: float, x: np.ndarray, n: np.ndarray, nagq: int = 7,
                        modes: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """ℓ(β, σ) = Σᵢ log Lᵢ by adaptive Gauss–Hermite quadrature, and its exact gradient (∂ℓ/∂β, ∂ℓ/∂σ).

    Parameters
    ----------
    beta, sigma : float
        The fixed intercept (logit scale) and the random intercept's standard deviation.
    x, n : numpy.ndarray
        Events and totals per study.
    nagq : int
        Quadrature points per study (lme4's ``nAGQ``; metafor ``rma.glmm(..., nAGQ=7)``).
    modes : numpy.ndarray or None
        Starting values for the per-study modes û; updated in place when given.

    Returns
    -------
    tuple of (float, numpy.ndarray)
        The log-likelihood and its gradient ``[∂ℓ/∂β, ∂ℓ/∂σ]``.

    Notes
    -----
    Per study, with the mode û of g(u) = log Bin(x; n, expit(β + σu)) − u²/2,
    A = 1 + σ²n p̂q̂ (p̂ = expit(β + σû), q̂ = 1 − p̂), s = A^{−1/2}, nodes
    uⱼ = û + s zⱼ and terms Tⱼ = g(uⱼ) + zⱼ²/2 + log ωⱼ:

        ℓᵢ = log s + log Σⱼ e^{Tⱼ}.

    The gradient differentiates this quadrature itself (not the exact integral),
    including the movement of the nodes with (β, σ): with rⱼ = x − n pⱼ and the
    weights πⱼ = softmax(T),

        ∂ℓᵢ/∂θ = (∂s/∂θ)/s + Σⱼ πⱼ [∂g/∂θ(uⱼ) + (σrⱼ − uⱼ)(∂û/∂θ + zⱼ ∂s/∂θ)],
        ∂g/∂β = rⱼ,  ∂g/∂σ = uⱼ rⱼ,
        ∂û/∂β = −σn p̂q̂ / A,  ∂û/∂σ = (r̂ − σûn p̂q̂) / A   (implicit function: g'(û) = 0),
        (∂s/∂θ)/s = −½ (∂A/∂θ)/A,  ∂A/∂θ = σ²n p̂q̂(q̂ − p̂) ∂η̂/∂θ + [θ = σ] 2σn p̂q̂,
        ∂η̂/∂β = 1 + σ ∂û/∂β,  ∂η̂/∂σ = û + σ ∂û/∂σ.

    An exact gradient lets the fit converge to the last digits (a finite-difference
    gradient stops at its own rounding noise, ≈ 10⁻⁹ in (β, σ), which differed
    between numpy/scipy versions).

    References
    ----------
    Liu Q, Pierce DA (1994). A note on Gauss–Hermite quadrature. Biometrika
    81(3):624–629.
    """
    from scipy import special
    x = np.asarray(x, dtype=float)[:, None]
    n = np.asarray(n, dtype=float)[:, None]
    u = np.zeros_like(x, dtype=float) if modes is None else modes.reshape(-1, 1).copy()
    u = _modes(beta, sigma, x, n, u)
    if modes is not None:
        modes[:] = u[:, 0]
    eta = beta + sigma * u
    p_hat, q_hat = special.expit(eta), special.expit(-eta)
    v_hat = p_hat * q_hat
    big_a = 1.0 + sigma * sigma * n * v_hat
    scale = 1.0 / np.sqrt(big_a)
    z, w = _rule(nagq)
    nodes = u + scale * z[None, :]
    eta_j = beta + sigma * nodes
    g = _log_binom(x, n, eta_j) - 0.5 * nodes ** 2 - 0.5 * np.log(2 * np.pi)
    terms = g + 0.5 * z[None, :] ** 2 + np.log(w)[None, :]
    lse = special.logsumexp(terms, axis=1, keepdims=True)
    value = float(np.sum(np.log(scale[:, 0]) + lse[:, 0]))
    weights = np.exp(terms - lse)
    r_hat = x * q_hat - (n - x) * p_hat
    r_j = x * special.expit(-eta_j) - (n - x) * special.expit(eta_j)
    du_beta = -sigma * n * v_hat / big_a
    du_sigma = (r_hat - sigma * u * n * v_hat) / big_a
    curve = sigma * sigma * n * v_hat * (q_hat - p_hat)
    dlogs_beta = -0.5 * curve * (1.0 + sigma * du_beta) / big_a
    dlogs_sigma = -0.5 * (curve * (u + sigma * du_sigma) + 2.0 * sigma * n * v_hat) / big_a
    slope = sigma * r_j - nodes  # ∂g/∂u at the nodes
    d_beta = dlogs_beta[:, 0] + np.sum(weights * (r_j + slope * (du_beta + z[None, :] * scale * dlogs_beta)), axis=1)
    d_sigma = dlogs_sigma[:, 0] + np.sum(weights * (nodes * r_j + slope * (du_sigma + z[None, :] * scale * dlogs_sigma)),
                                         axis=1)
    return value, np.array([float(np.sum(d_beta)), float(np.sum(d_sigma))])


@lru_cache(maxsize=8)
def _rule(nagq: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes and weights for the weight e^{−z²/2} (Σω = √(2π))."""
    return hermegauss(nagq)


def _modes(beta: float, sigma: float, x: np.ndarray, n: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Modes ûᵢ of gᵢ(u) = −xᵢ log(1 + e^{−η}) − (nᵢ − xᵢ) log(1 + e^η) − u²/2, η = β + σu (concave).

    Newton's method with step halving: g'(u) = σ[x(1 − p) − (n − x)p] − u,
    g''(u) = −σ²np(1 − p) − 1 <= −1, with p = expit(η) and 1 − p = expit(−η)
    computed separately (no cancellation near 0 % or 100 %). A step is halved
    while g decreases by more than rounding, so the iteration cannot oscillate
    when σ is large. It stops when the Newton step is below 1e-14 (1 + |u|):
    the quadrature is centred on ûᵢ, so an inexact mode would make the
    log-likelihood a noisy function of (β, σ) and spoil its finite-difference
    Hessian.
    """
    from scipy import special

    def g(v: np.ndarray) -> np.ndarray:
        eta = beta + sigma * v
        return -x * _softplus(-eta) - (n - x) * _softplus(eta) - 0.5 * v * v

    current = g(u)
    for _ in range(200):
        eta = beta + sigma * u
        p, q = special.expit(eta), special.expit(-eta)
        grad = sigma * (x * q - (n - x) * p) - u
        hess = -(sigma * sigma * n * p * q) - 1.0
        step = -grad / hess
        trial = u + step
        value = g(trial)
        for _ in range(60):
            worse = value < current - 1e-13 * (1.0 + np.abs(current))
            if not np.any(worse):
                break
            step = np.where(worse, step / 2, step)
            trial = u + step
            value = g(trial)
        u, current = trial, value
        if np.max(np.abs(step) / (1.0 + np.abs(u))) < 1e-14:
            break
    return u


def binomial_loglik(x: np.ndarray, n: np.ndarray, p: np.ndarray) -> float:
    """Σ log Bin(xᵢ; nᵢ, pᵢ), with 0·log 0 = 0.

    Parameters
    ----------
    x, n, p : numpy.ndarray
        Event counts, sample sizes and the probabilities the likelihood is taken at.

    Returns
    -------
    float
        Σ [log C(nᵢ, xᵢ) + xᵢ log pᵢ + (nᵢ − xᵢ) log(1 − pᵢ)].

    Notes
    -----
    The binomial coefficient through log-gamma, ``xlogy`` / ``xlog1py`` so that a 0 %
    or 100 % study contributes a finite term; :func:`lrt_heterogeneity` compares two
    such sums.

    References
    ----------
    Bates D, Mächler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models
    using lme4. Journal of Statistical Software 67(1):1–48 (``family = binomial``).
    """
    from scipy import special
    const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return float(np.sum(const + special.xlogy(x, p) + special.xlog1py(n - x, -p)))


def fit_glmm(events: np.ndarray, totals: np.ndarray, nagq: int = 7) -> GlmmFit:
    """Fit the random-intercept logistic model by ML (see the module docstring).

    Parameters
    ----------
    events, totals : array_like of int
        Event counts xᵢ and sample sizes nᵢ, one per study.
    nagq : int
        Adaptive Gauss–Hermite quadrature points (metafor's default ``nAGQ = 7``).

    Returns
    -------
    GlmmFit
        β̂ and its SE (logit scale), τ̂² = σ̂², the log-likelihood, σ̂ and the
        covariance of (β̂, σ̂).

    Raises
    ------
    GlmmError
        With fewer than 2 studies, when no study (or every study) has an event
        (β̂ = ∓∞), or when τ² runs off to infinity (e.g. every study at 0 % or 100 %).

    Notes
    -----
    xᵢ | uᵢ ~ Binomial(nᵢ, expit(β + σuᵢ)), uᵢ ~ N(0, 1), maximised over (β, σ ≥ 0)
    by L-BFGS-B from the DerSimonian–Laird fit on the logit scale, and compared with the fit on the σ = 0
    boundary. SE(β̂) is from the inverse Hessian of −log L in (β, σ)
    (:func:`hessian_richardson`), as lme4's ``vcov()``. metafor
    ``rma.glmm(measure = "PLO", method = "ML")``, i.e. ``lme4::glmer(cbind(xi, ni − xi)
    ~ 1 + (1 | study), family = binomial, nAGQ = 7)``.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1–48. ``help(rma.glmm)``.

    Bates D, Mächler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models
    using lme4. Journal of Statistical Software 67(1):1–48.

    Liu Q, Pierce DA (1994). A note on Gauss–Hermite quadrature. Biometrika
    81(3):624–629.

    Pinheiro JC, Bates DM (1995). Approximations to the log-likelihood function in the
    nonlinear mixed-effects model. Journal of Computational and Graphical Statistics
    4(1):12–35.

    Examples
    --------
    >>> from evsynth.meta.glmm import fit_glmm
    >>> fit = fit_glmm([5, 12, 3, 0], [10, 19, 8, 6])
    >>> round(fit.beta, 3), round(fit.tau2, 3)
    (-0.385, 0.537)
    """
    from scipy import optimize
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

    def value_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = loglik_and_gradient(theta[0], theta[1], x, n, nagq, modes)
        return -value, -grad

    def gradient(theta: np.ndarray) -> np.ndarray:
        return value_and_gradient(theta)[1]

    start = _start_values(x, n)
    best = optimize.minimize(value_and_gradient, start, jac=True, method="L-BFGS-B",
                             bounds=[(-50, 50), (0.0, 50.0)],
                             options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000})
    theta = np.array(best.x, dtype=float)
    if theta[1] > 0:  # the likelihood may peak on the σ = 0 boundary: compare with that fit
        def at_zero(b: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = value_and_gradient(np.array([b[0], 0.0]))
            return value, grad[:1]
        boundary = optimize.minimize(at_zero, best.x[:1], jac=True, method="BFGS", options={"gtol": 1e-10})
        if boundary.fun < best.fun - 1e-12:
            theta = np.array([boundary.x[0], 0.0])
    theta = _newton_polish(value_and_gradient, theta)
    beta, sigma = float(theta[0]), float(theta[1])
    if sigma > 49.0 or abs(beta) > 49.0:
        raise GlmmError("GLMM has no finite estimate: the between-study variance diverges")
    cov = _covariance(gradient, beta, sigma)
    return GlmmFit(beta=beta, se=float(np.sqrt(cov[0][0])), tau2=sigma * sigma,
                   loglik=-float(objective(theta)), nagq=nagq, sigma=sigma, cov=cov)


def _newton_polish(value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
                   theta: np.ndarray) -> np.ndarray:
    """Newton's method on the exact gradient from the quasi-Newton optimum, to convergence.

    L-BFGS-B stops when the relative change of −log L falls below its ``ftol``;
    on flat likelihoods (two studies, τ² from one degree of freedom) that leaves
    (β, σ) ≈ 10⁻⁹ from the optimum, and *where* it stops depends on the last bits
    of numpy/scipy arithmetic. Newton steps θ ← θ − H⁻¹∇ (H the Jacobian of the
    exact gradient by central differences) converge quadratically to the root of
    the gradient, which does not depend on the path: the fit is reproducible to
    rounding (≈ 10⁻¹³). A step is taken only while it lowers |∇| (or −log L by
    more than rounding); at the σ = 0 boundary only β is polished (σ = 0 is then
    the constrained optimum). The iteration stops when a step is below
    10⁻¹⁴(1 + |θ|).
    """
    theta = np.array(theta, dtype=float)
    free = [0] if theta[1] == 0.0 else [0, 1]
    value, grad = value_and_gradient(theta)
    for _ in range(50):
        hess = _gradient_jacobian(lambda t: value_and_gradient(t)[1], theta, 1e-5, 1)
        sub = hess[np.ix_(free, free)]
        try:
            step_free = np.linalg.solve(sub, grad[free])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step_free)) or np.any(np.linalg.eigvalsh(0.5 * (sub + sub.T)) <= 0):
            break
        step = np.zeros(2)
        step[free] = -step_free
        trial = theta + step
        if trial[1] < 0:  # Newton would cross the boundary: leave it to the quasi-Newton answer
            break
        trial_value, trial_grad = value_and_gradient(trial)
        if not (np.linalg.norm(trial_grad[free]) < np.linalg.norm(grad[free])
                or trial_value < value - 1e-14 * (1 + abs(value))):
            break
        theta, value, grad = trial, trial_value, trial_grad
        if np.max(np.abs(step) / (1.0 + np.abs(theta))) < 1e-14:
            break
    return theta


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


def hessian_richardson(f: Callable[[np.ndarray], float], theta: np.ndarray, rel_step: float = 0.05,
                       levels: int = 4) -> np.ndarray:
    """Hessian of f at θ by central differences refined with Richardson extrapolation.

    Parameters
    ----------
    f : callable
        The function of a parameter vector (here −log L).
    theta : numpy.ndarray
        The point, e.g. (β̂, σ̂).
    rel_step : float
        The first step relative to the parameter, hᵢ = rel_step·max(abs(θᵢ), 1).
    levels : int
        How many step sizes (halved each time) are extrapolated.

    Returns
    -------
    numpy.ndarray
        The symmetric p × p Hessian.

    Notes
    -----
    For each pair (i, j) the central second difference with steps hᵢ, hⱼ::

        Dᵢᵢ(h) = [f(θ + hᵢeᵢ) − 2f(θ) + f(θ − hᵢeᵢ)] / hᵢ²,
        Dᵢⱼ(h) = [f(θ + hᵢeᵢ + hⱼeⱼ) − f(θ + hᵢeᵢ − hⱼeⱼ) − f(θ − hᵢeᵢ + hⱼeⱼ)
                  + f(θ − hᵢeᵢ − hⱼeⱼ)] / (4hᵢhⱼ),

    has the error expansion c₂h² + c₄h⁴ + …, so with the steps halved
    ``levels − 1`` times, D_{m,l} = (4ˡ D_{m,l−1} − D_{m−1,l−1}) / (4ˡ − 1)
    removes the h², h⁴, … terms (Richardson 1911; the scheme of numDeriv's
    ``genD``, Gilbert & Varadhan, with ``r = 4`` and half its default relative
    step ``d = 0.1``). The first step is scaled to the parameter, hᵢ = rel_step·max(abs(θᵢ), 1),
    so it is large against the rounding error of f: a fixed tiny step (10⁻⁴)
    divides f's rounding error by h² = 10⁻⁸ and, for a likelihood whose terms are
    ≈ 10⁴, returns noise (the d26 data set of ``make_golden.R``). On d26 the
    β-SE from rel_step ∈ [0.005, 0.2] with 4–6 levels agrees to 2·10⁻⁹.

    References
    ----------
    Richardson LF (1911). The approximate arithmetical solution by finite differences of
    physical problems involving differential equations. Philosophical Transactions of the
    Royal Society A 210:307–357.

    Gilbert P, Varadhan R. numDeriv: accurate numerical derivatives (R package), ``genD``.
    """
    theta = np.asarray(theta, dtype=float)
    p = len(theta)
    h0 = rel_step * np.maximum(np.abs(theta), 1.0)
    f0 = f(theta)
    out = np.empty((p, p))
    for i in range(p):
        for j in range(i, p):
            table: list[float] = []
            for m in range(levels):
                h = h0 / 2 ** m
                ei = np.zeros(p)
                ei[i] = h[i]
                if i == j:
                    d = (f(theta + ei) - 2 * f0 + f(theta - ei)) / h[i] ** 2
                else:
                    ej = np.zeros(p)
                    ej[j] = h[j]
                    d = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej)
                         + f(theta - ei - ej)) / (4 * h[i] * h[j])
                row = [d]
                for level in range(1, m + 1):
                    row.append((4 ** level * row[level - 1] - table[level - 1]) / (4 ** level - 1))
                table = row
            out[i, j] = out[j, i] = table[-1]
    return out


def _gradient_jacobian(grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                       rel_step: float = 0.05, levels: int = 4) -> np.ndarray:
    """Jacobian of a gradient (the Hessian) by central differences with Richardson extrapolation.

    Column j: [∇(θ + hⱼeⱼ) − ∇(θ − hⱼeⱼ)] / (2hⱼ), error c₂h² + c₄h⁴ + …, with the step
    halved ``levels − 1`` times and the h², h⁴, … terms removed as in
    :func:`hessian_richardson`; symmetrised. Differencing the exact gradient
    divides its rounding error by h, not h² as second differences of the
    log-likelihood do.
    """
    theta = np.asarray(theta, dtype=float)
    dim = len(theta)
    h0 = rel_step * np.maximum(np.abs(theta), 1.0)
    out = np.empty((dim, dim))
    for j in range(dim):
        table: list[np.ndarray] = []
        for m in range(levels):
            e = np.zeros(dim)
            e[j] = h0[j] / 2 ** m
            row = [(grad(theta + e) - grad(theta - e)) / (2 * e[j])]
            for level in range(1, m + 1):
                row.append((4 ** level * row[level - 1] - table[level - 1]) / (4 ** level - 1))
            table = row
        out[:, j] = table[-1]
    return 0.5 * (out + out.T)


def _covariance(gradient: Callable[[np.ndarray], np.ndarray], beta: float,
                sigma: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Covariance of (β̂, σ̂): the inverse Hessian of −log L.

    As lme4's ``vcov()`` for nAGQ > 0 (``use.hessian = TRUE``), which inverts the
    Hessian of the deviance in (θ, β), θ = σ here. The Hessian is the Jacobian of
    the exact gradient (:func:`loglik_and_gradient`) by Richardson-extrapolated
    central differences (:func:`_gradient_jacobian`, first step 5 % of each
    parameter, 4 levels). The likelihood is even in σ (u ↦ −u), so differences
    that cross σ = 0 are valid. At the σ = 0 boundary (σ̂ < 10⁻³) only the β
    curvature is used: the model is then the common-effect logistic model and σ̂
    has no variance (NaN). NaN throughout when −log L is not curved upwards in β.
    """
    hess = _gradient_jacobian(gradient, np.array([beta, sigma]))
    nan = float("nan")
    if not hess[0, 0] > 0:
        return ((nan, nan), (nan, nan))  # not a maximum in β: no standard error
    if sigma < 1e-3:
        return ((float(1 / hess[0, 0]), 0.0), (0.0, nan))
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = None
    if cov is None or not cov[0, 0] > 0 or not cov[1, 1] > 0:
        return ((float(1 / hess[0, 0]), nan), (nan, nan))
    return ((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1])))


#: Half-width of the z-grid of :func:`marginal_proportion`: ∫_{|z|>12} φ(z) dz < 4·10⁻³³.
_MARGINAL_HALF_WIDTH = 12.0


def _marginal_grid(sigma: float) -> tuple[np.ndarray, float]:
    """Nodes z_j = j·h on [−12, 12] and the step h = min(1/4, 1/(4σ)) (see :func:`marginal_moments`)."""
    h = min(0.25, 0.25 / abs(sigma)) if sigma != 0 else 0.25
    m = int(math.ceil(_MARGINAL_HALF_WIDTH / h))
    return h * np.arange(-m, m + 1, dtype=float), h


def marginal_moments(beta: float, sigma: float) -> tuple[float, float, float]:
    """The population-averaged proportion and its derivatives in β and σ.

    Parameters
    ----------
    beta, sigma : float
        The GLMM's intercept (logit scale) and random-intercept standard deviation.

    Returns
    -------
    pi_bar, d_beta, d_sigma : float
        π̄(β, σ), ∂π̄/∂β and ∂π̄/∂σ. σ = 0 gives (expit(β), expit(β)(1 − expit(β)), 0).

    Notes
    -----
    π̄(β, σ) = ∫ expit(β + σz) φ(z) dz = E[expit(β + σU)], U ~ N(0, 1): the
    proportion averaged over the distribution of study-level logits, as
    opposed to the conditional (median-study) proportion expit(β) (Zeger,
    Liang & Albert 1988; Pavlou et al. 2015, "marginal" vs "cluster-specific").
    With p(z) = expit(β + σz): ∂π̄/∂β = E[p(1 − p)], ∂π̄/∂σ = E[p(1 − p) U].

    The integrals are evaluated by the trapezoidal rule on zⱼ = j·h,
    abs(zⱼ) <= 12, h = min(1/4, 1/(4σ)). The integrands are analytic in the strip
    abs(Im z) < π/σ (the poles of expit), where the trapezoidal rule converges
    geometrically: error <= C·e^(d²/2)·e^(−2πd/h) for any strip half-width
    d < π/σ, the e^(d²/2) from φ off the real axis (Trefethen & Weideman 2014,
    thm 5.1). With this h the exponent is below −70 for
    every σ (d = min(π/σ, 8π)). Gauss–Hermite
    quadrature was tried first: it needs > 200 nodes for 10⁻⁸ once σ ≥ 5,
    because the integrand becomes a steep step of width ≈ 1/σ.

    References
    ----------
    Zeger SL, Liang KY, Albert PS (1988). Models for longitudinal data: a generalized
    estimating equation approach. Biometrics 44(4):1049–1060.

    Pavlou M, Ambler G, Seaman S, Omar RZ (2015). A note on obtaining correct marginal
    predictions from a random intercepts model for binary outcomes. BMC Medical Research
    Methodology 15:59.

    Trefethen LN, Weideman JAC (2014). The exponentially convergent trapezoidal rule.
    SIAM Review 56(3):385–458.
    """
    from scipy import special
    if sigma == 0:
        p = float(special.expit(beta))
        return p, p * (1 - p), 0.0
    z, h = _marginal_grid(sigma)
    eta = beta + sigma * z
    p, q = special.expit(eta), special.expit(-eta)
    w = h * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return float(np.sum(w * p)), float(np.sum(w * p * q)), float(np.sum(w * p * q * z))


def marginal_proportion(beta: float, sigma: float) -> float:
    """π̄ = ∫ expit(β + σz) φ(z) dz, the population-averaged proportion (:func:`marginal_moments`).

    Parameters
    ----------
    beta, sigma : float
        The GLMM's intercept (logit scale) and random-intercept standard deviation.

    Returns
    -------
    float
        π̄ on the 0–1 scale.

    Notes
    -----
    Equal to the conditional proportion expit(β) only when σ = 0 or β = 0; otherwise
    pulled toward ½.

    References
    ----------
    Zeger SL, Liang KY, Albert PS (1988). Models for longitudinal data: a generalized
    estimating equation approach. Biometrics 44(4):1049–1060.

    Examples
    --------
    >>> from evsynth.meta.glmm import marginal_proportion
    >>> marginal_proportion(0.0, 1.0), round(marginal_proportion(-1.0, 0.0), 4)
    (0.5, 0.2689)
    """
    return marginal_moments(beta, sigma)[0]


def marginal_interval(beta: float, sigma: float, cov: tuple[tuple[float, float], tuple[float, float]],
                      crit: float) -> tuple[float, float, float, float]:
    """π̄ with a delta-method interval on the logit scale: (π̄, lower, upper, SE of logit π̄).

    Parameters
    ----------
    beta, sigma : float
        β̂ and σ̂ of the fit.
    cov : tuple of tuple of float
        Σ, the covariance of (β̂, σ̂) (:attr:`GlmmFit.cov`).
    crit : float
        The CI's quantile (z, or t_(k−1) with Knapp–Hartung).

    Returns
    -------
    estimate, lower, upper, se_logit : float
        NaN limits when Σ is not available.

    Notes
    -----
    With g = (∂π̄/∂β, ∂π̄/∂σ) and Σ the covariance of (β̂, σ̂) (inverse Hessian of
    −log L), Var(logit π̄) ≈ gᵀΣg / [π̄(1 − π̄)]² and the
    interval is expit(logit π̄ ± crit·SE) — inside (0, 1) by construction. Unlike
    transforming the endpoints of β's interval at fixed σ̂, this carries the
    uncertainty of σ̂, which with few studies dominates. At the σ̂ = 0 boundary
    (no variance for σ̂) ∂π̄/∂σ = 0 and the interval is expit of β's interval.

    References
    ----------
    Zeger SL, Liang KY, Albert PS (1988). Models for longitudinal data: a generalized
    estimating equation approach. Biometrics 44(4):1049–1060.

    Pavlou M, Ambler G, Seaman S, Omar RZ (2015). A note on obtaining correct marginal
    predictions from a random intercepts model for binary outcomes. BMC Medical Research
    Methodology 15:59.
    """
    from scipy import special
    m, d_beta, d_sigma = marginal_moments(beta, sigma)
    vbb, vbs, vss = cov[0][0], cov[0][1], cov[1][1]
    if d_sigma == 0.0 or sigma < 1e-3:
        var = d_beta * d_beta * vbb
    else:
        var = d_beta * d_beta * vbb + 2 * d_beta * d_sigma * vbs + d_sigma * d_sigma * vss
    if not (math.isfinite(var) and var >= 0 and 0 < m < 1):
        return m, float("nan"), float("nan"), float("nan")
    se = math.sqrt(var) / (m * (1 - m))
    centre = math.log(m) - math.log1p(-m)
    return m, float(special.expit(centre - crit * se)), float(special.expit(centre + crit * se)), se


#: Draws and seed of :func:`marginal_bootstrap_interval` (fixed: the same data give the same interval).
BOOTSTRAP_DRAWS = 4000
BOOTSTRAP_SEED = 20211203


def marginal_bootstrap_interval(beta: float, sigma: float, cov: tuple[tuple[float, float], tuple[float, float]],
                                level: float = 0.95, draws: int = BOOTSTRAP_DRAWS,
                                seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """A parametric-bootstrap interval for π̄: percentiles of π̄(β*, σ*) over draws from the fit's covariance.

    Parameters
    ----------
    beta, sigma : float
        β̂ and σ̂ of the fit.
    cov : tuple of tuple of float
        Σ, the covariance of (β̂, σ̂) (:attr:`GlmmFit.cov`). A non-finite or negative
        variance of σ̂ (the σ̂ = 0 boundary) draws β only, with σ* = σ̂.
    level : float
        Coverage of the interval.
    draws, seed : int
        Number of draws and the seed of ``numpy.random.default_rng`` (fixed by default).

    Returns
    -------
    lower, upper : float
        The (1 − level)/2 and (1 + level)/2 percentiles of π̄(β*, σ*); NaN when Σ is not available.

    Notes
    -----
    (β*, σ*) = (β̂, σ̂) + L·u, u ~ N(0, I₂), L the Cholesky factor of Σ written out for
    2 × 2 (no LAPACK call, so the draws do not depend on the linear-algebra library).
    π̄(β, σ) = π̄(β, −σ) (U is symmetric), so a draw with σ* < 0 is the same model
    as abs(σ*). π̄ is evaluated for all draws on one trapezoidal grid with step
    h = min(1/4, 1/(4 max abs(σ*))) (see :func:`marginal_moments`). Unlike the delta
    method (:func:`marginal_interval`), the interval follows the non-linear map
    (β, σ) → π̄, which matters when σ̂ is poorly determined (few studies); it still
    rests on the normal approximation to the likelihood of (β, σ). Percentiles by
    ``numpy.quantile`` (linear, R's type 7).

    References
    ----------
    Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 6
    (parametric bootstrap) and ch. 13 (percentile intervals).
    """
    from scipy import special
    vbb, vbs, vss = cov[0][0], cov[0][1], cov[1][1]
    if not (math.isfinite(vbb) and vbb >= 0 and 0 < level < 1):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((draws, 2))
    l11 = math.sqrt(vbb)
    b = beta + l11 * u[:, 0]
    if sigma > 1e-3 and math.isfinite(vss) and math.isfinite(vbs) and vss > 0 and l11 > 0:
        l21 = vbs / l11
        l22 = math.sqrt(max(vss - l21 * l21, 0.0))
        s = np.abs(sigma + l21 * u[:, 0] + l22 * u[:, 1])
    else:
        s = np.full(draws, max(sigma, 0.0))
    top = float(s.max())
    h = min(0.25, 0.25 / top) if top > 0 else 0.25
    m = int(math.ceil(_MARGINAL_HALF_WIDTH / h))
    z = h * np.arange(-m, m + 1, dtype=float)
    w = h * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    values = special.expit(b[:, None] + s[:, None] * z[None, :]) @ w
    lower, upper = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lower), float(upper)


def lrt_heterogeneity(events: np.ndarray, totals: np.ndarray) -> float:
    """Likelihood-ratio test statistic of homogeneity (metafor ``QE.LRT``).

    Parameters
    ----------
    events, totals : array_like of int
        Event counts xᵢ and sample sizes nᵢ, one per study.

    Returns
    -------
    float
        2[ℓ(saturated) − ℓ(common p)] ≥ 0, to be referred to χ² with k − 1 df.

    Notes
    -----
    The saturated model puts p̂ᵢ = xᵢ/nᵢ; the common-effect model p̄ = Σxᵢ/Σnᵢ
    (:func:`binomial_loglik`). It is the Q-test that ``rma.glmm`` reports.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1–48. ``help(rma.glmm)``, ``QE.LRT``.
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    pbar = x.sum() / n.sum()
    return max(0.0, 2 * (binomial_loglik(x, n, x / n) - binomial_loglik(x, n, np.full_like(x, pbar))))
