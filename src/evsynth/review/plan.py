"""The analysis plan of a review: ``analysis.toml`` beside ``review.toml``.

The plan declares, per outcome, the sheet whose rows are pooled, what is
counted (numerator and denominator: columns of that sheet, summed, or a value
computed from the row in the expression language), which rows are eligible
(named conditions in the expression language, :mod:`evsynth.sheets.expressions`),
the primary model and its options (metafor's names: ``method``, ``measure``,
``test``, ``level``), the pre-specified sensitivity analyses, the subgroup
variables and any reviewer override of a GRADE certainty domain. The engine
(:mod:`evsynth.review.outcomes`, :mod:`evsynth.review.synthesis`) runs exactly
that plan; the page prints it ("Methods as planned"). Nothing of one review is
written in the engine: its columns, vocabularies and rules are the plan's.

Layout (every key optional unless marked)::

    [defaults]                     # inherited by every outcome
    subgroups = ["setting"]        # columns of the outcome's sheet, or [[derived]] names
    row_label = "setting"          # added to a row's citation when its study has several rows
    describe_excluded_by = ["design"]   # rows left out only by these rules are described one by one
    [defaults.primary]             # method, measure, test, level
    [defaults.eligibility]         # NAME = "condition" (in order; the first one a row fails excludes it)
    min_total = 2                  #   and the smallest denominator pooled
    [defaults.criteria]            # how the page names the criteria of the pooled rows
    [[defaults.sensitivity]]       # used by outcomes that declare none

    [synthesis]                    # the small-k rule (optional; defaults below)
    min_studies_for_model = 5      # fewest studies for a model-based headline (>= 3)
    reason = "..."                 # required with min_studies_for_model: why this number
    own_series = "..."             # the rule for the review authors' own series (shown with the exclusions)

    [question]                     # what the Summary of Findings answers (indirectness is judged against it)
    population = "..."
    intervention = "..."
    comparison = "..."
    covers = { column = ["value", ...] }

    [[derived]]                    # a column computed for each row of an outcome's sheet
    name = "size"
    description = "..."
    cases = [{ when = "participants >= 100", value = '"large"' }]
    otherwise = '"small"'

    [[outcome]]
    key = "response"               # required: a short identifier
    label = "Response"             # required
    sheet = "arms"                 # required: the sheet whose rows are pooled
    events = ["responders"]        # required: columns summed, or a value of the row (an expression)
    denominator = ["participants"] # required: the same
    why = "..."                    # the plan's reasons, shown on the page
    [[outcome.missing]]            # when = "condition", why = "...": the row's counts are not given
    [outcome.primary] / [outcome.eligibility] / [outcome.criteria] / [[outcome.sensitivity]]
    [outcome.certainty.<domain>]   # judgement + reason: a reviewer's override

Below ``min_studies_for_model`` studies an outcome's headline is the crude
proportion with its exact CI and the studies side by side; the model's
figures are reported as sensitivity analyses, each with why it may mislead
(:mod:`evsynth.review.synthesis`). The floor is :data:`MIN_STUDIES_FLOOR`
(3): below it τ² rests on one degree of freedom and no prediction interval
exists (t with k − 2 df). An outcome's ``surrogate`` says why it is a
surrogate outcome (certainty: indirectness).

A plan without eligibility rules pools every row with counts. A sensitivity
analysis has a ``name`` (required) and ``why``, and changes any model option,
``min_total``, or eligibility rules (``eligibility = { NAME = "condition" }``
replaces or adds a rule, ``NAME = ""`` drops it).

Every problem is one line, ``analysis.toml:LINE: message``
(:class:`PlanError`); :func:`plan_problems` lists them all for
``evsynth validate``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evsynth.core.project import ANALYSIS_PLAN_FILE
from evsynth.core.errors import EvsynthError
from evsynth.core import toml_read
from evsynth.core.model_names import MEASURES, METHODS, TESTS
from evsynth.sheets.expressions import (Condition, ExpressionError, RowValue, check, parse_condition,
                                        parse_row_value)
from evsynth.review.vocab import DESIGNS
from evsynth.sheets.spec import Field, SheetSet

PLAN_FILE = ANALYSIS_PLAN_FILE

#: Columns the engine adds to every row of an outcome's sheet whose rows reference a study.
ENGINE_COLUMNS: dict[str, str] = {
    "design": "study design (evsynth.review.design: declared in the studies sheet, or derived)",
}
#: GRADE certainty domains (GRADEpro GDT's five reasons for downgrading).
DOMAINS: tuple[str, ...] = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
JUDGEMENTS: tuple[str, ...] = ("not serious", "serious", "very serious")

_MODEL_KEYS = ("method", "measure", "test", "level")
#: Fewest studies a plan may allow for a model-based headline: with k = 2, τ² has k − 1 = 1 degree of
#: freedom and the prediction interval's t quantile (k − 2 df) does not exist.
MIN_STUDIES_FLOOR = 3
_SYNTHESIS_KEYS = ("min_studies_for_model", "reason", "own_series")
_QUESTION_KEYS = ("population", "intervention", "comparison", "covers")
_OUTCOME_KEYS = ("key", "label", "sheet", "events", "denominator", "why", "missing", "criteria", "surrogate",
                 "subgroups", "primary", "eligibility", "sensitivity", "certainty", "row_label",
                 "describe_excluded_by")
_DEFAULT_KEYS = ("subgroups", "primary", "eligibility", "sensitivity", "criteria", "row_label",
                 "describe_excluded_by")
_SENSITIVITY_KEYS = ("name", "why", "eligibility", "min_total") + _MODEL_KEYS
_CRITERIA_KEYS = ("column", "labels", "uniform", "text")


class PlanError(EvsynthError):
    """The analysis plan is not valid; the message is ``analysis.toml:LINE: message``."""


@dataclass(frozen=True)
class Model:
    """A pooling model, in metafor's names (``rma.glmm``/``rma`` arguments)."""

    method: str = "GLMM"
    measure: str = "PLO"
    test: str = "z"
    level: float = 0.95

    def options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`evsynth.meta.pooling.pool_proportions` (CP per-study CIs)."""
        return {"method": self.method, "measure": self.measure, "test": self.test, "level": self.level, "ci": "CP"}

    def describe(self) -> str:
        """``GLMM (PLO), z-test, 95 % CI``."""
        return f"{self.method} ({self.measure}), {'Knapp-Hartung' if self.test == 'knha' else 'z'} test, " \
               f"{100 * self.level:g} % CI"


@dataclass(frozen=True)
class Rule:
    """A named eligibility condition on one row (:func:`evsynth.sheets.expressions.parse_condition`)."""

    name: str
    condition: Condition

    @property
    def text(self) -> str:
        return self.condition.text


@dataclass(frozen=True)
class Eligibility:
    """Which rows an analysis pools: every named condition holds, and the denominator is at least ``min_total``."""

    rules: tuple[Rule, ...] = ()
    min_total: int = 1

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def without(self, names: tuple[str, ...] | list[str]) -> "Eligibility":
        """These rules dropped, and single rows let in (what is described rather than pooled)."""
        return Eligibility(tuple(r for r in self.rules if r.name not in names), 1)

    def describe(self) -> str:
        """The rules in words: ``design: design in ["case series"]; at least 2 in the denominator``."""
        parts = [f"{r.name}: {r.text}" for r in self.rules]
        parts.append(f"at least {self.min_total} in the denominator")
        return "; ".join(parts)


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis of an outcome: the primary, or a sensitivity analysis."""

    name: str
    model: Model
    eligibility: Eligibility
    why: str = ""
    line: int = 0
    #: Fewest studies for which the model's estimate is this analysis's headline (the plan's
    #: ``[synthesis] min_studies_for_model``; sensitivity analyses report the model at any k).
    min_studies: int = MIN_STUDIES_FLOOR


