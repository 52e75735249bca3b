"""Certainty of the evidence per outcome (GRADE), by documented default rules.

The Summary of Findings table follows GRADEpro GDT: the question it answers
(the plan's ``[question]``), the number of studies and patients, the headline
estimate with its CI and the certainty (high, moderate, low, very low) with the
five reasons for downgrading, each judged ``not serious``, ``serious`` (−1) or
``very serious`` (−2) and stated with its reason.

Default rules (:func:`assess`), every threshold here and nowhere else; sources:
the GRADE Handbook (Schünemann et al., eds., 2013) and the GRADE guidelines
series in J Clin Epidemiol 2011 (Guyatt et al.).

* **Start**: single-arm observational evidence (case series, case reports,
  cohorts without a comparison) starts at *low* (GRADE Handbook 5.1). That
  start already counts the missing control group: no domain counts it again.
* **Risk of bias** (GRADE guidelines 4, J Clin Epidemiol 64(4):407–415), from
  the JBI appraisal (:mod:`evsynth.review.appraisal`) of the pooled studies only:
  *very serious* when studies with high concern (≥ 2 items ``no``) hold more
  than half of the pooled patients; *not serious* when every pooled study is
  of low concern; otherwise *serious* — including when pooled studies could
  not be appraised (their risk of bias is unknown).
* **Inconsistency** (GRADE guidelines 7, 64(12):1294–1302: similarity of point
  estimates, overlap of CIs, the heterogeneity statistics): from τ² and I² of
  the model fitted to the pooled studies and whether their exact CIs share a
  common range. One study: not assessable, *not serious*. τ² = 0: *not
  serious* unless the study CIs do not overlap. Otherwise *very serious* when
  I² ≥ 75 % and the CIs do not all overlap; *serious* when I² ≥ 50 %, the CIs
  do not all overlap, or (k ≥ 3) the prediction interval is wider than 50
  points. The prediction interval uses t with k − 2 df
  (:func:`evsynth.review.synthesis.prediction_interval`): none below k = 3, and
  never a reason when τ² = 0 (then it is only the CI: imprecision).
* **Imprecision** (GRADE guidelines 6, 64(12):1283–1293): with the headline's
  CI width on the proportion scale and the rarer of events and non-events:
  *very serious* when the CI is wider than 40 points or the rarer count is
  below 10; *serious* when the CI is wider than 20 points or fewer than 100
  patients; otherwise *not serious*.
* **Indirectness** (GRADE guidelines 8, 64(12):1303–1310): the question (the
  plan's ``[question]``) against what was pooled — the population and the
  intervention (values of the columns the question ``covers`` that no pooled
  row has) and the outcome (a surrogate, as the plan's ``surrogate`` says; the
  more so by criteria the studies do not state). One of these: *serious*; two
  or more: *very serious*. Mixing values within the pooled rows is
  heterogeneity, not indirectness.
* **Publication bias** (GRADE guidelines 5, 64(12):1277–1282), about the
  studies in the estimate only: *serious* (suspected) when the estimate rests
  on fewer than 10 studies that are all small (fewer than 50 patients each) —
  the situation in which unpublished small studies are most likely to change
  it and no funnel-plot test is possible; otherwise *not serious*
  ("undetected").

A reviewer overrides any domain in ``analysis.toml``
(``[outcome.certainty.<domain>]`` with ``judgement`` and ``reason``); the
table shows the override and its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evsynth.review.plan import DOMAINS, Override

RATINGS: tuple[str, ...] = ("very low", "low", "moderate", "high")
START = "low"
DOWNGRADE = {"not serious": 0, "serious": 1, "very serious": 2}

I2_SERIOUS, I2_VERY_SERIOUS = 50.0, 75.0
PI_SERIOUS = 0.50
TAU2_ZERO = 1e-8
SMALL_STUDY, FEW_STUDIES = 50, 10

#: The source of each domain's rule, shown on the page.
SOURCES: dict[str, str] = {
    "risk_of_bias": "GRADE guidelines 4, Guyatt et al. 2011, J Clin Epidemiol 64(4):407–415",
    "inconsistency": "GRADE guidelines 7, Guyatt et al. 2011, J Clin Epidemiol 64(12):1294–1302",
    "indirectness": "GRADE guidelines 8, Guyatt et al. 2011, J Clin Epidemiol 64(12):1303–1310",
    "imprecision": "GRADE guidelines 6, Guyatt et al. 2011, J Clin Epidemiol 64(12):1283–1293",
    "publication_bias": "GRADE guidelines 5, Guyatt et al. 2011, J Clin Epidemiol 64(12):1277–1282",
}
CI_SERIOUS, CI_VERY_SERIOUS = 0.20, 0.40
EVENTS_VERY_SERIOUS = 10
PATIENTS_SERIOUS = 100


@dataclass(frozen=True)
class Domain:
    """One GRADE domain: the judgement, why, and whether a reviewer set it."""

    judgement: str
    reason: str
    overridden: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"judgement": self.judgement, "reason": self.reason, "overridden": self.overridden}


@dataclass(frozen=True)
class Certainty:
    """The rating and the five domains (in :data:`evsynth.review.plan.DOMAINS` order)."""

    rating: str
    start: str
    domains: dict[str, Domain]

    def to_dict(self) -> dict[str, object]:
        return {"rating": self.rating, "start": self.start,
                "domains": {k: d.to_dict() for k, d in self.domains.items()}}


@dataclass(frozen=True)
class Evidence:
    """What the rules look at, for one outcome's primary analysis (proportions 0–1, NaN if absent)."""

    k: int
    events: int
    total: int
    ci_lower: float
    ci_upper: float
    pi_lower: float = math.nan
    pi_upper: float = math.nan
    i2: float = math.nan
    #: Patients of each pooled study and its appraisal traffic light (evsynth.review.appraisal).
    appraisal: tuple[tuple[str, int, str], ...] = ()
    histologies: tuple[str, ...] = ()
    lrts: tuple[str, ...] = ()
    #: Studies reporting the outcome (pooled or described) and how many are case reports.
    studies_reporting: int = 0
    case_reports: int = 0
    #: τ² of the model fitted to the pooled studies (NaN when none) and its scale.
    tau2: float = math.nan
    #: Each pooled study's patients and exact CI (proportions).
    study_sizes: tuple[int, ...] = ()
    study_cis: tuple[tuple[float, float], ...] = ()
    #: For each column the question covers: (column, values the question covers, the pooled rows' values);
    #: and why the outcome is a surrogate ("" = not).
    covered: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    surrogate: str = ""
    #: Pooled cohorts whose response criteria the study does not state.
    criteria_unstated: int = 0
    #: What the headline CI is ("crude proportion, exact CI" or the model).
    headline: str = ""
    level: float = 0.95


