"""The review's meta-analyses, exactly as its analysis plan (``analysis.toml``) declares them.

For each outcome of :class:`evsynth.review.plan.AnalysisPlan`:

* the **primary analysis**: the eligible cohorts (:mod:`evsynth.review.outcomes`)
  pooled with the plan's model (:func:`evsynth.meta.pooling.pool_proportions`,
  metafor's names); when the model cannot be fitted, the crude proportion
  with its exact CI stands in and says why;
* beside it the **crude** pooled proportion Σ events / Σ patients with its
  Clopper–Pearson CI, and for the GLMM the **marginal** (population-averaged)
  proportion from :mod:`evsynth.meta` (:func:`marginal_of`);
* the **described** cohorts: those with counts that the primary analysis
  leaves out only because of their design (e.g. case reports), shown one by one;
* each pre-specified **sensitivity analysis** with its own eligibility and model;
* **subgroups** of the primary analysis: levels with ≥ 2 studies pooled with
  the primary model, single-study levels shown, levels the model cannot fit
  reported descriptively; the test for subgroup differences compares
  estimates of the primary model only, and names it;
* the **certainty** of the primary analysis (:mod:`evsynth.review.certainty`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from evsynth.meta._distributions import _t_isf
from evsynth.meta.pooling import (BASIS_MODEL, BETWEEN_METHOD, BetweenTest, PoolingError, PoolResult,
                                  pool_proportions, test_between_subgroups)
from evsynth.meta.proportions import proportion_ci
from evsynth.meta.transforms import back_transform
from evsynth.review.appraisal import NOT_ASSESSED, appraisals
from evsynth.review.certainty import Certainty, Evidence, assess
from evsynth.review.design import StudyDesign, study_designs
from evsynth.review.model import Review
from evsynth.review.outcomes import OutcomeData, criteria_label, outcome_data
from evsynth.review.plan import AnalysisPlan, AnalysisSpec, OutcomePlan, Question

#: What a crude proportion estimates.
CRUDE_ESTIMAND = "crude proportion (total events / total patients)"


@dataclass(frozen=True)
class Interval:
    """A proportion (0–1) with its CI; ``events``/``total`` for a crude one."""

    estimate: float
    ci_lower: float
    ci_upper: float
    events: int = 0
    total: int = 0

    def to_dict(self, counts: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"estimate": _num(self.estimate), "ci_lower": _num(self.ci_lower),
                               "ci_upper": _num(self.ci_upper)}
        return {"events": self.events, "total": self.total, **out} if counts else out


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def crude(events: int, total: int, level: float = 0.95) -> Interval:
    """Σ events / Σ patients with the exact (Clopper–Pearson) CI (R ``binom.test``)."""
    ci = proportion_ci(events, total, "CP", level)
    return Interval(ci.proportion, ci.ci_lower, ci.ci_upper, events, total)


def marginal_of(result: PoolResult | None) -> Interval | None:
    """The GLMM's population-averaged proportion with its parametric-bootstrap CI (``None`` otherwise).

    The delta-method interval is not reported: at few studies (β̂, σ̂) → π̄ is far from
    linear over the plausible range and the delta method's interval is too narrow
    (e.g. 24–96 % against 11–96 % by bootstrap for 5/12 and 7/7).
    """
    marginal = result.marginal if result is not None else None
    if marginal is None:
        return None
    return Interval(float(marginal.estimate), float(marginal.bootstrap_lower), float(marginal.bootstrap_upper))


def estimand_of(result: PoolResult) -> str:
    """What the pooled estimate estimates, as the pooling module names it (``PoolResult.estimand``)."""
    return result.estimand


def prediction_interval(result: PoolResult | None) -> tuple[float, float]:
    """The (level) prediction interval for a new study's proportion, NaN when it does not exist.

    μ̂ ± t_{k−2, 1−α/2} √(SE² + τ̂²) on the model's scale, back-transformed (Higgins,
    Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137–159, eq. 12; also Riley et al.
    2011, BMJ 342:d549). No interval below k = 3 (t with k − 2 df is undefined) nor for a
    common-effect model. metafor's ``predict()`` default uses the CI's quantile instead;
    this interval is what the page and the certainty rules use.
    """
    import numpy as np
    if result is None or not _is_model(result) or result.k < 3 or result.method == "EE":
        return math.nan, math.nan
    t = result.transformed
    tau2 = result.heterogeneity.tau2
    if not (math.isfinite(t.se) and math.isfinite(tau2)):
        return math.nan, math.nan
    half = float(_t_isf((1 - result.level) / 2, result.k - 2)) * math.sqrt(t.se ** 2 + tau2)
    totals = np.array([s.total for s in result.studies])
    lo, hi = back_transform(np.array([t.estimate - half, t.estimate + half]), result.measure, totals)
    return float(lo), float(hi)


def _is_model(result: PoolResult) -> bool:
    return result.basis == BASIS_MODEL


@dataclass(frozen=True)
class ModelFigure:
    """A model-based figure reported as a sensitivity analysis below the plan's small-k rule, and why it may mislead."""

    name: str
    estimand: str
    interval: Interval
    why: str
    ci_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "estimand": self.estimand, **self.interval.to_dict(), "ci_method": self.ci_method,
                "why_it_may_mislead": self.why}