@dataclass(frozen=True)
class SynthesisRule:
    """The plan's ``[synthesis]`` table: the fewest studies for a model-based headline, and why."""

    min_studies_for_model: int = MIN_STUDIES_FLOOR
    reason: str = ("the floor evsynth allows: with two studies τ² rests on one degree of freedom "
                   "and no prediction interval exists")
    line: int = 0
    #: The plan's rule for the review authors' own series (case-series sheets): why it is, or is not, pooled.
    own_series: str = ""


@dataclass(frozen=True)
class Question:
    """The question the Summary of Findings answers (``[question]``), against which indirectness is judged.

    ``covers``: for a column of the outcome's rows (or a derived one), the values the question
    covers; a value no pooled row has makes the evidence indirect (GRADE: population or intervention).
    """

    population: str = ""
    intervention: str = ""
    comparison: str = ""
    covers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    line: int = 0

    @property
    def stated(self) -> bool:
        return bool(self.population or self.intervention)


@dataclass(frozen=True)
class Override:
    """A reviewer's judgement of one certainty domain, with the reason shown in the table."""

    judgement: str
    reason: str
    line: int = 0


@dataclass(frozen=True)
class Count:
    """An outcome's events or denominator for one row: columns summed, or a value computed from the row."""

    columns: tuple[str, ...] = ()
    expression: RowValue | None = None

    def text(self) -> str:
        """``a``, ``(a + b + …)`` or the expression as written."""
        if self.expression is not None:
            return self.expression.text
        return _sum(self.columns)


