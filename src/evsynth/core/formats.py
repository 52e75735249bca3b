"""How a proportion is written as a percentage, with or without its interval: one rule for every output.

The page, the review's tables, the forest plots, "what changed" and
``evsynth pool`` all print percentages through these two functions, so a
pooled estimate reads the same (same rounding, same dash for a missing
value) wherever it appears.
"""

from __future__ import annotations

import math

#: Shown for a value that does not exist (a knha interval with k = 1, a PI of an EE model).
MISSING = "–"


def percent(value: float | None, digits: int = 1, missing: str = MISSING) -> str:
    """``0.3456`` -> ``"34.6"`` (percent, *digits* decimals, no sign); *missing* for None/NaN/inf."""
    if value is None or not math.isfinite(value):
        return missing
    return f"{100 * value:.{digits}f}"


def percent_ci(estimate: float | None, low: float | None, high: float | None, *, level: float | None = None,
               unit: str = "", limit_unit: str = "", between: str = "–", brackets: str = "()",
               digits: int = 1, missing: str = MISSING) -> str:
    """A percentage with its interval: ``34.6 (20.1–51.2)``, ``34.6 % (95 % CI 20.1–51.2)``,
    ``34.6 [20.1, 51.2]``, ``34.6% (95% CI 20.1% to 51.2%)``.

    *unit* follows the estimate and the level label, *limit_unit* each limit;
    *level* (0.95) adds ``95<unit> CI`` inside the brackets; *between* joins
    the limits; *brackets* are the opening and closing characters. A missing
    limit is *missing*; a missing estimate gives *missing* alone.
    """
    if estimate is None or not math.isfinite(estimate):
        return missing

    def limit(value: float | None) -> str:
        text = percent(value, digits, missing)
        return text if text == missing else text + limit_unit

    label = f"{100 * level:g}{unit or '%'} CI " if level is not None else ""
    return (f"{percent(estimate, digits)}{unit} {brackets[0]}{label}{limit(low)}{between}{limit(high)}"
            f"{brackets[1]}")