def _pct(x: float) -> str:
    return f"{100 * x:.0f}"


def risk_of_bias(e: Evidence) -> Domain:
    if not e.appraisal:
        return Domain("serious", "no pooled study to appraise")
    total = sum(n for _, n, _ in e.appraisal) or 1
    high = sum(n for _, n, j in e.appraisal if j == "high concern")
    unknown = [s for s, _, j in e.appraisal if j == "not assessed"]
    if high / total > 0.5:
        return Domain("very serious", f"studies with high concern (≥ 2 JBI items 'no') hold {high} of "
                                      f"{total} pooled patients")
    if all(j == "low concern" for _, _, j in e.appraisal):
        return Domain("not serious", "every pooled study meets all applicable JBI items")
    if unknown:
        return Domain("serious", f"{len(unknown)} of {len(e.appraisal)} pooled studies not appraised "
                                 f"(JBI items not assessed: the source does not allow it), so their risk of "
                                 "bias is unknown")
    return Domain("serious", "some JBI items answered 'no' or 'unclear' in the pooled studies")


def _overlap(cis: tuple[tuple[float, float], ...]) -> tuple[float, float] | None:
    """The range every CI contains, or ``None`` when they do not all overlap."""
    lo, hi = max(c[0] for c in cis), min(c[1] for c in cis)
    return (lo, hi) if lo <= hi else None


def inconsistency(e: Evidence) -> Domain:
    if e.k < 2:
        return Domain("not serious", "one study: inconsistency cannot be assessed")
    common = _overlap(e.study_cis) if e.study_cis else None
    overlap = (f"the studies' exact CIs overlap ({_pct(common[0])}–{_pct(common[1])} %)" if common
               else "the studies' exact CIs do not all overlap")
    if not math.isfinite(e.tau2):
        if common is None:
            return Domain("serious", f"no model could be fitted; {overlap}")
        return Domain("not serious", f"no model could be fitted; {overlap}")
    df = e.k - 1
    stats = f"τ² = {e.tau2:.3g} (logit scale, from {df} degree{'s' if df != 1 else ''} of freedom)"
    if math.isfinite(e.i2):
        stats += f", I² = {e.i2:.0f} %"
    width = e.pi_upper - e.pi_lower if e.k >= 3 and math.isfinite(e.pi_lower) and math.isfinite(e.pi_upper) else math.nan
    if e.tau2 < TAU2_ZERO:
        if common is None:
            return Domain("serious", f"{stats}, but {overlap}")
        return Domain("not serious", f"{stats}; {overlap}")
    pi = (f"; {100 * e.level:g} % prediction interval {_pct(e.pi_lower)}–{_pct(e.pi_upper)} % (t, {e.k - 2} df)"
          if math.isfinite(width) else "; no prediction interval (fewer than 3 studies)" if e.k < 3 else "")
    reason = f"{stats}; {overlap}{pi}"
    i2 = e.i2 if math.isfinite(e.i2) else 0.0
    if i2 >= I2_VERY_SERIOUS and common is None:
        return Domain("very serious", reason)
    if i2 >= I2_SERIOUS or common is None or (math.isfinite(width) and width > PI_SERIOUS):
        return Domain("serious", reason)
    return Domain("not serious", reason)


