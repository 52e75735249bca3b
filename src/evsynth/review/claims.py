"""Claims as data: each quantitative statement of a paper, recomputed from the sheets.

The registry is the project's ``claims`` sheet (``extracted/claims.csv``,
declared in ``sheets.toml``), one row per statement:

- ``claim_id``, ``statement``: the claim and its words (required columns);
- ``metric``: how the sheets give the value, an expression of the language of
  :mod:`evsynth.sheets.expressions` (docs/expressions.md), e.g.
  ``sum(arms.n where design == "cohort")`` (required column;
  empty only for a claim registered as not derivable);
- ``expected``: the value the paper states (required column): a number, a
  text, a set ``8;11-13`` (whole-number ranges expand) or a range ``36-42``;
- ``comparator`` (optional): empty or ``equal`` (a number within the printed
  precision; a set of values the same items; a list of values the same items
  in order; a text identical), ``set`` (the same items, order ignored),
  ``range`` (the smallest and largest computed values are the stated bounds),
  ``approx`` (every computed value is the stated one);
- ``tolerance`` (optional): how far a number may be from the stated one; empty =
  the printed precision, half a unit of the last digit the paper printed
  (0.5 for ``42``, 0.05 for ``41.7``);
- ``expected_status`` (optional): the status the claim is registered with;
  empty = ``reproduced``;
- ``section``, ``why``, ``version`` (optional): where the claim stands, how it
  is computed or why it cannot be, and the version whose studies it is computed
  on (empty: the first version of review.toml).

:func:`verify_claims` recomputes each claim and gives its status
(:data:`evsynth.review.vocab.CLAIM_STATUSES`):

- ``reproduced``: the sheets give the paper's value within the precision it printed;
- ``approximate``: the paper words the value loosely (comparator ``approx``,
  "nearly 50 %") and the sheets are near it (within 20 % of the stated value)
  but not within the printed precision; the computed value is shown;
- ``stated in text``: the registry says the sheets took the value from the
  very sentence checked (``expected_status``), so agreeing proves nothing:
  it is recomputed and shown, never called reproduced;
- ``differs``, or ``not derivable`` (registered so, with why; or the metric
  cannot be computed, or gives no value).

A claim whose status falls from its registered one (reproduced, approximate or
stated in text) is a *regression*: ``evsynth verify`` and ``evsynth build`` fail on it.
:func:`claim_problems` checks the registry for ``evsynth validate``: every metric
parsed and checked against the declared sheets, each problem as
``claims.csv:ROW:metric: message``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evsynth.core.errors import EvsynthError
from evsynth.review import vocab
# the registry's names and its check (claim_problems) live in claim_rules, which validate reads without numpy
from evsynth.review.claim_rules import (CLAIMS_SHEET, COMPARATORS, DEFAULT_STATUS, NOT_DERIVABLE,  # noqa: F401
                                       OPTIONAL_COLUMNS, REQUIRED_COLUMNS, _RANGE, _number, _text, claim_problems,
                                       registered_status)
from evsynth.review.context import Figures, figures_of, plan_figures, review_context, typed_rows
from evsynth.review.model import Review
from evsynth.review.plan import AnalysisPlan, load_plan
from evsynth.review.synthesis import Analysis
from evsynth.sheets.expressions import SheetData, parse_expression

#: Statuses a recomputation can confirm; a claim registered with one of them must keep it.
CHECKED_STATUSES = ("reproduced", "approximate", "stated in text")
#: ``approx`` claims within this share of the stated value are ``approximate`` (not reproduced).
APPROXIMATE_SHARE = 0.20
Value = Any


@dataclass(frozen=True)
class ClaimResult:
    """One claim checked: what the paper says, what the sheets give, and the verdict."""

    claim_id: str
    section: str
    statement: str
    metric: str
    expected: str
    computed: str
    status: str
    expected_status: str
    why: str
    row: int
    #: The version whose studies the claim is computed on ("" when review.toml names no version).
    version: str = ""

    @property
    def regression(self) -> bool:
        """Registered as reproduced, approximate or stated in text, and now with another status."""
        return self.expected_status in CHECKED_STATUSES and self.status != self.expected_status


# ------------------------------------------------------------------ values as printed

def _fmt_number(value: Any) -> str:
    value = float(value)
    if math.isnan(value):
        return "NA"
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _item(value: Any) -> str:
    """One value of a set: a number, a text, or a combination of several columns printed ``a/b``."""
    if isinstance(value, tuple):
        return "/".join(_item(v) for v in value)
    return _fmt_number(value) if _is_number(value) else str(value)


def _order(value: Any) -> tuple[int, float, str]:
    return (0, float(value), "") if _is_number(value) else (1, 0.0, _item(value))


def format_value(value: Value) -> str:
    """A computed value as the report prints it: numbers to one decimal (whole numbers as such),
    sets sorted (numbers first), lists in order, items separated by ``; ``; ``""`` for no value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (set, frozenset)):
        return "; ".join(_item(v) for v in sorted(value, key=_order))
    if isinstance(value, (list, tuple)):
        return "; ".join(_item(v) for v in value)
    return _item(value)


