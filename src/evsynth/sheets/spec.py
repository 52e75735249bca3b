"""Sheet specifications as data: the columns of every sheet, read from a TOML file.

A review project declares its sheets in ``sheets.toml`` (beside ``review.toml``)::

    [vocabularies]
    yes_no = ["yes", "no"]
    lrt = { values = ["RFA", "MWA"], labels = { RFA = "radiofrequency ablation" }, glossary = true }

    [sheets.studies]                       # extracted/studies.csv
    description = "one row per included study"
    id = "study_id"                        # values must be unique
    columns = [
      { name = "study_id", required = true },
      { name = "year", type = "int", min = 1900, max = 2100 },
      { name = "design", type = "choice", values = ["cohort", "case series"] },
      { name = "n_{value}", each = "lrt", type = "int", min = 0, description = "patients with {label}" },
    ]

    [sheets.cohorts]
    columns = [ { name = "study_id", required = true, ref = "studies.study_id" } ]

Column keys: ``name``, ``type`` (:data:`KINDS`, default ``text``),
``required``, ``values`` (a list, or the name of a vocabulary; for ``choice``,
``choices`` and ``combination``), ``min`` / ``max`` (for ``int`` and
``number``), ``ref`` (``"sheet.column"``: every value must appear there),
``each`` (a vocabulary: one column per value, ``{value}`` in the name is the
value in lower case and ``{label}`` in the description its label) and
``description`` and ``label`` (the column's heading when the page shows the
sheet as it is; default: the name) and ``optional`` (true: a sheet's header may
leave the column out, and its cells read as empty — for a column added to a
sheet that existing projects do not have). A vocabulary is a list of values, or a table with ``values``,
``labels`` (value -> long name) and ``glossary`` (true: its labels are listed
under the page's abbreviations). Sheets are validated and documented in file order.

Every mistake in the file is one :class:`SpecError` whose message is
``FILE:LINE: message``; no module here imports pandas, so reading a
specification is fast.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evsynth.core.errors import EvsynthError
from evsynth.core import toml_read

from evsynth.core.project import SHEET_SPEC_FILE

#: The file a project declares its sheets in.
#: The specification file at the project root (:mod:`evsynth.core.project`).
SPEC_FILE = SHEET_SPEC_FILE

#: Column types: free text, whole number, decimal number, one value, a ';'-list of values,
#: values joined by '+' or ';', ';'-separated footnote markers.
KINDS: tuple[str, ...] = ("text", "int", "number", "choice", "choices", "combination", "refs")
#: Types whose allowed values come from ``values``.
VALUE_KINDS = frozenset({"choice", "choices", "combination"})
#: Types that may have ``min`` / ``max``.
NUMERIC_KINDS = frozenset({"int", "number"})

COLUMN_KEYS = frozenset({"name", "label", "type", "required", "optional", "values", "min", "max", "ref", "each",
                         "description"})
SHEET_KEYS = frozenset({"description", "id", "columns", "rules", "design_rules"})
TOP_KEYS = frozenset({"template", "template_version", "overview", "vocabularies", "sheets"})
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class SpecError(EvsynthError):
    """A mistake in a sheet specification file (message: ``FILE:LINE: message``)."""


@dataclass(frozen=True)
class Field:
    """A declared column.

    ``kind`` is one of :data:`KINDS`: ``text``, ``int`` (whole number), ``number``
    (decimal), ``choice`` (one of ``choices``), ``choices`` (``;``-separated list of
    ``choices``), ``combination`` (values from ``choices`` joined by ``+`` or ``;``)
    and ``refs`` (``;``-separated footnote markers). ``vocabulary`` names the
    vocabulary ``choices`` come from (empty for an inline list); ``ref`` is
    ``"sheet.column"`` when every value must appear in that column of that
    sheet; ``each`` / ``each_value`` say that the column is the one for
    ``each_value`` of vocabulary ``each`` (e.g. ``n_a`` for value ``A`` of vocabulary ``arm``).
    """

    name: str
    kind: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""
    vocabulary: str = ""
    ref: str = ""
    each: str = ""
    each_value: str = ""
    #: Heading when the sheet is shown as a table (default: the name).
    label: str = ""
    #: The sheet's header may leave this column out (its cells then read as empty).
    optional: bool = False

    @property
    def heading(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class SheetRule:
    """A rule every row of a sheet must meet: a condition in the expression language
    (:mod:`evsynth.sheets.expressions`, checked when the sheets are validated), the column a
    failing row's problem names, and the message."""

    column: str
    condition: str
    message: str