@dataclass(frozen=True)
class Analysis:
    """One analysis of an outcome: its plan, data, pooled result (or why not) and crude proportion.

    The model's estimate is the analysis's headline only when it was fitted to at least
    ``spec.min_studies`` studies (the plan's ``[synthesis] min_studies_for_model``); below that
    the headline is the crude proportion with its exact CI and the fit is kept for the
    sensitivity figures (:func:`model_figures`).
    """

    spec: AnalysisSpec
    data: OutcomeData
    result: PoolResult | None
    crude: Interval | None
    message: str = ""

    @property
    def k(self) -> int:
        return len(self.data.data)

    @property
    def fitted(self) -> bool:
        """The plan's model was fitted (whether or not it gives the headline)."""
        return self.result is not None and _is_model(self.result)

    @property
    def below_rule(self) -> bool:
        """The model was fitted to fewer studies than the plan allows for a model-based headline."""
        return self.fitted and self.k < self.spec.min_studies

    @property
    def pooled(self) -> bool:
        """The model gives the headline (fitted, to at least the plan's minimum of studies)."""
        return self.fitted and not self.below_rule

    @property
    def basis(self) -> str:
        """What the headline is: ``"model"``, ``"crude"`` or ``"none"``."""
        return "model" if self.pooled else "crude" if self.crude is not None else "none"

    @property
    def basis_reason(self) -> str:
        """Why the headline has its basis, in words."""
        if self.pooled:
            return (f"{self.spec.model.method} fitted to k = {self.k} studies (the plan allows a model-based "
                    f"headline from {self.spec.min_studies})")
        if self.below_rule:
            return (f"only {self.k} stud{'y' if self.k == 1 else 'ies'}, fewer than the plan's minimum of "
                    f"{self.spec.min_studies} for a model-based headline (analysis.toml [synthesis] min_studies_for_model): the crude proportion with its "
                    "exact CI leads, the model's figures are sensitivity analyses")
        return self.message

    @property
    def headline(self) -> Interval | None:
        """The estimate this analysis reports: the model's, else the crude proportion."""
        if self.pooled:
            return self.model_interval
        return self.crude

    @property
    def model_interval(self) -> Interval | None:
        """The fitted model's estimate and CI, headline or not (``None`` when not fitted)."""
        if not self.fitted:
            return None
        p = self.result.pooled  # type: ignore[union-attr]
        return Interval(p.estimate, p.ci_lower, p.ci_upper)

    @property
    def estimand(self) -> str:
        if self.pooled:
            return estimand_of(self.result)  # type: ignore[arg-type]
        return CRUDE_ESTIMAND if self.crude else ""

    @property
    def marginal(self) -> Interval | None:
        return marginal_of(self.result) if self.fitted else None

    @property
    def studies(self) -> tuple[tuple[str, str, Interval], ...]:
        """Each pooled cohort side by side: (study label, cohort id, proportion with its exact CI at the plan's level)."""
        frame = self.data.data
        return tuple((str(label), str(cohort), crude(int(x), int(n), self.spec.model.level))
                     for label, cohort, x, n in zip(frame["study"], frame["cohort_id"], frame["events"], frame["total"]))


def _dof(k: int) -> str:
    return f"{k - 1} degree{'s' if k - 1 != 1 else ''} of freedom"