# ------------------------------------------------------------------ comparing



def printed_precision(text: str) -> float:
    """Half a unit of the last digit printed in *text*: 0.5 for ``42`` or ``36-42``, 0.05 for ``41.7``."""
    decimals = max((len(d) for d in re.findall(r"\d+\.(\d+)", text)), default=0)
    return 0.5 * 10.0 ** -decimals


def _expand(expected: str) -> list[str]:
    """``"8;11-13"`` -> ``["8", "11", "12", "13"]`` (whole-number ranges expand; other items stay)."""
    items: list[str] = []
    for part in expected.split(";"):
        part = part.strip()
        low, sep, high = part.partition("-")
        if sep and low.isdigit() and high.isdigit() and int(low) <= int(high):
            items.extend(str(i) for i in range(int(low), int(high) + 1))
        elif part:
            items.append(part)
    return items


def _matches(value: Any, stated: str, tolerance: float | None) -> bool:
    """One computed item against one stated item: numbers within the tolerance, else identical text."""
    number = _number(stated)
    if _is_number(value) and number is not None:
        tol = printed_precision(stated) if tolerance is None else tolerance
        return abs(float(value) - number) <= tol + 1e-12
    if isinstance(value, bool):
        return stated.strip().lower() == ("true" if value else "false")
    return _item(value) == stated.strip()


def _same_items(values: list[Any], stated: list[str], tolerance: float | None) -> bool:
    """The same items, order ignored (each stated item matched by its own computed item)."""
    if len(values) != len(stated):
        return False
    left = list(values)
    for s in stated:
        match = next((i for i, v in enumerate(left) if _matches(v, s, tolerance)), None)
        if match is None:
            return False
        left.pop(match)
    return True


def _as_list(value: Value) -> list[Any]:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=_order)
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def compare(value: Value, expected: str, comparator: str | None, tolerance: float | None) -> bool:
    """Does the computed *value* reproduce the *expected* text under *comparator* (see the module doc)?

    *tolerance* ``None``: the printed precision of *expected*.
    """
    comparator = comparator or "equal"
    expected = expected.strip()
    if comparator == "equal":
        if isinstance(value, (set, frozenset)):
            return _same_items(_as_list(value), _expand(expected), tolerance)
        if isinstance(value, (list, tuple)):
            stated = [s.strip() for s in expected.split(";") if s.strip()]
            return len(stated) == len(value) and all(_matches(v, s, tolerance) for v, s in zip(value, stated))
        return _matches(value, expected, tolerance)
    if comparator == "set":
        return _same_items(_as_list(value), _expand(expected), tolerance)
    numbers = _as_list(value)
    if not numbers or not all(_is_number(x) for x in numbers):
        return False
    if comparator == "range":
        bounds = _RANGE.match(expected)
        if bounds is None:
            return False
        tol = printed_precision(expected) if tolerance is None else tolerance
        low, high = float(bounds.group(1)), float(bounds.group(2))
        return abs(min(numbers) - low) <= tol + 1e-12 and abs(max(numbers) - high) <= tol + 1e-12
    if comparator == "approx":
        return _number(expected) is not None and all(_matches(x, expected, tolerance) for x in numbers)
    raise ValueError(f"unknown comparator {comparator!r}")


