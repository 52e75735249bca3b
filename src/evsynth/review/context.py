"""A loaded review as the expression language reads it (:mod:`evsynth.sheets.expressions`).

:func:`review_context` turns the typed frames of a :class:`~evsynth.review.model.Review`
into typed rows (``int``, ``float``, ``str``; ``None`` for an empty cell; each row
carries its spreadsheet row as ``_row`` so messages can name it), with the
project's declared references, and the figures of the analysis plan's outcomes
for ``pooled(...)``, ``crude(...)`` and ``k(...)``.

Outcome figures are those of each outcome's *primary analysis*
(:func:`evsynth.review.synthesis.run_analysis`), in percent, computed only when an
expression asks for them (:func:`plan_figures`), or taken from analyses a build
already ran (:func:`figures_of`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from evsynth.review.design import study_designs
from evsynth.review.model import Review, typed_rows
from evsynth.review.plan import AnalysisPlan
from evsynth.review.synthesis import Analysis, run_analysis
from evsynth.sheets.expressions import SheetData


@dataclass(frozen=True)
class Figures:
    """An outcome's primary-analysis figures in percent (``None`` where there is none).

    ``estimate``/``ci_lower``/``ci_upper``: the plan's model, only when it was
    fitted (never the crude stand-in); ``crude``: Σ events / Σ patients; ``k``: rows pooled.
    """

    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    crude: float | None
    k: int


def _percent(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else 100.0 * float(x)


def figures_of(analysis: Analysis) -> Figures:
    """The figures of one analysis (:class:`evsynth.review.synthesis.Analysis`)."""
    model = analysis.result.pooled if analysis.fitted and analysis.result is not None else None
    crude = analysis.crude.estimate if analysis.crude is not None else None
    return Figures(_percent(model.estimate) if model else None, _percent(model.ci_lower) if model else None,
                   _percent(model.ci_upper) if model else None, _percent(crude), analysis.k)


def plan_figures(review: Review, plan: AnalysisPlan) -> Callable[[str], Figures]:
    """Outcome key -> figures of its primary analysis on *review*, each run when first asked for.

    A ``KeyError`` for a key the plan does not declare.
    """
    designs: dict[str, Any] = {}

    def figures(key: str) -> Figures:
        outcome = next((o for o in plan.outcomes if o.key == key), None)
        if outcome is None:
            raise KeyError(key)
        if not designs:
            designs.update(study_designs(review))
        return figures_of(run_analysis(review, outcome, outcome.primary, designs))

    return figures


def review_context(review: Review,
                   figures: Mapping[str, Figures] | Callable[[str], Figures] | None = None) -> SheetData:
    """The sheets of *review* as an expression context; *figures*: outcome key -> figures (see module doc)."""
    rows = {name: typed_rows(frame) for name, frame in review.frames.items()}
    return SheetData(rows, review.sheets, figures)
