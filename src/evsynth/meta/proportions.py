"""Per-study proportions with their confidence intervals.

Five interval methods, named as in meta's ``method.ci``:

``CP``
    Clopper & Pearson (1934), the "exact" interval from beta quantiles
    (R ``binom.test``; meta's default).
``WILSON``
    Wilson (1927) score interval (R ``prop.test(correct = FALSE)``).
``WILSONCC``
    Wilson score interval with continuity correction, Newcombe (1998)
    method 4 (R ``prop.test(correct = TRUE)`` when the Yates term is 1/2).
``AC``
    Agresti & Coull (1998) "add z²/2 successes and failures" interval,
    truncated to [0, 1].
``JEFFREYS``
    Jeffreys interval, equal-tailed beta(x + 1/2, n − x + 1/2) quantiles with
    the lower limit 0 at x = 0 and the upper limit 1 at x = n
    (Brown, Cai & DasGupta 2001, section 4.1.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evsynth.meta._distributions import _beta_ppf, _norm_ppf
# scipy is imported inside the functions that use it: commands that only need this module's
# names (validate reads the analysis plan) start without loading scipy.

CI_METHODS: tuple[str, ...] = ("CP", "WILSON", "WILSONCC", "AC", "JEFFREYS")


@dataclass(frozen=True)
class ProportionCI:
    """A proportion ``events / total`` with its confidence interval (0–1 scale)."""

    events: int
    total: int
    proportion: float
    ci_lower: float
    ci_upper: float
    method: str
    level: float


def _z(level: float) -> float:
    return float(_norm_ppf(1 - (1 - level) / 2))


def proportion_limits(events: np.ndarray, totals: np.ndarray, method: str = "CP",
                      level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised lower and upper confidence limits for ``events / totals``.

    Parameters
    ----------
    events, totals : array_like of int
        Event counts x and sample sizes n (0 <= x <= n, n >= 1).
    method : {"CP", "WILSON", "WILSONCC", "AC", "JEFFREYS"}
        The interval (meta's ``method.ci`` names); case-insensitive.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    lower, upper : numpy.ndarray
        The limits, clipped to [0, 1].

    Notes
    -----
    With α = 1 − level and z = Φ⁻¹(1 − α/2), p̂ = x/n:

    * CP: [B(α/2; x, n−x+1), B(1−α/2; x+1, n−x)], with 0 at x = 0 and 1 at x = n.
    * WILSON: (p̂ + z²/2n ± z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
    * WILSONCC: as WILSON with p̂ ∓ 1/(2n) inside the root and the centre
      (Newcombe 1998, eq. 4); the lower limit is 0 when p̂ − 1/(2n) <= 0 and the
      upper 1 when p̂ + 1/(2n) >= 1.
    * AC: ñ = n + z², p̃ = (x + z²/2)/ñ, p̃ ± z √(p̃(1−p̃)/ñ), truncated to [0, 1].
    * JEFFREYS: [B(α/2; x+½, n−x+½), B(1−α/2; x+½, n−x+½)], 0 at x = 0, 1 at x = n.

    References
    ----------
    Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated
    in the case of the binomial. Biometrika 26(4):404–413.

    Wilson EB (1927). Probable inference, the law of succession, and statistical
    inference. Journal of the American Statistical Association 22(158):209–212.

    Newcombe RG (1998). Two-sided confidence intervals for the single proportion:
    comparison of seven methods. Statistics in Medicine 17(8):857–872.

    Agresti A, Coull BA (1998). Approximate is better than "exact" for interval
    estimation of binomial proportions. The American Statistician 52(2):119–126.

    Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial proportion.
    Statistical Science 16(2):101–133.
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    alpha = 1 - level
    z = _z(level)
    p = x / n
    method = method.upper()
    if method == "CP":
        with np.errstate(invalid="ignore"):
            lo = np.where(x == 0, 0.0, _beta_ppf(alpha / 2, np.maximum(x, 1e-300), n - x + 1))
            hi = np.where(x == n, 1.0, _beta_ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1e-300)))
    elif method == "WILSON":
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        lo = np.where(x == 0, 0.0, centre - half)  # exact endpoints (rounding gives ±1e-16)
        hi = np.where(x == n, 1.0, centre + half)
    elif method == "WILSONCC":
        z22n = z * z / (2 * n)
        pu = p + 0.5 / n
        pl = p - 0.5 / n
        with np.errstate(invalid="ignore"):
            hi = np.where(pu >= 1, 1.0, (pu + z22n + z * np.sqrt(np.clip(pu * (1 - pu), 0, None) / n
                                                                + z22n / (2 * n))) / (1 + 2 * z22n))
            lo = np.where(pl <= 0, 0.0, (pl + z22n - z * np.sqrt(np.clip(pl * (1 - pl), 0, None) / n
                                                                + z22n / (2 * n))) / (1 + 2 * z22n))
    elif method == "AC":
        nt = n + z * z
        pt = (x + z * z / 2) / nt
        half = z * np.sqrt(pt * (1 - pt) / nt)
        lo, hi = pt - half, pt + half
    elif method == "JEFFREYS":
        lo = np.where(x == 0, 0.0, _beta_ppf(alpha / 2, x + 0.5, n - x + 0.5))
        hi = np.where(x == n, 1.0, _beta_ppf(1 - alpha / 2, x + 0.5, n - x + 0.5))
    else:
        raise ValueError(f"unknown CI method {method!r}; use one of {', '.join(CI_METHODS)}")
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


def proportion_ci(events: int, total: int, method: str = "CP", level: float = 0.95) -> ProportionCI:
    """One study's proportion with its confidence interval (see :func:`proportion_limits`).

    Parameters
    ----------
    events, total : int
        Event count x and sample size n.
    method : {"CP", "WILSON", "WILSONCC", "AC", "JEFFREYS"}
        The interval (default Clopper–Pearson, R ``binom.test``).
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    ProportionCI
        x/n with its limits, the method and the level.

    Notes
    -----
    The formulas are under :func:`proportion_limits`.

    References
    ----------
    Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated
    in the case of the binomial. Biometrika 26(4):404–413; R ``binom.test(x, n)``.

    Examples
    --------
    >>> from evsynth.meta.proportions import proportion_ci
    >>> ci = proportion_ci(5, 10)
    >>> round(ci.ci_lower, 4), round(ci.ci_upper, 4)
    (0.1871, 0.8129)
    """
    lo, hi = proportion_limits(np.array([events]), np.array([total]), method, level)
    return ProportionCI(int(events), int(total), events / total, float(lo[0]), float(hi[0]),
                        method.upper(), level)


def crude_proportion(events: np.ndarray, totals: np.ndarray, method: str = "CP",
                     level: float = 0.95) -> ProportionCI:
    """The crude pooled proportion Σxᵢ/Σnᵢ with its confidence interval (default Clopper–Pearson).

    Parameters
    ----------
    events, totals : array_like of int
        Event counts xᵢ and sample sizes nᵢ, one per study.
    method : {"CP", "WILSON", "WILSONCC", "AC", "JEFFREYS"}
        The interval of the summed counts.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    ProportionCI
        Σxᵢ/Σnᵢ with its limits.

    Notes
    -----
    Every patient counts once and studies are not weighted, so it ignores
    between-study differences; beside a model-based pooled estimate it shows
    what the raw counts say (e.g. 16/25 = 64 %). With ``CP`` the interval is the
    exact binomial interval of R ``binom.test(sum(x), sum(n))``.

    References
    ----------
    Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated
    in the case of the binomial. Biometrika 26(4):404–413.

    Examples
    --------
    >>> from evsynth.meta.proportions import crude_proportion
    >>> c = crude_proportion([5, 12, 3, 0], [10, 19, 8, 6])
    >>> c.events, c.total, round(c.proportion, 4)
    (20, 43, 0.4651)
    """
    x = int(np.sum(np.asarray(events)))
    n = int(np.sum(np.asarray(totals)))
    return proportion_ci(x, n, method, level)
