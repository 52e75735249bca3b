"""The curated extraction sheets: their declared schemas and a reader that reports
every problem as ``file:row:column: message``.

Each sheet is a UTF-8 CSV in ``extracted/`` that a reviewer edits in a
spreadsheet. Row numbers are spreadsheet rows (the header is row 1). Every
column is declared once, in the project's specification file
(:mod:`evsynth.sheets.spec`); the declaration is turned into a pandera
``DataFrameSchema`` (:func:`pandera_schema`) that does the per-cell and
per-column checks, and declared cross-sheet references are checked by
:func:`reference_problems`. Checks specific to a review type live with it
(e.g. :mod:`evsynth.review.checks`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING, Any

from evsynth.core.csv_read import CsvSyntaxError, iter_records
from evsynth.core.text import CONTROL_OR_BREAK, control_problem
from evsynth.core.project import EXTRACTED
from evsynth.sheets.expressions import ROW_KEY, ExpressionError, SheetData, check, parse_condition, typed_row
from evsynth.sheets.spec import SPEC_FILE, Field, SheetSet, SheetSpec

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa


#: The sheets' folder in the project (:mod:`evsynth.core.project`).
SHEETS_DIR = EXTRACTED


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a sheet, printed as ``file:row:column: message``."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


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
    if f.kind == "combination":
        return ((lambda v: all(atom in f.choices for part in v.split(";") for atom in part.split("+"))),
                "must name values from " + ", ".join(f.choices) + " joined by '+' or ';'")
    if f.kind == "refs":
        return ((lambda v: all(part.strip() for part in v.split(";"))),
                "must be ';'-separated footnote markers")
    return None


def pandera_schema(spec: SheetSpec) -> pa.DataFrameSchema:
    """The declared schema of a sheet as a pandera ``DataFrameSchema``.

    Cells are kept as strings (empty cells as missing); every typed column gets
    an element-wise check whose ``error`` is the message a reviewer sees.
    Required columns are non-nullable; the id column must be unique.
    (:func:`check_cells` applies the same rules without pandera on sheets of up to
    :data:`PYTHON_CHECK_ROWS` rows; pandera is imported here, when a schema is built.)
    """
    import pandera.pandas as pa

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

#: A row of a sheet as read: every declared column (in the specification's order) -> its text, ``None`` when empty.
Record = dict[str, "str | None"]


@dataclass
class SheetRead:
    """A sheet as read: its rows as strings (``None`` for empty), with their row numbers.

    ``records`` holds the rows as plain dictionaries (every declared column, in the
    specification's order), what the checks of ``evsynth validate`` read without pandas;
    :attr:`frame` is the same rows as a pandas frame of strings (object columns, a
    ``RangeIndex``), built when first asked (pandas is imported then).
    """

    spec: SheetSpec
    path: str
    records: list[Record] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as a pandas frame of strings (``None`` for empty), columns in the specification's order."""
        cached = self.__dict__.get("_frame")
        if cached is not None and cached[0] is self.records and cached[1] == len(self.records):
            return cached[2]
        import pandas as pd

        columns = list(self.spec.columns)
        frame = pd.DataFrame([[r[c] for c in columns] for r in self.records], columns=columns, dtype=object)
        frame.index = pd.RangeIndex(len(frame))
        self.__dict__["_frame"] = (self.records, len(self.records), frame)
        return frame

    def typed_rows(self) -> list[dict[str, Any]]:
        """The rows as typed values (:func:`~evsynth.sheets.expressions.typed_row`, for a sheet whose cells
        parse) plus ``_row``, the spreadsheet row; computed once, shared: not to be changed."""
        cached = self.__dict__.get("_typed")
        if cached is not None and cached[0] is self.records and cached[1] == len(self.records):
            return cached[2]
        typed = [typed_row(self.spec, record) | {ROW_KEY: number} for number, record in zip(self.rows, self.records)]
        self.__dict__["_typed"] = (self.records, len(self.records), typed)
        return typed

    def column(self, name: str) -> list[str | None]:
        """The cells of column *name*, row by row."""
        return [r[name] for r in self.records]


@dataclass(frozen=True)
class SheetLimits:
    """How large a sheet may be before evsynth refuses it (one ``file:row:column`` line each).

    Curated extraction sheets of a review of small studies hold tens to a few
    thousand rows; a file far beyond that is an export gone wrong, and reading
    it would only make a page and supplementary files nobody can use (an XLSX
    cell holds at most 32,767 characters). The defaults:

    * ``max_bytes`` 5,000,000 — checked before the file is read, so an
      oversized file fails at once (reported on the line where the limit is passed);
    * ``max_rows`` 10,000 data rows (blank rows not counted; the header is not a data row);
    * ``max_cell_chars`` 10,000 characters in one cell.
    """

    max_bytes: int = 5_000_000
    max_rows: int = 10_000
    max_cell_chars: int = 10_000


DEFAULT_LIMITS = SheetLimits()

def _decode(data: bytes, label: str) -> tuple[str | None, list[Problem]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Problem(label, line, "*",
                              f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the sheet as 'CSV UTF-8'")]


def _too_large(path: Path, label: str, size: int, limits: SheetLimits) -> Problem:
    """The file is over ``max_bytes``: name the line where the limit is passed (reading no further)."""
    with path.open("rb") as handle:
        head = handle.read(limits.max_bytes)
    line = head.count(b"\n") + 1
    return Problem(label, line, "*", f"the file is {size:,} bytes, over the limit of {limits.max_bytes:,} "
                   "bytes for one sheet (passed on this line); is it the right file?")


def read_sheet(spec: SheetSpec, root: Path, label: str | None = None,
               limits: SheetLimits = DEFAULT_LIMITS) -> SheetRead:
    """Read ``root/extracted/<sheet>.csv`` into strings and check its shape.

    Shape problems (missing file, a file over *limits*, empty file, encoding,
    broken quoting, a first row that is not a header, unknown / missing /
    repeated columns, rows with the wrong number of cells, too many rows, a
    cell that is too long or holds a control character (:mod:`evsynth.core.text`),
    exact duplicate rows)
    are collected in ``problems``; cell problems are found by :func:`check_cells`.
    Rows are spreadsheet rows (the header is row 1); a quoting error is
    reported on the line of the file where the broken quote stands.
    """
    path = root / SHEETS_DIR / spec.filename
    label = label or f"{SHEETS_DIR}/{spec.filename}"
    empty = SheetRead(spec, label)
    if not path.is_file():
        missing = not path.exists() and not path.is_symlink()
        empty.problems.append(Problem(label, 0, "*", "file is missing" if missing else
                                      "not a regular file (a folder, FIFO, device or a broken link); "
                                      "a sheet is a CSV file"))
        return empty
    size = path.stat().st_size
    if size > limits.max_bytes:
        empty.problems.append(_too_large(path, label, size, limits))
        return empty
    text, problems = _decode(path.read_bytes(), label)
    if text is None:
        empty.problems.extend(problems)
        return empty
    records = iter_records(text, label)
    try:
        first = next((r for r in records if not r.blank), None)
    except CsvSyntaxError as exc:
        empty.problems.append(Problem(label, exc.line, exc.column, exc.message))
        return empty
    if first is None:
        empty.problems.append(Problem(
            label, 1, "*", "the file is empty; expected a header row: " + ",".join(spec.columns)))
        return empty
    header = [c.strip() for c in first.cells]
    known = set(spec.columns)
    if first.line != 1 or not known.intersection(header):
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
        if name not in seen and name not in spec.optional_columns:
            what = "missing required column" if spec.field(name).required else "missing column"
            empty.problems.append(Problem(label, 1, name, what))
    if empty.problems:
        return empty

    rows: list[list[str | None]] = []
    row_numbers: list[int] = []
    problems = []
    first_seen: dict[tuple[str, ...], int] = {}
    scan_controls = CONTROL_OR_BREAK.search(text) is not None
    id_position = header.index(spec.id_column) if spec.id_column in header else -1
    count = 0
    try:
        for index, record in enumerate(records, start=2):
            if record.blank:
                continue  # blank spreadsheet rows are not data
            count += 1
            if count > limits.max_rows:
                empty.problems.extend(problems)
                empty.problems.append(Problem(label, index, "*", f"more than {limits.max_rows:,} data rows, "
                                              "the limit for one sheet; is it the right file?"))
                return empty
            if len(record.cells) != len(header):
                problems.append(Problem(label, index, "*",
                                        f"has {len(record.cells)} cells, the header has {len(header)}"))
                continue
            cells = tuple(c.strip() for c in record.cells)
            bad = False
            for position, cell in enumerate(cells):
                if len(cell) > limits.max_cell_chars:
                    problems.append(Problem(label, index, header[position],
                                            f"the cell has {len(cell):,} characters, over the limit of "
                                            f"{limits.max_cell_chars:,} for one cell"))
                    bad = True
                elif scan_controls:
                    message = control_problem(cell, breaks_allowed=position != id_position)
                    if message:
                        problems.append(Problem(label, index, header[position], message))
                        bad = True
            if bad:
                continue
            if cells in first_seen:
                problems.append(Problem(label, index, "*", f"exact duplicate of row {first_seen[cells]}"))
                continue
            first_seen[cells] = index
            rows.append([c if c != "" else None for c in cells])
            row_numbers.append(index)
    except CsvSyntaxError as exc:
        empty.problems.extend(problems)
        empty.problems.append(Problem(label, exc.line, exc.column, exc.message))
        return empty
    positions = [(name, header.index(name) if name in header else -1) for name in spec.columns]
    records = [{name: (row[i] if i >= 0 else None) for name, i in positions} for row in rows]
    return SheetRead(spec, label, records, row_numbers, problems)


#: Sheets of up to this many rows are checked by :func:`python_cell_problems` (same rules and
#: messages as the pandera schema, without importing pandera: ``evsynth validate`` starts fast);
#: larger ones by pandera (:func:`pandera_schema`).
PYTHON_CHECK_ROWS = 2_000


def check_cells(sheet: SheetRead) -> list[Problem]:
    """Validate every cell against the sheet's declared schema; one problem per failing cell.

    Up to :data:`PYTHON_CHECK_ROWS` rows the checks run in plain Python
    (:func:`python_cell_problems`), beyond that through the pandera schema
    (:func:`pandera_schema`); both give the same problems (``tests/test_sheets.py``).
    """
    if sheet.problems and not sheet.records:
        return []
    if len(sheet.records) <= PYTHON_CHECK_ROWS:
        return python_cell_problems(sheet)
    return pandera_cell_problems(sheet)


def pandera_cell_problems(sheet: SheetRead) -> list[Problem]:
    """The cell problems as the pandera schema finds them (sorted)."""
    from pandera.errors import SchemaErrors

    try:
        pandera_schema(sheet.spec).validate(sheet.frame, lazy=True)
    except SchemaErrors as exc:
        return sorted(_problems_from_failures(sheet, exc.failure_cases))
    return []


def python_cell_problems(sheet: SheetRead) -> list[Problem]:
    """The cell problems :func:`pandera_schema` would report, found in plain Python (sorted).

    Per column: an empty cell of a required column is ``required value is empty``;
    a non-empty cell failing the column's element-wise test (:func:`_cell_check`) is
    ``'VALUE' MESSAGE``; every row whose id repeats another's (all of them, as pandera's
    ``report_duplicates="all"``) is ``duplicate id 'VALUE'``.
    """
    problems: set[Problem] = set()
    for f in sheet.spec.fields:
        if f.name not in sheet.spec.columns:
            continue
        cells: list[Any] = sheet.column(f.name)
        cell = _cell_check(f)
        counts: dict[Any, int] = {}
        if f.name == sheet.spec.id_column:
            for value in cells:
                if value is not None:
                    counts[value] = counts.get(value, 0) + 1
        for row, value in zip(sheet.rows, cells):
            if value is None:
                if f.required:
                    problems.add(Problem(sheet.path, row, f.name, "required value is empty"))
                continue
            if cell is not None and not cell[0](value):
                problems.add(Problem(sheet.path, row, f.name, f"{value!r} {cell[1]}"))
            if counts.get(value, 0) > 1:
                problems.add(Problem(sheet.path, row, f.name, f"duplicate id {value!r}"))
    return sorted(problems)


def _problems_from_failures(sheet: SheetRead, failures: pd.DataFrame) -> Iterable[Problem]:
    import pandas as pd

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


def reference_problems(reads: dict[str, SheetRead], sheet_set: SheetSet) -> Iterator[Problem]:
    """Every value of a column declared with ``ref = "sheet.column"`` that is not in that column.

    Sheets not in *reads* are skipped; message: ``'X' is not a <column> in <sheet>.csv``.
    """
    for spec in sheet_set.sheets:
        child = reads.get(spec.name)
        for f in spec.fields:
            if not f.ref or child is None:
                continue
            parent, _, key = f.ref.partition(".")
            if parent not in reads:
                continue
            known = {v for v in reads[parent].column(key) if v is not None}
            for row, value in zip(child.rows, child.column(f.name)):
                if value is not None and value not in known:
                    yield Problem(child.path, row, f.name, f"{value!r} is not a {key} in {parent}.csv")


def rule_problems(reads: dict[str, SheetRead], sheet_set: SheetSet, source: str = SPEC_FILE,
                  rows: dict[str, list[dict[str, Any]]] | None = None) -> Iterator[Problem]:
    """Every row that breaks one of its sheet's ``rules`` (sheets.toml), as ``file:row:column: message``.

    A rule is a condition in the expression language (:mod:`evsynth.sheets.expressions`) on one row;
    it may follow declared references (``study_id.design``) and aggregate other sheets. A rule that
    does not parse or names an unknown column is one problem of *source*
    (``sheets.toml:0:sheets.NAME.rules: ...``). Sheets not in *reads* are skipped. *rows*: the
    typed rows of each sheet (each with ``_row``), if the caller has them already (by default,
    :meth:`SheetRead.typed_rows`).
    """
    if rows is None:
        rows = {name: read.typed_rows() for name, read in reads.items()}
    context = SheetData(rows, sheet_set)
    for spec in sheet_set.sheets:
        if spec.name not in reads:
            continue
        for rule in spec.rules:
            try:
                condition = parse_condition(rule.condition)
                problems = check(condition, sheet_set, sheet=spec.name)
                if problems:
                    raise problems[0]
            except ExpressionError as exc:
                yield Problem(source, 0, f"sheets.{spec.name}.rules", f"{rule.condition}: {exc}")
                continue
            for row in rows[spec.name]:
                try:
                    ok = condition.test(row, context, spec.name)
                except ExpressionError as exc:
                    yield Problem(reads[spec.name].path, row["_row"], rule.column, f"{rule.message} ({exc})")
                    continue
                if not ok:
                    yield Problem(reads[spec.name].path, row["_row"], rule.column, rule.message)