def imprecision(e: Evidence) -> Domain:
    width = e.ci_upper - e.ci_lower
    rarer = min(e.events, e.total - e.events)
    shown = (f"{100 * e.level:g} % CI {_pct(e.ci_lower)}–{_pct(e.ci_upper)} % ({100 * width:.0f} points wide"
             f"{'; ' + e.headline if e.headline else ''}); {e.events} events in {e.total} patients")
    if not math.isfinite(width) or width > CI_VERY_SERIOUS or rarer < EVENTS_VERY_SERIOUS:
        return Domain("very serious", shown)
    if width > CI_SERIOUS or e.total < PATIENTS_SERIOUS:
        return Domain("serious", shown)
    return Domain("not serious", shown)


def _atoms(value: str) -> list[str]:
    """The single values in a cell: ``"A+B"`` (given together) and ``"A;B"`` (a list) give A and B."""
    return [atom for part in value.split(";") for atom in part.split("+") if atom]


def indirectness(e: Evidence) -> Domain:
    found: list[str] = []
    for column, wanted, pooled in e.covered:
        have = {atom for value in pooled for atom in _atoms(value)}
        if not have:
            continue
        missing = [v for v in wanted if v not in have]
        if missing:
            found.append(f"{column}: the question covers {', '.join(wanted)}, the pooled rows only "
                         f"{', '.join(sorted(have))}")
    if e.surrogate:
        outcome = f"outcome: {e.surrogate}"
        if e.criteria_unstated:
            outcome += f"; {e.criteria_unstated} of {e.k} pooled cohorts do not state their response criteria"
        found.append(outcome)
    if not found:
        return Domain("not serious", "the pooled cohorts match the question's population, intervention and outcome"
                      if e.k else "no pooled cohort")
    judgement = "very serious" if len(found) >= 2 else "serious"
    return Domain(judgement, "; ".join(found))


def publication_bias(e: Evidence) -> Domain:
    sizes = e.study_sizes
    if not sizes:
        return Domain("not serious", "no pooled study")
    span = f"{min(sizes)}–{max(sizes)}" if min(sizes) != max(sizes) else f"{sizes[0]}"
    if len(sizes) < FEW_STUDIES and max(sizes) < SMALL_STUDY:
        return Domain("serious", f"suspected: the estimate rests on {len(sizes)} small published "
                                 f"stud{'y' if len(sizes) == 1 else 'ies'} ({span} patients each), where unpublished "
                                 "small studies could change it; too few studies for a funnel-plot test")
    few = " (fewer than 10 studies: no funnel-plot test)" if len(sizes) < FEW_STUDIES else ""
    return Domain("not serious", f"undetected: {len(sizes)} studies of {span} patients{few}")


RULES = {"risk_of_bias": risk_of_bias, "inconsistency": inconsistency, "indirectness": indirectness,
         "imprecision": imprecision, "publication_bias": publication_bias}


def rate(domains: dict[str, Domain], start: str = START) -> str:
    """Start rating minus the downgrades (serious −1, very serious −2), not below very low."""
    level = RATINGS.index(start) - sum(DOWNGRADE[d.judgement] for d in domains.values())
    return RATINGS[max(level, 0)]


def assess(evidence: Evidence, overrides: dict[str, Override] | None = None) -> Certainty:
    """The default judgement of each domain, a reviewer's override where given, and the rating."""
    overrides = overrides or {}
    domains: dict[str, Domain] = {}
    for name in DOMAINS:
        if name in overrides:
            o = overrides[name]
            domains[name] = Domain(o.judgement, f"reviewer: {o.reason}", True)
        else:
            domains[name] = RULES[name](evidence)
    return Certainty(rate(domains), START, domains)
