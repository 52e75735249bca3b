"""Meta-analysis of proportions: pooled estimate, heterogeneity, subgroups, leave-one-out.

Everything follows metafor (Viechtbauer 2010) so that the numbers equal
``rma(measure, xi, ni, method, test)``, ``predict()``, ``confint()`` and
``rma.glmm(measure = "PLO")``:

* yᵢ, vᵢ from :func:`evsynth.meta.transforms.escalc_proportions`; τ̂² from
  :func:`evsynth.meta.tau2.estimate_tau2_noted` (or the GLMM, :mod:`evsynth.meta.glmm`);
  where metafor's Fisher scoring stops unconverged, its documented remedy
  (``stepadj = 0.5``) is applied and noted.
* μ̂ = Σwᵢyᵢ/Σwᵢ, wᵢ = 1/(vᵢ + τ̂²), SE = (Σwᵢ)^{−1/2}; CI μ̂ ± z SE.
* Knapp & Hartung (2003) (``test = "knha"``): SE² multiplied by
  s² = Σwᵢ(yᵢ − μ̂)²/(k − 1) (not truncated at 1, as metafor; s² = 0 when the
  sum is 0) and t_{k−1} quantiles.
* Prediction interval μ̂ ± c √(SE² + τ̂²), c the CI's quantile (metafor
  ``predict.rma``, default ``pi.type``); none for ``EE`` (metafor).
* k = 1: τ̂² = 0 and ``knha`` falls back to normal quantiles (metafor sets
  ``test = "z"`` when k = 1).
* Q = Σ(yᵢ − ȳ_w)²/vᵢ with k − 1 df (Cochran 1954). I² = 100 τ̂²/(τ̂² + ṽ) and
  H² = (τ̂² + ṽ)/ṽ with the typical within-study variance
  ṽ = (k − 1)/(Σwᵢ − Σwᵢ²/Σwᵢ), wᵢ = 1/vᵢ (Higgins & Thompson 2002, eq. 9;
  metafor's definition); for ``EE`` I² = max(0, 100 (Q − (k−1))/Q), H² = Q/(k−1).
  For k = 1: Q = 0, p = 1, I² = 0, H² = 1 (metafor).
* τ² CI by the Q-profile method (:func:`evsynth.meta.tau2.tau2_qprofile_ci`),
  not for ``EE``, GLMM or k = 1.
* Weights in percent, 100 wᵢ/Σwᵢ (metafor ``weights()``); none for the GLMM.
* Subgroups: a separate model (with its own τ²) per level, as meta's default
  (``tau.common = FALSE``); test for subgroup differences
  Q_b = Σ_g (μ̂_g − μ̄)²/SE_g², μ̄ the 1/SE_g²-weighted mean, G − 1 df
  (Borenstein et al. 2009, ch. 19; metafor's "separate models" recipe, an
  ``EE`` model on the subgroup estimates).
* GLMM: β̂, SE and τ̂² from :func:`evsynth.meta.glmm.fit_glmm`; CI by z, or t_{k−1}
  with ``test = "knha"`` (metafor ``test = "t"``); I²/H² from τ̂² and ṽ of the
  PLO escalc variances (as ``rma.glmm``); Q is the likelihood-ratio test of
  homogeneity (``QE.LRT``).

* Every result carries the crude proportion Σxᵢ/Σnᵢ with its Clopper–Pearson
  CI (``crude``; R ``binom.test(sum(x), sum(n))``), and names its estimand
  (:func:`estimand`). The GLMM's ``estimate`` is the conditional (median-study)
  proportion expit(β̂); ``marginal`` is the population-averaged proportion
  ∫ expit(β̂ + σ̂z)φ(z)dz with a delta-method CI
  (:func:`evsynth.meta.glmm.marginal_interval`, what R golden files check) and a
  seeded parametric-bootstrap CI (:func:`evsynth.meta.glmm.marginal_bootstrap_interval`),
  the one the review reports.
* ``fallback="crude"`` (default): when every study has 0 % or 100 % events, or
  the GLMM cannot be fitted, the result is descriptive — ``basis == "crude"``,
  ``pooled`` = the crude proportion, ``basis_reason`` and a note say why, the
  model quantities are NaN. ``fallback="none"`` is metafor's behaviour.
* The test between subgroups compares estimates of one model only (its
  ``model``, ``measure`` and ``method`` are on :class:`BetweenTest`); subgroups
  reported descriptively are left out and listed.

Values that do not exist (e.g. a knha interval for k = 1) are NaN in the
dataclasses and ``None`` in :meth:`PoolResult.to_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
# scipy is imported inside the functions that use it: commands that only need this module's
# names (validate reads the analysis plan) start without loading scipy.

from evsynth.core import model_names
from evsynth.meta._distributions import _chi2_sf, _norm_isf, _t_isf
from evsynth.meta.glmm import (BOOTSTRAP_DRAWS, BOOTSTRAP_SEED, GlmmError, fit_glmm, lrt_heterogeneity,
                               marginal_bootstrap_interval, marginal_interval)
from evsynth.meta.proportions import CI_METHODS, crude_proportion, proportion_limits
from evsynth.meta.tau2 import ESTIMATORS, ConvergenceError, estimate_tau2_noted, tau2_qprofile_ci
from evsynth.meta.transforms import MEASURES, back_transform, escalc_proportions

METHODS = model_names.METHODS  # ESTIMATORS + ("GLMM",)
TESTS = model_names.TESTS  # ("z", "knha")
#: What :func:`pool_proportions` reports when the model cannot give a meaningful estimate.
FALLBACKS: tuple[str, ...] = ("crude", "none")

#: ``PoolResult.basis``: the pooled numbers come from the model, or are the crude proportion.
BASIS_MODEL = "model"
BASIS_CRUDE = "crude"

#: The name of the subgroup test in :class:`BetweenTest` (see :func:`test_between_subgroups`).
BETWEEN_METHOD = "Q-test for subgroup differences (separate models, Wald-type, chi-square G-1 df)"

NAN = float("nan")


class PoolingError(ValueError):
    """The data cannot be pooled as asked (message is one readable line)."""


def _num(value: float | int | None) -> float | int | None:
    """JSON-ready number: NaN and ±inf become None."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class PooledProportion:
    """The pooled result back on the proportion scale (0–1)."""

    estimate: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float

    def to_dict(self) -> dict[str, Any]:
        return {k: _num(getattr(self, k)) for k in ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")}


@dataclass(frozen=True)
class PooledTransformed:
    """The pooled result on the scale of the measure (e.g. logit for PLO)."""

    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float

    def to_dict(self) -> dict[str, Any]:
        return {k: _num(getattr(self, k))
                for k in ("estimate", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper")}


@dataclass(frozen=True)
class CrudeProportion:
    """Σ events / Σ patients with its exact CI (Clopper–Pearson unless asked otherwise)."""

    events: int
    total: int
    estimate: float
    ci_lower: float
    ci_upper: float
    ci_method: str = "CP"

    def to_dict(self) -> dict[str, Any]:
        return {"events": int(self.events), "total": int(self.total), "estimate": _num(self.estimate),
                "ci_lower": _num(self.ci_lower), "ci_upper": _num(self.ci_upper),
                "ci_method": self.ci_method}


@dataclass(frozen=True)
class MarginalProportion:
    """The GLMM's population-averaged proportion ∫ expit(β̂ + σ̂z) φ(z) dz with its CI.

    See :func:`evsynth.meta.glmm.marginal_interval`: delta method on the logit scale
    with the covariance of (β̂, σ̂), the CI's quantile as the model's.
    """

    estimate: float
    ci_lower: float
    ci_upper: float
    se_logit: float
    ci_method: str = "delta method on the logit scale, covariance of (beta, sigma) from the ML Hessian"
    #: The parametric-bootstrap interval (:func:`evsynth.meta.glmm.marginal_bootstrap_interval`), which
    #: follows the non-linear map (β, σ) → π̄; with few studies it is the one to report.
    bootstrap_lower: float = NAN
    bootstrap_upper: float = NAN
    bootstrap_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": _num(self.estimate), "ci_lower": _num(self.ci_lower),
                "ci_upper": _num(self.ci_upper), "se_logit": _num(self.se_logit),
                "ci_method": self.ci_method, "bootstrap_ci_lower": _num(self.bootstrap_lower),
                "bootstrap_ci_upper": _num(self.bootstrap_upper), "bootstrap_method": self.bootstrap_method}


@dataclass(frozen=True)
class Heterogeneity:
    """τ² with its Q-profile CI, I² (percent), H², and the Q-test."""

    tau2: float
    tau2_ci_lower: float
    tau2_ci_upper: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    #: True when the τ² CI's upper limit is really "> tau2_ci_upper" (the search limit).
    tau2_ci_upper_truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: _num(getattr(self, k)) for k in
                ("tau2", "tau2_ci_lower", "tau2_ci_upper", "i2", "h2", "q", "q_df", "q_pvalue")}


@dataclass(frozen=True)
class StudyEstimate:
    """One study: its counts, proportion with CI, weight (percent) and escalc yᵢ, vᵢ."""

    study: str
    events: int
    total: int
    proportion: float
    ci_lower: float
    ci_upper: float
    weight: float
    yi: float
    vi: float

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "events": int(self.events), "total": int(self.total),
                "proportion": _num(self.proportion), "ci_lower": _num(self.ci_lower),
                "ci_upper": _num(self.ci_upper), "weight": _num(self.weight)}


