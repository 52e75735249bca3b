"""The names of the models :mod:`evsynth.meta` fits, as plain tuples (no numpy).

:mod:`evsynth.meta` defines its models with these names (metafor's): the
analysis plan (:mod:`evsynth.review.plan`) checks the names it is given against
them, so ``evsynth validate`` reads a plan without loading numpy or scipy.
"""

from __future__ import annotations

#: τ² estimators of :mod:`evsynth.meta.tau2` (metafor ``rma.uni`` ``method``).
ESTIMATORS: tuple[str, ...] = ("DL", "REML", "PM", "ML", "HE", "SJ", "EE")
#: Pooling methods of :func:`evsynth.meta.pooling.pool_proportions`: the τ² estimators and the GLMM.
METHODS: tuple[str, ...] = ESTIMATORS + ("GLMM",)
#: Tests of the pooled estimate: normal (``z``) or Knapp-Hartung (``knha``).
TESTS: tuple[str, ...] = ("z", "knha")
#: Transforms of :mod:`evsynth.meta.transforms` (metafor ``escalc`` ``measure``).
MEASURES: tuple[str, ...] = ("PLO", "PFT", "PAS", "PR")