@dataclass(frozen=True)
class SheetSpec:
    """A sheet: its name (file ``<name>.csv``), its columns in order, its id column and its row rules."""

    name: str
    fields: tuple[Field, ...]
    id_column: str
    description: str
    rules: tuple[SheetRule, ...] = ()
    #: For the studies sheet: ``(condition, design, why)`` rules that derive a study's design before the
    #: engine's defaults (:mod:`evsynth.review.design`), in the expression language.
    design_rules: tuple[tuple[str, str, str], ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @cached_property
    def columns(self) -> tuple[str, ...]:
        # cached on the (frozen) instance: the checks ask for it for every cell and every expression
        return tuple(f.name for f in self.fields)

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        found = self._by_name.get(name)
        if found is None:
            raise StopIteration(name)  # as before: the caller asked for a column the sheet does not declare
        return found

    @property
    def optional_columns(self) -> tuple[str, ...]:
        """Columns the header may leave out."""
        return tuple(f.name for f in self.fields if f.optional)

    def columns_for(self, vocabulary: str) -> dict[str, str]:
        """The columns declared with ``each = vocabulary``: value -> column (``{"A": "n_a"}``)."""
        return {f.each_value: f.name for f in self.fields if f.each == vocabulary}


@dataclass(frozen=True)
class Vocabulary:
    """A named list of allowed values, with optional labels (long names)."""

    name: str
    values: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)
    #: Its labels are listed among the page's abbreviations.
    glossary: bool = False


@dataclass(frozen=True)
class SheetSet:
    """Every sheet of a project, with its vocabularies, as declared in one specification file."""

    source: str
    sheets: tuple[SheetSpec, ...]
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    template: str = ""
    template_version: int | None = None
    #: One sentence on which sheet feeds which part of the review (shown on the page).
    overview: str = ""

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sheets)

    @cached_property
    def _by_name(self) -> dict[str, SheetSpec]:
        return {s.name: s for s in self.sheets}

    def has(self, *names: str) -> bool:
        """True when every sheet in *names* is declared."""
        return all(name in self.names for name in names)

    def get(self, name: str) -> SheetSpec:
        found = self._by_name.get(name)
        if found is None:
            raise StopIteration(name)  # as before: the caller asked for a sheet the project does not declare
        return found

    def values(self, vocabulary: str) -> tuple[str, ...]:
        """The values of a vocabulary (empty when the project does not declare it)."""
        v = self.vocabularies.get(vocabulary)
        return v.values if v else ()

    def labels(self) -> list[tuple[str, str]]:
        """The labelled values of the glossary vocabularies (first label of a value wins), in file order."""
        seen: dict[str, str] = {}
        for v in self.vocabularies.values():
            if not v.glossary:
                continue
            for key, label in v.labels.items():
                seen.setdefault(key, label)
        return list(seen.items())


# ---------------------------------------------------------------- reading


class _Locator:
    """Line numbers of the parts of a TOML text, found by searching its lines."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def _header(self, table: str) -> int:
        pattern = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        return next((i for i, line in enumerate(self.lines, 1) if pattern.match(line)), 0)

    def line(self, table: str, needle: str = "", last: bool = False) -> int:
        """The line of *needle* (a regular expression) in table ``[table]``: its first match, or its
        last with *last*; the header's line when it is not found (1 without a header)."""
        start = self._header(table)  # 1-based line of the header = 0-based index of the next line
        found = 0
        if needle:
            pattern = re.compile(needle)
            for i in range(start, len(self.lines)):
                if re.match(r"\s*\[\s*[A-Za-z_\"]", self.lines[i]):
                    break  # the next table
                if pattern.search(self.lines[i]):
                    found = i + 1
                    if not last:
                        break
        return found or start or 1

    def error(self, message: str, table: str = "", needle: str = "", last: bool = False) -> SpecError:
        return SpecError(f"{self.source}:{self.line(table, needle, last) if table else 1}: {message}")


def _named(name: str) -> str:
    """A pattern for the column table that declares *name*."""
    return r"\bname\s*=\s*[\"']" + re.escape(name) + r"[\"']"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def _vocabularies(data: Any, at: _Locator) -> dict[str, Vocabulary]:
    if not isinstance(data, dict):
        raise at.error("[vocabularies] must be a table of named value lists")
    out: dict[str, Vocabulary] = {}
    for name, value in data.items():
        where = ("vocabularies", rf"^\s*{re.escape(name)}\s*=")
        labels: dict[str, str] = {}
        glossary = False
        if isinstance(value, dict):
            unknown = set(value) - {"values", "labels", "glossary"}
            if unknown:
                raise at.error(f"vocabulary {name!r}: unknown key {sorted(unknown)[0]!r} "
                               "(known: glossary, labels, values)", *where)
            glossary = value.get("glossary", False)
            if not isinstance(glossary, bool):
                raise at.error(f"vocabulary {name!r}: glossary must be true or false", *where)
            labels = value.get("labels", {})
            value = value.get("values")
            if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
                raise at.error(f"vocabulary {name!r}: labels must map values to text", *where)
        if not _strings(value):
            raise at.error(f"vocabulary {name!r}: values must be a non-empty list of non-empty strings", *where)
        if len(set(value)) != len(value):
            repeated = next(v for v in value if value.count(v) > 1)
            raise at.error(f"vocabulary {name!r}: value {repeated!r} is listed twice", *where)
        stray = [k for k in labels if k not in value]
        if stray:
            raise at.error(f"vocabulary {name!r}: label for {stray[0]!r}, which is not one of its values", *where)
        out[name] = Vocabulary(name, tuple(value), dict(labels), glossary)
    return out