def _versus_crude(name: str, value: float, crude_value: float) -> str:
    """Why a model's figure lies above or below the crude proportion (or does not)."""
    if abs(value - crude_value) < 0.005:
        return f"it is close to the crude proportion ({100 * crude_value:.1f} %)"
    side = "above" if value > crude_value else "below"
    return (f"it lies {side} the crude proportion ({100 * crude_value:.1f} %) because the crude proportion weights "
            f"every patient equally, so the largest study dominates it, while the {name} weights the studies "
            "nearly equally on the logit scale, where a study with 0 % or 100 % events lies far out")


def model_figures(a: Analysis) -> tuple[ModelFigure, ...]:
    """The model's figures of an analysis below the small-k rule, as sensitivity analyses with their caveats.

    For the GLMM: the conditional (median-study) proportion expit(β̂) and the marginal
    (population-averaged) proportion ∫ expit(β̂ + σ̂z)φ(z)dz; for an inverse-variance model its
    back-transformed estimate. Each says why it may mislead: τ̂² estimated from k − 1 degrees
    of freedom; the conditional, marginal and crude proportions answer different questions
    and differ when τ̂² > 0 (Zeger, Liang & Albert 1988, Biometrics 44:1049–1060).
    """
    if not a.below_rule or a.result is None or a.crude is None:
        return ()
    r = a.result
    tau2 = r.heterogeneity.tau2
    k = a.k
    head = (f"fitted to k = {k} studies, fewer than the plan's minimum of {a.spec.min_studies}: "
            f"τ² = {tau2:.3g} (logit scale) is estimated from {_dof(k)}, and the estimate and its CI move with it")
    conditional = a.model_interval
    assert conditional is not None
    figures = [ModelFigure(
        f"{r.method} ({r.measure}) " + ("conditional (median-study) proportion" if r.method == "GLMM" else "estimate"),
        r.estimand, conditional,
        f"{head}; " + _versus_crude("median-study proportion" if r.method == "GLMM" else "model",
                                    conditional.estimate, a.crude.estimate),
        "Wald, normal quantiles, on the logit scale" if r.test == "z" else f"t with {k - 1} df")]
    if r.marginal is not None:
        m = marginal_of(r)
        assert m is not None
        if tau2 < 1e-8:
            relation = "with τ² estimated as 0 it equals the median-study proportion"
        else:
            relation = ("it is the mean proportion over the fitted distribution of study proportions, neither the "
                        "median study's proportion (conditional) nor the share of all pooled patients (crude); it "
                        "equals the conditional one only when τ² = 0")
        figures.append(ModelFigure(f"{r.method} marginal (population-averaged) proportion",
                                   "marginal (population-averaged) proportion", m,
                                   f"{head}; {relation}", r.marginal.bootstrap_method))
    return tuple(figures)


@dataclass(frozen=True)
class SubgroupSynthesis:
    """One subgrouping: pooled levels (k ≥ 2, the primary model), single-study and descriptive levels, the test."""

    by: str
    pooled: dict[str, PoolResult]
    single: dict[str, Interval]
    descriptive: dict[str, tuple[Interval, str]]
    test_between: BetweenTest | None
    test_model: str
    test_method: str = BETWEEN_METHOD
    #: cohort ids of each level
    cohorts: dict[str, list[str]] | None = None
    #: why there is no subgroup analysis (e.g. every pooled cohort has the same value)
    note: str = ""


