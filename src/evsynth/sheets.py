"""The curated extraction sheets: their declared schemas and a reader that reports
every problem as ``file:row:column: message``.

Each sheet is a UTF-8 CSV in ``extracted/`` that a reviewer edits in a
spreadsheet. Row numbers are spreadsheet rows (the header is row 1). Every
column is declared once here (:class:`Field`); the declaration is turned into a
pandera ``DataFrameSchema`` (:func:`pandera_schema`) that does the per-cell and
per-column checks. Checks that span rows or sheets live in
:mod:`evsynth.validation`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from evsynth import vocab

SHEETS_DIR = "extracted"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a sheet, printed as ``file:row:column: message``."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


@dataclass(frozen=True)
class Field:
    """A declared column.

    ``kind`` is one of ``text``, ``int`` (whole number), ``number`` (decimal),
    ``choice`` (one of ``choices``), ``choices`` (``;``-separated list of
    ``choices``), ``lrt`` (treatments from :data:`evsynth.vocab.LRT_TYPES`
    joined by ``+`` or ``;``) and ``refs`` (``;``-separated footnote markers).
    """

    name: str
    kind: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class SheetSpec:
    """A sheet: its file name, its columns (in order) and its id column."""

    name: str
    fields: tuple[Field, ...]
    id_column: str
    description: str
    #: Extra columns a reviewer may add (free text) are refused unless listed here.
    optional_columns: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _int_field(name: str, *, required: bool = False, minimum: float | None = 0,
               maximum: float | None = None, description: str = "") -> Field:
    return Field(name, "int", required, minimum=minimum, maximum=maximum, description=description)


_RESPONSE_COUNTS = tuple(
    _int_field(f"resp_{key}", description=f"patients with {label}")
    for key, label in (("cr", "complete response"), ("pr", "partial response"),
                       ("sd", "stable disease"), ("pd", "progressive disease"),
                       ("not_assessed", "response not assessed"),
                       ("uncategorised", "a response reported without a RECIST category")))

STUDIES = SheetSpec(
    "studies",
    (
        Field("study_id", required=True, description="S + the paper's reference number"),
        _int_field("reference", required=True, minimum=1, description="bracketed reference number in the seed paper"),
        Field("first_author", required=True),
        Field("citation_as_printed", required=True),
        _int_field("year", minimum=1900, maximum=2100, description="empty until a person confirms it"),
        Field("pmid", "int", minimum=1, description="empty until a person confirms it"),
        Field("doi", description="empty until a person confirms it"),
        Field("thyroid_specific", "choice", True, vocab.YES_NO,
              description="no for mixed cohorts without a thyroid subgroup"),
        Field("note"),
    ),
    "study_id",
    "The studies of the literature review (seed paper, Table 2 and reference list numbers).",
)

COHORTS = SheetSpec(
    "cohorts",
    (
        Field("cohort_id", required=True),
        Field("study_id", required=True),
        _int_field("printed_order", required=True, minimum=1, description="row order in Table 2"),
        Field("lrt", "lrt", True, description="TACE, TAE, RFA, MWA, PEI, ILP, TARE; '+' = combined, ';' = unassigned list"),
        Field("lrt_assignment", "choice", True, vocab.LRT_ASSIGNMENT),
        Field("approach", "choices", True, vocab.APPROACHES),
        Field("histology", "choices", True, vocab.HISTOLOGIES),
        _int_field("n_patients", required=True, minimum=1),
        _int_field("n_mtc", required=True),
        _int_field("n_ptc", required=True),
        _int_field("n_ftc", required=True),
        _int_field("n_htc", required=True),
        Field("lesion_pattern", "choice", True, vocab.LESION_PATTERNS),
        Field("size_kind", "choice", True, vocab.SIZE_KINDS),
        Field("size_mm", "number", minimum=0),
        Field("size_median_mm", "number", minimum=0),
        Field("size_min_mm", "number", minimum=0),
        Field("size_max_mm", "number", minimum=0),
        Field("symptomatic_response", "choice", True, vocab.SYMPTOMATIC),
        Field("symptomatic_pct", "number", minimum=0, maximum=100),
        Field("structural_response", "choice", True, vocab.STRUCTURAL_STATUS),
        Field("recist", "choice", True, vocab.RECIST_USE),
        *_RESPONSE_COUNTS,
        Field("ae_status", "choice", True, vocab.AE_STATUS),
        Field("mixed_cohort", "choice", True, vocab.YES_NO),
        Field("footnotes", "refs"),
    ),
    "cohort_id",
    "The 18 printed cohort rows of Table 2 (one study may print several rows).",
)

ADVERSE_EVENTS = SheetSpec(
    "adverse_events",
    (
        Field("ae_id", required=True),
        Field("cohort_id", required=True),
        Field("event", required=True),
        _int_field("ctcae_grade_min", minimum=1, maximum=5, description="CTCAE v5 grade; empty = not graded"),
        _int_field("ctcae_grade_max", minimum=1, maximum=5),
        _int_field("patients", minimum=1, description="patients affected, where given"),
        Field("footnotes", "refs"),
        Field("note"),
    ),
    "ae_id",
    "Adverse events of the literature cohorts, one row per event (Table 2, last column).",
)

CASE_PATIENTS = SheetSpec(
    "case_patients",
    (
        Field("patient_id", required=True),
        Field("histology", "choice", True, vocab.CASE_HISTOLOGIES),
        _int_field("age_at_lm_diagnosis", required=True, maximum=120),
        Field("sex", "choice", True, vocab.SEX),
        Field("lm_pattern", "choice", True, ("single", "multiple")),
        Field("other_metastatic_sites", "text", description="';'-separated; empty = none"),
    ),
    "patient_id",
    "The 4 patients of the case series (Table 1).",
)

CASE_PROCEDURES = SheetSpec(
    "case_procedures",
    (
        Field("procedure_id", required=True),
        Field("patient_id", required=True),
        _int_field("sequence", required=True, minimum=1),
        Field("concomitant_tki", "choice", True, vocab.YES_NO),
        Field("tki"),
        Field("lrt", "lrt", True),
        _int_field("treated_lm_count", required=True, minimum=1),
        Field("largest_lm_mm", "number", True, minimum=0),
        Field("response", "choice", True, vocab.RECIST_RESPONSES),
    ),
    "procedure_id",
    "The 6 procedures of the case series (Table 1), one row per procedure.",
)

CASE_ADVERSE_EVENTS = SheetSpec(
    "case_adverse_events",
    (
        Field("ae_id", required=True),
        Field("event", required=True),
        _int_field("ctcae_grade_min", minimum=1, maximum=5),
        _int_field("ctcae_grade_max", minimum=1, maximum=5),
        _int_field("patients", required=True, minimum=1),
        Field("note"),
    ),
    "ae_id",
    "Adverse events of the case series (Results text).",
)

GUIDELINES = SheetSpec(
    "guidelines",
    (
        Field("recommendation_id", required=True),
        Field("guideline", required=True),
        _int_field("guideline_year", required=True, minimum=1900, maximum=2100),
        _int_field("reference", required=True, minimum=1),
        Field("disease", required=True),
        Field("recommendation", required=True),
    ),
    "recommendation_id",
    "Guideline recommendations (Table 3).",
)

FOOTNOTES = SheetSpec(
    "footnotes",
    (
        Field("table", "choice", True, ("table1", "table2", "table3")),
        Field("marker", required=True),
        Field("meaning", required=True),
    ),
    "",
    "Footnote markers of the printed tables and what they mean.",
)

CLAIMS = SheetSpec(
    "claims",
    (
        Field("claim_id", required=True),
        Field("section", required=True, description="where in the paper: section and paragraph"),
        Field("statement", required=True, description="the claim, paraphrased"),
        Field("metric", description="name of the computation in evsynth.claims (empty when not derivable)"),
        Field("expected", description="the value the paper states"),
        Field("comparator", "choice", False, vocab.CLAIM_COMPARATORS),
        Field("tolerance", "number", minimum=0),
        Field("expected_status", "choice", True, vocab.CLAIM_STATUSES),
        Field("why", description="how it is computed, or why it cannot be"),
    ),
    "claim_id",
    "Quantitative statements of the paper's Results and Literature Review, and how each is recomputed.",
)

#: Every sheet, in the order they are validated and documented.
ALL_SHEETS: tuple[SheetSpec, ...] = (
    STUDIES, COHORTS, ADVERSE_EVENTS, CASE_PATIENTS, CASE_PROCEDURES,
    CASE_ADVERSE_EVENTS, GUIDELINES, FOOTNOTES, CLAIMS,
)
SHEETS_BY_NAME: dict[str, SheetSpec] = {s.name: s for s in ALL_SHEETS}
#: Sheet file name -> header columns (what ``evsynth init`` writes).
SHEET_COLUMNS: dict[str, tuple[str, ...]] = {s.filename: s.columns for s in ALL_SHEETS}


# ---------------------------------------------------------------- cell checks

def parse_int(text: str) -> int | None:
    """A whole number written plainly (``"12"``, ``"-3"``), else ``None``."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def parse_number(text: str) -> float | None:
    """A finite decimal number (``"29.5"``), else ``None``."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _bounds_text(f: Field) -> str:
    if f.minimum is not None and f.maximum is not None:
        return f" between {f.minimum:g} and {f.maximum:g}"
    if f.minimum is not None:
        return f" >= {f.minimum:g}"
    if f.maximum is not None:
        return f" <= {f.maximum:g}"
    return ""


def _in_bounds(value: float, f: Field) -> bool:
    return (f.minimum is None or value >= f.minimum) and (f.maximum is None or value <= f.maximum)


def _cell_check(f: Field) -> tuple[Callable[[str], bool], str] | None:
    """The element-wise test and its message for a field, or ``None`` for free text."""
    if f.kind == "int":
        def ok(v: str) -> bool:
            n = parse_int(v)
            return n is not None and _in_bounds(n, f)
        return ok, f"must be a whole number{_bounds_text(f)}"
    if f.kind == "number":
        def ok_num(v: str) -> bool:
            x = parse_number(v)
            return x is not None and _in_bounds(x, f)
        return ok_num, f"must be a number{_bounds_text(f)}"
    if f.kind == "choice":
        return (lambda v: v in f.choices), "must be one of: " + ", ".join(f.choices)
    if f.kind == "choices":
        return ((lambda v: all(part.strip() in f.choices for part in v.split(";"))),
                "must be one or more (';'-separated) of: " + ", ".join(f.choices))
    if f.kind == "lrt":
        return (vocab.is_valid_lrt,
                "must name treatments from " + ", ".join(vocab.LRT_TYPES)
                + " ('+' = combined, ';' = used without per-patient assignment)")
    if f.kind == "refs":
        return ((lambda v: all(part.strip() for part in v.split(";"))),
                "must be ';'-separated footnote markers")
    return None


def pandera_schema(spec: SheetSpec) -> pa.DataFrameSchema:
    """The declared schema of a sheet as a pandera ``DataFrameSchema``.

    Cells are kept as strings (empty cells as missing); every typed column gets
    an element-wise check whose ``error`` is the message a reviewer sees.
    Required columns are non-nullable; the id column must be unique.
    """
    columns: dict[str, pa.Column] = {}
    for f in spec.fields:
        checks = []
        cell = _cell_check(f)
        if cell is not None:
            test, message = cell
            checks.append(pa.Check(test, element_wise=True, ignore_na=True, error=message))
        columns[f.name] = pa.Column(
            object, checks=checks, nullable=not f.required, required=True,
            unique=(f.name == spec.id_column), report_duplicates="all",
            description=f.description or None)
    return pa.DataFrameSchema(columns, strict=True, ordered=False, name=spec.name)


# ---------------------------------------------------------------- reading

@dataclass
class SheetRead:
    """A sheet as read: its rows as strings (``None`` for empty), with their row numbers."""

    spec: SheetSpec
    path: str
    frame: pd.DataFrame
    rows: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _decode(data: bytes, label: str) -> tuple[str | None, list[Problem]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Problem(label, line, "*",
                              f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the sheet as 'CSV UTF-8'")]


def read_sheet(spec: SheetSpec, root: Path, label: str | None = None) -> SheetRead:
    """Read ``root/extracted/<sheet>.csv`` into strings and check its shape.

    Shape problems (missing file, empty file, encoding, broken quoting, a first
    row that is not a header, unknown / missing / repeated columns, rows with
    the wrong number of cells, exact duplicate rows) are collected in
    ``problems``; cell problems are found by :func:`check_cells`.
    """
    path = root / SHEETS_DIR / spec.filename
    label = label or f"{SHEETS_DIR}/{spec.filename}"
    empty = SheetRead(spec, label, pd.DataFrame(columns=list(spec.columns), dtype=object))
    if not path.is_file():
        empty.problems.append(Problem(label, 0, "*", "file is missing"))
        return empty
    text, problems = _decode(path.read_bytes(), label)
    if text is None:
        empty.problems.extend(problems)
        return empty
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        empty.problems.append(Problem(label, 0, "*", f"not a readable CSV file ({exc})"))
        return empty
    if not records or all(not any(c.strip() for c in r) for r in records):
        empty.problems.append(Problem(
            label, 1, "*", "the file is empty; expected a header row: " + ",".join(spec.columns)))
        return empty
    header = [c.strip() for c in records[0]]
    known = set(spec.columns)
    if not known.intersection(header):
        empty.problems.append(Problem(
            label, 1, "*", "the first row is not a header; expected the columns: " + ",".join(spec.columns)))
        return empty
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name == "":
            empty.problems.append(Problem(label, 1, f"#{position}", "empty column name in the header"))
        elif name in seen:
            empty.problems.append(Problem(label, 1, name, "column appears twice in the header"))
        elif name not in known:
            empty.problems.append(Problem(label, 1, name, "unknown column (expected: " + ",".join(spec.columns) + ")"))
        seen.add(name)
    for name in spec.columns:
        if name not in seen:
            what = "missing required column" if spec.field(name).required else "missing column"
            empty.problems.append(Problem(label, 1, name, what))
    if empty.problems:
        return empty

    rows: list[list[str | None]] = []
    row_numbers: list[int] = []
    problems = []
    first_seen: dict[tuple[str, ...], int] = {}
    for index, record in enumerate(records[1:], start=2):
        if not any(c.strip() for c in record):
            continue  # blank spreadsheet rows are not data
        if len(record) != len(header):
            problems.append(Problem(label, index, "*", f"has {len(record)} cells, the header has {len(header)}"))
            continue
        cells = tuple(c.strip() for c in record)
        if cells in first_seen:
            problems.append(Problem(label, index, "*", f"exact duplicate of row {first_seen[cells]}"))
            continue
        first_seen[cells] = index
        rows.append([c if c != "" else None for c in cells])
        row_numbers.append(index)
    frame = pd.DataFrame(rows, columns=header, dtype=object)[list(spec.columns)]
    frame.index = pd.RangeIndex(len(frame))
    return SheetRead(spec, label, frame, row_numbers, problems)


def check_cells(sheet: SheetRead) -> list[Problem]:
    """Validate every cell against the sheet's pandera schema; one problem per failing cell."""
    if sheet.problems and sheet.frame.empty:
        return []
    try:
        pandera_schema(sheet.spec).validate(sheet.frame, lazy=True)
    except SchemaErrors as exc:
        return sorted(_problems_from_failures(sheet, exc.failure_cases))
    return []


def _problems_from_failures(sheet: SheetRead, failures: pd.DataFrame) -> Iterable[Problem]:
    seen: set[tuple[int, str, str]] = set()
    for failure in failures.itertuples(index=False):
        column = str(failure.column) if failure.column is not None else "*"
        index = failure.index
        row = sheet.rows[int(index)] if index is not None and not pd.isna(index) else 0
        check = str(failure.check)
        if check == "not_nullable":
            message = "required value is empty"
        elif check == "field_uniqueness":
            message = f"duplicate id {failure.failure_case!r}"
        else:
            message = f"{failure.failure_case!r} {check}"
        key = (row, column, message)
        if key not in seen:
            seen.add(key)
            yield Problem(sheet.path, row, column, message)
