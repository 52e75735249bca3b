"""Forest plots of pooled proportions as deterministic SVG.

:func:`forest_svg` draws, on the proportion scale, one row per study (a square
whose area is proportional to its weight, with its confidence interval), the
pooled estimate as a diamond spanning its CI, and the prediction interval as
a bar under the diamond; with subgroups, a diamond per subgroup and the
test for subgroup differences. The SVG is byte-identical across runs and
machines (coordinates rounded by :mod:`evsynth.report.svg_precision`):
matplotlib (``Figure`` without pyplot) with ``svg.hashsalt`` fixed, no
``Date`` metadata, and text written as SVG text (XML-escaped by matplotlib;
``parse_math=False`` so labels such as ``$5`` are drawn literally). Elements
carry ids ``study-square-ROW``, ``study-ci-ROW``, ``pooled-diamond-ROW`` and
``prediction-interval-ROW`` for styling.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from evsynth.core.formats import percent_ci
from evsynth.meta.pooling import PooledProportion, PoolResult, StudyEstimate, SubgroupAnalysis
from evsynth.report.svg_precision import fix_precision

_RC = {"svg.hashsalt": "evsynth-forest", "svg.fonttype": "none", "font.family": "DejaVu Sans",
       "font.size": 9, "axes.unicode_minus": False}
_BLACK, _GREY, _BLUE = "#000000", "#777777", "#1f4e79"


@dataclass(frozen=True)
class _Row:
    kind: str  # "header" | "study" | "pooled" | "spacer"
    label: str
    study: StudyEstimate | None = None
    pooled: PooledProportion | None = None
    detail: str = ""


def _ci_text(est: float, lo: float, hi: float) -> str:
    return percent_ci(est, lo, hi, between=", ", brackets="[]")


def _het_text(r: PoolResult) -> str:
    h = r.heterogeneity
    i2 = "–" if not math.isfinite(h.i2) else f"{h.i2:.0f}%"
    p = "–" if not math.isfinite(h.q_pvalue) else (
        "<0.001" if h.q_pvalue < 0.001 else f"{h.q_pvalue:.3f}")
    scale = {"PLO": "logit", "PFT": "double-arcsine", "PAS": "arcsine", "PR": "proportion"}.get(r.measure, r.measure)
    test = "likelihood-ratio test" if r.method == "GLMM" else "Q-test"
    return f"I² = {i2}, τ² = {h.tau2:.3f} ({scale} scale); heterogeneity {test} p = {p}"


def _rows(result: PoolResult | SubgroupAnalysis, pooled: bool = True) -> list[_Row]:
    rows: list[_Row] = []
    if isinstance(result, SubgroupAnalysis):
        for name, sub in result.subgroups.items():
            rows.append(_Row("header", name))
            rows += [_Row("study", s.study, study=s) for s in sub.studies]
            rows.append(_Row("pooled", f"Subtotal (k = {sub.k})", pooled=sub.pooled,
                             detail=_het_text(sub)))
            rows.append(_Row("spacer", ""))
        tb = result.test_between
        p = "–" if not math.isfinite(tb.pvalue) else f"{tb.pvalue:.3f}"
        q = "–" if not math.isfinite(tb.q) else f"{tb.q:.2f}"
        rows.append(_Row("pooled", f"Overall (k = {result.overall.k})", pooled=result.overall.pooled,
                         detail=f"{_het_text(result.overall)}; subgroup differences "
                                f"Q = {q}, df = {tb.df}, p = {p}"))
        rows.append(_Row("spacer", ""))
    else:
        rows += [_Row("study", s.study, study=s) for s in result.studies]
        if pooled:
            rows.append(_Row("pooled", f"Pooled (k = {result.k})", pooled=result.pooled,
                             detail=_het_text(result)))
        rows.append(_Row("spacer", ""))
    return rows


def forest_svg(result: PoolResult | SubgroupAnalysis, title: str = "",
               xlabel: str = "Proportion (%)", pooled: bool = True) -> str:
    """A forest plot of ``result`` as an SVG document (a string, byte-identical across runs).

    Parameters
    ----------
    result : PoolResult or SubgroupAnalysis
        From :func:`evsynth.meta.pooling.pool_proportions` or :func:`~evsynth.meta.pooling.pool_subgroups`.
    title : str
        Drawn above the plot (as text; any characters are allowed).
    xlabel : str
        Label of the proportion axis.
    pooled : bool
        Draw the pooled diamond (``False``: the studies side by side only, e.g. below a plan's
        small-k rule, where the model's estimate is not the headline).
    """
    overall = result.overall if isinstance(result, SubgroupAnalysis) else result
    rows = _rows(result, pooled)
    n_rows = len(rows)
    height = 1.2 + 0.24 * (n_rows + 1.5) + (0.3 if title else 0)
    weights = [r.study.weight for r in rows if r.study is not None and math.isfinite(r.study.weight)]
    max_weight = max(weights) if weights else 1.0
    x_lo, x_hi = _x_range(rows)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9.0, height))
        ax = fig.add_axes((0.30, 0.9 / height, 0.36, 1 - (1.2 + (0.3 if title else 0)) / height))
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(n_rows + 0.2, -1.3)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ticks = [t / 100 for t in range(0, 101, 20)]
        ax.set_xticks(ticks, [f"{round(100 * t)}" for t in ticks])
        ax.set_xlabel(xlabel)
        if pooled:
            ax.axvline(overall.pooled.estimate, color=_GREY, linestyle=(0, (3, 3)), linewidth=0.8)
        trans = ax.get_yaxis_transform()  # x in axes units, y in data units
        lvl = f"{100 * overall.level:g}%"
        for x, text, ha in ((-0.82, "Study", "left"), (-0.08, "Events/Total", "right"),
                            (1.04, f"Proportion [{lvl} CI]", "left"), (1.72, "Weight", "right")):
            ax.text(x, -1.0, text, transform=trans, ha=ha, va="center", fontweight="bold",
                    parse_math=False)
        for y, row in enumerate(rows):
            if row.kind == "header":
                ax.text(-0.82, y, row.label, transform=trans, ha="left", va="center",
                        fontweight="bold", parse_math=False)
            elif row.study is not None:
                _draw_study(ax, trans, y, row, max_weight)
            elif row.pooled is not None:
                _draw_pooled(ax, trans, y, row)
        if title:
            fig.text(0.02, 1 - 0.25 / height, title, ha="left", va="center", fontsize=11,
                     fontweight="bold", parse_math=False)
        model = (f"{overall.method}, {overall.measure}, "
                 f"{'Knapp-Hartung' if overall.test == 'knha' else 'z'}; grey bar: "
                 f"{lvl} prediction interval") if pooled else \
            f"each study's exact (Clopper–Pearson) {lvl} CI; no pooled estimate drawn"
        fig.text(0.02, 0.15 / height, model, ha="left", va="center", fontsize=7.5, color=_GREY,
                 parse_math=False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return fix_precision(buffer.getvalue())


def _x_range(rows: list[_Row]) -> tuple[float, float]:
    """The proportion axis: 0–1 widened to every finite study CI, pooled CI and prediction interval."""
    lows = [v for r in rows for v in (
        [r.study.ci_lower] if r.study else [r.pooled.ci_lower, r.pooled.pi_lower] if r.pooled else [])
        if v is not None and math.isfinite(v)]
    highs = [v for r in rows for v in (
        [r.study.ci_upper] if r.study else [r.pooled.ci_upper, r.pooled.pi_upper] if r.pooled else [])
        if v is not None and math.isfinite(v)]
    return min([0.0] + lows), max([1.0] + highs)


def _draw_study(ax: Any, trans: Any, y: int, row: _Row, max_weight: float) -> None:
    """A study row: CI line, square with area proportional to the weight, label, counts, estimate, weight."""
    s = row.study
    assert s is not None
    ax.plot([s.ci_lower, s.ci_upper], [y, y], color=_BLACK, linewidth=0.9, gid=f"study-ci-{y}")
    w = s.weight if math.isfinite(s.weight) else max_weight / 2
    size = 4 + 10 * math.sqrt(w / max_weight)  # marker side ∝ √weight: area ∝ weight
    ax.plot([s.proportion], [y], marker="s", markersize=size, color=_BLUE, linestyle="none",
            gid=f"study-square-{y}")
    ax.text(-0.80, y, row.label, transform=trans, ha="left", va="center", parse_math=False)
    ax.text(-0.08, y, f"{s.events}/{s.total}", transform=trans, ha="right", va="center", parse_math=False)
    ax.text(1.04, y, _ci_text(s.proportion, s.ci_lower, s.ci_upper), transform=trans, ha="left",
            va="center", parse_math=False)
    weight = f"{s.weight:.1f}%" if math.isfinite(s.weight) else "–"
    ax.text(1.72, y, weight, transform=trans, ha="right", va="center", parse_math=False)


def _draw_pooled(ax: Any, trans: Any, y: int, row: _Row) -> None:
    """A pooled row: prediction-interval bar, diamond spanning the CI, label, estimate, heterogeneity."""
    p = row.pooled
    assert p is not None
    if math.isfinite(p.pi_lower) and math.isfinite(p.pi_upper):
        ax.plot([p.pi_lower, p.pi_upper], [y + 0.32, y + 0.32], color=_GREY, linewidth=2.2,
                solid_capstyle="butt", gid=f"prediction-interval-{y}")
    ax.add_patch(Polygon([(p.ci_lower, y), (p.estimate, y - 0.3), (p.ci_upper, y), (p.estimate, y + 0.3)],
                         closed=True, facecolor=_BLACK, edgecolor=_BLACK, gid=f"pooled-diamond-{y}"))
    ax.text(-0.82, y, row.label, transform=trans, ha="left", va="center", fontweight="bold",
            parse_math=False)
    ax.text(1.04, y, _ci_text(p.estimate, p.ci_lower, p.ci_upper), transform=trans, ha="left",
            va="center", fontweight="bold", parse_math=False)
    ax.text(-0.82, y + 0.6, row.detail, transform=trans, ha="left", va="center", fontsize=7.5,
            color=_GREY, parse_math=False)


def inline_svg(document: str) -> str:
    """*document* without its XML declaration and DOCTYPE, to place inside an HTML page."""
    start = document.find("<svg")
    return document[start:] if start >= 0 else document
