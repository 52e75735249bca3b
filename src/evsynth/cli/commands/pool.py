"""``evsynth pool``: meta-analysis of proportions from a CSV of per-study counts."""

from __future__ import annotations

import argparse
import math

from evsynth.core import json_numbers
from evsynth.core.errors import EvsynthError
from evsynth.core.formats import percent
from evsynth.meta.count_table import read_counts
from evsynth.meta.pooling import (BASIS_CRUDE, FALLBACKS, METHODS, PoolingError, PoolResult,
                                  SubgroupAnalysis, pool_proportions, pool_subgroups)
from evsynth.meta.proportions import CI_METHODS
from evsynth.meta.transforms import MEASURES


MEASURE_NAMES = {"PLO": "logit", "PFT": "Freeman-Tukey double arcsine", "PAS": "arcsine",
                 "PR": "untransformed proportion"}
CI_NAMES = {"CP": "Clopper-Pearson", "WILSON": "Wilson", "WILSONCC": "Wilson, continuity-corrected",
            "AC": "Agresti-Coull", "JEFFREYS": "Jeffreys"}
METHOD_NAMES = {"EE": "common-effect (EE) model", "GLMM": "random-intercept logistic GLMM (ML)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``evsynth pool``."""
    parser.add_argument("file", metavar="FILE.csv",
                        help="CSV with the columns study,events,total (and any grouping column)")
    parser.add_argument("--measure", type=str.upper, choices=MEASURES, default="PLO",
                        help="scale of pooling, metafor's escalc names (default PLO)")
    parser.add_argument("--method", type=str.upper, choices=METHODS, default="REML",
                        help="tau^2 estimator, EE for a common-effect model, or GLMM (default REML)")
    parser.add_argument("--ci", type=str.upper, choices=CI_METHODS, default="CP",
                        help="per-study confidence interval (default CP, Clopper-Pearson)")
    parser.add_argument("--test", type=str.lower, choices=("z", "knha"), default="z",
                        help="normal quantiles or Knapp-Hartung with t(k-1) (default z)")
    parser.add_argument("--level", type=float, default=95.0,
                        help="confidence level in percent (default 95; 0.95 also accepted)")
    parser.add_argument("--by", metavar="COLUMN", help="pool separately by this column and test "
                        "for subgroup differences")
    parser.add_argument("--fallback", type=str.lower, choices=FALLBACKS, default="crude",
                        help="when every study has 0%% or 100%% events or the GLMM cannot be fitted: "
                        "report the crude proportion with its exact CI (crude, default) or do as "
                        "metafor (none: 1/2 continuity correction, or an error)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _level(value: float) -> float:
    """metafor's convention: a level >= 1 is a percentage."""
    level = value / 100 if value >= 1 else value
    if not (math.isfinite(level) and 0 < level < 1):
        raise EvsynthError(f"--level must be between 0 and 100 (got {value:g})")
    return level


def _pct(value: float | None, digits: int = 1) -> str:
    text = percent(value, digits, missing="n/a")
    return text if text == "n/a" else text + "%"


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)


def _p(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _summary_lines(r: PoolResult) -> list[str]:
    lvl = f"{100 * r.level:g}%"
    model = METHOD_NAMES.get(r.method, f"random-effects model, tau^2 by {r.method}")
    test = "Knapp-Hartung t" if r.test == "knha" else "z"
    total = sum(s.total for s in r.studies)
    events = sum(s.events for s in r.studies)
    p, h, c = r.pooled, r.heterogeneity, r.crude
    studies = f"k = {r.k} stud{'y' if r.k == 1 else 'ies'} ({events}/{total} patients)"
    if r.basis == BASIS_CRUDE:
        return [f"Crude proportion {_pct(p.estimate)} ({lvl} CI {_pct(p.ci_lower)} to {_pct(p.ci_upper)}, "
                f"exact Clopper-Pearson)",
                f"  from {studies}; not pooled by the {model}: {r.basis_reason}."]
    lines = [f"Pooled proportion {_pct(p.estimate)} ({lvl} CI {_pct(p.ci_lower)} to {_pct(p.ci_upper)}"
             + (f"; {lvl} prediction interval {_pct(p.pi_lower)} to {_pct(p.pi_upper)}"
                if math.isfinite(p.pi_lower) else "") + ")",
             f"  from {studies}; {model}, {MEASURE_NAMES[r.measure]} scale ({r.measure}), "
             f"{test}-based intervals.",
             f"  Estimand: {r.estimand}."]
    if r.marginal is not None:
        m = r.marginal
        lines.append(f"  Population-averaged (marginal) proportion {_pct(m.estimate)} ({lvl} CI "
                     f"{_pct(m.ci_lower)} to {_pct(m.ci_upper)}, delta method).")
    if c is not None:
        lines.append(f"  Crude proportion {c.events}/{c.total} = {_pct(c.estimate)} ({lvl} CI "
                     f"{_pct(c.ci_lower)} to {_pct(c.ci_upper)}, Clopper-Pearson).")
    het = f"  Heterogeneity: tau^2 = {_num(h.tau2, '.4f')}"
    if math.isfinite(h.tau2_ci_lower):
        upper = ("> " if h.tau2_ci_upper_truncated else "") + _num(h.tau2_ci_upper, '.4f')
        het += f" ({lvl} CI {_num(h.tau2_ci_lower, '.4f')} to {upper})"
    het += (f", I^2 = {_num(h.i2, '.1f')}%, H^2 = {_num(h.h2, '.2f')}; "
            f"Q = {_num(h.q, '.2f')} (df = {h.q_df}, {_p(h.q_pvalue)})")
    lines.append(het)
    return lines


def all_notes(result: PoolResult | SubgroupAnalysis) -> list[str]:
    """The notes printed under the table, the same list as ``notes`` in ``--json``."""
    return result.all_notes() if isinstance(result, SubgroupAnalysis) else list(result.notes)


def _study_table(r: PoolResult) -> list[str]:
    width = max([5] + [len(s.study) for s in r.studies])
    lvl = f"{100 * r.level:g}%"
    head = (f"  {'Study':<{width}}  {'Events':>6}  {'Total':>6}  {'Proportion':>10}  "
            f"{lvl + ' CI (' + CI_NAMES[r.ci_method] + ')':<34}  {'Weight':>7}")
    lines = [head]
    for s in r.studies:
        weight = "n/a" if not math.isfinite(s.weight) else f"{s.weight:.1f}%"
        ci = f"{_pct(s.ci_lower)} to {_pct(s.ci_upper)}"
        lines.append(f"  {s.study:<{width}}  {s.events:>6}  {s.total:>6}  {_pct(s.proportion):>10}  "
                     f"{ci:<34}  {weight:>7}")
    return lines


def format_result(result: PoolResult | SubgroupAnalysis) -> str:
    """The readable report printed without ``--json``."""
    overall = result.overall if isinstance(result, SubgroupAnalysis) else result
    lines = _summary_lines(overall) + [""] + _study_table(overall)
    if isinstance(result, SubgroupAnalysis):
        lines += ["", "Subgroups:"]
        for name, sub in result.subgroups.items():
            lines.append(f"- {name}:")
            lines += ["  " + line for line in _summary_lines(sub)]
        tb = result.test_between
        if math.isfinite(tb.q):
            lines += ["", f"Test for subgroup differences ({tb.model} on {tb.measure}, "
                          f"{', '.join(tb.subgroups)}): Q = {_num(tb.q, '.2f')} "
                          f"(df = {tb.df}, {_p(tb.pvalue)})"]
        else:
            lines += ["", "Test for subgroup differences: not computed (see the notes)"]
    notes = all_notes(result)
    if notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Read the counts, pool them, print a table or JSON."""
    level = _level(args.level)
    table = read_counts(args.file, by=args.by)
    options = dict(measure=args.measure, method=args.method, ci=args.ci, test=args.test, level=level,
                   fallback=args.fallback)
    try:
        if args.by:
            result: PoolResult | SubgroupAnalysis = pool_subgroups(
                table.events, table.totals, table.groups or (), table.studies, **options)
        else:
            result = pool_proportions(table.events, table.totals, table.studies, **options)
    except PoolingError as exc:
        raise EvsynthError(f"{args.file}: {exc}") from None
    if args.json:
        print(json_numbers.dumps(result.to_dict(), allow_nan=False), end="")
    else:
        print(format_result(result), end="")
    return 0