@dataclass(frozen=True)
class OutcomeSynthesis:
    """An outcome as planned: primary, described, sensitivity analyses, subgroups and certainty."""

    plan: OutcomePlan
    primary: Analysis
    described: OutcomeData
    sensitivity: tuple[Analysis, ...]
    subgroups: tuple[SubgroupSynthesis, ...]
    certainty: Certainty
    response_criteria: str
    #: Labels of the primary analysis's studies flagged retracted / expression of concern;
    #: when any, the last sensitivity analysis is the primary one without them.
    flagged: tuple[str, ...] = ()

    @property
    def without_flagged(self) -> Analysis | None:
        """The primary analysis repeated without the flagged studies (``None`` when none is flagged)."""
        return self.sensitivity[-1] if self.flagged else None

    @property
    def key(self) -> str:
        return self.plan.key

    @property
    def model_figures(self) -> tuple[ModelFigure, ...]:
        """The primary model's figures as sensitivity analyses when k is below the plan's rule (see :func:`model_figures`)."""
        return model_figures(self.primary)

    @property
    def label(self) -> str:
        return self.plan.label

    def to_dict(self) -> dict[str, Any]:
        """The outcome's entry in ``reports/analyses.json``."""
        p = self.primary
        head = p.headline
        primary: dict[str, Any] = {
            "model": p.spec.model.method, "measure": p.spec.model.measure, "k": p.k,
            "events": p.crude.events if p.crude else 0, "total": p.crude.total if p.crude else 0,
            "estimate": _num(head.estimate) if head else None,
            "ci_lower": _num(head.ci_lower) if head else None,
            "ci_upper": _num(head.ci_upper) if head else None,
            "estimand": p.estimand, "pooled": p.pooled, "note": p.message or None,
            "basis": p.basis, "basis_reason": p.basis_reason or None,
            "min_studies_for_model": p.spec.min_studies}
        out: dict[str, Any] = {
            "key": self.key, "label": self.label, "definition": self.plan.definition(),
            "response_criteria": self.response_criteria,
            "eligible": p.data.cohort_ids,
            "excluded": [{"cohort": e.cohort_id, "rule": e.rule} for e in p.data.excluded],
            "primary": primary,
            "crude": p.crude.to_dict(counts=True) if p.crude else None,
        }
        if p.spec.model.method == "GLMM":
            m = p.marginal
            out["marginal"] = ({**m.to_dict(), "ci_method": p.result.marginal.bootstrap_method}  # type: ignore[union-attr]
                               if m else None)
        out["model_based_sensitivity"] = [f.to_dict() for f in self.model_figures]
        out["sensitivity"] = []
        for s in self.sensitivity:
            h = s.headline
            out["sensitivity"].append({
                "name": s.spec.name, "model": s.spec.model.method, "k": s.k,
                "estimate": _num(h.estimate) if h else None, "ci_lower": _num(h.ci_lower) if h else None,
                "ci_upper": _num(h.ci_upper) if h else None, "estimand": s.estimand or None,
                "note": s.message or None, "below_min_studies_for_model": s.fitted and s.k < p.spec.min_studies})
        out["certainty"] = self.certainty.to_dict()
        return out


def _pool(data: OutcomeData, spec: AnalysisSpec, rows: list[int] | None = None) -> tuple[PoolResult | None, str]:
    frame = data.data if rows is None else data.data.iloc[rows]
    if len(frame) == 0:
        return None, "no eligible cohort"
    return _pooled(tuple(int(x) for x in frame["events"]), tuple(int(n) for n in frame["total"]),
                   tuple(str(s) for s in frame["study"]), tuple(sorted(spec.model.options().items())))


@lru_cache(maxsize=256)
def _pooled(events: tuple[int, ...], totals: tuple[int, ...], studies: tuple[str, ...],
            options: tuple[tuple[str, Any], ...]) -> tuple[PoolResult | None, str]:
    """:func:`pool_proportions` of the same rows under the same model, computed once per process.

    A build pools the same rows more than once (a sensitivity analysis that keeps every
    row, the analyses without flagged studies when none is flagged, a version with the
    same studies): 40 fits of 24 distinct inputs on the bundled review, the GLMM and its
    bootstrap the costly part. The pooling is a pure function of these inputs, and its
    result is never changed in place.
    """
    method = dict(options)["method"]
    try:
        result = pool_proportions(list(events), list(totals), list(studies), **dict(options))
    except PoolingError as exc:
        return None, f"{method} not estimable: {exc}"
    if not _is_model(result):  # the pooling module reports the crude proportion instead, and why
        return result, f"{method} not used: {result.basis_reason}"
    if len(events) == 1:  # metafor fits k = 1 with τ² = 0: the study's own estimate, not a pooling
        return result, (f"one study: {method} has no between-study variance to estimate; the "
                        "figure is that study's proportion with its CI on the model's scale")
    return result, ""


def _boundary_note(data: OutcomeData) -> str:
    x, n = list(data.data["events"]), list(data.data["total"])
    if x and all(a == 0 or a == b for a, b in zip(x, n)):
        return "every study has 0 % or 100 % events: the crude proportion with its exact CI is reported"
    return ""


def run_analysis(review: Review, outcome: OutcomePlan, spec: AnalysisSpec,
                 designs: dict[str, StudyDesign]) -> Analysis:
    """Select the cohorts *spec* makes eligible and pool them with its model."""
    return _analyse(spec, outcome_data(review, outcome, spec.eligibility, designs))