@dataclass(frozen=True)
class Missing:
    """When a row's counts are not given (a condition on the row), and why (shown with the row)."""

    condition: Condition
    why: str


@dataclass(frozen=True)
class Criteria:
    """How the page names the criteria behind the pooled rows' counts.

    ``column``: a column of the outcome's sheet whose values say which criteria a
    row used; ``uniform``: value -> the name given when every pooled row has that
    value; ``labels``: value -> its words in the listing ``text (label: k, …)``;
    ``text``: the words otherwise (default "as reported by the studies").
    """

    column: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    uniform: Mapping[str, str] = field(default_factory=dict)
    text: str = "as reported by the studies"

    def label(self, values: list[str]) -> str:
        if not self.column:
            return self.text
        if values and len(set(values)) == 1 and values[0] in self.uniform:
            return self.uniform[values[0]]
        counts = {v: values.count(v) for v in dict.fromkeys(values)}
        detail = ", ".join(f"{self.labels.get(v, v)}: {k}" for v, k in counts.items())
        return f"{self.text} ({detail})" if detail else self.text


@dataclass(frozen=True)
class Derived:
    """A column computed for each row of an outcome's sheet: the first case whose condition holds, else ``otherwise``."""

    name: str
    description: str
    cases: tuple[tuple[Condition, RowValue], ...]
    otherwise: RowValue | None = None
    line: int = 0


@dataclass(frozen=True)
class OutcomePlan:
    """One outcome of the plan."""

    key: str
    label: str
    sheet: str
    events: Count
    denominator: Count
    primary: AnalysisSpec
    sensitivity: tuple[AnalysisSpec, ...] = ()
    subgroups: tuple[str, ...] = ()
    missing: tuple[Missing, ...] = ()
    criteria: Criteria = Criteria()
    row_label: str = ""
    describe_excluded_by: tuple[str, ...] = ()
    why: str = ""
    certainty: dict[str, Override] = field(default_factory=dict)
    line: int = 0
    #: The plan's derived columns (``[[derived]]``), computed for each row of the sheet.
    derived: tuple[Derived, ...] = ()
    #: Why the outcome is a surrogate for what patients care about ("" = not a surrogate).
    surrogate: str = ""

    def definition(self) -> str:
        """The numerator and denominator in words (the sheet's columns, or the expressions, named)."""
        return f"{self.events.text()} / {self.denominator.text()} ({self.sheet} rows)"


def _sum(columns: tuple[str, ...] | list[str]) -> str:
    """``a`` or ``(a + b + …)``: a sum in brackets, so ``(a + b) / (a + b + c)`` reads right."""
    return columns[0] if len(columns) == 1 else f"({' + '.join(columns)})"


@dataclass(frozen=True)
class AnalysisPlan:
    """The whole plan, outcomes in file order; ``source`` the file it came from ("" = none)."""

    outcomes: tuple[OutcomePlan, ...]
    source: str = PLAN_FILE
    derived: tuple[Derived, ...] = ()
    synthesis: SynthesisRule = SynthesisRule()
    question: Question = Question()

    def outcome(self, key: str) -> OutcomePlan:
        return next(o for o in self.outcomes if o.key == key)

    def column_descriptions(self) -> dict[str, str]:
        """Every derived column's description (the engine's and the plan's), by name."""
        return {**ENGINE_COLUMNS, **{d.name: d.description for d in self.derived}}


EMPTY_PLAN = AnalysisPlan((), "")


# ------------------------------------------------------------------ line numbers

