"""The claims registry's own checks, for ``evsynth validate`` (see :mod:`evsynth.review.claims`).

:func:`claim_problems` reads the claims sheet as read by the sheet engine (plain
rows of text) and parses each metric; nothing here computes a figure, so the
check loads neither pandas nor numpy.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from evsynth.review import vocab
from evsynth.sheets.engine import Problem, SheetRead
from evsynth.sheets.expressions import ExpressionError, check, parse_expression
from evsynth.sheets.spec import SheetSet

#: The sheet that holds the registry.
CLAIMS_SHEET = "claims"
#: Columns a claims sheet must declare.
REQUIRED_COLUMNS = ("claim_id", "statement", "metric", "expected")
#: Columns a claims sheet may declare (read when present).
OPTIONAL_COLUMNS = ("section", "comparator", "tolerance", "expected_status", "why", "version")
#: How a computed value is compared with the stated one (empty = equal).
COMPARATORS = ("equal", "set", "range", "approx")
#: The status of a claim registered without one.
DEFAULT_STATUS = "reproduced"
NOT_DERIVABLE = "not derivable"

_NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*$")


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.match(text) else None


def _text(claim: Mapping[str, Any], column: str) -> str:
    value = claim.get(column)
    return "" if value is None else str(value).strip()


def registered_status(claim: Mapping[str, Any]) -> str:
    """The status a claim is registered with (empty = reproduced)."""
    return _text(claim, "expected_status") or DEFAULT_STATUS


def _read_rows(read: SheetRead) -> Iterator[tuple[int, dict[str, Any]]]:
    yield from zip(read.rows, read.records)


def claim_problems(read: SheetRead, sheets: SheetSet, outcomes: Collection[str] | None = None) -> list[Problem]:
    """Every problem of the claims registry, each as ``file:row:column: message``.

    The sheet declares the required columns; each status and comparator is known;
    a derivable claim has a metric that parses and that :func:`evsynth.sheets.expressions.check`
    finds sound against *sheets* (and the plan's *outcomes*, when given), a stated
    value, and a stated value its comparator can read; a claim registered as not
    derivable has no metric.
    """
    path = read.path
    declared = set(read.spec.columns)
    problems = [Problem(path, 1, c, "a claims sheet needs this column (declare it in sheets.toml)")
                for c in REQUIRED_COLUMNS if c not in declared]
    if problems:
        return problems
    for row, claim in _read_rows(read):
        status = registered_status(claim)
        if status not in vocab.CLAIM_STATUSES:
            problems.append(Problem(path, row, "expected_status", f"unknown status {status!r} (known: "
                                    f"{', '.join(vocab.CLAIM_STATUSES)}; empty = reproduced)"))
        comparator = _text(claim, "comparator")
        if comparator and comparator not in COMPARATORS:
            problems.append(Problem(path, row, "comparator", f"unknown comparator {comparator!r} "
                                    f"(known: {', '.join(COMPARATORS)}; empty = equal)"))
        metric, expected = _text(claim, "metric"), _text(claim, "expected")
        if status == NOT_DERIVABLE:
            if metric:
                problems.append(Problem(path, row, "metric", "a claim registered as not derivable has no metric: "
                                        "clear it, or register the status the metric gives"))
            continue
        if not metric:
            problems.append(Problem(path, row, "metric", "a derivable claim needs a metric (an expression over "
                                    "the sheets), or expected_status 'not derivable' with why"))
        else:
            try:
                expression = parse_expression(metric)
            except ExpressionError as exc:
                problems.append(Problem(path, row, "metric", str(exc)))
            else:
                problems.extend(Problem(path, row, "metric", str(e)) for e in check(expression, sheets, outcomes))
        if not expected:
            problems.append(Problem(path, row, "expected", "a derivable claim needs the value the paper states"))
        elif comparator == "range" and _RANGE.match(expected) is None:
            problems.append(Problem(path, row, "expected", f"a range is written low-high (e.g. 36-42), not {expected!r}"))
        elif comparator == "approx" and _number(expected) is None:
            problems.append(Problem(path, row, "expected", f"'approx' compares with one number, not {expected!r}"))
    return problems
