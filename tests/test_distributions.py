"""The distribution functions the pooling takes from scipy.special are bit for bit scipy.stats's.

A build no longer imports scipy.stats (it took about as long to import as pandas); the
figures must not move by a single bit, on the grids the pooling uses and at the edges.
"""

import numpy as np
import pytest
from scipy import stats

from evsynth.meta._distributions import _beta_ppf, _chi2_isf, _chi2_ppf, _chi2_sf, _norm_isf, _norm_ppf, _t_isf


def same(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_beta_quantiles_of_clopper_pearson_and_jeffreys_limits(level):
    alpha = 1 - level
    for n in range(1, 300):
        x = np.arange(0, n + 1, dtype=float)
        for q in (alpha / 2, 1 - alpha / 2):
            assert same(_beta_ppf(q, np.maximum(x, 1e-300), n - x + 1), stats.beta.ppf(q, np.maximum(x, 1e-300), n - x + 1))
            assert same(_beta_ppf(q, x + 1, np.maximum(n - x, 1e-300)), stats.beta.ppf(q, x + 1, np.maximum(n - x, 1e-300)))
            assert same(_beta_ppf(q, x + 0.5, n - x + 0.5), stats.beta.ppf(q, x + 0.5, n - x + 0.5))


def test_beta_quantile_edges_and_scalars():
    for q, a, b in [(0.0, 2, 3), (1.0, 2, 3), (0.3, 0.0, 3), (0.3, 2, -1), (-0.1, 2, 3), (1.1, 2, 3), (np.nan, 2, 3)]:
        assert same(_beta_ppf(q, a, b), stats.beta.ppf(q, a, b)), (q, a, b)
    assert type(_beta_ppf(0.025, 3, 5)) is type(stats.beta.ppf(0.025, 3, 5))


def test_normal_t_and_chi_square():
    q = np.concatenate([np.linspace(0, 1, 2001), [1e-12, 1 - 1e-12, 0.025, 0.975, 0.005]])
    for value in q:
        assert same(_norm_ppf(value), stats.norm.ppf(value)) and same(_norm_isf(value), stats.norm.isf(value))
        for df in (1, 2, 3, 4, 7, 10, 30, 100, 1000, 0.5):
            assert same(_t_isf(value, df), stats.t.isf(value, df)), (value, df)
    for df in (0, -1):
        assert same(_t_isf(0.025, df), stats.t.isf(0.025, df))
    for x in [-1.0, 0.0, 1e-9, 0.5, 1.0, 3.84, 10.0, 50.0, 500.0, np.inf, np.nan]:
        for df in (1, 2, 3, 5, 10, 40, 0, -2):
            assert same(_chi2_sf(x, df), stats.chi2.sf(x, df)), (x, df)
    for value in q:
        for df in (1, 2, 3, 4, 9, 30, 200, 0.5, 0, -1):
            assert same(_chi2_isf(value, df), stats.chi2.isf(value, df)), (value, df)
            assert same(_chi2_ppf(value, df), stats.chi2.ppf(value, df)), (value, df)
    assert type(_t_isf(0.025, 4)) is type(stats.t.isf(0.025, 4))
