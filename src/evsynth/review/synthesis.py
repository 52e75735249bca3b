"""The review's meta-analyses: each outcome pooled overall, by LRT and by histology.

Primary model: the random-intercept logistic model (``GLMM``, metafor
``rma.glmm(measure="PLO")``; meta's ``metaprop`` default), which uses the
exact binomial likelihood and so needs no continuity correction for the 0 %
and 100 % studies these small series have. Sensitivity model: ``REML`` on the
logit scale (``PLO``, metafor's default estimator; 0.5 added to every cell of
a study with 0 % or 100 %). Per-study CIs are Clopper-Pearson. Subgroup
levels with a single study are shown, not pooled; the test for subgroup
differences uses the levels with at least two studies.
"""

from __future__ import annotations

from dataclasses import dataclass

from evsynth.review.outcomes import OUTCOMES, Outcome, outcome
from evsynth.meta.pooling import (BetweenTest, PoolingError, PoolResult, StudyEstimate, pool_proportions,
                             test_between_subgroups)
from evsynth.review.model import Review

PRIMARY = {"measure": "PLO", "method": "GLMM", "ci": "CP", "test": "z", "level": 0.95}
SENSITIVITY = {"measure": "PLO", "method": "REML", "ci": "CP", "test": "z", "level": 0.95}
SUBGROUP_COLUMNS = {"lrt": "LRT", "histology": "histology"}


@dataclass(frozen=True)
class SubgroupSynthesis:
    """One subgrouping: pooled levels (k >= 2), single-study levels, and the test between."""

    by: str
    pooled: dict[str, PoolResult]
    single: dict[str, StudyEstimate]
    notes: dict[str, str]
    test_between: BetweenTest | None


@dataclass(frozen=True)
class OutcomeSynthesis:
    """An outcome's data, primary and sensitivity models and subgroups."""

    outcome: Outcome
    primary: PoolResult | None
    sensitivity: PoolResult | None
    subgroups: tuple[SubgroupSynthesis, ...]
    message: str = ""


def _pool(o: Outcome, options: dict[str, object], rows: list[int] | None = None) -> PoolResult:
    data = o.data if rows is None else o.data.iloc[rows]
    return pool_proportions(list(data["events"]), list(data["total"]), list(data["study"]), **options)  # type: ignore[arg-type]


def _subgroups(o: Outcome, by: str) -> SubgroupSynthesis:
    pooled: dict[str, PoolResult] = {}
    single: dict[str, StudyEstimate] = {}
    notes: dict[str, str] = {}
    levels = list(dict.fromkeys(o.data[by]))
    for level in levels:
        rows = [i for i, value in enumerate(o.data[by]) if value == level]
        if len(rows) == 1:
            single[str(level)] = _pool(o, SENSITIVITY, rows).studies[0]
            continue
        try:
            pooled[str(level)] = _pool(o, PRIMARY, rows)
        except PoolingError as exc:
            pooled[str(level)] = _pool(o, SENSITIVITY, rows)
            notes[str(level)] = f"GLMM not estimable: {exc}"
    between = test_between_subgroups(pooled) if len(pooled) >= 2 else None
    return SubgroupSynthesis(by, pooled, single, notes, between)


def synthesise(review: Review, key: str) -> OutcomeSynthesis:
    """Pool outcome *key* (see :data:`evsynth.outcomes.OUTCOMES`)."""
    o = outcome(review, key)
    if len(o.data) == 0:
        return OutcomeSynthesis(o, None, None, (), "no study reports usable counts")
    message = ""
    try:
        primary: PoolResult | None = _pool(o, PRIMARY)
    except PoolingError as exc:
        primary, message = None, f"GLMM not estimable: {exc}"
    sensitivity = _pool(o, SENSITIVITY)
    subgroups = tuple(_subgroups(o, by) for by in SUBGROUP_COLUMNS)
    return OutcomeSynthesis(o, primary, sensitivity, subgroups, message)


def synthesise_all(review: Review) -> dict[str, OutcomeSynthesis]:
    """Every outcome of :data:`evsynth.outcomes.OUTCOMES`, in that order."""
    return {key: synthesise(review, key) for key in OUTCOMES}