#: The name of the sensitivity analysis that leaves out studies flagged by the retraction watch.
WITHOUT_FLAGGED = "without studies flagged retracted or with an expression of concern"


def without_flagged(review: Review, primary: Analysis, flagged: frozenset[str]) -> Analysis | None:
    """The primary analysis repeated without the cohorts of *flagged* studies (by study id).

    ``None`` when none of its cohorts belongs to a flagged study.
    """
    frame = primary.data.data
    keep = [i for i, s in enumerate(frame["study_id"]) if str(s) not in flagged]
    if len(keep) == len(frame):
        return None
    spec = replace(primary.spec, name=WITHOUT_FLAGGED,
                   why="the primary analysis without the studies PubMed flags (retraction watch)")
    return _analyse(spec, OutcomeData(frame.iloc[keep].reset_index(drop=True), primary.data.excluded))


def _analyse(spec: AnalysisSpec, data: OutcomeData) -> Analysis:
    """Pool *data* with *spec*'s model (the crude proportion when it cannot be fitted)."""
    if len(data.data) == 0:
        return Analysis(spec, data, None, None, "no eligible cohort")
    total = crude(int(data.data["events"].sum()), int(data.data["total"].sum()), spec.model.level)
    boundary = _boundary_note(data)
    if boundary:  # a model would rest on a continuity correction, or has no finite estimate
        return Analysis(spec, data, None, total, boundary)
    result, message = _pool(data, spec)
    return Analysis(spec, data, result, total, message)


def _subgroups(review: Review, a: Analysis, by: str) -> SubgroupSynthesis:
    frame = a.data.data
    values = [str(v) for v in frame[by]]  # a column of the outcome's sheet, or a derived one
    pooled: dict[str, PoolResult] = {}
    single: dict[str, Interval] = {}
    descriptive: dict[str, tuple[Interval, str]] = {}
    cohorts: dict[str, list[str]] = {}
    levels = list(dict.fromkeys(values))
    if len(levels) == 1:
        return SubgroupSynthesis(by, {}, {}, {}, None, a.spec.model.method, cohorts={levels[0]: a.data.cohort_ids},
                                 note=f"every pooled cohort has {by} = {levels[0]}: no subgroups")
    for level in levels:
        rows = [i for i, v in enumerate(values) if v == level]
        cohorts[level] = [str(frame["cohort_id"].iloc[i]) for i in rows]
        x, n = int(frame["events"].iloc[rows].sum()), int(frame["total"].iloc[rows].sum())
        if len(rows) == 1:
            single[level] = crude(x, n, a.spec.model.level)
            continue
        sub = OutcomeData(frame.iloc[rows], ())
        boundary = _boundary_note(sub)
        result, message = (None, boundary) if boundary else _pool(a.data, a.spec, rows)
        if result is None or not _is_model(result):
            descriptive[level] = (crude(x, n, a.spec.model.level), message)
        else:
            pooled[level] = result
    between = test_between_subgroups(pooled) if len(pooled) >= 2 else None
    method = between.method if between is not None else BETWEEN_METHOD
    return SubgroupSynthesis(by, pooled, single, descriptive, between, a.spec.model.method, method, cohorts=cohorts)


