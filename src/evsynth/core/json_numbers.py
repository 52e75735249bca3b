"""Floats in evsynth's JSON outputs at a stated precision, so their bytes do not depend on the numeric libraries.

Every JSON file evsynth writes for a reader (``reports/analyses.json``,
``reports/counts.json``, ``reports/build-state.json``, ``versions/NAME.json``,
``evsynth pool --json``) goes through :func:`dumps`, which writes each float
rounded to :data:`SIGNIFICANT` significant digits and to :data:`DECIMALS`
decimal places, whichever is coarser (as :mod:`evsynth.report.svg_precision`
does for SVG coordinates).

Why these numbers. The same analysis run with numpy 1.26.4 / scipy 1.11.1,
2.2.6 / 1.16.3 and 2.4.6 / 1.17.1 gives GLMM estimates, SEs and limits that
differ by at most 5·10⁻¹³ relative (the fit is polished to the root of its
exact gradient, :func:`evsynth.meta.glmm.fit_glmm`); closed forms differ in the
last bit or not at all. Seven significant digits (R's default
``options(digits = 7)``) leave a margin of 2·10⁵ over that: a value falls
within 5·10⁻¹³ of a rounding boundary with probability ≈ 10⁻⁵, so a build on
another machine gives the same bytes. Seven digits are far more than any
page prints (a proportion to 0.1 %) and than the tested agreement with R
(≥ 10⁻⁶). The absolute limit of 10⁻¹⁰ keeps a value that is exactly 0 in
theory but computed as ±10⁻¹⁶ (a logit of exactly one half, an estimate on a
symmetric data set) at ``0``, where significant digits would print its sign
and noise; a p-value below 5·10⁻¹¹ is therefore written as 0.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Significant digits kept in a float (R's default ``digits``).
SIGNIFICANT = 7
#: Decimal places kept: values below 5e-11 in magnitude are written as 0.
DECIMALS = 10


def stable_float(value: float) -> float:
    """*value* rounded to :data:`SIGNIFICANT` significant digits and :data:`DECIMALS` decimals.

    NaN and ±inf are returned unchanged; ``-0.0`` becomes ``0.0``.
    """
    if not math.isfinite(value):
        return value
    rounded = round(float(f"{value:.{SIGNIFICANT - 1}e}"), DECIMALS)
    return 0.0 if rounded == 0 else rounded


def stable(obj: Any) -> Any:
    """*obj* (JSON-ready: dicts, lists, tuples, scalars) with every float made :func:`stable_float`.

    Integers and booleans are kept as they are; tuples become lists (as ``json`` writes them).
    """
    if isinstance(obj, float):
        return stable_float(obj)
    if isinstance(obj, dict):
        return {key: stable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [stable(value) for value in obj]
    return obj


def dumps(obj: Any, indent: int | None = 2, allow_nan: bool = True) -> str:
    """``json.dumps`` of :func:`stable` (*obj*), UTF-8 text as is (``ensure_ascii=False``), with a final newline."""
    return json.dumps(stable(obj), indent=indent, ensure_ascii=False, allow_nan=allow_nan) + "\n"
