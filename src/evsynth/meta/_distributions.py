"""The few distribution functions the pooling needs, from :mod:`scipy.special` (not :mod:`scipy.stats`).

``scipy.stats`` takes about as long to import as pandas, and a build needs five of its
functions. Each function below is the one ``scipy.stats`` itself evaluates for the
distribution (``scipy.stats`` calls the same ``scipy.special`` routine), with the same
answer outside the distribution's support, so the figures are bit for bit those of
``scipy.stats`` (``tests/test_distributions.py`` compares them on grids and edges):

* ``_beta_ppf(q, a, b)`` = ``stats.beta.ppf`` = ``special.betaincinv(a, b, q)``
  (the inverse of the regularised incomplete beta function ``I_x(a, b) = q``);
* ``_norm_ppf(q)`` = ``stats.norm.ppf`` = ``special.ndtri(q)`` (``Φ⁻¹(q)``);
  ``_norm_isf(q)`` = ``stats.norm.isf`` = ``−Φ⁻¹(q)``;
* ``_t_isf(q, df)`` = ``stats.t.isf`` = ``−special.stdtrit(df, q)`` (Student's t);
* ``_chi2_sf(x, df)`` = ``stats.chi2.sf`` = ``special.chdtrc(df, x)`` (``P(χ²_df > x)``),
  1 for ``x < 0``; ``_chi2_isf(q, df)`` = ``stats.chi2.isf`` = ``special.chdtri(df, q)`` and
  ``_chi2_ppf(q, df)`` = ``stats.chi2.ppf`` = ``2 · special.gammaincinv(df / 2, q)``.

Invalid parameters (``df ≤ 0``, ``a ≤ 0``, ``b ≤ 0``, ``q`` outside [0, 1]) give NaN,
as in ``scipy.stats``.
"""

from __future__ import annotations

from typing import Any

_NAN = float("nan")


def _float(value: float) -> Any:
    """*value* as the numpy scalar ``scipy.stats`` returns."""
    import numpy as np
    return np.float64(value)


def _beta_ppf(q: Any, a: Any, b: Any) -> Any:
    """Quantile of Beta(a, b) at *q*: the x with ``I_x(a, b) = q``."""
    import numpy as np
    from scipy import special
    q, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q, a, b)))
    with np.errstate(invalid="ignore"):
        valid = (a > 0) & (b > 0) & (q >= 0) & (q <= 1)
        out = np.where(valid, special.betaincinv(np.where(valid, a, 1.0), np.where(valid, b, 1.0),
                                                 np.where(valid, q, 0.5)), np.nan)
    return out[()] if out.ndim == 0 else out


def _norm_ppf(q: float) -> float:
    """Φ⁻¹(q), the standard normal quantile."""
    from scipy import special
    return special.ndtri(q) if 0 <= q <= 1 else _float(_NAN)


def _norm_isf(q: float) -> float:
    """Φ⁻¹(1 − q), as ``−Φ⁻¹(q)``."""
    from scipy import special
    return -special.ndtri(q) if 0 <= q <= 1 else _float(_NAN)


def _t_isf(q: float, df: float) -> float:
    """The upper *q* quantile of Student's t with *df* degrees of freedom."""
    from scipy import special
    if not (df > 0 and 0 <= q <= 1):
        return _float(_NAN)
    if q == 0 or q == 1:  # the ends of the support, as scipy.stats gives them
        return _float(float("inf") if q == 0 else -float("inf"))
    return -special.stdtrit(df, q)


def _chi2_sf(x: float, df: float) -> float:
    """``P(χ²_df > x)``: 1 below the support (``x < 0``), NaN for ``df ≤ 0`` or NaN *x*."""
    from scipy import special
    if not df > 0 or x != x:
        return _float(_NAN)
    return _float(1.0) if x < 0 else special.chdtrc(df, x)


def _chi2_quantile(q: float, df: float, upper: bool) -> Any:
    from scipy import special
    if not (df > 0 and 0 <= q <= 1):
        return _float(_NAN)
    if q == 0 or q == 1:  # the ends of the support, as scipy.stats gives them
        low_end = (q == 0) != upper
        return _float(0.0 if low_end else float("inf"))
    return special.chdtri(df, q) if upper else 2 * special.gammaincinv(df / 2, q)


def _chi2_isf(q: float, df: float) -> Any:
    """The upper *q* quantile of χ² with *df* degrees of freedom."""
    return _chi2_quantile(q, df, upper=True)


def _chi2_ppf(q: float, df: float) -> Any:
    """The lower *q* quantile of χ² with *df* degrees of freedom."""
    return _chi2_quantile(q, df, upper=False)