@dataclass(frozen=True)
class PoolResult:
    """A pooled meta-analysis of proportions (see the module docstring for the formulas)."""

    measure: str
    method: str
    test: str
    level: float
    ci_method: str
    k: int
    pooled: PooledProportion
    transformed: PooledTransformed
    heterogeneity: Heterogeneity
    studies: tuple[StudyEstimate, ...]
    notes: tuple[str, ...] = ()
    #: ``"model"``: ``pooled`` is the model's estimate; ``"crude"``: the model was not used
    #: (see ``basis_reason``) and ``pooled`` is the crude proportion with its exact CI.
    basis: str = BASIS_MODEL
    #: Why the crude proportion stands in for the model ("" when ``basis == "model"``).
    basis_reason: str = ""
    #: What ``pooled.estimate`` estimates, in words (see :func:`estimand`).
    estimand: str = ""
    #: Σ events / Σ patients with its exact CI, beside every pooled estimate.
    crude: CrudeProportion | None = None
    #: GLMM only: the population-averaged proportion (``None`` otherwise).
    marginal: MarginalProportion | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON structure of ``evsynth pool --json`` (without subgroups)."""
        return {"measure": self.measure, "method": self.method, "test": self.test,
                "level": self.level, "k": self.k, "pooled": self.pooled.to_dict(),
                "transformed": self.transformed.to_dict(),
                "heterogeneity": self.heterogeneity.to_dict(),
                "studies": [s.to_dict() for s in self.studies],
                "basis": self.basis, "basis_reason": self.basis_reason or None,
                "estimand": self.estimand,
                "crude": self.crude.to_dict() if self.crude else None,
                "marginal": self.marginal.to_dict() if self.marginal else None,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class BetweenTest:
    """Test for subgroup differences: Q between, its df and p-value, and what was compared.

    ``model`` is the pooling method of every compared subgroup (e.g. ``"GLMM"``)
    and ``measure`` its scale, ``method`` the test (:data:`BETWEEN_METHOD`);
    ``subgroups`` the compared levels and ``excluded`` the levels left out with
    the reason (not pooled by the model); ``note`` says why there is no test.
    """

    q: float
    df: int
    pvalue: float
    model: str = ""
    measure: str = ""
    method: str = BETWEEN_METHOD
    subgroups: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"q": _num(self.q), "df": _num(self.df), "pvalue": _num(self.pvalue),
                "model": self.model or None, "measure": self.measure or None, "method": self.method,
                "subgroups": list(self.subgroups),
                "excluded": [{"subgroup": name, "reason": why} for name, why in self.excluded],
                "note": self.note or None}


@dataclass(frozen=True)
class SubgroupAnalysis:
    """The overall model, one model per subgroup level, and the test between them."""

    overall: PoolResult
    subgroups: dict[str, PoolResult] = field(default_factory=dict)
    test_between: BetweenTest = BetweenTest(NAN, 0, NAN)

    def all_notes(self) -> list[str]:
        """Every note: the overall model's, each subgroup's (prefixed by its name), the test's."""
        notes = list(self.overall.notes)
        for name, sub in self.subgroups.items():
            notes += [f"{name}: {n}" for n in sub.notes]
        if self.test_between.note:
            notes.append(f"Test for subgroup differences: {self.test_between.note}")
        return notes

    def to_dict(self) -> dict[str, Any]:
        """The JSON structure of ``evsynth pool --by COLUMN --json`` (``notes``: :meth:`all_notes`)."""
        out = self.overall.to_dict()
        out["notes"] = self.all_notes()
        out["subgroups"] = {name: r.to_dict() for name, r in self.subgroups.items()}
        out["test_between"] = self.test_between.to_dict()
        return out


