"""Transformations of proportions as metafor's ``escalc`` computes them, and their inverses.

Measures (metafor names, Viechtbauer 2010, ``help(escalc)``):

``PR``
    raw proportion, yᵢ = p̂ᵢ, vᵢ = p̂ᵢ(1 − p̂ᵢ)/nᵢ (``vtype = "LS"``).
``PLO``
    logit, yᵢ = log(p̂ᵢ/(1 − p̂ᵢ)), vᵢ = 1/xᵢ + 1/(nᵢ − xᵢ).
``PAS``
    arcsine square root, yᵢ = arcsin √p̂ᵢ, vᵢ = 1/(4nᵢ).
``PFT``
    Freeman–Tukey double arcsine as metafor defines it,
    yᵢ = ½[arcsin √(xᵢ/(nᵢ+1)) + arcsin √((xᵢ+1)/(nᵢ+1))], vᵢ = 1/(4nᵢ + 2).

Zero cells, exactly as ``escalc``'s defaults (``add = 1/2, to = "only0"``,
``addyi = addvi = TRUE``): for ``PR`` and ``PLO`` a study with xᵢ = 0 or
xᵢ = nᵢ gets ½ added to both its events and non-events (so nᵢ grows by 1)
before yᵢ *and* vᵢ are computed; ``PAS`` and ``PFT`` default to ``add = 0``
(no correction — both are defined at 0 and 1).

Back-transformations (metafor ``transf.*``): ``PLO`` → ``transf.ilogit``,
``PAS`` → ``transf.iarcsin`` (sin², truncated to [0, 1]), ``PFT`` →
``transf.ipft.hm`` (Miller 1978 inverse evaluated at the harmonic mean of
the sample sizes, truncated to [0, 1]), ``PR`` → identity (not truncated,
as metafor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evsynth.core import model_names

MEASURES = model_names.MEASURES  # ("PLO", "PFT", "PAS", "PR")


@dataclass(frozen=True)
class EffectSizes:
    """Observed outcomes ``yi`` and sampling variances ``vi`` (metafor's names)."""

    measure: str
    yi: np.ndarray
    vi: np.ndarray


def escalc_proportions(events: np.ndarray, totals: np.ndarray, measure: str = "PLO") -> EffectSizes:
    """``escalc(measure, xi = events, ni = totals)`` with metafor's default zero-cell handling.

    Parameters
    ----------
    events, totals : array_like of int
        Event counts xᵢ and sample sizes nᵢ, one per study (0 ≤ xᵢ ≤ nᵢ).
    measure : {"PLO", "PFT", "PAS", "PR"}
        The scale (metafor's ``measure``); case-insensitive.

    Returns
    -------
    EffectSizes
        ``yi`` (observed outcomes on the measure's scale) and ``vi`` (their sampling
        variances), metafor's names.

    Raises
    ------
    ValueError
        For an unknown measure.

    Notes
    -----
    The formulas of each measure and the ``add``/``to`` rule for 0 % and 100 %
    studies are in the module docstring; they are metafor's ``escalc`` defaults, so
    ``yi`` and ``vi`` equal R's to rounding.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. Journal of Statistical Software 36(3):1–48. ``help(escalc)``.

    Freeman MF, Tukey JW (1950). Transformations related to the angular and the square
    root. Annals of Mathematical Statistics 21(4):607–611.

    Examples
    --------
    >>> from evsynth.meta.transforms import escalc_proportions
    >>> es = escalc_proportions([5, 0], [10, 6], "PLO")   # 0/6 becomes 0.5/7
    >>> es.yi.round(4).tolist(), es.vi.round(4).tolist()
    ([0.0, -2.5649], [0.4, 2.1538])
    """
    measure = measure.upper()
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    if measure in ("PR", "PLO"):
        zero_cell = (x == 0) | (x == n)
        x = np.where(zero_cell, x + 0.5, x)
        n = np.where(zero_cell, n + 1.0, n)
        p = x / n
        if measure == "PR":
            return EffectSizes(measure, p, p * (1 - p) / n)
        return EffectSizes(measure, np.log(p / (1 - p)), 1 / x + 1 / (n - x))
    if measure == "PAS":
        return EffectSizes(measure, np.arcsin(np.sqrt(x / n)), 1 / (4 * n))
    if measure == "PFT":
        yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
        return EffectSizes(measure, yi, 1 / (4 * n + 2))
    raise ValueError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")


def pft(p: float | np.ndarray, n: float) -> np.ndarray:
    """Freeman–Tukey transform of a proportion p for sample size n (metafor ``transf.pft``).

    Parameters
    ----------
    p : float or array_like
        Proportions on the 0–1 scale.
    n : float
        The sample size the transform is taken at.

    Returns
    -------
    numpy.ndarray
        ½[arcsin √(x/(n+1)) + arcsin √((x+1)/(n+1))] with x = p·n.

    Notes
    -----
    The ``PFT`` measure of :func:`escalc_proportions` for a proportion rather than a
    count; :func:`ipft_hm` uses it to find the ends of the inverse's domain.

    References
    ----------
    Freeman MF, Tukey JW (1950). Transformations related to the angular and the square
    root. Annals of Mathematical Statistics 21(4):607–611.
    """
    x = np.asarray(p, dtype=float) * n
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def ipft_hm(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Inverse Freeman–Tukey at the harmonic mean n̄ of ``totals`` (metafor ``transf.ipft.hm``).

    Parameters
    ----------
    values : array_like
        Values on the Freeman–Tukey scale (e.g. a pooled estimate and its limits).
    totals : array_like of int
        The studies' sample sizes; their harmonic mean n̄ is the n of the inverse.

    Returns
    -------
    numpy.ndarray
        Proportions on the 0–1 scale.

    Notes
    -----
    p = ½[1 − sgn(cos 2t) √(1 − (sin 2t + (sin 2t − 1/sin 2t)/n̄)²)]
    (Miller 1978), set to 0 below ``pft(0, n̄)`` and 1 above ``pft(1, n̄)``;
    undefined values (outside the root's domain) are NaN.

    References
    ----------
    Miller JJ (1978). The inverse of the Freeman–Tukey double arcsine transformation.
    The American Statistician 32(4):138.

    Viechtbauer W (2010), metafor's ``transf.ipft.hm``.
    """
    t = np.asarray(values, dtype=float)
    nhm = 1.0 / np.mean(1.0 / np.asarray(totals, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * t)
        inner = 1 - (s + (s - 1 / s) / nhm) ** 2
        z = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(inner))
    z = np.where(t > pft(1.0, nhm), 1.0, z)
    z = np.where(t < pft(0.0, nhm), 0.0, z)
    return z


def back_transform(values: np.ndarray | float, measure: str, totals: np.ndarray) -> np.ndarray:
    """Map pooled values on the ``measure`` scale back to proportions (metafor ``transf.*``).

    Parameters
    ----------
    values : float or array_like
        Values on the scale of *measure*.
    measure : {"PLO", "PFT", "PAS", "PR"}
        The scale; case-insensitive.
    totals : array_like of int
        The studies' sample sizes (used by ``PFT`` only: its inverse is taken at their
        harmonic mean).

    Returns
    -------
    numpy.ndarray
        Proportions: expit(v) for ``PLO``; sin²(v) truncated to [0, 1] for ``PAS``;
        :func:`ipft_hm` for ``PFT``; v itself, not truncated, for ``PR``.

    Raises
    ------
    ValueError
        For an unknown measure.

    Notes
    -----
    metafor's ``transf.ilogit``, ``transf.iarcsin``, ``transf.ipft.hm`` and the
    identity, as ``predict(res, transf = ...)`` applies them.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. Journal of Statistical Software 36(3):1–48.
    """
    v = np.asarray(values, dtype=float)
    measure = measure.upper()
    if measure == "PLO":
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-v))
    if measure == "PAS":
        z = np.sin(v) ** 2
        z = np.where(v < 0, 0.0, z)
        return np.where(v > np.arcsin(1.0), 1.0, z)
    if measure == "PFT":
        return ipft_hm(v, totals)
    if measure == "PR":
        return v.copy()
    raise ValueError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
