"""The analysis plan of a review: ``analysis.toml`` beside ``review.toml``.

The plan declares, per outcome, what is counted (numerator and denominator in
terms of sheet columns), which cohorts are eligible (study design, response
criteria, mixed cohorts, minimum patients), the primary model and its options
(metafor's names: ``method``, ``measure``, ``test``, ``level``), the
pre-specified sensitivity analyses, the subgroup variables and any reviewer
override of a GRADE certainty domain. The engine
(:mod:`evsynth.review.outcomes`, :mod:`evsynth.review.synthesis`) runs exactly
that plan; the page prints it ("Methods as planned").

Layout (every key optional unless marked)::

    [defaults]                     # inherited by every outcome
    subgroups = ["lrt", "histology"]
    [defaults.primary]             # method, measure, test, level
    [defaults.eligibility]         # designs, response_criteria, mixed_cohorts, min_patients
    [[defaults.sensitivity]]       # used by outcomes that declare none

    [synthesis]                    # the small-k rule (optional; defaults below)
    min_studies_for_model = 5      # fewest studies for a model-based headline (>= 3)
    reason = "..."                 # required with min_studies_for_model: why this number
    own_series = "..."             # the rule for the review authors' own series (shown with the exclusions)

    [[outcome]]
    key = "pr"                     # required: a short identifier
    label = "Partial response"     # required
    events = ["resp_pr"]           # required: cohorts.csv columns summed, or
    # events_from = "adverse_events" with min_grade = 3 (patients with such an event)
    denominator = ["resp_cr", "resp_pr", "resp_sd", "resp_pd"]   # required
    why = "..."                    # the plan's reasons, shown on the page
    [outcome.primary] / [outcome.eligibility] / [[outcome.sensitivity]]
    [outcome.certainty.<domain>]   # judgement + reason: a reviewer's override

Below ``min_studies_for_model`` studies an outcome's headline is the crude
proportion with its exact CI and the studies side by side; the model's
figures are reported as sensitivity analyses, each with why it may mislead
(:mod:`evsynth.review.synthesis`). The floor is :data:`MIN_STUDIES_FLOOR`
(3): below it τ² rests on one degree of freedom and no prediction interval
exists (t with k − 2 df).

A sensitivity analysis has a ``name`` (required) and ``why``, and changes any
model option or eligibility rule of the primary analysis.

Every problem is one line, ``analysis.toml:LINE: message``
(:class:`PlanError`); :func:`plan_problems` lists them all for
``evsynth validate``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evsynth.core.project import ANALYSIS_PLAN_FILE
from evsynth.core.errors import EvsynthError
from evsynth.meta.pooling import METHODS, TESTS
from evsynth.meta.transforms import MEASURES
from evsynth.review import vocab
from evsynth.sheets.spec import SheetSet

PLAN_FILE = ANALYSIS_PLAN_FILE

#: Where an outcome's events may come from besides summed cohorts.csv columns.
EVENT_SOURCES: tuple[str, ...] = ("adverse_events",)
#: Subgroup variables derived by the engine (besides any cohorts.csv column).
DERIVED_SUBGROUPS: dict[str, str] = {
    "lrt": "LRT as printed (combined treatments kept together; unassigned lists left as such)",
    "histology": "histology of the cohort (one of MTC, PTC, FTC, HTC, or mixed)",
    "design": "study design (evsynth.review.design)",
}
#: GRADE certainty domains (GRADEpro GDT's five reasons for downgrading).
DOMAINS: tuple[str, ...] = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
JUDGEMENTS: tuple[str, ...] = ("not serious", "serious", "very serious")

#: Fewest studies a plan may allow for a model-based headline: with k = 2, τ² has k − 1 = 1 degree of
#: freedom and the prediction interval's t quantile (k − 2 df) does not exist.
MIN_STUDIES_FLOOR = 3
_SYNTHESIS_KEYS = ("min_studies_for_model", "reason", "own_series")
_MODEL_KEYS = ("method", "measure", "test", "level")
_ELIGIBILITY_KEYS = ("designs", "response_criteria", "mixed_cohorts", "min_patients")
_QUESTION_KEYS = ("population", "intervention", "comparison", "histologies", "treatments")
_OUTCOME_KEYS = ("key", "label", "events", "events_from", "min_grade", "denominator", "why", "surrogate",
                 "subgroups", "primary", "eligibility", "sensitivity", "certainty")
_DEFAULT_KEYS = ("subgroups", "primary", "eligibility", "sensitivity")
_SENSITIVITY_KEYS = ("name", "why") + _MODEL_KEYS + _ELIGIBILITY_KEYS


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
class Eligibility:
    """Which cohorts an analysis pools.

    ``designs``: study designs pooled (:data:`evsynth.review.vocab.DESIGNS`);
    ``response_criteria``: values of cohorts.csv ``recist`` accepted (empty =
    any); ``mixed_cohorts``: pool cohorts without a thyroid subgroup (never
    possible when their counts are missing); ``min_patients``: smallest
    denominator pooled.
    """

    designs: tuple[str, ...] = vocab.DESIGNS
    response_criteria: tuple[str, ...] = ()
    mixed_cohorts: bool = False
    min_patients: int = 1


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

    ``histologies`` and ``treatments``: the cohorts.csv ``histology`` values and single LRTs the
    question covers (empty: not checked).
    """

    population: str = ""
    intervention: str = ""
    comparison: str = ""
    histologies: tuple[str, ...] = ()
    treatments: tuple[str, ...] = ()
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
class OutcomePlan:
    """One outcome of the plan."""

    key: str
    label: str
    events: tuple[str, ...]
    denominator: tuple[str, ...]
    primary: AnalysisSpec
    sensitivity: tuple[AnalysisSpec, ...] = ()
    subgroups: tuple[str, ...] = ()
    events_from: str = ""
    min_grade: int = 3
    why: str = ""
    certainty: dict[str, Override] = field(default_factory=dict)
    line: int = 0
    #: Why the outcome is a surrogate for what patients care about ("" = not a surrogate).
    surrogate: str = ""

    @property
    def is_response(self) -> bool:
        """A response outcome (events from response columns), not an adverse-event outcome."""
        return not self.events_from

    def definition(self) -> str:
        """The numerator and denominator in words (sheet columns named)."""
        if self.events_from == "adverse_events":
            events = (f"patients with an adverse event of grade ≥ {self.min_grade} as graded by each study "
                      "(adverse_events.csv)")
        else:
            events = _sum(self.events)
        return f"{events} / {_sum(self.denominator)}"