def _column(sheet: str, raw: Any, position: int, vocabularies: dict[str, Vocabulary],
            at: _Locator) -> list[Field]:
    table = f"sheets.{sheet}"
    if not isinstance(raw, dict):
        raise at.error(f"sheet {sheet!r}: column {position} must be a table {{ name = ..., type = ... }}", table)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise at.error(f"sheet {sheet!r}: column {position} has no name", table)
    where = (table, _named(name))
    label = f"sheet {sheet!r}, column {name!r}"
    unknown = set(raw) - COLUMN_KEYS
    if unknown:
        raise at.error(f"{label}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(COLUMN_KEYS))})", *where)
    kind = raw.get("type", "text")
    if kind not in KINDS:
        raise at.error(f"{label}: unknown type {kind!r} (known: {', '.join(KINDS)})", *where)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise at.error(f"{label}: required must be true or false", *where)
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise at.error(f"{label}: optional must be true or false", *where)
    if optional and required:
        raise at.error(f"{label}: a required column cannot be optional (left out of the header)", *where)
    description = raw.get("description", "")
    heading = raw.get("label", "")
    if not isinstance(description, str) or not isinstance(heading, str):
        raise at.error(f"{label}: description and label must be text", *where)
    values = raw.get("values")
    choices: tuple[str, ...] = ()
    vocabulary = ""
    if kind in VALUE_KINDS:
        if isinstance(values, str):
            if values not in vocabularies:
                raise at.error(f"{label}: no vocabulary named {values!r} in [vocabularies]", *where)
            vocabulary, choices = values, vocabularies[values].values
        elif _strings(values):
            choices = tuple(values)
        else:
            raise at.error(f"{label}: type {kind!r} needs values (a list, or the name of a vocabulary)", *where)
    elif values is not None:
        raise at.error(f"{label}: values are only for the types choice, choices and combination", *where)
    bounds: list[float | None] = []
    for key in ("min", "max"):
        bound = raw.get(key)
        if bound is not None and kind not in NUMERIC_KINDS:
            raise at.error(f"{label}: {key} is only for the types int and number", *where)
        if bound is not None and not _is_number(bound):
            raise at.error(f"{label}: {key} must be a number", *where)
        bounds.append(None if bound is None else float(bound))
    if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        raise at.error(f"{label}: min {bounds[0]:g} is above max {bounds[1]:g}", *where)
    ref = raw.get("ref", "")
    if not isinstance(ref, str) or (ref and ref.count(".") != 1):
        raise at.error(f"{label}: ref must be \"sheet.column\"", *where)
    each = raw.get("each", "")
    common = dict(kind=kind, required=required, choices=choices, minimum=bounds[0], maximum=bounds[1],
                  vocabulary=vocabulary, ref=ref, label=heading, optional=optional)
    if not each:
        if "{" in name:
            raise at.error(f"{label}: '{{value}}' in a name needs each = \"<vocabulary>\"", *where)
        return [Field(name, description=description, **common)]  # type: ignore[arg-type]
    if not isinstance(each, str) or each not in vocabularies:
        raise at.error(f"{label}: each must name a vocabulary of [vocabularies]", *where)
    if "{value}" not in name:
        raise at.error(f"{label}: a column declared for each {each!r} needs '{{value}}' in its name", *where)
    vocab = vocabularies[each]
    return [Field(name.replace("{value}", value.lower()),
                  description=description.replace("{label}", vocab.labels.get(value, value)),
                  each=each, each_value=value, **common)  # type: ignore[arg-type]
            for value in vocab.values]