def _evidence(review: Review, outcome: OutcomePlan, a: Analysis, designs: dict[str, StudyDesign],
              question: Question | None = None) -> Evidence:
    """What the GRADE rules look at for *a* (the primary analysis): its headline CI, the fit to its studies
    (τ², I², the t-based prediction interval), their exact CIs and sizes, the appraisal and the question."""
    frame = a.data.data
    head = a.headline or Interval(math.nan, math.nan, math.nan)
    result = a.result if a.fitted else None
    pi = prediction_interval(result)
    i2 = result.heterogeneity.i2 if result else math.nan
    tau2 = result.heterogeneity.tau2 if result else math.nan
    appraised = appraisals(review) if review.has("appraisal") else {}
    patients: dict[str, int] = {}
    for study, n in zip(frame["study_id"], frame["total"]):
        patients[study] = patients.get(study, 0) + int(n)
    appraisal = tuple((s, n, appraised[s].overall if s in appraised else NOT_ASSESSED) for s, n in patients.items())
    reporting = outcome_data(review, outcome, a.spec.eligibility.without(outcome.describe_excluded_by), designs)
    studies = set(reporting.data["study_id"])
    case_reports = sum(1 for s in studies if s in designs and designs[s].design == "case report")
    question = question or Question()
    criteria = outcome.criteria
    unstated = (sum(1 for r in frame[criteria.column] if str(r) == "not reported")
                if criteria.column and criteria.column in frame.columns else 0)
    basis = ("crude proportion, exact CI" if a.basis == "crude" else
             f"{a.spec.model.method} model" if a.basis == "model" else "")
    covered = tuple((column, values, _column(frame, column)) for column, values in question.covers)
    return Evidence(k=a.k, events=int(frame["events"].sum()), total=int(frame["total"].sum()),
                    ci_lower=head.ci_lower, ci_upper=head.ci_upper, pi_lower=pi[0], pi_upper=pi[1], i2=i2,
                    appraisal=appraisal, histologies=_column(frame, "histology"), lrts=_column(frame, "lrt"),
                    studies_reporting=len(studies), case_reports=case_reports, tau2=tau2,
                    study_sizes=tuple(patients.values()),
                    study_cis=tuple((ci.ci_lower, ci.ci_upper) for _, _, ci in a.studies),
                    covered=covered, surrogate=outcome.surrogate, criteria_unstated=unstated, headline=basis,
                    level=a.spec.model.level)


def _column(frame: Any, name: str) -> tuple[str, ...]:
    """The values of a column of the pooled rows (empty when the outcome's rows have no such column)."""
    return tuple(str(v) for v in frame[name]) if name in frame.columns else ()


def synthesise(review: Review, outcome: OutcomePlan, designs: dict[str, StudyDesign] | None = None,
               flagged: frozenset[str] = frozenset(), question: Question | None = None) -> OutcomeSynthesis:
    """Run every analysis the plan declares for *outcome*.

    *flagged* (study ids flagged retracted or with an expression of concern) adds
    one sensitivity analysis: the primary one without them (:func:`without_flagged`).
    """
    designs = designs if designs is not None else study_designs(review)
    primary = run_analysis(review, outcome, outcome.primary, designs)
    # rows with counts the primary analysis leaves out only by the rules the plan describes (e.g. the design)
    everyone = outcome_data(review, outcome, outcome.primary.eligibility.without(outcome.describe_excluded_by),
                            designs)
    by_describe_rule = {e.cohort_id for e in primary.data.excluded
                        if e.rule.split(":")[0] in outcome.describe_excluded_by}
    described_rows = [i for i, c in enumerate(everyone.data["cohort_id"]) if c in by_describe_rule]
    described = OutcomeData(everyone.data.iloc[described_rows].reset_index(drop=True), ())
    sensitivity = tuple(run_analysis(review, outcome, s, designs) for s in outcome.sensitivity)
    subgroups = tuple(_subgroups(review, primary, by) for by in outcome.subgroups) if primary.k >= 2 else ()
    certainty = assess(_evidence(review, outcome, primary, designs, question), outcome.certainty)
    criteria = criteria_label(outcome, primary.data)
    extra = without_flagged(review, primary, flagged) if flagged and primary.k else None
    if extra is None:
        return OutcomeSynthesis(outcome, primary, described, sensitivity, subgroups, certainty, criteria)
    labels = tuple(dict.fromkeys(str(label) for label, s in zip(primary.data.data["study"], primary.data.data["study_id"])
                                 if str(s) in flagged))
    return OutcomeSynthesis(outcome, primary, described, sensitivity + (extra,), subgroups, certainty,
                            criteria, labels)


def synthesise_all(review: Review, plan: AnalysisPlan,
                   flagged: frozenset[str] = frozenset()) -> dict[str, OutcomeSynthesis]:
    """Every outcome of the plan, in the plan's order (see :func:`synthesise` for *flagged*)."""
    designs = study_designs(review)
    return {o.key: synthesise(review, o, designs, flagged, plan.question) for o in plan.outcomes}


def analyses_json(syntheses: dict[str, OutcomeSynthesis]) -> dict[str, Any]:
    """The content of ``reports/analyses.json``: ``{"outcomes": [...]}`` in plan order."""
    return {"outcomes": [s.to_dict() for s in syntheses.values()]}