def claim_status(value: Value, expected: str, comparator: str | None, tolerance: float | None,
                 stated_in_text: bool = False) -> str:
    """The status of one recomputed claim (see the module docstring)."""
    if compare(value, expected, comparator, tolerance):
        return "stated in text" if stated_in_text else "reproduced"
    if comparator == "approx" and not stated_in_text:
        numbers = _as_list(value)
        stated = _number(expected)
        if (stated is not None and numbers and all(_is_number(x) for x in numbers)
                and all(abs(float(x) - stated) <= APPROXIMATE_SHARE * abs(stated) for x in numbers)):
            return "approximate"
    return "differs"


# ------------------------------------------------------------------ the registry

def _tolerance(claim: Mapping[str, Any]) -> float | None:
    value = claim.get("tolerance")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return float(value)


# ------------------------------------------------------------------ verification

def _same_studies(a: Review, b: Review) -> bool:
    if a is b:
        return True
    if "studies" not in a.frames or "studies" not in b.frames:
        return False
    return set(a.frames["studies"]["study_id"]) == set(b.frames["studies"]["study_id"])


class _Figures:
    """Outcome figures for the claims of one version: the build's analyses when they are on the
    same studies, else the plan's primary analyses run on the version's studies when first asked."""

    def __init__(self, target: Review, review: Review, plan: AnalysisPlan | None,
                 primary: Mapping[str, Analysis] | None) -> None:
        self.target, self.plan = target, plan
        self.given = ({k: figures_of(a) for k, a in primary.items()}
                      if primary is not None and _same_studies(target, review) else None)
        self.run: Any = None

    def __call__(self, key: str) -> Figures:
        if self.given is not None:
            return self.given[key]
        if self.run is None:
            plan = self.plan if self.plan is not None else load_plan(self.target.root, self.target.sheets)
            self.run = plan_figures(self.target, plan)
        return self.run(key)


def verify_claims(review: Review, plan: AnalysisPlan | None = None,
                  primary: Mapping[str, Analysis] | None = None) -> list[ClaimResult]:
    """Recompute every registered claim from the sheets, each on the studies of its version.

    A claim's version is its ``version`` cell, or the first version of review.toml
    (the seed's): studies added later never change it. ``pooled``/``crude``/``k``
    in a metric read the primary analysis of the plan's outcome: from *primary*
    (outcome key -> the build's primary :class:`~evsynth.review.synthesis.Analysis`,
    run on *review*) when the claim's version holds the same studies, else the
    analysis is run on the version's studies (the plan: *plan*, or ``analysis.toml``).
    A project without a claims sheet has no claims.
    """
    if CLAIMS_SHEET not in review.frames:
        return []
    results = []
    contexts: dict[str, SheetData] = {}
    for claim in typed_rows(review.frames[CLAIMS_SHEET]):
        expected = _text(claim, "expected")
        status = registered_status(claim)
        version = _text(claim, "version") or review.seed_version
        common = dict(claim_id=_text(claim, "claim_id"), section=_text(claim, "section"),
                      statement=_text(claim, "statement"), metric=_text(claim, "metric"), expected=expected,
                      expected_status=status, row=int(claim["_row"]), version=version)
        why = _text(claim, "why")
        if status == NOT_DERIVABLE:
            results.append(ClaimResult(computed="", status=NOT_DERIVABLE, why=why, **common))
            continue
        if version not in contexts:
            target = review.version_review(version) if version else review
            contexts[version] = review_context(target, _Figures(target, review, plan, primary))
        try:
            value = parse_expression(common["metric"]).evaluate(contexts[version])
        except EvsynthError as exc:
            results.append(ClaimResult(computed="", status=NOT_DERIVABLE, why=f"cannot compute: {exc}", **common))
            continue
        if value is None:
            results.append(ClaimResult(computed="", status=NOT_DERIVABLE,
                                       why="cannot compute: the sheets give no value (empty)", **common))
            continue
        computed = claim_status(value, expected, _text(claim, "comparator"), _tolerance(claim),
                                stated_in_text=status == "stated in text")
        results.append(ClaimResult(computed=format_value(value), status=computed, why=why, **common))
    return results


def claims_summary(results: list[ClaimResult]) -> dict[str, int]:
    """How many claims have each status."""
    summary = {status: 0 for status in vocab.CLAIM_STATUSES}
    for r in results:
        summary[r.status] += 1
    return summary