_ARRAY_HEADER = re.compile(r"^\[\[\s*([^\[\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\[\s*([^\[\]]+?)\s*\]")
_KEY_LINE = re.compile(r'^("[^"]*"|[A-Za-z0-9_-]+)\s*=')


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line number of every table header and ``key =`` line, by path.

    Paths resolve arrays of tables to indices: the third ``[[outcome]]`` is
    ``("outcome", 2)``, a key in its ``[outcome.primary]`` table
    ``("outcome", 2, "primary", "method")``. Dotted keys and inline tables
    resolve to the line of their first key.
    """
    lines: dict[tuple[Any, ...], int] = {}
    counts: dict[tuple[Any, ...], int] = {}
    current: tuple[Any, ...] = ()

    def resolve(parts: list[str]) -> tuple[Any, ...]:
        path: tuple[Any, ...] = ()
        for part in parts:
            path += (part,)
            if path in counts:
                path += (counts[path] - 1,)
        return path

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        array = _ARRAY_HEADER.match(line)
        if array:
            parts = [p.strip().strip('"') for p in array.group(1).split(".")]
            base = resolve(parts[:-1]) + (parts[-1],)
            counts[base] = counts.get(base, 0) + 1
            current = base + (counts[base] - 1,)
            lines.setdefault(current, number)
            continue
        table = _TABLE_HEADER.match(line)
        if table:
            current = resolve([p.strip().strip('"') for p in table.group(1).split(".")])
            lines.setdefault(current, number)
            continue
        key = _KEY_LINE.match(line)
        if key:
            lines.setdefault(current + (key.group(1).strip('"'),), number)
    return lines


class _Locator:
    """Turns a path in the parsed TOML into ``analysis.toml:LINE: message``."""

    def __init__(self, text: str, filename: str) -> None:
        self.lines = key_lines(text)
        self.filename = filename

    def line(self, path: tuple[Any, ...]) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def error(self, path: tuple[Any, ...], message: str) -> PlanError:
        return PlanError(f"{self.filename}:{self.line(path)}: {message}")


# ------------------------------------------------------------------ parsing

def _strings(value: Any, where: _Locator, path: tuple[Any, ...], name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise where.error(path, f"{name} must be a non-empty list of strings")
    return tuple(value)


def _text(value: Any, where: _Locator, path: tuple[Any, ...], name: str) -> str:
    if not isinstance(value, str):
        raise where.error(path, f"{name} must be a string")
    return value


def _unknown(table: dict[str, Any], known: tuple[str, ...], where: _Locator, path: tuple[Any, ...],
             what: str) -> None:
    for key in table:
        if key not in known:
            raise where.error(path + (key,), f"unknown key {key!r} in {what} (known: {', '.join(known)})")


def _table(value: Any, where: _Locator, path: tuple[Any, ...], name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(path, f"{name} must be a table")
    return value


def _model(table: dict[str, Any], base: Model, where: _Locator, path: tuple[Any, ...]) -> Model:
    values: dict[str, Any] = {}
    for key in _MODEL_KEYS:
        if key not in table:
            continue
        value = table[key]
        at = path + (key,)
        if key == "level":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < 1:
                raise where.error(at, f"level must be a number between 0 and 1, not {value!r}")
            values[key] = float(value)
            continue
        choices = {"method": METHODS, "measure": MEASURES, "test": TESTS}[key]
        if value not in choices:
            raise where.error(at, f"unknown {key} {value!r} (metafor names: {', '.join(choices)})")
        values[key] = value
    model = replace(base, **values)
    if model.method == "GLMM" and model.measure != "PLO":
        raise where.error(path + ("measure",) if "measure" in table else path + ("method",),
                          f"the GLMM pools on the logit scale: measure must be PLO, not {model.measure}")
    if model.method == "GLMM" and model.test == "knha":
        raise where.error(path + ("test",) if "test" in table else path + ("method",),
                          "test = \"knha\" with method = \"GLMM\" is not implemented as metafor does "
                          "(rma.glmm has no Knapp-Hartung adjustment; its test = \"t\" is a t test with k - 1 df): "
                          "use test = \"z\"")
    return model


def _condition(text: Any, where: _Locator, path: tuple[Any, ...], name: str) -> Condition:
    text = _text(text, where, path, name)
    try:
        return parse_condition(text)
    except ExpressionError as exc:
        raise where.error(path, f"{name}: {exc}") from None


def _row_value(text: str, where: _Locator, path: tuple[Any, ...], name: str) -> RowValue:
    try:
        return parse_row_value(text)
    except ExpressionError as exc:
        raise where.error(path, f"{name}: {exc}") from None


def _min_total(value: Any, where: _Locator, path: tuple[Any, ...]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(path, f"min_total must be a whole number >= 1, not {value!r}")
    return value


def _eligibility(table: dict[str, Any], base: Eligibility, where: _Locator, path: tuple[Any, ...]) -> Eligibility:
    """*base* with the rules of *table* replacing (same name), added (new name) or dropped (``""``)."""
    rules = list(base.rules)
    min_total = base.min_total
    for name, value in table.items():
        at = path + (name,)
        if name == "min_total":
            min_total = _min_total(value, where, at)
            continue
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_ -]*", name):
            raise where.error(at, f"eligibility rule {name!r}: name it with letters, digits, spaces, - or _")
        text = _text(value, where, at, f"eligibility rule {name!r}")
        index = next((i for i, r in enumerate(rules) if r.name == name), None)
        if not text.strip():
            if index is not None:
                del rules[index]
            continue
        rule = Rule(name, _condition(text, where, at, f"eligibility rule {name!r}"))
        if index is None:
            rules.append(rule)
        else:
            rules[index] = rule
    return Eligibility(tuple(rules), min_total)


def _count(value: Any, where: _Locator, path: tuple[Any, ...], name: str) -> Count:
    if isinstance(value, str):
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            return Count((value,))
        return Count(expression=_row_value(value, where, path, name))
    return Count(_strings(value, where, path, name))


def _criteria(table: Any, base: Criteria, where: _Locator, path: tuple[Any, ...]) -> Criteria:
    table = _table(table, where, path, "criteria")
    _unknown(table, _CRITERIA_KEYS, where, path, "criteria")
    values: dict[str, Any] = {}
    for key in ("column", "text"):
        if key in table:
            values[key] = _text(table[key], where, path + (key,), key)
    for key in ("labels", "uniform"):
        if key in table:
            mapping = _table(table[key], where, path + (key,), key)
            if not all(isinstance(v, str) for v in mapping.values()):
                raise where.error(path + (key,), f"criteria {key} map values to text")
            values[key] = dict(mapping)
    if "column" in values and not values["column"]:  # column = "" : no column (text only)
        values.update(labels={}, uniform={})
    return replace(base, **values)


def _sensitivity(table: Any, primary: AnalysisSpec, where: _Locator, path: tuple[Any, ...]) -> AnalysisSpec:
    table = _table(table, where, path, "a sensitivity analysis")
    _unknown(table, _SENSITIVITY_KEYS, where, path, "a sensitivity analysis")
    if "name" not in table:
        raise where.error(path, "a sensitivity analysis needs a name")
    name = _text(table["name"], where, path + ("name",), "name")
    model = _model(table, primary.model, where, path)
    changes = dict(_table(table.get("eligibility", {}), where, path + ("eligibility",), "eligibility"))
    if "min_total" in table:
        changes["min_total"] = table["min_total"]
    eligibility = _eligibility(changes, primary.eligibility, where, path + ("eligibility",))
    if model == primary.model and eligibility == primary.eligibility:
        raise where.error(path, f"sensitivity analysis {name!r} changes nothing of the primary analysis")
    return AnalysisSpec(name, model, eligibility, _text(table.get("why", ""), where, path + ("why",), "why"),
                        where.line(path), min_studies=1)


def _certainty(table: Any, where: _Locator, path: tuple[Any, ...]) -> dict[str, Override]:
    table = _table(table, where, path, "certainty")
    out: dict[str, Override] = {}
    for domain, value in table.items():
        at = path + (domain,)
        if domain not in DOMAINS:
            raise where.error(at, f"unknown certainty domain {domain!r} (GRADE domains: {', '.join(DOMAINS)})")
        value = _table(value, where, at, f"certainty.{domain}")
        _unknown(value, ("judgement", "reason"), where, at, f"certainty.{domain}")
        judgement = value.get("judgement")
        if judgement not in JUDGEMENTS:
            raise where.error(at + ("judgement",), f"judgement must be one of {', '.join(JUDGEMENTS)}")
        reason = value.get("reason", "")
        if not isinstance(reason, str) or not reason.strip():
            raise where.error(at, f"an override of {domain} needs a reason")
        out[domain] = Override(judgement, reason.strip(), where.line(at))
    return out


def _names(value: Any, where: _Locator, path: tuple[Any, ...], name: str) -> tuple[str, ...]:
    return () if value == [] else _strings(value, where, path, name)


def _derived(raw: Any, where: _Locator) -> tuple[Derived, ...]:
    if not isinstance(raw, list):
        raise where.error(("derived",), "derived columns are an array of tables: write [[derived]]")
    out: list[Derived] = []
    for index, table in enumerate(raw):
        path: tuple[Any, ...] = ("derived", index)
        table = _table(table, where, path, "[[derived]]")
        _unknown(table, ("name", "description", "cases", "otherwise"), where, path, "a derived column")
        name = _text(table.get("name", ""), where, path + ("name",), "name")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise where.error(path + ("name",), f"derived column {name!r}: use lower-case letters, digits and _")
        if name in ENGINE_COLUMNS or any(d.name == name for d in out):
            raise where.error(path + ("name",), f"derived column {name!r} is already defined")
        cases_raw = table.get("cases", [])
        if not isinstance(cases_raw, list):
            raise where.error(path + ("cases",), "cases must be a list of { when, value } tables")
        cases = []
        for case in cases_raw:
            case = _table(case, where, path + ("cases",), "a case")
            _unknown(case, ("when", "value"), where, path + ("cases",), "a case")
            if "when" not in case or "value" not in case:
                raise where.error(path + ("cases",), "a case needs when (a condition) and value (an expression)")
            cases.append((_condition(case["when"], where, path + ("cases",), f"{name}: when"),
                          _row_value(_text(case["value"], where, path + ("cases",), "value"), where,
                                     path + ("cases",), f"{name}: value")))
        otherwise = (_row_value(_text(table["otherwise"], where, path + ("otherwise",), "otherwise"), where,
                                path + ("otherwise",), f"{name}: otherwise") if "otherwise" in table else None)
        if not cases and otherwise is None:
            raise where.error(path, f"derived column {name!r} needs cases or otherwise")
        out.append(Derived(name, _text(table.get("description", ""), where, path + ("description",),
                                       "description"), tuple(cases), otherwise, where.line(path)))
    return tuple(out)


def _with_columns(sheets: SheetSet, sheet: str, names: list[str]) -> SheetSet:
    """*sheets* with text columns *names* added to *sheet* (the derived columns a condition may read)."""
    spec = sheets.get(sheet)
    extra = tuple(Field(n, kind="choice", choices=DESIGNS) if n == "design" else Field(n)
                  for n in names if n not in spec.columns)
    specs = tuple(replace(s, fields=s.fields + extra) if s.name == sheet else s for s in sheets.sheets)
    return replace(sheets, sheets=specs)


def _check_outcome(outcome: OutcomePlan, plan_derived: tuple[Derived, ...], sheets: SheetSet,
                   where: _Locator, path: tuple[Any, ...]) -> None:
    """The outcome's sheet, columns and conditions against sheets.toml (each problem one line)."""
    if not sheets.has(outcome.sheet):
        raise where.error(path + ("sheet",), f"unknown sheet {outcome.sheet!r} (sheets.toml declares: "
                                             f"{', '.join(sheets.names) or 'none'})")
    spec = sheets.get(outcome.sheet)
    for name, count in (("events", outcome.events), ("denominator", outcome.denominator)):
        for c in count.columns:
            if c not in spec.columns:
                raise where.error(path + (name,), f"unknown column {c!r} in {name} ({outcome.sheet}.csv has no "
                                                  "such column)")
            if spec.field(c).kind != "int":
                raise where.error(path + (name,), f"column {c!r} in {name} is not a count (int) column of "
                                                  f"{outcome.sheet}.csv")
    derived = list(ENGINE_COLUMNS) + [d.name for d in plan_derived]
    extended = _with_columns(sheets, outcome.sheet, derived)
    expressions: list[tuple[tuple[Any, ...], str, Any]] = [
        (path + ("events",), "events", outcome.events.expression),
        (path + ("denominator",), "denominator", outcome.denominator.expression)]
    for analysis in (outcome.primary,) + outcome.sensitivity:
        for rule in analysis.eligibility.rules:
            expressions.append((path + ("eligibility", rule.name), f"eligibility rule {rule.name!r}", rule.condition))
    for m in outcome.missing:
        expressions.append((path + ("missing",), "missing", m.condition))
    for d in plan_derived:
        for cond, value in d.cases:
            expressions += [(("derived",), f"derived {d.name!r}", cond), (("derived",), f"derived {d.name!r}", value)]
        if d.otherwise is not None:
            expressions.append((("derived",), f"derived {d.name!r}", d.otherwise))
    for at, what, expression in expressions:
        if expression is None:
            continue
        problems = check(expression, extended, sheet=outcome.sheet)
        if problems:
            raise where.error(at, f"{what}: {problems[0]}")
    for name in outcome.subgroups + ((outcome.row_label,) if outcome.row_label else ()):
        if name not in spec.columns and name not in derived:
            raise where.error(path + ("subgroups",), f"unknown column {name!r} (a column of {outcome.sheet}.csv "
                                                     f"or a derived column: {', '.join(derived)})")
    if outcome.criteria.column and outcome.criteria.column not in spec.columns + tuple(derived):
        raise where.error(path + ("criteria",), f"criteria column {outcome.criteria.column!r} is not a column of "
                                                f"{outcome.sheet}.csv")


