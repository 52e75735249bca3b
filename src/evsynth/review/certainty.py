"""Certainty of the evidence per outcome (GRADE), by documented default rules.

The Summary of Findings table follows GRADEpro GDT: the number of studies and
patients, the estimate with its CI and the certainty (high, moderate, low,
very low) with the five reasons for downgrading, each judged ``not serious``,
``serious`` (−1) or ``very serious`` (−2) and stated with its reason.

Default rules (:func:`assess`), every threshold here and nowhere else:

* **Start**: single-arm observational evidence (case series, case reports,
  cohorts without a comparison) starts at *low* (GRADE Handbook 5.1,
  Schünemann et al. 2013).
* **Risk of bias** (JBI appraisal, :mod:`evsynth.review.appraisal`):
  *very serious* when studies with high concern (≥ 2 items ``no``) hold more
  than half of the pooled patients; *not serious* when every pooled study is
  of low concern; otherwise *serious* — including when pooled studies could
  not be appraised (their risk of bias is unknown).
* **Inconsistency** (k ≥ 2): *very serious* when I² ≥ 75 % and the 95 %
  prediction interval is wider than 50 percentage points; *serious* when
  I² ≥ 50 % or the prediction interval is wider than 30 points (I² bands of
  the Cochrane Handbook 10.10.2); one study: not assessable, *not serious*.
* **Imprecision**: with the CI width on the proportion scale and the rarer
  of events and non-events (the information in a proportion): *very
  serious* when the CI is wider than 40 points or the rarer count is below 10;
  *serious* when the CI is wider than 20 points or fewer than 100 patients;
  otherwise *not serious*.
* **Indirectness**: *serious* when the pooled cohorts mix histologies or
  loco-regional treatments (the question is about each; a pooled figure
  answers neither exactly); otherwise *not serious*.
* **Publication bias**: *serious* ("strongly suspected") when single-patient
  case reports make up half or more of the studies reporting the outcome
  (case reports are published when the result is notable); otherwise
  *not serious* ("undetected"; with fewer than 10 studies no funnel-plot test).

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
PI_SERIOUS, PI_VERY_SERIOUS = 0.30, 0.50
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
                                 "bias is unknown; single-arm series have no control group")
    return Domain("serious", "some JBI items answered 'no' or 'unclear' in the pooled studies")


def inconsistency(e: Evidence) -> Domain:
    if e.k < 2:
        return Domain("not serious", "one study: inconsistency cannot be assessed")
    width = e.pi_upper - e.pi_lower if math.isfinite(e.pi_lower) and math.isfinite(e.pi_upper) else math.nan
    i2 = e.i2
    shown = (f"I² = {i2:.0f} %" if math.isfinite(i2) else "I² not available") + (
        f", 95 % PI {_pct(e.pi_lower)}–{_pct(e.pi_upper)} %" if math.isfinite(width) else ", no PI")
    if math.isfinite(i2) and i2 >= I2_VERY_SERIOUS and (not math.isfinite(width) or width > PI_VERY_SERIOUS):
        return Domain("very serious", shown)
    if (math.isfinite(i2) and i2 >= I2_SERIOUS) or (math.isfinite(width) and width > PI_SERIOUS):
        return Domain("serious", shown)
    if not math.isfinite(i2) and not math.isfinite(width):
        return Domain("serious", "heterogeneity not estimable with these studies")
    return Domain("not serious", shown)


def imprecision(e: Evidence) -> Domain:
    width = e.ci_upper - e.ci_lower
    rarer = min(e.events, e.total - e.events)
    shown = (f"95 % CI {_pct(e.ci_lower)}–{_pct(e.ci_upper)} % ({100 * width:.0f} points wide); "
             f"{e.events} events in {e.total} patients")
    if not math.isfinite(width) or width > CI_VERY_SERIOUS or rarer < EVENTS_VERY_SERIOUS:
        return Domain("very serious", shown)
    if width > CI_SERIOUS or e.total < PATIENTS_SERIOUS:
        return Domain("serious", shown)
    return Domain("not serious", shown)


def indirectness(e: Evidence) -> Domain:
    mixed = []
    if len(set(e.histologies)) > 1 or "mixed" in e.histologies:
        mixed.append(f"histologies ({', '.join(sorted(set(e.histologies)))})")
    if len(set(e.lrts)) > 1:
        mixed.append(f"treatments ({', '.join(sorted(set(e.lrts)))})")
    if mixed:
        return Domain("serious", "the pooled cohorts mix " + " and ".join(mixed))
    single = ", ".join(sorted(set(e.histologies)) + sorted(set(e.lrts)))
    return Domain("not serious", f"one histology and one treatment ({single})" if single else "no pooled cohort")


def publication_bias(e: Evidence) -> Domain:
    if e.studies_reporting and e.case_reports * 2 >= e.studies_reporting:
        return Domain("serious", f"strongly suspected: {e.case_reports} of {e.studies_reporting} studies "
                                 "reporting this outcome are single-patient case reports")
    few = " (fewer than 10 studies: no funnel-plot test)" if e.studies_reporting < 10 else ""
    return Domain("not serious", f"undetected: {e.case_reports} of {e.studies_reporting} studies are case reports{few}")


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
