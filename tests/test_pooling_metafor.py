"""Pooled proportions against R's metafor, field by field, from the committed golden files.

The golden files come from ``tests/golden/make_golden.R`` (R + metafor + lme4;
the versions are in each file's ``made_with``). R is not needed to run these tests.

Tolerances (absolute unless stated):

* ``CLOSED = 1e-6`` — closed forms (escalc yᵢ/vᵢ, per-study CIs, DL, HE, SJ, EE,
  Q and its p-value, I², H², weights, back-transformations). The golden files
  hold 15 significant digits; the observed differences are below 1e-9.
* REML and ML — metafor's Fisher scoring stops when a step changes τ² by
  less than ``threshold = 1e-5``. evsynth runs the same scoring iteration from
  the same start (HE) with the same threshold, so both stop at the same iterate
  and only rounding separates them: ``CLOSED`` applies.
* PM and the Q-profile τ² CI — metafor solves Q(τ²) = target with
  ``uniroot(tol = .Machine$double.eps^0.25)`` ≈ 1.22e-4, evsynth with Brent's
  method to 1e-12, so against metafor's defaults τ² (and the CI limits) agree to
  ``UNIROOT_TOL``. The golden files also hold metafor's results with
  ``control = list(tol = 1e-12)``; against those every field agrees to ``CLOSED``.
* GLMM — lme4 (called by ``rma.glmm``) stops its bobyqa search when the trust
  region radius falls below ``rhoend = 2e-7``; on these flat likelihoods that
  leaves β̂ and σ̂ within a few 1e-6 of the optimum (evsynth's log-likelihood at
  its own optimum is higher than at lme4's in every golden data set, see
  ``test_glmm_optimum_not_worse_than_lme4``). We allow ``GLMM_TOL = 5e-5`` on
  the logit scale and τ², 2e-5 on the SE (lme4's SE comes from a
  finite-difference Hessian), 1e-5 on proportions, and 5e-3 percentage points
  on I² (I² = 100τ²/(τ² + ṽ) amplifies the τ² difference by 100ṽ/(τ² + ṽ)²).
  lme4's SE differentiates the deviance with a fixed step 1e-4 (``deriv12``);
  on near-boundary data (d26, rare_events) that alone moves it by up to 3e-4
  (its SE with default and with tightened settings differ by that much), so the
  SE is compared with lme4's to ``LME4_SE_RTOL = 5e-4`` relative, and with a
  careful numerical Hessian (numDeriv's Richardson extrapolation of lme4's own
  deviance function at the tightened optimum) to ``GLMM_SE_TOL``.
* GLMM, lme4 with tightened settings (``glmm_tight``: bobyqa ``rhoend = 1e-12``,
  PIRLS ``tolPwrss = 1e-12``). Where lme4's defaults stop short of the optimum
  (their β̂ or τ̂² differ from the tightened fit by more than ``GLMM_TOL``:
  ``wide_tau``, τ² ≈ 23) the defaults are not a reference and evsynth is compared
  with the tightened fit instead. Against the tightened fit: β̂ and the logit-scale
  limits to ``TIGHT_LOGIT_TOL = 2e-6`` (measured ≤ 4e-7), τ̂² to ``GLMM_TOL``
  (measured ≤ 2e-5 on the flat wide_tau likelihood), SE to ``GLMM_SE_TOL``
  against numDeriv (measured ≤ 1.1e-5).
* Population-averaged proportion: R's ``integrate()`` (QUADPACK, rel.tol 1e-12)
  and the delta method with numDeriv's covariance. At R's own (β̂, σ̂, Σ) evsynth's
  trapezoidal rule must agree to ``QUAD_TOL = 1e-10``; at evsynth's optimum the
  estimate to ``GLMM_PROP_TOL`` and the limits to 5e-6 (measured ≤ 1.1e-6).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from evsynth.meta.glmm import fit_glmm, loglik_agq, marginal_interval
from evsynth.meta.pooling import PoolingError, leave_one_out, pool_proportions, pool_subgroups
from evsynth.meta.proportions import proportion_limits
from evsynth.meta.transforms import escalc_proportions

GOLDEN = Path(__file__).parent / "golden"
DATASETS = sorted(p.stem for p in GOLDEN.glob("*.json"))

CLOSED = 1e-6
UNIROOT_TOL = float(np.finfo(float).eps ** 0.25)  # 1.22e-4, metafor's uniroot tolerance
GLMM_TOL = 5e-5
GLMM_SE_TOL = 2e-5
GLMM_PROP_TOL = 1e-5
GLMM_I2_TOL = 5e-3
LME4_SE_RTOL = 5e-4
TIGHT_LOGIT_TOL = 2e-6
MARGINAL_CI_TOL = 5e-6
QUAD_TOL = 1e-10


def load(name: str) -> dict:
    """A golden file (a fresh copy: the parsed text is cached, ~1 MB over 13 files)."""
    data = json.loads(_golden_text(name))
    for key in ("events", "total", "study"):
        if not isinstance(data[key], list):
            data[key] = [data[key]]
    if data.get("group") is not None and not isinstance(data["group"], list):
        data["group"] = [data["group"]]
    return data


@functools.lru_cache(maxsize=None)
def _golden_text(name: str) -> str:
    return (GOLDEN / f"{name}.json").read_text()


def close(ours, theirs, tol, what):
    """Both missing (None/NaN), or both finite and within tol."""
    ours_missing = ours is None or (isinstance(ours, float) and math.isnan(ours))
    if theirs is None:
        assert ours_missing, f"{what}: metafor has no value, evsynth has {ours}"
        return
    assert not ours_missing, f"{what}: evsynth has no value, metafor has {theirs}"
    assert abs(ours - theirs) <= tol, f"{what}: evsynth {ours} vs metafor {theirs} (tol {tol})"


def fit_cases():
    for name in DATASETS:
        data = load(name)
        for i, fit in enumerate(data["fits"]):
            yield pytest.param(name, i, id=f"{name}-{fit['measure']}-{fit['method']}-{fit['test']}")


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("measure", ["PLO", "PFT", "PAS", "PR"])
def test_escalc_matches(name, measure):
    data = load(name)
    es = escalc_proportions(np.array(data["events"]), np.array(data["total"]), measure)
    gold = data["escalc"][measure]
    np.testing.assert_allclose(es.yi, np.atleast_1d(gold["yi"]), rtol=0, atol=CLOSED)
    np.testing.assert_allclose(es.vi, np.atleast_1d(gold["vi"]), rtol=0, atol=CLOSED)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("method", ["CP", "WILSON", "WILSONCC", "AC", "JEFFREYS"])
def test_study_cis_match_r(name, method):
    data = load(name)
    lo, hi = proportion_limits(np.array(data["events"]), np.array(data["total"]), method, 0.95)
    gold = data["study_ci"][method]
    np.testing.assert_allclose(lo, np.atleast_1d(gold["lower"]), rtol=0, atol=CLOSED)
    np.testing.assert_allclose(hi, np.atleast_1d(gold["upper"]), rtol=0, atol=CLOSED)


@pytest.mark.parametrize("name,index", list(fit_cases()))
def test_rma_matches(name, index):
    data = load(name)
    fit = data["fits"][index]
    what = f"{name} {fit['measure']} {fit['method']} {fit['test']}"
    assert fit["error"] is None, f"metafor failed on {what}: {fit['error']}"
    res = pool_proportions(data["events"], data["total"], data["study"], measure=fit["measure"],
                           method=fit["method"], test=fit["test"], fallback="none")
    d = res.to_dict()
    pm = fit["method"] == "PM"
    tol = UNIROOT_TOL if pm else CLOSED
    h = d["heterogeneity"]
    close(h["tau2"], fit["tau2"], tol, f"{what} tau2")
    close(h["q"], fit["QE"], CLOSED, f"{what} Q")
    close(h["q_pvalue"], fit["QEp"], CLOSED, f"{what} Q p")
    assert h["q_df"] == fit["k"] - 1
    close(h["tau2_ci_lower"], fit["tau2_ci_lb"], UNIROOT_TOL, f"{what} tau2 CI lower")
    close(h["tau2_ci_upper"], fit["tau2_ci_ub"], UNIROOT_TOL, f"{what} tau2 CI upper")
    close(h["tau2_ci_lower"], fit["tau2_ci_lb_tight"], CLOSED, f"{what} tau2 CI lower (tight)")
    close(h["tau2_ci_upper"], fit["tau2_ci_ub_tight"], CLOSED, f"{what} tau2 CI upper (tight)")
    gold = fit["tight"] if pm else fit  # PM: compare every field with metafor's tightened uniroot
    if pm:
        close(h["tau2"], gold["tau2"], CLOSED, f"{what} tau2 (tight)")
    close(h["i2"], gold["I2"], CLOSED, f"{what} I2")
    close(h["h2"], gold["H2"], CLOSED, f"{what} H2")
    t, p = d["transformed"], d["pooled"]
    for ours, key in ((t["estimate"], "estimate"), (t["se"], "se"), (t["ci_lower"], "ci_lb"),
                      (t["ci_upper"], "ci_ub"), (t["pi_lower"], "pi_lb"), (t["pi_upper"], "pi_ub"),
                      (p["estimate"], "pred"), (p["ci_lower"], "pred_ci_lb"),
                      (p["ci_upper"], "pred_ci_ub"), (p["pi_lower"], "pred_pi_lb"),
                      (p["pi_upper"], "pred_pi_ub")):
        close(ours, gold[key], CLOSED, f"{what} {key}")
    if not pm:
        weights = [s["weight"] for s in d["studies"]]
        np.testing.assert_allclose(weights, np.atleast_1d(fit["weights"]), rtol=0, atol=CLOSED)
    assert d["k"] == fit["k"]


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_glmm_matches_rma_glmm(name, test):
    data = load(name)
    fit = next(f for f in data["glmm"] if f["test"] == test)
    what = f"{name} GLMM {test}"
    if fit["error"] is not None:  # k = 1, all zero, all events: metafor cannot fit either
        with pytest.raises(PoolingError):
            pool_proportions(data["events"], data["total"], method="GLMM", test=test, fallback="none")
        return
    tight = next(f for f in data["glmm_tight"] if f["test"] == test)
    if not lme4_defaults_converged(data, test):  # see the module docstring (wide_tau)
        what += " (lme4 tightened)"
        fit = tight
    d = pool_proportions(data["events"], data["total"], method="GLMM", test=test,
                         fallback="none").to_dict()
    t, p, h = d["transformed"], d["pooled"], d["heterogeneity"]
    close(t["estimate"], fit["estimate"], GLMM_TOL, f"{what} estimate")
    close(t["se"], fit["se"], max(GLMM_SE_TOL, LME4_SE_RTOL * fit["se"]), f"{what} se (lme4)")
    close(t["se"], tight["se_numderiv"], GLMM_SE_TOL, f"{what} se (numDeriv Hessian)")
    for key, ours in (("ci_lb", t["ci_lower"]), ("ci_ub", t["ci_upper"]), ("pi_lb", t["pi_lower"]),
                      ("pi_ub", t["pi_upper"])):
        close(ours, fit[key], GLMM_TOL, f"{what} {key}")
    for key, ours in (("pred", p["estimate"]), ("pred_ci_lb", p["ci_lower"]),
                      ("pred_ci_ub", p["ci_upper"]), ("pred_pi_lb", p["pi_lower"]),
                      ("pred_pi_ub", p["pi_upper"])):
        close(ours, fit[key], GLMM_PROP_TOL, f"{what} {key}")
    close(h["tau2"], fit["tau2"], GLMM_TOL, f"{what} tau2")
    close(h["i2"], fit["I2"], GLMM_I2_TOL, f"{what} I2")
    close(h["h2"], fit["H2"], GLMM_TOL, f"{what} H2")
    default = next(f for f in data["glmm"] if f["test"] == test)
    close(h["q"], default["QE_LRT"], CLOSED, f"{what} Q (LRT)")  # closed form in both
    close(h["q_pvalue"], default["QEp_LRT"], CLOSED, f"{what} Q p (LRT)")
    assert h["tau2_ci_lower"] is None and all(s["weight"] is None for s in d["studies"])


def lme4_defaults_converged(data: dict, test: str) -> bool:
    """lme4's default fit is at its tightened fit's optimum (β̂ and τ̂² within GLMM_TOL)."""
    default = next(f for f in data["glmm"] if f["test"] == test)
    tight = next(f for f in data["glmm_tight"] if f["test"] == test)
    return (abs(default["estimate"] - tight["estimate"]) <= GLMM_TOL
            and abs(default["tau2"] - tight["tau2"]) <= GLMM_TOL)


GLMM_DATASETS = [n for n in DATASETS if load(n)["glmm"][0]["error"] is None]


def test_the_golden_files_cover_the_hard_glmm_cases():
    names = set(GLMM_DATASETS)
    assert {"d26", "rare_events", "sigma_zero", "wide_tau", "large_k"} <= names
    assert not lme4_defaults_converged(load("wide_tau"), "z")  # the tightened reference is needed
    assert load("sigma_zero")["glmm_tight"][0]["sigma"] < 1e-6  # the boundary case is there (lme4: 2e-9)
    assert len(load("large_k")["events"]) == 200


@pytest.mark.parametrize("name", GLMM_DATASETS)
def test_glmm_optimum_not_worse_than_lme4(name):
    data = load(name)
    x, n = np.array(data["events"], float), np.array(data["total"], float)
    fit = fit_glmm(x, n)
    for gold in (data["glmm"][0], data["glmm_tight"][0]):
        theirs = loglik_agq(gold["estimate"], math.sqrt(gold["tau2"]), x, n)
        assert fit.loglik >= theirs - 1e-12


@pytest.mark.parametrize("name", GLMM_DATASETS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_glmm_matches_tightened_lme4_and_numderiv(name, test):
    data = load(name)
    gold = next(f for f in data["glmm_tight"] if f["test"] == test)
    what = f"{name} GLMM {test} (lme4 tightened)"
    r = pool_proportions(data["events"], data["total"], method="GLMM", test=test, fallback="none")
    t = r.transformed
    close(t.estimate, gold["estimate"], TIGHT_LOGIT_TOL, f"{what} estimate")
    # lme4's own CI uses its fixed-step SE (see the docstring); rebuilt with numDeriv's SE instead
    crit = gold["crit"]
    close(t.ci_lower, gold["estimate"] - crit * gold["se_numderiv"], TIGHT_LOGIT_TOL + crit * GLMM_SE_TOL,
          f"{what} ci_lb")
    close(t.ci_upper, gold["estimate"] + crit * gold["se_numderiv"], TIGHT_LOGIT_TOL + crit * GLMM_SE_TOL,
          f"{what} ci_ub")
    close(r.heterogeneity.tau2, gold["tau2"], GLMM_TOL, f"{what} tau2")
    close(t.se, gold["se_numderiv"], GLMM_SE_TOL, f"{what} se (numDeriv Hessian)")
    fit = fit_glmm(np.array(data["events"], float), np.array(data["total"], float))
    assert (fit.cov[1][1] > 0) == (gold["sigma"] > 1e-3)
    if gold["sigma"] > 1e-3:  # the whole covariance of (beta, sigma), relative to its size
        ours, theirs = np.array(fit.cov), np.array(gold["cov"], dtype=float)
        assert np.max(np.abs(ours - theirs)) <= 1e-4 * np.max(np.abs(theirs)), (ours, theirs)
    m = r.marginal
    close(m.estimate, gold["marginal"], GLMM_PROP_TOL, f"{what} marginal")
    close(m.ci_lower, gold["marginal_ci_lb"], MARGINAL_CI_TOL, f"{what} marginal ci_lb")
    close(m.ci_upper, gold["marginal_ci_ub"], MARGINAL_CI_TOL, f"{what} marginal ci_ub")


@pytest.mark.parametrize("name", GLMM_DATASETS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_marginal_formula_matches_r_at_the_same_parameters(name, test):
    """Same (β̂, σ̂, Σ, quantile) as R: only the integration rule differs (QUADPACK vs trapezoid)."""
    gold = next(f for f in load(name)["glmm_tight"] if f["test"] == test)
    cov = tuple(tuple(math.nan if v is None else v for v in row) for row in gold["cov"])
    est, lo, hi, se = marginal_interval(gold["beta_lme4"], gold["sigma"], cov, gold["crit"])
    close(est, gold["marginal"], QUAD_TOL, f"{name} marginal")
    close(se, gold["marginal_se_logit"], QUAD_TOL * 1e3, f"{name} marginal se_logit")
    close(lo, gold["marginal_ci_lb"], QUAD_TOL, f"{name} marginal ci_lb")
    close(hi, gold["marginal_ci_ub"], QUAD_TOL, f"{name} marginal ci_ub")


@pytest.mark.parametrize("name", [n for n in DATASETS if load(n)["leave1out"] is not None])
def test_leave_one_out_matches(name):
    data = load(name)
    gold = data["leave1out"]
    out = leave_one_out(data["events"], data["total"], data["study"], measure="PLO", method="REML",
                        fallback="none")
    assert [s for s, _ in out] == data["study"]
    for i, (_, r) in enumerate(out):
        close(r.transformed.estimate, gold["estimate"][i], CLOSED, f"{name} l1o {i} estimate")
        close(r.transformed.se, gold["se"][i], CLOSED, f"{name} l1o {i} se")
        close(r.transformed.ci_lower, gold["ci_lb"][i], CLOSED, f"{name} l1o {i} ci_lb")
        close(r.transformed.ci_upper, gold["ci_ub"][i], CLOSED, f"{name} l1o {i} ci_ub")
        close(r.heterogeneity.tau2, gold["tau2"][i], CLOSED, f"{name} l1o {i} tau2")
        close(r.heterogeneity.i2, gold["I2"][i], CLOSED, f"{name} l1o {i} I2")
        close(r.heterogeneity.q, gold["Q"][i], CLOSED, f"{name} l1o {i} Q")


def subgroup_cases():
    for name in DATASETS:
        data = load(name)
        for i, sub in enumerate(data.get("subgroups") or []):
            yield pytest.param(name, i, id=f"{name}-{sub['measure']}-{sub['method']}-{sub['test']}")


@pytest.mark.parametrize("name,index", list(subgroup_cases()))
def test_subgroups_match(name, index):
    data = load(name)
    gold = data["subgroups"][index]
    res = pool_subgroups(data["events"], data["total"], data["group"], data["study"],
                         measure=gold["measure"], method=gold["method"], test=gold["test"],
                         fallback="none")
    assert list(res.subgroups) == list(np.atleast_1d(gold["levels"]))
    for j, r in enumerate(res.subgroups.values()):
        close(r.transformed.estimate, gold["estimate"][j], CLOSED, f"{name} subgroup {j} estimate")
        close(r.transformed.se, gold["se"][j], CLOSED, f"{name} subgroup {j} se")
        close(r.heterogeneity.tau2, gold["tau2"][j], CLOSED, f"{name} subgroup {j} tau2")
    close(res.test_between.q, gold["q"], CLOSED, f"{name} Q between")
    assert res.test_between.df == gold["df"]
    close(res.test_between.pvalue, gold["pvalue"], CLOSED, f"{name} Q between p")


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("method", ["REML", "GLMM"])
def test_crude_proportion_is_binom_test_of_the_sums(name, method):
    """Σx/Σn with R's binom.test(sum(x), sum(n)) interval, beside every estimate (closed form)."""
    data = load(name)
    gold = data["crude"]
    r = pool_proportions(data["events"], data["total"], method=method)
    c = r.crude
    assert (c.events, c.total) == (gold["events"], gold["total"])
    close(c.estimate, gold["events"] / gold["total"], CLOSED, f"{name} crude")
    close(c.ci_lower, gold["lower"], CLOSED, f"{name} crude lower")
    close(c.ci_upper, gold["upper"], CLOSED, f"{name} crude upper")
    boundary = all(x in (0, n) for x, n in zip(data["events"], data["total"]))
    glmm_unfit = method == "GLMM" and data["glmm"][0]["error"] is not None
    assert r.basis == ("crude" if boundary or glmm_unfit else "model")
    if r.basis == "crude":  # the crude proportion stands in for the model, with the reason
        assert (r.pooled.estimate, r.pooled.ci_lower, r.pooled.ci_upper) == (
            c.estimate, c.ci_lower, c.ci_upper)
        assert r.basis_reason and r.estimand.startswith("crude")
