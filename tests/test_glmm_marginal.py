"""The GLMM's population-averaged proportion and the Hessian behind its standard errors.

The marginal (population-averaged) proportion π̄ = ∫ expit(β + σz) φ(z) dz is
checked against brute-force adaptive quadrature (``scipy.integrate.quad``, split
at the logit's midpoint z₀ = −β/σ so that the steep step of large σ is not
missed); R's ``integrate()`` at lme4's estimates is checked in
``test_pooling_metafor.py``. Tolerance ``QUAD = 1e-12``: quad is asked for 1e-12
relative (1e-15 absolute) accuracy and the trapezoidal rule's bound is below e^{−70}
(:func:`evsynth.meta.glmm.marginal_moments`), so what is left is rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from evsynth.meta.glmm import (fit_glmm, hessian_richardson, loglik_agq, marginal_interval,
                               marginal_moments, marginal_proportion)
from evsynth.meta.pooling import pool_proportions

QUAD = 1e-12
D26 = (np.array([99, 200, 150, 1000, 30.0]), np.array([100, 200, 150, 1000, 30.0]))


def brute(beta: float, sigma: float, power: int = 0, weight: str = "p") -> float:
    """∫ g(z) zᵖ φ(z) dz by quad, g = p or p(1 − p), p = expit(β + σz)."""
    def f(z: float) -> float:
        p = special.expit(beta + sigma * z)
        g = p if weight == "p" else p * special.expit(-(beta + sigma * z))
        return g * z ** power * stats.norm.pdf(z)
    z0 = -beta / sigma
    cuts = [-np.inf, z0, np.inf] if abs(z0) < 10 else [-np.inf, np.inf]
    return sum(integrate.quad(f, a, b, epsabs=1e-15, epsrel=1e-12, limit=1000)[0]
               for a, b in zip(cuts[:-1], cuts[1:]))


@pytest.mark.parametrize("sigma", [0.01, 0.3, 1.0, 1.74, 2.17, 4.0, 8.0, 20.0, 50.0])
@pytest.mark.parametrize("beta", [-12.0, -3.0, -0.4, 0.0, 1.2, 7.9])
def test_marginal_and_its_derivatives_match_quad(beta, sigma):
    m, d_beta, d_sigma = marginal_moments(beta, sigma)
    assert m == pytest.approx(brute(beta, sigma), abs=QUAD)
    assert d_beta == pytest.approx(brute(beta, sigma, 0, "pq"), abs=QUAD)
    assert d_sigma == pytest.approx(brute(beta, sigma, 1, "pq"), abs=QUAD)
    assert marginal_proportion(beta, sigma) == m


def test_marginal_properties():
    assert marginal_proportion(1.3, 0.0) == special.expit(1.3)  # no spread: the conditional one
    assert marginal_proportion(0.0, 3.0) == pytest.approx(0.5, abs=1e-15)  # symmetry
    assert marginal_proportion(-1.1, 2.0) == pytest.approx(1 - marginal_proportion(1.1, 2.0), abs=1e-15)
    # attenuation: between 1/2 and expit(beta), further from expit(beta) as sigma grows
    values = [marginal_proportion(1.5, s) for s in (0.5, 1.0, 2.0, 4.0)]
    assert special.expit(1.5) > values[0] > values[1] > values[2] > values[3] > 0.5


def test_delta_method_interval_matches_a_brute_force_delta_method():
    """Gradient of π̄ by central differences of the quad-based π̄, covariance from the fit."""
    x, n = np.array([5, 5, 7, 1, 1, 1, 1, 1, 0.0]), np.array([10, 12, 7, 1, 1, 1, 1, 1, 1.0])
    fit = fit_glmm(x, n)
    crit = stats.norm.isf(0.025)
    est, lo, hi, se = marginal_interval(fit.beta, fit.sigma, fit.cov, crit)
    h = 1e-4
    g = np.array([(brute(fit.beta + h, fit.sigma) - brute(fit.beta - h, fit.sigma)) / (2 * h),
                  (brute(fit.beta, fit.sigma + h) - brute(fit.beta, fit.sigma - h)) / (2 * h)])
    m = brute(fit.beta, fit.sigma)
    se_brute = math.sqrt(g @ np.array(fit.cov) @ g) / (m * (1 - m))
    assert se == pytest.approx(se_brute, rel=1e-6)  # central differences: O(h²) ≈ 1e-8
    assert lo == pytest.approx(special.expit(special.logit(m) - crit * se_brute), abs=1e-7)
    assert hi == pytest.approx(special.expit(special.logit(m) + crit * se_brute), abs=1e-7)
    assert 0 < lo < est < hi < 1


def test_at_the_sigma_zero_boundary_the_marginal_interval_is_the_conditional_one():
    r = pool_proportions([10, 10, 11, 10, 9], [50] * 5, method="GLMM")
    assert r.heterogeneity.tau2 == 0
    assert r.marginal.estimate == pytest.approx(r.pooled.estimate, abs=1e-15)
    assert r.marginal.ci_lower == pytest.approx(r.pooled.ci_lower, abs=1e-12)
    assert r.marginal.ci_upper == pytest.approx(r.pooled.ci_upper, abs=1e-12)
    assert not any("population-averaged" in note for note in r.notes)  # nothing to tell apart


def test_knha_widens_the_marginal_interval_with_the_t_quantile():
    x, n = [5, 5, 7, 3, 9], [10, 12, 7, 8, 11]
    z = pool_proportions(x, n, method="GLMM", test="z").marginal
    t = pool_proportions(x, n, method="GLMM", test="knha").marginal
    assert z.estimate == t.estimate and z.se_logit == t.se_logit
    ratio = stats.t.isf(0.025, 4) / stats.norm.isf(0.025)
    assert special.logit(t.ci_upper) - special.logit(t.estimate) == pytest.approx(
        ratio * (special.logit(z.ci_upper) - special.logit(z.estimate)), rel=1e-10)


def test_d26_log_likelihood_is_smooth_and_its_se_does_not_depend_on_the_step():
    """The d26 bug: rounding noise ≈ 1e-9 in −log L, a 1e-4 step, SE 1.6–2.2 depending on luck."""
    x, n = D26
    fit = fit_glmm(x, n)
    ts = np.linspace(-1e-4, 1e-4, 21)
    values = np.array([-loglik_agq(fit.beta + t, fit.sigma, x, n) for t in ts])
    residual = values - np.polyval(np.polyfit(ts, values, 2), ts)
    assert np.max(np.abs(residual)) < 1e-12  # was 1.3e-9 before the stable log-likelihood

    def objective(theta: np.ndarray) -> float:
        return -loglik_agq(theta[0], theta[1], x, n)

    ses = []
    for rel_step in (0.01, 0.02, 0.05, 0.1):
        for levels in (4, 6):
            hess = hessian_richardson(objective, np.array([fit.beta, fit.sigma]), rel_step, levels)
            ses.append(math.sqrt(np.linalg.inv(hess)[0, 0]))
    assert max(ses) - min(ses) < 1e-7
    assert fit.se == pytest.approx(np.median(ses), abs=1e-7)
    assert 2.1824 < fit.se < 2.1827  # lme4 2.182453; numDeriv on lme4's deviance 2.182465


def test_hessian_richardson_on_a_known_function():
    def f(t: np.ndarray) -> float:
        return math.exp(0.3 * t[0]) * math.cos(t[1]) + t[0] ** 2 * t[1] ** 3

    theta = np.array([2.0, -0.7])
    a, b = theta
    exact = np.array([[0.09 * math.exp(0.3 * a) * math.cos(b) + 2 * b ** 3,
                       -0.3 * math.exp(0.3 * a) * math.sin(b) + 6 * a * b ** 2],
                      [-0.3 * math.exp(0.3 * a) * math.sin(b) + 6 * a * b ** 2,
                       -math.exp(0.3 * a) * math.cos(b) + 6 * a ** 2 * b]])
    np.testing.assert_allclose(hessian_richardson(f, theta), exact, rtol=0, atol=1e-8)


# ------------------------------------------------------------------ the parametric-bootstrap interval

def test_the_bootstrap_interval_is_seed_stable_and_follows_the_nonlinear_map():
    from evsynth.meta.glmm import marginal_bootstrap_interval
    fit = fit_glmm(np.array([5, 7]), np.array([12, 7]))  # partial response of the bundled review, k = 2
    first = marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov)
    assert first == marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov)  # the same seed, the same bytes
    other = marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov, seed=7)
    assert other != first and abs(other[0] - first[0]) < 0.03 and abs(other[1] - first[1]) < 0.03
    estimate, d_lo, d_hi, _ = marginal_interval(fit.beta, fit.sigma, fit.cov, 1.959963984540054)
    lo, hi = first
    assert 0 < lo < estimate < hi < 1
    assert lo < d_lo - 0.1  # the delta method's interval is far too narrow at k = 2 (24 % vs about 11 %)
    narrower = marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov, level=0.9)
    assert lo < narrower[0] < narrower[1] < hi


def test_at_the_sigma_zero_boundary_the_bootstrap_draws_beta_only():
    from evsynth.meta.glmm import marginal_bootstrap_interval
    fit = fit_glmm(np.array([15, 2]), np.array([17, 2]))  # disease control: tau2 = 0
    assert fit.sigma == 0
    lo, hi = marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov)
    z = 1.959963984540054
    se = math.sqrt(fit.cov[0][0])
    # percentiles of expit(beta*) with beta* ~ N(beta, se^2) are expit(beta -/+ z se), up to Monte Carlo
    # error: a 2.5 % percentile of 4000 draws has SE sqrt(.025 .975 / 4000) / phi(z) = 0.042 (z units),
    # here about 0.007 on the proportion scale; 0.02 is about 3 of those
    assert lo == pytest.approx(special.expit(fit.beta - z * se), abs=0.02)
    assert hi == pytest.approx(special.expit(fit.beta + z * se), abs=0.02)


def test_the_bootstrap_interval_covers_the_true_marginal_proportion_on_simulated_sets():
    """Coverage on 60 seeded simulated meta-analyses (k = 8 studies of 25, beta = 0.5, sigma = 0.8).

    Tolerance: at least 0.85 of the nominal 0.95 — 3.5 binomial standard errors (0.028 at 60
    replications) below it, so a correct method fails with probability < 0.001, while an interval
    that ignores sigma's uncertainty (covering about 0.80 here) fails. 200 replications gave 0.935
    (delta method 0.915).
    """
    from evsynth.meta.glmm import GlmmError, marginal_bootstrap_interval
    rng = np.random.default_rng(1)
    beta, sigma, k, n = 0.5, 0.8, 8, 25
    truth = marginal_proportion(beta, sigma)
    hits = total = 0
    for _ in range(60):
        x = rng.binomial(n, special.expit(beta + sigma * rng.standard_normal(k)))
        try:
            fit = fit_glmm(x, np.full(k, n))
        except GlmmError:
            continue
        lo, hi = marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov, draws=1000)
        total += 1
        hits += lo <= truth <= hi
    assert total >= 55
    assert hits / total >= 0.85, (hits, total)


def test_the_bootstrap_interval_agrees_with_the_same_recipe_in_r():
    """tests/golden/bootstrap/marginal_bootstrap.json, made by tests/golden/bootstrap/marginal_bootstrap.R (lme4 glmer, nAGQ = 7;
    covariance from numDeriv's Hessian of the quadrature likelihood; 4000 seeded draws in R).

    Tolerances: (beta, sigma) 1e-4 — glmer stops at its optimiser's tolerance, evsynth at the
    exact-gradient root (they differ by about 1e-5 here); the marginal proportion 1e-5 (the same
    integral at those estimates); the covariance 5 % relative — at k = 2 the likelihood is flat and
    R's Hessian is taken at glmer's unconverged estimate (2.4 % apart here), at k = 8 they agree to
    1e-6; each bootstrap limit 0.03 — R's and numpy's random numbers differ, so only the
    distributions agree: 3 Monte Carlo standard errors of a 2.5 % percentile of 4000 draws.
    """
    import json
    from pathlib import Path

    from evsynth.meta.glmm import marginal_bootstrap_interval
    golden = json.loads((Path(__file__).parent / "golden" / "bootstrap" / "marginal_bootstrap.json").read_text(encoding="utf-8"))
    assert set(golden) == {"pr_bundled", "ae_bundled", "eight"}
    for name, case in golden.items():
        fit = fit_glmm(np.array(case["x"]), np.array(case["n"]))
        assert fit.beta == pytest.approx(case["beta"], abs=1e-4), name
        assert fit.sigma == pytest.approx(case["sigma"], abs=1e-4), name
        assert marginal_proportion(fit.beta, fit.sigma) == pytest.approx(case["marginal"], abs=1e-5), name
        if fit.sigma > 0:
            np.testing.assert_allclose(np.array(fit.cov), np.array(case["cov"]), rtol=0.05, err_msg=name)
        else:  # at sigma = 0 only beta's variance is defined (the bootstrap draws beta only)
            assert fit.cov[0][0] == pytest.approx(case["cov"][0][0], rel=1e-6), name
        lo, hi = marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov, level=case["level"],
                                             draws=case["draws"], seed=case["seed"])
        assert lo == pytest.approx(case["ci_lb"], abs=0.03), name
        assert hi == pytest.approx(case["ci_ub"], abs=0.03), name