def _check_counts(events: Sequence[int], totals: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(events)
    n = np.asarray(totals)
    if x.ndim != 1 or x.shape != n.shape:
        raise PoolingError("events and totals must be two lists of the same length")
    if len(x) == 0:
        raise PoolingError("no studies to pool")
    for i, (a, b) in enumerate(zip(x.tolist(), n.tolist())):
        if a != int(a) or b != int(b):
            raise PoolingError(f"study {i + 1}: counts must be whole numbers")
        if b < 1:
            raise PoolingError(f"study {i + 1}: total must be at least 1")
        if not 0 <= a <= b:
            raise PoolingError(f"study {i + 1}: events must be between 0 and total")
    return x.astype(float), n.astype(float)


def _options(measure: str, method: str, ci: str, test: str, level: float) -> tuple[str, str, str, str]:
    measure, method, ci, test = measure.upper(), method.upper(), ci.upper(), test.lower()
    if measure not in MEASURES:
        raise PoolingError(f"unknown measure {measure}; use one of {', '.join(MEASURES)}")
    if method not in METHODS:
        raise PoolingError(f"unknown method {method}; use one of {', '.join(METHODS)}")
    if ci not in CI_METHODS:
        raise PoolingError(f"unknown CI method {ci}; use one of {', '.join(CI_METHODS)}")
    if test not in TESTS:
        raise PoolingError(f"unknown test {test}; use z or knha")
    if not 0 < level < 1:
        raise PoolingError(f"level must be between 0 and 1 (got {level})")
    if method == "GLMM" and measure != "PLO":
        raise PoolingError("the GLMM pools on the logit scale: use measure PLO with method GLMM")
    return measure, method, ci, test


def _typical_within_variance(vi: np.ndarray) -> float:
    """ṽ = (k − 1)/(Σwᵢ − Σwᵢ²/Σwᵢ), wᵢ = 1/vᵢ (Higgins & Thompson 2002)."""
    w = 1.0 / vi
    return (len(vi) - 1) / (w.sum() - np.sum(w ** 2) / w.sum())


def pool_proportions(events: Sequence[int], totals: Sequence[int],
                     studies: Sequence[str] | None = None, *, measure: str = "PLO",
                     method: str = "REML", ci: str = "CP", test: str = "z",
                     level: float = 0.95, fallback: str = "crude") -> PoolResult:
    """Pool single proportions ``events/totals`` across studies, as metafor does.

    Beside every pooled estimate the result carries the crude proportion
    (``crude``), what the estimate estimates (``estimand``) and, for the GLMM,
    the population-averaged proportion (``marginal``).

    With ``fallback="crude"`` (the default), when the model cannot give a
    meaningful estimate the result is the crude proportion Σxᵢ/Σnᵢ with its
    Clopper–Pearson CI instead, ``basis == "crude"`` and ``basis_reason`` says
    why: when every study has 0 % or 100 % events (any model would then rest on
    the ½ continuity correction — e.g. two 1/1 studies give 75 % by REML/PLO —
    or, for the GLMM, has no finite estimate), and when the GLMM cannot be
    fitted (k = 1, or no finite ML estimate). ``fallback="none"`` behaves as
    metafor: the continuity-corrected fit, or :class:`PoolingError` where
    ``rma``/``rma.glmm`` stop with an error.

    Parameters
    ----------
    events, totals : sequence of int
        Event counts xᵢ and sample sizes nᵢ, one per study.
    studies : sequence of str, optional
        Study labels (default ``"1"``, ``"2"``, ...).
    measure : {"PLO", "PFT", "PAS", "PR"}
        Scale of pooling (metafor ``escalc`` measure).
    method : {"REML", "DL", "PM", "ML", "HE", "SJ", "EE", "GLMM"}
        τ² estimator, ``EE`` for the common-effect model, or the GLMM.
    ci : {"CP", "WILSON", "WILSONCC", "AC", "JEFFREYS"}
        Per-study confidence interval (:mod:`evsynth.meta.proportions`).
    test : {"z", "knha"}
        Normal quantiles or Knapp–Hartung adjustment with t_{k−1}.
    level : float
        Confidence level, e.g. 0.95.
    fallback : {"crude", "none"}
        See above.

    Returns
    -------
    PoolResult

    Raises
    ------
    PoolingError
        Bad counts or options; with ``fallback="none"``, a model without a
        finite estimate (GLMM on all-zero or all-event data, or with k = 1).

    Notes
    -----
    yᵢ, vᵢ = ``escalc`` (:func:`evsynth.meta.transforms.escalc_proportions`);
    μ̂ = Σwᵢyᵢ/Σwᵢ with wᵢ = 1/(vᵢ + τ̂²), SE = (Σwᵢ)^(−1/2), CI μ̂ ± z·SE (or
    Knapp–Hartung: SE² × Σwᵢ(yᵢ − μ̂)²/(k − 1) with t_(k−1)), prediction interval
    μ̂ ± c·√(SE² + τ̂²); Q, I², H² and the Q-profile τ² CI as metafor; all back on
    the 0–1 scale by :func:`evsynth.meta.transforms.back_transform`. The GLMM is
    :func:`evsynth.meta.glmm.fit_glmm`. Each step, with its source, is in the
    module docstring; the numbers equal metafor's ``rma()`` / ``rma.glmm()``
    (golden files of ``tests/golden/make_golden.R``).

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1–48.

    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Controlled
    Clinical Trials 7(3):177–188.

    Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression
    with a single covariate. Statistics in Medicine 22(17):2693–2710.

    Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis.
    Statistics in Medicine 21(11):1539–1558.

    Examples
    --------
    >>> from evsynth.meta import pool_proportions
    >>> r = pool_proportions([5, 12, 3, 0], [10, 19, 8, 6], method="REML")
    >>> round(r.pooled.estimate, 4), round(r.pooled.ci_lower, 4), round(r.pooled.ci_upper, 4)
    (0.4869, 0.3087, 0.6684)
    >>> r.estimand
    'back-transformed mean logit (median of the study proportions)'
    """
    measure, method, ci, test = _options(measure, method, ci, test, level)
    if fallback not in FALLBACKS:
        raise PoolingError(f"unknown fallback {fallback}; use one of {', '.join(FALLBACKS)}")
    x, n = _check_counts(events, totals)
    k = len(x)
    labels = [str(s) for s in studies] if studies is not None else [str(i + 1) for i in range(k)]
    if len(labels) != k:
        raise PoolingError("one study label per study is needed")
    es = escalc_proportions(x, n, measure)
    yi, vi = es.yi, es.vi
    notes: list[str] = []
    crude_ci = crude_proportion(x, n, "CP", level)
    crude = CrudeProportion(crude_ci.events, crude_ci.total, crude_ci.proportion, crude_ci.ci_lower,
                            crude_ci.ci_upper, "CP")
    options = (measure, method, test, level, ci)

    if fallback == "crude" and np.all((x == 0) | (x == n)):
        share = "0%" if x.sum() == 0 else "100%" if x.sum() == n.sum() else "0% or 100%"
        return crude_result(x, n, labels, options, crude,
                            f"every study has {share} events, so "
                            + ("the GLMM has no finite estimate" if method == "GLMM" else
                               f"a {method} estimate would rest on the 1/2 continuity correction"))
    marginal = None
    if method == "GLMM":
        try:
            fit, marginal = _fit_glmm(x, n, vi, test, level, notes)
        except GlmmError as exc:
            if fallback == "crude":
                return crude_result(x, n, labels, options, crude, str(exc))
            raise PoolingError(str(exc)) from None
    else:
        fit = _fit_inverse_variance(yi, vi, method, test, level, notes)
    result = _assemble(fit, x, n, labels, yi, vi, (measure, method, ci, test, level), notes)
    return replace(result, basis=BASIS_MODEL, estimand=estimand(measure, method), crude=crude, marginal=marginal)


@dataclass(frozen=True)
class _Fit:
    """What a model gives on the transformed scale, before the result is assembled (internal)."""

    mu: float
    se: float
    tau2: float
    crit: float  # quantile of the CI (z or t_{k-1})
    q: float
    i2: float
    h2: float
    weights: np.ndarray  # percent; NaN for the GLMM
    tau2_lo: float = NAN
    tau2_hi: float = NAN
    truncated: bool = False


def _fit_glmm(x: np.ndarray, n: np.ndarray, vi: np.ndarray, test: str, level: float,
              notes: list[str]) -> tuple[_Fit, MarginalProportion]:
    """The random-intercept logistic model (:mod:`evsynth.meta.glmm`) and its population-averaged
    proportion; Q is the LRT of homogeneity. Raises :class:`GlmmError` when it cannot be fitted."""
    from scipy.special import expit as expit_scalar
    k = len(x)
    alpha = 1 - level
    fit = fit_glmm(x, n)
    mu, se, tau2 = fit.beta, fit.se, fit.tau2
    if not math.isfinite(se):
        notes.append("GLMM: the likelihood is not curved at the estimate; no standard error, "
                     "so no CI or prediction interval.")
    crit = _t_isf(alpha / 2, k - 1) if test == "knha" else _norm_isf(alpha / 2)
    q = lrt_heterogeneity(x, n)
    vt = _typical_within_variance(vi)
    notes.append("Q is the likelihood-ratio test of homogeneity (metafor QE.LRT).")
    m, m_lo, m_hi, m_se = marginal_interval(fit.beta, fit.sigma, fit.cov, float(crit))
    conditional = float(expit_scalar(mu))
    if abs(conditional - m) >= 0.0005:
        notes.append(f"GLMM: the estimate {100 * conditional:.1f}% is the conditional (median-study) "
                     f"proportion; averaged over the between-study distribution (tau^2 = "
                     f"{tau2:.3g}) the population-averaged proportion is {100 * m:.1f}%.")
    b_lo, b_hi = marginal_bootstrap_interval(fit.beta, fit.sigma, fit.cov, level)
    how = (f"parametric bootstrap: {BOOTSTRAP_DRAWS} draws of (beta, sigma) from the fit's covariance, "
           f"seed {BOOTSTRAP_SEED}, percentile interval")
    return (_Fit(mu, se, tau2, crit, q, 100 * tau2 / (vt + tau2), tau2 / vt + 1, np.full(k, NAN)),
            MarginalProportion(m, m_lo, m_hi, m_se, bootstrap_lower=b_lo, bootstrap_upper=b_hi,
                               bootstrap_method=how))


def _fit_inverse_variance(yi: np.ndarray, vi: np.ndarray, method: str, test: str, level: float,
                          notes: list[str]) -> _Fit:
    """The inverse-variance model: τ̂² by *method* (or EE), Knapp–Hartung if asked, Q, I², H², τ² CI."""
    k = len(yi)
    alpha = 1 - level
    try:
        tau2, note = estimate_tau2_noted(yi, vi, method)
    except ConvergenceError as exc:
        raise PoolingError(f"{method}: {exc}") from None
    if note:
        notes.append(note)
    w = 1.0 / (vi + tau2)
    mu = float(np.sum(w * yi) / w.sum())
    se = float(np.sqrt(1.0 / w.sum()))
    if test == "knha" and k > 1:
        rss = float(np.sum(w * (yi - mu) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - 1)
        se = se * math.sqrt(s2w)
        crit = _t_isf(alpha / 2, k - 1)
    else:
        if test == "knha":
            notes.append("Knapp-Hartung needs at least 2 studies: normal quantiles used (as metafor).")
        crit = _norm_isf(alpha / 2)
    weights = 100 * w / w.sum()
    if k > 1:
        w0 = 1.0 / vi
        ybar = np.sum(w0 * yi) / w0.sum()
        q = max(0.0, float(np.sum(w0 * (yi - ybar) ** 2)))
        vt = _typical_within_variance(vi)
        if method == "EE":
            i2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else 0.0
            h2 = q / (k - 1)
        else:
            i2, h2 = 100 * tau2 / (vt + tau2), tau2 / vt + 1
    else:
        q, i2, h2 = 0.0, 0.0, 1.0
    if method != "EE" and k > 1:
        tau2_lo, tau2_hi, truncated = tau2_qprofile_ci(yi, vi, tau2, level)
        if truncated:
            notes.append(f"The upper limit of the tau2 CI lies beyond the search limit "
                         f"{tau2_hi:g} (metafor prints '>{tau2_hi:g}').")
        return _Fit(mu, se, tau2, crit, q, i2, h2, weights, tau2_lo, tau2_hi, truncated)
    return _Fit(mu, se, tau2, crit, q, i2, h2, weights)


def _assemble(fit: _Fit, x: np.ndarray, n: np.ndarray, labels: Sequence[str], yi: np.ndarray,
              vi: np.ndarray, options: tuple[str, str, str, str, float], notes: list[str]) -> PoolResult:
    """CI, prediction interval, back-transformation, per-study rows and notes of a fitted model."""
    measure, method, ci, test, level = options
    k = len(x)
    mu, se, tau2, crit = fit.mu, fit.se, fit.tau2, fit.crit
    q_df = k - 1
    q_p = float(_chi2_sf(fit.q, q_df)) if k > 1 else 1.0
    ci_lo, ci_hi = mu - crit * se, mu + crit * se
    if method == "EE":  # a common-effect model predicts no spread of true effects (metafor: no PI)
        pi_lo = pi_hi = NAN
    else:
        half_pi = crit * math.sqrt(se * se + tau2)
        pi_lo, pi_hi = mu - half_pi, mu + half_pi
    back = back_transform(np.array([mu, ci_lo, ci_hi, pi_lo, pi_hi]), measure, n)
    plo, phi = proportion_limits(x, n, ci, level)
    rows = tuple(StudyEstimate(labels[i], int(x[i]), int(n[i]), x[i] / n[i], float(plo[i]),
                               float(phi[i]), float(fit.weights[i]), float(yi[i]), float(vi[i]))
                 for i in range(k))
    if measure == "PR" and np.any((back < 0) | (back > 1)):
        notes.append("Some pooled limits fall outside 0-1: untransformed proportions (PR) are not "
                     "truncated (as metafor).")
    if k == 1:
        notes.append("Only one study: the pooled estimate is that study's; tau2 is 0 by definition.")
    if x.sum() == 0 or x.sum() == n.sum():
        notes.append("No study has events/non-events: estimates rest on metafor's 1/2 continuity correction."
                     if measure in ("PLO", "PR") else
                     "No study has events/non-events: every study sits at the boundary.")
    return PoolResult(
        measure=measure, method=method, test=test, level=level, ci_method=ci, k=k,
        pooled=PooledProportion(*(float(v) for v in back)),
        transformed=PooledTransformed(float(mu), float(se), float(ci_lo), float(ci_hi),
                                      float(pi_lo), float(pi_hi)),
        heterogeneity=Heterogeneity(float(tau2), float(fit.tau2_lo), float(fit.tau2_hi), float(fit.i2),
                                    float(fit.h2), float(fit.q), int(q_df), q_p, fit.truncated),
        studies=rows, notes=tuple(notes))


def estimand(measure: str, method: str) -> str:
    """What a model's pooled estimate (back on the 0–1 scale) estimates, in words.

    Parameters
    ----------
    measure : {"PLO", "PFT", "PAS", "PR"}
        The scale of pooling.
    method : {"REML", "DL", "PM", "ML", "HE", "SJ", "EE", "GLMM"}
        The model.

    Returns
    -------
    str
        The words the page, ``analyses.json`` and ``evsynth pool`` print.

    Notes
    -----
    GLMM: expit(β̂) is the proportion of a study whose random effect is 0, the
    median of the study proportions — the conditional (cluster-specific)
    estimand, not the population average (Zeger, Liang & Albert 1988). A
    random-effects model on the logit scale gives expit(μ̂), likewise the median
    of the true study proportions; on the PFT/PAS scales the back-transformed
    mean; on PR the weighted mean proportion.

    References
    ----------
    Zeger SL, Liang KY, Albert PS (1988). Models for longitudinal data: a generalized
    estimating equation approach. Biometrics 44(4):1049–1060.

    Examples
    --------
    >>> from evsynth.meta.pooling import estimand
    >>> estimand("PLO", "GLMM")
    'conditional (median-study) proportion'
    """
    if method == "GLMM":
        return "conditional (median-study) proportion"
    if method == "EE":
        return f"common proportion (common-effect model, {measure} scale)"
    return {"PLO": "back-transformed mean logit (median of the study proportions)",
            "PFT": "back-transformed mean Freeman-Tukey value",
            "PAS": "back-transformed mean arcsine value",
            "PR": "weighted mean proportion"}[measure]


ESTIMAND_CRUDE = "crude proportion (total events / total patients)"


def crude_result(x: np.ndarray, n: np.ndarray, labels: Sequence[str],
                 options: tuple[str, str, str, float, str], crude: CrudeProportion,
                 reason: str) -> PoolResult:
    """A descriptive result: ``pooled`` is the crude proportion, no model quantities (NaN).

    Parameters
    ----------
    x, n : numpy.ndarray
        Event counts and sample sizes, one per study.
    labels : sequence of str
        Study labels.
    options : tuple
        ``(measure, method, test, level, ci)`` as asked.
    crude : CrudeProportion
        Σxᵢ/Σnᵢ with its Clopper–Pearson CI.
    reason : str
        Why no model was fitted.

    Returns
    -------
    PoolResult
        ``basis`` is ``"crude"`` and ``basis_reason`` the *reason*, also the first note;
        the per-study rows carry their proportions and CIs, weights are NaN.

    Notes
    -----
    Used when every study has 0 % or 100 % events or the GLMM cannot be fitted
    (``fallback="crude"``): Σxᵢ/Σnᵢ with the exact interval of R
    ``binom.test(sum(x), sum(n))``.

    References
    ----------
    Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated
    in the case of the binomial. Biometrika 26(4):404–413.
    """
    measure, method, test, level, ci = options
    k = len(x)
    es = escalc_proportions(x, n, measure)
    plo, phi = proportion_limits(x, n, ci, level)
    rows = tuple(StudyEstimate(labels[i], int(x[i]), int(n[i]), x[i] / n[i], float(plo[i]),
                               float(phi[i]), NAN, float(es.yi[i]), float(es.vi[i]))
                 for i in range(k))
    note = (f"Not pooled ({method}): {reason}; the crude proportion with its exact "
            f"(Clopper-Pearson) CI is reported.")
    return PoolResult(
        measure=measure, method=method, test=test, level=level, ci_method=ci, k=k,
        pooled=PooledProportion(crude.estimate, crude.ci_lower, crude.ci_upper, NAN, NAN),
        transformed=PooledTransformed(NAN, NAN, NAN, NAN, NAN, NAN),
        heterogeneity=Heterogeneity(NAN, NAN, NAN, NAN, NAN, NAN, k - 1, NAN),
        studies=rows, notes=(note,), basis=BASIS_CRUDE, basis_reason=reason,
        estimand=ESTIMAND_CRUDE, crude=crude, marginal=None)


def test_between_subgroups(results: Sequence[PoolResult] | Mapping[str, PoolResult]) -> BetweenTest:
    """Q-test for subgroup differences on the transformed scale (see module docstring).

    Parameters
    ----------
    results : sequence of PoolResult, or mapping of str to PoolResult
        One result per subgroup; a mapping names them (names default to "1", "2", …).

    Returns
    -------
    BetweenTest
        Q_b, its df and p-value, the model compared, the subgroups kept and those left out.

    Notes
    -----
    Q_b = Σ_g (μ̂_g − μ̄)²/SE_g², μ̄ the 1/SE_g²-weighted mean, df = G − 1
    (metafor: an ``EE`` model on the subgroup estimates). Only estimates of one model
    are compared: subgroups reported descriptively (``basis == "crude"``) or without
    a finite, positive SE are left out and listed in ``excluded``; if the rest were
    pooled with different models (measure, method or test), no test is computed and
    ``note`` says why. NaN when fewer than 2 subgroups remain.

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis. Wiley, chapter 19.
    """
    named = (list(results.items()) if isinstance(results, Mapping)
             else [(str(i + 1), r) for i, r in enumerate(results)])
    kept: list[tuple[str, PoolResult]] = []
    excluded: list[tuple[str, str]] = []
    for name, r in named:
        if r.basis != BASIS_MODEL:
            excluded.append((name, f"reported descriptively: {r.basis_reason}"))
        elif not (math.isfinite(r.transformed.se) and r.transformed.se > 0):
            excluded.append((name, "no standard error"))
        else:
            kept.append((name, r))
    models = sorted({(r.measure, r.method, r.test) for _, r in kept})
    names = tuple(name for name, _ in kept)
    if len(models) > 1:
        return BetweenTest(NAN, len(kept) - 1, NAN, "mixed", "mixed", BETWEEN_METHOD, names,
                           tuple(excluded),
                           "not computed: the subgroups were pooled with different models ("
                           + "; ".join(f"{m[1]} on {m[0]}, test {m[2]}" for m in models)
                           + "), so their estimates are not comparable")
    model, measure = (models[0][1], models[0][0]) if models else ("", "")
    g = len(kept)
    note = ""
    left_out = ", ".join(name for name, _ in excluded)
    if excluded and g >= 2:
        note = f"compares the {g} subgroups pooled by the {model} model; left out: {left_out}"
    elif excluded:
        note = f"not computed: fewer than 2 subgroups pooled by the model; left out: {left_out}"
    if g < 2:
        return BetweenTest(NAN, max(g - 1, 0), NAN, model, measure, BETWEEN_METHOD, names,
                           tuple(excluded), note)
    est = np.array([r.transformed.estimate for _, r in kept])
    se = np.array([r.transformed.se for _, r in kept])
    w = 1 / se ** 2
    mbar = np.sum(w * est) / w.sum()
    q = float(np.sum(w * (est - mbar) ** 2))
    return BetweenTest(q, g - 1, float(_chi2_sf(q, g - 1)), model, measure, BETWEEN_METHOD,
                       names, tuple(excluded), note)


test_between_subgroups.__test__ = False  # not a pytest test despite its name


def pool_subgroups(events: Sequence[int], totals: Sequence[int], groups: Sequence[str],
                   studies: Sequence[str] | None = None, **options: Any) -> SubgroupAnalysis:
    """The overall model, a separate model per level of ``groups`` (first-seen order) and Q between.

    Parameters
    ----------
    events, totals : sequence of int
        Event counts and sample sizes, one per study.
    groups : sequence of str
        Each study's subgroup.
    studies : sequence of str, optional
        Study labels.
    **options
        Those of :func:`pool_proportions`.

    Returns
    -------
    SubgroupAnalysis
        ``overall``, ``subgroups`` (level → result) and ``test_between``
        (:func:`test_between_subgroups`).

    Notes
    -----
    Each level gets its own τ² (meta's default ``tau.common = FALSE``). A subgroup the
    model cannot fit (e.g. a GLMM with k = 1, or every study at 0 %) is reported
    descriptively — its crude proportion, ``basis == "crude"`` — even with
    ``fallback="none"``, and left out of the test between subgroups; the other
    subgroups are pooled as asked.

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis. Wiley, chapter 19.
    """
    x, n = _check_counts(events, totals)
    if len(groups) != len(x):
        raise PoolingError("one subgroup value per study is needed")
    labels = [str(s) for s in studies] if studies is not None else [str(i + 1) for i in range(len(x))]
    overall = pool_proportions(x.astype(int), n.astype(int), labels, **options)
    levels: list[str] = []
    for g in groups:
        if str(g) not in levels:
            levels.append(str(g))
    subgroups: dict[str, PoolResult] = {}
    for level_name in levels:
        idx = [i for i, g in enumerate(groups) if str(g) == level_name]
        xs, ns, names = x[idx].astype(int), n[idx].astype(int), [labels[i] for i in idx]
        try:
            subgroups[level_name] = pool_proportions(xs, ns, names, **options)
        except PoolingError as exc:
            subgroups[level_name] = _descriptive(xs, ns, names, options, str(exc))
    return SubgroupAnalysis(overall, subgroups, test_between_subgroups(subgroups))


def _descriptive(x: np.ndarray, n: np.ndarray, labels: Sequence[str], options: dict[str, Any],
                 reason: str) -> PoolResult:
    """:func:`crude_result` for counts already checked, with the options of :func:`pool_proportions`."""
    measure, method, ci, test = _options(str(options.get("measure", "PLO")),
                                         str(options.get("method", "REML")),
                                         str(options.get("ci", "CP")), str(options.get("test", "z")),
                                         float(options.get("level", 0.95)))
    level = float(options.get("level", 0.95))
    c = crude_proportion(x, n, "CP", level)
    crude = CrudeProportion(c.events, c.total, c.proportion, c.ci_lower, c.ci_upper, "CP")
    return crude_result(np.asarray(x, float), np.asarray(n, float), labels,
                        (measure, method, test, level, ci), crude, reason)


def leave_one_out(events: Sequence[int], totals: Sequence[int], studies: Sequence[str] | None = None,
                  **options: Any) -> tuple[tuple[str, PoolResult], ...]:
    """Each study left out in turn (metafor ``leave1out``).

    Parameters
    ----------
    events, totals : sequence of int
        Event counts and sample sizes, one per study (at least 2).
    studies : sequence of str, optional
        Study labels.
    **options
        Those of :func:`pool_proportions`.

    Returns
    -------
    tuple of (str, PoolResult)
        ``(omitted study, result of the rest)``, in study order.

    Notes
    -----
    k fits of :func:`pool_proportions` on k − 1 studies each.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1–48. ``help(leave1out)``.
    """
    x, n = _check_counts(events, totals)
    labels = [str(s) for s in studies] if studies is not None else [str(i + 1) for i in range(len(x))]
    if len(x) < 2:
        raise PoolingError("leave-one-out needs at least 2 studies")
    out = []
    for i in range(len(x)):
        keep = [j for j in range(len(x)) if j != i]
        out.append((labels[i], pool_proportions(x[keep].astype(int), n[keep].astype(int),
                                                [labels[j] for j in keep], **options)))
    return tuple(out)
