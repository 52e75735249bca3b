"""Meta-analysis of proportions with metafor's models and names, as pure functions.

The public API for library users; each name is documented in its module:

* pooling (:mod:`evsynth.meta.pooling`): :func:`pool_proportions`,
  :func:`pool_subgroups`, :func:`leave_one_out`, :func:`test_between_subgroups`,
  :func:`estimand`, and the frozen result dataclasses (``to_dict()`` gives JSON);
* escalc transforms (:mod:`evsynth.meta.transforms`): ``PLO``, ``PFT``, ``PAS``, ``PR``;
* τ² estimators (:mod:`evsynth.meta.tau2`): ``DL``, ``REML``, ``PM``, ``ML``, ``HE``,
  ``SJ``, ``EE`` and the Q-profile CI;
* the random-intercept logistic model (:mod:`evsynth.meta.glmm`) and its
  population-averaged proportion;
* per-study and crude proportions with their CIs (:mod:`evsynth.meta.proportions`);
* the per-study count table ``evsynth pool`` reads (:mod:`evsynth.meta.count_table`).

Example::

    from evsynth.meta import pool_proportions
    result = pool_proportions([5, 12, 3, 0], [10, 19, 8, 6], method="GLMM")
    result.pooled.estimate, result.estimand, result.marginal.estimate
"""

from evsynth.meta.count_table import MAX_COUNT, CountTable, read_counts
from evsynth.meta.glmm import (GlmmError, GlmmFit, binomial_loglik, fit_glmm, hessian_richardson, loglik_agq,
                               loglik_and_gradient,
                               lrt_heterogeneity, marginal_bootstrap_interval, marginal_interval, marginal_moments,
                               marginal_proportion)
from evsynth.meta.pooling import (FALLBACKS, METHODS, TESTS, BetweenTest, CrudeProportion, Heterogeneity,
                                  MarginalProportion, PooledProportion, PooledTransformed, PoolingError,
                                  PoolResult, StudyEstimate, SubgroupAnalysis, crude_result, estimand,
                                  leave_one_out, pool_proportions, pool_subgroups, test_between_subgroups)
from evsynth.meta.proportions import CI_METHODS, ProportionCI, crude_proportion, proportion_ci, proportion_limits
from evsynth.meta.tau2 import (ESTIMATORS, ConvergenceError, estimate_tau2, estimate_tau2_noted, generalized_q,
                               tau2_dl, tau2_fisher, tau2_he, tau2_pm, tau2_qprofile_ci, tau2_sj)
from evsynth.meta.transforms import MEASURES, EffectSizes, back_transform, escalc_proportions, ipft_hm, pft

__all__ = [
    # pooling
    "pool_proportions", "pool_subgroups", "leave_one_out", "test_between_subgroups", "estimand", "crude_result",
    "PoolResult", "SubgroupAnalysis", "BetweenTest", "PooledProportion", "PooledTransformed",
    "CrudeProportion", "MarginalProportion", "Heterogeneity", "StudyEstimate", "PoolingError",
    "METHODS", "TESTS", "FALLBACKS",
    # escalc transforms
    "escalc_proportions", "back_transform", "pft", "ipft_hm", "EffectSizes", "MEASURES",
    # tau²
    "estimate_tau2", "estimate_tau2_noted", "tau2_qprofile_ci", "generalized_q",
    "tau2_dl", "tau2_he", "tau2_sj", "tau2_pm", "tau2_fisher", "ESTIMATORS", "ConvergenceError",
    # GLMM
    "fit_glmm", "marginal_proportion", "marginal_interval", "marginal_bootstrap_interval", "marginal_moments", "lrt_heterogeneity",
    "loglik_agq", "loglik_and_gradient", "binomial_loglik", "hessian_richardson", "GlmmFit", "GlmmError",
    # proportions
    "proportion_ci", "proportion_limits", "crude_proportion", "ProportionCI", "CI_METHODS",
    # evsynth pool's input
    "read_counts", "CountTable", "MAX_COUNT",
]