def parse_plan(text: str, filename: str = PLAN_FILE, sheets: SheetSet | None = None) -> AnalysisPlan:
    """Parse and check the plan's text; raise :class:`PlanError` (one line) on the first problem.

    With *sheets* (the project's ``sheets.toml``), the sheets, columns and conditions named are checked against it.
    """
    try:
        data = toml_read.loads(text, filename, PlanError)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = match.group(1) if match else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise PlanError(f"{filename}:{line}: not valid TOML: {message}") from None
    where = _Locator(text, filename)
    _unknown(data, ("defaults", "outcome", "derived", "synthesis", "question"), where, (), "the plan")
    question = _question(data.get("question", {}), where)
    rule = _synthesis_rule(data.get("synthesis", {}), where)
    derived = _derived(data.get("derived", []), where)
    defaults = _table(data.get("defaults", {}), where, ("defaults",), "[defaults]")
    _unknown(defaults, _DEFAULT_KEYS, where, ("defaults",), "[defaults]")
    primary_defaults = _table(defaults.get("primary", {}), where, ("defaults", "primary"), "[defaults.primary]")
    _unknown(primary_defaults, _MODEL_KEYS, where, ("defaults", "primary"), "[defaults.primary]")
    base_model = _model(primary_defaults, Model(), where, ("defaults", "primary"))
    base_elig = _eligibility(_table(defaults.get("eligibility", {}), where, ("defaults", "eligibility"),
                                    "[defaults.eligibility]"), Eligibility(), where, ("defaults", "eligibility"))
    base_criteria = _criteria(defaults.get("criteria", {}), Criteria(), where, ("defaults", "criteria"))
    base_subgroups = _names(defaults.get("subgroups", []), where, ("defaults", "subgroups"), "subgroups")
    base_describe = _names(defaults.get("describe_excluded_by", []), where, ("defaults", "describe_excluded_by"),
                           "describe_excluded_by")
    base_row_label = _text(defaults.get("row_label", ""), where, ("defaults", "row_label"), "row_label")
    default_sensitivity = defaults.get("sensitivity", [])
    if not isinstance(default_sensitivity, list):
        raise where.error(("defaults", "sensitivity"), "sensitivity must be an array of tables ([[defaults.sensitivity]])")

    outcomes_raw = data.get("outcome", [])
    if not isinstance(outcomes_raw, list):
        raise where.error(("outcome",), "outcomes are an array of tables: write [[outcome]]")
    outcomes: list[OutcomePlan] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(outcomes_raw):
        path: tuple[Any, ...] = ("outcome", index)
        raw = _table(raw, where, path, "[[outcome]]")
        _unknown(raw, _OUTCOME_KEYS, where, path, "an outcome")
        for required in ("key", "label", "sheet", "events", "denominator"):
            if required not in raw:
                raise where.error(path, f"outcome {index + 1} needs {required!r}")
        key = _text(raw["key"], where, path + ("key",), "key")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise where.error(path + ("key",), f"key {key!r}: use lower-case letters, digits and _")
        if key in seen:
            raise where.error(path + ("key",), f"outcome key {key!r} is also used on line {seen[key]}")
        seen[key] = where.line(path + ("key",))
        sheet = _text(raw["sheet"], where, path + ("sheet",), "sheet")
        events = _count(raw["events"], where, path + ("events",), "events")
        denominator = _count(raw["denominator"], where, path + ("denominator",), "denominator")
        missing_raw = raw.get("missing", [])
        if not isinstance(missing_raw, list):
            raise where.error(path + ("missing",), "write [[outcome.missing]] tables (when, why)")
        missing = []
        for j, m in enumerate(missing_raw):
            at = path + ("missing", j)
            m = _table(m, where, at, "[[outcome.missing]]")
            _unknown(m, ("when", "why"), where, at, "[[outcome.missing]]")
            if "when" not in m or "why" not in m:
                raise where.error(at, "[[outcome.missing]] needs when (a condition) and why")
            missing.append(Missing(_condition(m["when"], where, at + ("when",), "missing: when"),
                                   _text(m["why"], where, at + ("why",), "why")))
        primary_table = _table(raw.get("primary", {}), where, path + ("primary",), "[outcome.primary]")
        _unknown(primary_table, _MODEL_KEYS, where, path + ("primary",), "[outcome.primary]")
        elig_table = _table(raw.get("eligibility", {}), where, path + ("eligibility",), "[outcome.eligibility]")
        eligibility = _eligibility(elig_table, base_elig, where, path + ("eligibility",))
        primary = AnalysisSpec("primary", _model(primary_table, base_model, where, path + ("primary",)),
                               eligibility, line=where.line(path), min_studies=rule.min_studies_for_model)
        if "sensitivity" in raw:
            if not isinstance(raw["sensitivity"], list):
                raise where.error(path + ("sensitivity",), "write sensitivity analyses as [[outcome.sensitivity]]")
            sensitivity = tuple(_sensitivity(t, primary, where, path + ("sensitivity", j))
                                for j, t in enumerate(raw["sensitivity"]))
        else:
            sensitivity = tuple(_sensitivity(t, primary, where, ("defaults", "sensitivity", j))
                                for j, t in enumerate(default_sensitivity))
        names = [s.name for s in sensitivity]
        for name in names:
            if names.count(name) > 1:
                raise where.error(path, f"outcome {key!r} has two sensitivity analyses named {name!r}")
        subgroups = (_names(raw["subgroups"], where, path + ("subgroups",), "subgroups") if "subgroups" in raw
                     else base_subgroups)
        outcome = OutcomePlan(
            key=key, label=_text(raw["label"], where, path + ("label",), "label"), sheet=sheet, events=events,
            denominator=denominator, primary=primary, sensitivity=sensitivity, subgroups=subgroups,
            missing=tuple(missing),
            criteria=_criteria(raw["criteria"], base_criteria, where, path + ("criteria",)) if "criteria" in raw
            else base_criteria,
            row_label=_text(raw.get("row_label", base_row_label), where, path + ("row_label",), "row_label"),
            describe_excluded_by=(_names(raw["describe_excluded_by"], where, path + ("describe_excluded_by",),
                                         "describe_excluded_by") if "describe_excluded_by" in raw else base_describe),
            why=_text(raw.get("why", ""), where, path + ("why",), "why").strip(),
            certainty=_certainty(raw.get("certainty", {}), where, path + ("certainty",)), line=where.line(path),
            derived=derived,
            surrogate=" ".join(_text(raw.get("surrogate", ""), where, path + ("surrogate",), "surrogate").split()))
        if sheets is not None:
            _check_outcome(outcome, derived, sheets, where, path)
        outcomes.append(outcome)
    return AnalysisPlan(tuple(outcomes), filename, derived, rule, question)