def _sheet(name: str, raw: Any, vocabularies: dict[str, Vocabulary], at: _Locator) -> SheetSpec:
    table = f"sheets.{name}"
    if not _NAME.match(name):
        raise at.error(f"sheet {name!r}: a sheet name may hold letters, digits, '_', '-' and '.'", table)
    if not isinstance(raw, dict):
        raise at.error(f"sheet {name!r} must be a table [sheets.{name}]", table)
    unknown = set(raw) - SHEET_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise at.error(f"sheet {name!r}: unknown key {key!r} (known: {', '.join(sorted(SHEET_KEYS))})", table,
                       rf"^\s*{re.escape(key)}\s*=")
    columns = raw.get("columns")
    if not isinstance(columns, list) or not columns:
        raise at.error(f"sheet {name!r}: columns must be a non-empty list of column tables", table)
    fields = [f for position, column in enumerate(columns, 1)
              for f in _column(name, column, position, vocabularies, at)]
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise at.error(f"sheet {name!r}: column {f.name!r} is declared twice", table, _named(f.name), True)
        seen.add(f.name)
    id_column = raw.get("id", "")
    if not isinstance(id_column, str) or (id_column and id_column not in seen):
        raise at.error(f"sheet {name!r}: id {id_column!r} is not one of its columns", table, r"^\s*id\s*=")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise at.error(f"sheet {name!r}: description must be text", table, r"^\s*description\s*=")
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list):
        raise at.error(f"sheet {name!r}: rules must be a list of {{ column, rule, message }} tables", table,
                       r"^\s*rules\s*=")
    rules = []
    for rule in rules_raw:
        if (not isinstance(rule, dict) or set(rule) - {"column", "rule", "message"}
                or not all(isinstance(rule.get(k), str) and rule.get(k) for k in ("column", "rule", "message"))):
            raise at.error(f"sheet {name!r}: a rule is {{ column, rule, message }}, three strings", table,
                           r"^\s*rules\s*=")
        if rule["column"] not in seen:
            raise at.error(f"sheet {name!r}: rule column {rule['column']!r} is not one of its columns", table,
                           re.escape(rule["rule"][:20]))
        rules.append(SheetRule(rule["column"], rule["rule"], rule["message"]))
    design_raw = raw.get("design_rules", [])
    if (not isinstance(design_raw, list)
            or not all(isinstance(r, dict) and set(r) == {"when", "design", "why"}
                       and all(isinstance(v, str) and v for v in r.values()) for r in design_raw)):
        raise at.error(f"sheet {name!r}: design_rules is a list of {{ when, design, why }} tables of strings", table,
                       r"^\s*design_rules\s*=")
    design_rules = tuple((r["when"], r["design"], r["why"]) for r in design_raw)
    return SheetSpec(name, tuple(fields), id_column, description, tuple(rules), design_rules)


def parse_sheet_set(text: str, source: str = SPEC_FILE) -> SheetSet:
    """The sheets declared in the TOML *text*; raise :class:`SpecError` (``source:line: message``)."""
    at = _Locator(text, source)
    try:
        data = toml_read.loads(text, source, SpecError)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)|\(at end of document\)", str(exc))
        line = match.group(1) if match and match.group(1) else str(len(at.lines) or 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        raise SpecError(f"{source}:{line}: not valid TOML ({message})") from None
    unknown = set(data) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(f"{source}:{_top_line(at, key)}: unknown key {key!r} "
                        f"(known: {', '.join(sorted(TOP_KEYS))})")
    for key in ("template", "overview"):
        if not isinstance(data.get(key, ""), str):
            raise SpecError(f"{source}:{_top_line(at, key)}: {key} must be text")
    version = data.get("template_version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise SpecError(f"{source}:{_top_line(at, 'template_version')}: template_version must be a whole number")
    vocabularies = _vocabularies(data.get("vocabularies", {}), at)
    raw_sheets = data.get("sheets", {})
    if not isinstance(raw_sheets, dict) or not raw_sheets:
        raise SpecError(f"{source}:1: no sheet declared (add a [sheets.NAME] table with its columns)")
    sheets = tuple(_sheet(name, raw, vocabularies, at) for name, raw in raw_sheets.items())
    by_name = {s.name: s for s in sheets}
    for s in sheets:
        for f in s.fields:
            if not f.ref:
                continue
            other, _, column = f.ref.partition(".")
            if other not in by_name or column not in by_name[other].columns:
                raise at.error(f"sheet {s.name!r}, column {f.name!r}: ref {f.ref!r} names no declared "
                               "sheet and column", f"sheets.{s.name}", _named(f.name))
    return SheetSet(source, sheets, vocabularies, data.get("template", ""), version, data.get("overview", ""))


def _top_line(at: _Locator, key: str) -> int:
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    return next((i for i, line in enumerate(at.lines, 1) if pattern.match(line)), 1)


def load_sheet_set(path: Path, source: str | None = None) -> SheetSet:
    """Read a specification file (*source*: how problems name it; default: the file name)."""
    source = source or path.name
    if not path.is_file():
        raise SpecError(f"{source}:0: file is missing; a review project declares its sheets there "
                        "(see 'evsynth init --help')")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{source}:1: not UTF-8 ({exc.reason})") from None
    return parse_sheet_set(text, source)