def _sum(columns: tuple[str, ...] | list[str]) -> str:
    """``a`` or ``(a + b + …)``: a sum in brackets, so ``(a + b) / (a + b + c)`` reads right."""
    return columns[0] if len(columns) == 1 else f"({' + '.join(columns)})"


@dataclass(frozen=True)
class AnalysisPlan:
    """The whole plan, outcomes in file order; ``source`` the file it came from ("" = none)."""

    outcomes: tuple[OutcomePlan, ...]
    source: str = PLAN_FILE
    synthesis: SynthesisRule = SynthesisRule()
    question: Question = Question()

    def outcome(self, key: str) -> OutcomePlan:
        return next(o for o in self.outcomes if o.key == key)


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


def _eligibility(table: dict[str, Any], base: Eligibility, where: _Locator, path: tuple[Any, ...]) -> Eligibility:
    values: dict[str, Any] = {}
    if "designs" in table:
        designs = _strings(table["designs"], where, path + ("designs",), "designs")
        for d in designs:
            if d not in vocab.DESIGNS:
                raise where.error(path + ("designs",), f"unknown design {d!r} (known: {', '.join(vocab.DESIGNS)})")
        values["designs"] = designs
    if "response_criteria" in table:
        criteria = _strings(table["response_criteria"], where, path + ("response_criteria",), "response_criteria")
        for c in criteria:
            if c not in vocab.RECIST_USE:
                raise where.error(path + ("response_criteria",),
                                  f"unknown response criteria {c!r} (values of cohorts.csv recist: "
                                  f"{', '.join(vocab.RECIST_USE)})")
        values["response_criteria"] = criteria
    if "mixed_cohorts" in table:
        if not isinstance(table["mixed_cohorts"], bool):
            raise where.error(path + ("mixed_cohorts",), "mixed_cohorts must be true or false")
        values["mixed_cohorts"] = table["mixed_cohorts"]
    if "min_patients" in table:
        value = table["min_patients"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise where.error(path + ("min_patients",), f"min_patients must be a whole number >= 1, not {value!r}")
        values["min_patients"] = value
    return replace(base, **values)


def _columns(value: Any, where: _Locator, path: tuple[Any, ...], name: str,
             sheets: SheetSet | None) -> tuple[str, ...]:
    columns = _strings(value, where, path, name)
    if sheets is None or not sheets.has("cohorts"):
        return columns
    cohorts = sheets.get("cohorts")
    numeric = {f.name for f in cohorts.fields if f.kind == "int"}
    for c in columns:
        if c not in cohorts.columns:
            raise where.error(path, f"unknown column {c!r} in {name} (cohorts.csv has no such column)")
        if c not in numeric:
            raise where.error(path, f"column {c!r} in {name} is not a count column of cohorts.csv")
    return columns


def _sensitivity(table: Any, primary: AnalysisSpec, where: _Locator, path: tuple[Any, ...]) -> AnalysisSpec:
    table = _table(table, where, path, "a sensitivity analysis")
    _unknown(table, _SENSITIVITY_KEYS, where, path, "a sensitivity analysis")
    if "name" not in table:
        raise where.error(path, "a sensitivity analysis needs a name")
    name = _text(table["name"], where, path + ("name",), "name")
    model = _model(table, primary.model, where, path)
    eligibility = _eligibility(table, primary.eligibility, where, path)
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


def _subgroups(value: Any, where: _Locator, path: tuple[Any, ...], sheets: SheetSet | None) -> tuple[str, ...]:
    if value == []:
        return ()
    names = _strings(value, where, path, "subgroups")
    known = sheets.get("cohorts").columns if sheets is not None and sheets.has("cohorts") else None
    for name in names:
        if name not in DERIVED_SUBGROUPS and known is not None and name not in known:
            raise where.error(path, f"unknown subgroup variable {name!r} (derived: {', '.join(DERIVED_SUBGROUPS)}; "
                                    "or a cohorts.csv column)")
    return names


def parse_plan(text: str, filename: str = PLAN_FILE, sheets: SheetSet | None = None) -> AnalysisPlan:
    """Parse and check the plan's text; raise :class:`PlanError` (one line) on the first problem.

    With *sheets* (the project's ``sheets.toml``), the columns named are checked against it.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = match.group(1) if match else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise PlanError(f"{filename}:{line}: not valid TOML: {message}") from None
    where = _Locator(text, filename)
    _unknown(data, ("defaults", "outcome", "synthesis", "question"), where, (), "the plan")
    question = _question(data.get("question", {}), where)
    rule = _synthesis_rule(data.get("synthesis", {}), where)
    defaults = _table(data.get("defaults", {}), where, ("defaults",), "[defaults]")
    _unknown(defaults, _DEFAULT_KEYS, where, ("defaults",), "[defaults]")
    base_model = _model(_table(defaults.get("primary", {}), where, ("defaults", "primary"), "[defaults.primary]"),
                        Model(), where, ("defaults", "primary"))
    base_elig = _eligibility(_table(defaults.get("eligibility", {}), where, ("defaults", "eligibility"),
                                    "[defaults.eligibility]"), Eligibility(), where, ("defaults", "eligibility"))
    for table, known in ((defaults.get("primary", {}), _MODEL_KEYS), (defaults.get("eligibility", {}), _ELIGIBILITY_KEYS)):
        name = "primary" if known is _MODEL_KEYS else "eligibility"
        _unknown(table, known, where, ("defaults", name), f"[defaults.{name}]")
    base_subgroups = _subgroups(defaults.get("subgroups", []), where, ("defaults", "subgroups"), sheets)
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
        for required in ("key", "label", "denominator"):
            if required not in raw:
                raise where.error(path, f"outcome {index + 1} needs {required!r}")
        key = _text(raw["key"], where, path + ("key",), "key")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise where.error(path + ("key",), f"key {key!r}: use lower-case letters, digits and _")
        if key in seen:
            raise where.error(path + ("key",), f"outcome key {key!r} is also used on line {seen[key]}")
        seen[key] = where.line(path + ("key",))
        events_from = _text(raw.get("events_from", ""), where, path + ("events_from",), "events_from")
        if events_from and events_from not in EVENT_SOURCES:
            raise where.error(path + ("events_from",), f"unknown events_from {events_from!r} (known: "
                                                        f"{', '.join(EVENT_SOURCES)})")
        if events_from and "events" in raw:
            raise where.error(path + ("events",), "give events (cohorts.csv columns) or events_from, not both")
        if not events_from and "events" not in raw:
            raise where.error(path, f"outcome {key!r} needs events (cohorts.csv columns) or events_from")
        events = () if events_from else _columns(raw["events"], where, path + ("events",), "events", sheets)
        min_grade = raw.get("min_grade", 3)
        if "min_grade" in raw and not events_from:
            raise where.error(path + ("min_grade",), "min_grade applies to events_from = \"adverse_events\" only")
        if isinstance(min_grade, bool) or not isinstance(min_grade, int) or not 1 <= min_grade <= 5:
            raise where.error(path + ("min_grade",), f"min_grade must be a grade 1-5, not {min_grade!r}")
        if events_from and sheets is not None and not (
                sheets.has("adverse_events")
                and {"cohort_id", "ctcae_grade_min", "ctcae_grade_max", "patients"} <= set(sheets.get("adverse_events").columns)):
            raise where.error(path + ("events_from",), "sheets.toml declares no adverse_events sheet with cohort_id, "
                                                       "ctcae_grade_min, ctcae_grade_max and patients")
        denominator = _columns(raw["denominator"], where, path + ("denominator",), "denominator", sheets)
        primary_table = _table(raw.get("primary", {}), where, path + ("primary",), "[outcome.primary]")
        _unknown(primary_table, _MODEL_KEYS, where, path + ("primary",), "[outcome.primary]")
        elig_table = _table(raw.get("eligibility", {}), where, path + ("eligibility",), "[outcome.eligibility]")
        _unknown(elig_table, _ELIGIBILITY_KEYS, where, path + ("eligibility",), "[outcome.eligibility]")
        eligibility = _eligibility(elig_table, base_elig, where, path + ("eligibility",))
        if events_from:  # response criteria (inherited from [defaults]) do not apply to adverse events
            eligibility = replace(eligibility, response_criteria=())
        primary = AnalysisSpec("primary", _model(primary_table, base_model, where, path + ("primary",)),
                               eligibility, line=where.line(path), min_studies=rule.min_studies_for_model)
        if "response_criteria" in elig_table and events_from:
            raise where.error(path + ("eligibility", "response_criteria"), "response_criteria applies to response outcomes, not "
                                                        "adverse events")
        if "sensitivity" in raw:
            if not isinstance(raw["sensitivity"], list):
                raise where.error(path + ("sensitivity",), "write sensitivity analyses as [[outcome.sensitivity]]")
            sensitivity = tuple(_sensitivity(t, primary, where, path + ("sensitivity", j))
                                for j, t in enumerate(raw["sensitivity"]))
        else:
            sensitivity = tuple(_sensitivity(_applicable(t, events_from), primary, where,
                                             ("defaults", "sensitivity", j))
                                for j, t in enumerate(default_sensitivity)
                                if _applicable(t, events_from) is not None)
        names = [s.name for s in sensitivity]
        for name in names:
            if names.count(name) > 1:
                raise where.error(path, f"outcome {key!r} has two sensitivity analyses named {name!r}")
        subgroups = (_subgroups(raw["subgroups"], where, path + ("subgroups",), sheets) if "subgroups" in raw
                     else base_subgroups)
        certainty = _certainty(raw.get("certainty", {}), where, path + ("certainty",))
        outcomes.append(OutcomePlan(
            key=key, label=_text(raw["label"], where, path + ("label",), "label"), events=events,
            denominator=denominator, primary=primary, sensitivity=sensitivity, subgroups=subgroups,
            events_from=events_from, min_grade=int(min_grade),
            why=_text(raw.get("why", ""), where, path + ("why",), "why").strip(),
            certainty=certainty, line=where.line(path),
            surrogate=" ".join(_text(raw.get("surrogate", ""), where, path + ("surrogate",), "surrogate").split())))
    return AnalysisPlan(tuple(outcomes), filename, rule, question)


def _question(table: Any, where: _Locator) -> Question:
    """The ``[question]`` table (population, intervention, comparison; histologies and treatments covered)."""
    path: tuple[Any, ...] = ("question",)
    table = _table(table, where, path, "[question]")
    _unknown(table, _QUESTION_KEYS, where, path, "[question]")
    texts = {k: " ".join(_text(table.get(k, ""), where, path + (k,), k).split())
             for k in ("population", "intervention", "comparison")}
    lists = {k: _strings(table[k], where, path + (k,), k) if k in table else () for k in ("histologies", "treatments")}
    return Question(**texts, **lists, line=where.line(path) if table else 0)


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


def _applicable(table: Any, events_from: str) -> Any:
    """A default sensitivity analysis as it applies to an outcome (``None``: it does not).

    A default that only changes ``response_criteria`` does not apply to an
    adverse-event outcome; for one that changes more, that key is dropped.
    """
    if not isinstance(table, dict) or not events_from or "response_criteria" not in table:
        return table
    rest = {k: v for k, v in table.items() if k != "response_criteria"}
    return rest if set(rest) - {"name", "why"} else None


def load_plan(root: Path, sheets: SheetSet | None = None) -> AnalysisPlan:
    """Read ``root/analysis.toml``; a review without one has an empty plan (nothing pooled).

    *sheets*: the project's sheet declarations, to check the columns the plan names.
    """
    path = root / PLAN_FILE
    if not path.is_file():
        return EMPTY_PLAN
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PlanError(f"{PLAN_FILE}:1: not UTF-8 text") from None
    return parse_plan(text, PLAN_FILE, sheets)