def _question(table: Any, where: _Locator) -> Question:
    """The ``[question]`` table: population, intervention, comparison, and the values each column ``covers``."""
    path: tuple[Any, ...] = ("question",)
    table = _table(table, where, path, "[question]")
    _unknown(table, _QUESTION_KEYS, where, path, "[question]")
    texts = {k: " ".join(_text(table.get(k, ""), where, path + (k,), k).split())
             for k in ("population", "intervention", "comparison")}
    covers = _table(table.get("covers", {}), where, path + ("covers",), "covers")
    pairs = tuple((str(column), _strings(values, where, path + ("covers",), f"covers.{column}"))
                  for column, values in covers.items())
    return Question(**texts, covers=pairs, line=where.line(path) if table else 0)


def _synthesis_rule(table: Any, where: _Locator) -> SynthesisRule:
    """The ``[synthesis]`` table; ``min_studies_for_model`` below :data:`MIN_STUDIES_FLOOR` is refused."""
    path: tuple[Any, ...] = ("synthesis",)
    table = _table(table, where, path, "[synthesis]")
    _unknown(table, _SYNTHESIS_KEYS, where, path, "[synthesis]")
    own = " ".join(_text(table.get("own_series", ""), where, path + ("own_series",), "own_series").split())
    if "min_studies_for_model" not in table:
        if "reason" in table:
            raise where.error(path + ("reason",), "reason explains min_studies_for_model, which is not given")
        return SynthesisRule(line=where.line(path) if table else 0, own_series=own)
    value = table["min_studies_for_model"]
    at = path + ("min_studies_for_model",)
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_STUDIES_FLOOR:
        raise where.error(at, f"min_studies_for_model must be a whole number >= {MIN_STUDIES_FLOOR} (with 2 studies "
                              f"tau2 rests on 1 degree of freedom), not {value!r}")
    reason = table.get("reason", "")
    if not isinstance(reason, str) or not reason.strip():
        raise where.error(at, "min_studies_for_model needs a reason (the plan's reason for this number)")
    return SynthesisRule(value, " ".join(reason.split()), where.line(at), own)


def load_plan(root: Path, sheets: SheetSet | None = None) -> AnalysisPlan:
    """Read ``root/analysis.toml``; a review without one has an empty plan (nothing pooled).

    *sheets*: the project's sheet declarations, to check the sheets, columns and conditions the plan names.
    """
    path = root / PLAN_FILE
    if not path.is_file():
        return EMPTY_PLAN
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PlanError(f"{PLAN_FILE}:1: not UTF-8 text") from None
    return parse_plan(text, PLAN_FILE, sheets)
