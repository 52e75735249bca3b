"""Meta-analysis of proportions: pooled estimate, heterogeneity, subgroups, leave-one-out.

Everything follows metafor (Viechtbauer 2010) so that the numbers equal
``rma(measure, xi, ni, method, test)``, ``predict()``, ``confint()`` and
``rma.glmm(measure = "PLO")``:

* yᵢ, vᵢ from :func:`evsynth.transforms.escalc_proportions`; τ̂² from
  :func:`evsynth.tau2.estimate_tau2_noted` (or the GLMM, :mod:`evsynth.meta.glmm`);
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
* τ² CI by the Q-profile method (:func:`evsynth.tau2.tau2_qprofile_ci`),
  not for ``EE``, GLMM or k = 1.
* Weights in percent, 100 wᵢ/Σwᵢ (metafor ``weights()``); none for the GLMM.
* Subgroups: a separate model (with its own τ²) per level, as meta's default
  (``tau.common = FALSE``); test for subgroup differences
  Q_b = Σ_g (μ̂_g − μ̄)²/SE_g², μ̄ the 1/SE_g²-weighted mean, G − 1 df
  (Borenstein et al. 2009, ch. 19; metafor's "separate models" recipe, an
  ``EE`` model on the subgroup estimates).
* GLMM: β̂, SE and τ̂² from :func:`evsynth.glmm.fit_glmm`; CI by z, or t_{k−1}
  with ``test = "knha"`` (metafor ``test = "t"``); I²/H² from τ̂² and ṽ of the
  PLO escalc variances (as ``rma.glmm``); Q is the likelihood-ratio test of
  homogeneity (``QE.LRT``).

Values that do not exist (e.g. a knha interval for k = 1) are NaN in the
dataclasses and ``None`` in :meth:`PoolResult.to_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from evsynth.meta.glmm import GlmmError, fit_glmm, lrt_heterogeneity
from evsynth.meta.proportions import CI_METHODS, proportion_limits
from evsynth.meta.tau2 import ESTIMATORS, ConvergenceError, estimate_tau2_noted, tau2_qprofile_ci
from evsynth.meta.transforms import MEASURES, back_transform, escalc_proportions

METHODS: tuple[str, ...] = ESTIMATORS + ("GLMM",)
TESTS: tuple[str, ...] = ("z", "knha")

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

    def to_dict(self) -> dict[str, Any]:
        """The JSON structure of ``evsynth pool --json`` (without subgroups)."""
        return {"measure": self.measure, "method": self.method, "test": self.test,
                "level": self.level, "k": self.k, "pooled": self.pooled.to_dict(),
                "transformed": self.transformed.to_dict(),
                "heterogeneity": self.heterogeneity.to_dict(),
                "studies": [s.to_dict() for s in self.studies]}


@dataclass(frozen=True)
class BetweenTest:
    """Test for subgroup differences: Q between, its df and p-value."""

    q: float
    df: int
    pvalue: float

    def to_dict(self) -> dict[str, Any]:
        return {"q": _num(self.q), "df": _num(self.df), "pvalue": _num(self.pvalue)}


@dataclass(frozen=True)
class SubgroupAnalysis:
    """The overall model, one model per subgroup level, and the test between them."""

    overall: PoolResult
    subgroups: dict[str, PoolResult] = field(default_factory=dict)
    test_between: BetweenTest = BetweenTest(NAN, 0, NAN)

    def to_dict(self) -> dict[str, Any]:
        """The JSON structure of ``evsynth pool --by COLUMN --json``."""
        out = self.overall.to_dict()
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
                     level: float = 0.95) -> PoolResult:
    """Pool single proportions ``events/totals`` across studies, as metafor does.

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

    Returns
    -------
    PoolResult

    Raises
    ------
    PoolingError
        Bad counts or options, or a model without a finite estimate (GLMM on
        all-zero or all-event data, or with k = 1).
    """
    measure, method, ci, test = _options(measure, method, ci, test, level)
    x, n = _check_counts(events, totals)
    k = len(x)
    labels = [str(s) for s in studies] if studies is not None else [str(i + 1) for i in range(k)]
    if len(labels) != k:
        raise PoolingError("one study label per study is needed")
    es = escalc_proportions(x, n, measure)
    yi, vi = es.yi, es.vi
    alpha = 1 - level
    notes: list[str] = []

    if method == "GLMM":
        try:
            fit = fit_glmm(x, n)
        except GlmmError as exc:
            raise PoolingError(str(exc)) from None
        mu, se, tau2 = fit.beta, fit.se, fit.tau2
        if not math.isfinite(se):
            notes.append("GLMM: the likelihood is not curved at the estimate; no standard error, "
                         "so no CI or prediction interval.")
        crit = stats.t.isf(alpha / 2, k - 1) if test == "knha" else stats.norm.isf(alpha / 2)
        q = lrt_heterogeneity(x, n)
        vt = _typical_within_variance(vi)
        i2, h2 = 100 * tau2 / (vt + tau2), tau2 / vt + 1
        weights = np.full(k, NAN)
        tau2_lo = tau2_hi = NAN
        truncated = False
        notes.append("Q is the likelihood-ratio test of homogeneity (metafor QE.LRT).")
    else:
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
            crit = stats.t.isf(alpha / 2, k - 1)
        else:
            if test == "knha":
                notes.append("Knapp-Hartung needs at least 2 studies: normal quantiles used (as metafor).")
            crit = stats.norm.isf(alpha / 2)
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
        else:
            tau2_lo = tau2_hi = NAN
            truncated = False

    q_df = k - 1
    q_p = float(stats.chi2.sf(q, q_df)) if k > 1 else 1.0
    ci_lo, ci_hi = mu - crit * se, mu + crit * se
    if method == "EE":  # a common-effect model predicts no spread of true effects (metafor: no PI)
        pi_lo = pi_hi = NAN
    else:
        half_pi = crit * math.sqrt(se * se + tau2)
        pi_lo, pi_hi = mu - half_pi, mu + half_pi
    back = back_transform(np.array([mu, ci_lo, ci_hi, pi_lo, pi_hi]), measure, n)
    plo, phi = proportion_limits(x, n, ci, level)
    rows = tuple(StudyEstimate(labels[i], int(x[i]), int(n[i]), x[i] / n[i], float(plo[i]),
                               float(phi[i]), float(weights[i]), float(yi[i]), float(vi[i]))
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
        heterogeneity=Heterogeneity(float(tau2), float(tau2_lo), float(tau2_hi), float(i2),
                                    float(h2), float(q), int(q_df), q_p, truncated),
        studies=rows, notes=tuple(notes))


def test_between_subgroups(results: Sequence[PoolResult]) -> BetweenTest:
    """Q-test for subgroup differences on the transformed scale (see module docstring).

    Q_b = Σ_g (μ̂_g − μ̄)²/SE_g², df = G − 1; NaN when fewer than 2 subgroups
    have a finite, positive standard error.
    """
    est = np.array([r.transformed.estimate for r in results])
    se = np.array([r.transformed.se for r in results])
    g = len(results)
    if g < 2 or not np.all(np.isfinite(se)) or np.any(se <= 0):
        return BetweenTest(NAN, g - 1 if g else 0, NAN)
    w = 1 / se ** 2
    mbar = np.sum(w * est) / w.sum()
    q = float(np.sum(w * (est - mbar) ** 2))
    return BetweenTest(q, g - 1, float(stats.chi2.sf(q, g - 1)))


test_between_subgroups.__test__ = False  # not a pytest test despite its name


def pool_subgroups(events: Sequence[int], totals: Sequence[int], groups: Sequence[str],
                   studies: Sequence[str] | None = None, **options: Any) -> SubgroupAnalysis:
    """The overall model, a separate model per level of ``groups`` (first-seen order) and Q between.

    ``options`` are those of :func:`pool_proportions`.
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
        try:
            subgroups[level_name] = pool_proportions(
                x[idx].astype(int), n[idx].astype(int), [labels[i] for i in idx], **options)
        except PoolingError as exc:
            raise PoolingError(f"subgroup {level_name}: {exc}") from None
    return SubgroupAnalysis(overall, subgroups, test_between_subgroups(list(subgroups.values())))


def leave_one_out(events: Sequence[int], totals: Sequence[int], studies: Sequence[str] | None = None,
                  **options: Any) -> tuple[tuple[str, PoolResult], ...]:
    """Each study left out in turn (metafor ``leave1out``): ``(omitted study, result of the rest)``."""
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
