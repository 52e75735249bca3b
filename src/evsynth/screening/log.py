"""The screening log, ``extracted/screening.csv``: one row per candidate record.

A person edits this CSV (or records decisions with ``evsynth screen --decide``);
evsynth appends new candidates as ``pending`` and never asks again about a
record that already has a row. Rows are kept in ``record_id`` order (ids are
handed out in order of arrival), so a new search adds lines at the end and a
decision changes one line: diffs stay small.

Rules (checked by :func:`validate_log`, reported as ``file:row:column: message``
with ``row`` the row as a spreadsheet numbers it, header = row 1; that is the
line of the file unless a cell spans lines; a broken quote is reported on its line):

* ``stage`` is ``title/abstract`` or ``full text``;
* ``decision`` is ``include``, ``exclude``, ``pending`` or ``maybe``;
* an ``exclude`` at full text needs a ``reason`` from the project's list
  (``exclusion_reasons`` in ``review.toml``, default :data:`REASONS`); at
  title/abstract the reason is optional (PRISMA 2020 item 16b asks for reasons
  of full-text exclusions; Rayyan, Covidence and ASReview do not require them
  at title/abstract); ``reason`` is empty or one of the list;
* every decision other than ``pending`` names its ``reviewer`` and its
  ``date`` (ISO ``YYYY-MM-DD``);
* ``full text not retrieved`` is a full-text reason (PRISMA 2020's "reports
  not retrieved"), so it needs stage ``full text``;
* ``pmid`` is digits (empty for records from other databases), ``year`` four
  digits or empty, ``record_id`` unique;
* ``flag`` (retraction watch) is empty or one of :data:`FLAGS`;
* no other columns (evsynth rewrites the file and would drop them; remarks go in ``notes``).

A second reviewer keeps a file of the same shape, ``extracted/screening-NAME.csv``
(dual screening); the main log holds the reconciled decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from evsynth.core.atomic import write_text
from evsynth.core.csv_read import iter_records
from evsynth.core.csv_text import dataclass_csv, restore
from evsynth.core.errors import EvsynthError
from evsynth.core.screening_settings import DEFAULT_EXCLUSION_REASONS
from evsynth.core.text import CONTROL, CONTROL_OR_BREAK, control_problem

if TYPE_CHECKING:  # pandas is imported only by read_frame (the merge and run logs): `screen` starts fast
    import pandas as pd

STAGES: tuple[str, ...] = ("title/abstract", "full text")
DECISIONS: tuple[str, ...] = ("include", "exclude", "pending", "maybe")

#: The exclusion reasons of a project whose ``review.toml`` names none (a project's own
#: list is ``exclusion_reasons`` there; see :mod:`evsynth.core.settings`).
REASONS: tuple[str, ...] = DEFAULT_EXCLUSION_REASONS
NOT_RETRIEVED = "full text not retrieved"

#: Retraction watch: what PubMed's CommentsCorrections can report about a record.
FLAGS: tuple[str, ...] = ("retracted", "expression of concern", "erratum")
#: Flags that stop an ``include`` unless the reviewer allows it with a note.
BLOCKING_FLAGS: tuple[str, ...] = ("retracted", "expression of concern")
#: How an allowed inclusion of a flagged record is written into ``notes``.
ALLOWED_NOTE = "included although {flag}: {note} ({reviewer}, {date})"

#: Sources that are not a database or register search (PRISMA 2020 "other methods").
OTHER_METHODS: tuple[str, ...] = ("citation chasing", "citation searching", "cross-referencing",
                                   "handsearch", "hand searching", "websites", "organisations",
                                   "experts", "other methods")

#: Column order of the CSV. ``source`` holds one or more sources, ``;``-separated,
#: in order of arrival (the first is where the record was first seen).
COLUMNS: tuple[str, ...] = (
    "record_id", "pmid", "doi", "source", "title", "year", "first_author",
    "authors", "journal", "stage", "decision", "reason", "reviewer", "date",
    "added", "flag", "flag_detail", "notes",
)

_ID_RE = r"^R\d{5,}$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"


@dataclass(frozen=True)
class ScreeningEntry:
    """One row of the screening log (all values as written in the CSV)."""

    record_id: str
    pmid: str = ""
    doi: str = ""
    source: str = ""
    title: str = ""
    year: str = ""
    first_author: str = ""
    authors: str = ""
    journal: str = ""
    stage: str = "title/abstract"
    decision: str = "pending"
    reason: str = ""
    reviewer: str = ""
    date: str = ""
    added: str = ""
    flag: str = ""
    flag_detail: str = ""
    notes: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources, first-seen first."""
        return split_sources(self.source)

    @property
    def origin(self) -> str:
        """Where the record was first seen (the first source)."""
        return self.sources[0] if self.sources else ""

    @property
    def is_included(self) -> bool:
        """Included in the review: ``include`` at full text."""
        return self.stage == "full text" and self.decision == "include"

    @property
    def is_open(self) -> bool:
        """Still waiting for a decision (``pending`` or ``maybe``)."""
        return self.decision in ("pending", "maybe")

    @property
    def awaits_full_text(self) -> bool:
        """Included on title/abstract: the full text is to be assessed next."""
        return self.stage == "title/abstract" and self.decision == "include"


def split_sources(value: str) -> tuple[str, ...]:
    """``"pubmed; embase"`` -> ``("pubmed", "embase")`` (empty parts dropped)."""
    return tuple(part.strip() for part in value.split(";") if part.strip())


def join_sources(sources: Iterable[str]) -> str:
    """Inverse of :func:`split_sources`, keeping order and dropping repeats."""
    seen: list[str] = []
    for source in sources:
        if source and source not in seen:
            seen.append(source)
    return "; ".join(seen)


def record_id(number: int) -> str:
    """The record id for the *number*-th record ever added: ``R00001``, ..."""
    return f"R{number:05d}"


def next_record_number(entries: Sequence[ScreeningEntry]) -> int:
    """One past the highest number already used."""
    numbers = [int(e.record_id[1:]) for e in entries if re.match(_ID_RE, e.record_id)]
    return max(numbers, default=0) + 1


def _column_rules(reasons: Sequence[str]) -> dict[str, tuple[object, str]]:
    """Per-column rules of the log (cross-column rules are in :func:`_row_errors`): column ->
    (a compiled pattern the whole cell must match, or the set of allowed values, or ``1`` for
    "at least one character"; the message). Every cell is text (an empty cell is ``""``)."""
    day = r"^(\d{4}-\d{2}-\d{2})?$"
    return {
        "record_id": (re.compile(_ID_RE), "record id must look like R00001"),
        "pmid": (re.compile(r"^(\d{1,9})?$"), "PMID must be digits (or empty)"),
        "doi": (re.compile(r"^(10\.\S+/\S+)?$"), "DOI must look like 10.xxxx/... (or empty)"),
        "source": (1, "source must name at least one source"),
        "year": (re.compile(r"^(\d{4})?$"), "year must be four digits (or empty)"),
        "stage": (frozenset(STAGES), f"stage must be one of: {', '.join(STAGES)}"),
        "decision": (frozenset(DECISIONS), f"decision must be one of: {', '.join(DECISIONS)}"),
        "reason": (frozenset(("", *reasons)), "reason must be empty or one of: " + ", ".join(reasons)),
        "date": (re.compile(day), "date must be YYYY-MM-DD (or empty)"),
        "added": (re.compile(day), "added must be YYYY-MM-DD (or empty)"),
        "flag": (frozenset(("",) + FLAGS), "flag must be empty or one of: " + ", ".join(FLAGS)),
    }


def _cell_errors(table: LogTable, reasons: Sequence[str]) -> list[tuple[int, str, str]]:
    """Cells breaking their column's rule (:func:`_column_rules`), as ``'MESSAGE (got 'VALUE')'``,
    and every record id that repeats an earlier one (``duplicate record id R00001``)."""
    errors: list[tuple[int, str, str]] = []
    for column, (rule, message) in _column_rules(reasons).items():
        for number, value in zip(table.numbers, table.column(column)):
            if isinstance(rule, re.Pattern):
                ok = rule.match(value) is not None
            elif isinstance(rule, frozenset):
                ok = value in rule
            else:
                ok = len(value) >= 1
            if not ok:
                errors.append((number, column, f"{message} (got {value!r})"))
    seen: set[str] = set()
    for number, value in zip(table.numbers, table.column("record_id")):
        if value in seen:
            errors.append((number, "record_id", f"duplicate record id {value}"))
        seen.add(value)
    return errors


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_calendar_day(value: str) -> bool:
    import datetime

    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class LogTable:
    """A CSV log as read by :func:`read_table`: its header, its rows of text and their row numbers
    (as a spreadsheet numbers them; the header is row 1)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numbers: tuple[int, ...]

    def column(self, name: str) -> list[str]:
        """The cells of column *name*, top to bottom."""
        position = self.header.index(name)
        return [row[position] for row in self.rows]

    def stripped(self) -> LogTable:
        """Column names and cells without surrounding white space (how the log is checked and read)."""
        return LogTable(tuple(c.strip() for c in self.header),
                        tuple(tuple(v.strip() for v in row) for row in self.rows), self.numbers)


def _row_errors(table: LogTable) -> list[tuple[int, str, str]]:
    """Rules that tie columns together: (row number, column, message)."""
    errors: list[tuple[int, str, str]] = []
    columns = ("decision", "reason", "stage", "reviewer", "date", "added")
    for index, decision, reason, stage, reviewer, day, added in zip(
            table.numbers, *(table.column(c) for c in columns)):
        for column, value in (("date", day), ("added", added)):
            if value and _ISO_DAY.match(value) and not _is_calendar_day(value):
                errors.append((index, column, f"{value} is not a calendar date"))
        if decision == "exclude" and not reason and stage == "full text":
            errors.append((index, "reason",
                           "an exclude at full text needs a reason from the controlled list"))
        if decision in ("include", "exclude", "maybe"):
            if not reviewer:
                errors.append((index, "reviewer", f"a decision '{decision}' needs a reviewer"))
            if not day:
                errors.append((index, "date", f"a decision '{decision}' needs a date"))
        if reason == NOT_RETRIEVED and stage != "full text":
            errors.append((index, "stage", f"reason '{NOT_RETRIEVED}' needs stage 'full text'"))
        if reason and decision != "exclude":
            errors.append((index, "reason", "a reason is only given with decision 'exclude'"))
    return errors


def _control_errors(table: LogTable) -> list[tuple[int, str, str]]:
    """Cells holding an invisible control character (:mod:`evsynth.core.text`); record ids also no breaks."""
    errors: list[tuple[int, str, str]] = []
    for column in COLUMNS:
        pattern = CONTROL_OR_BREAK if column == "record_id" else CONTROL
        for index, value in zip(table.numbers, table.column(column)):
            if pattern.search(value):
                message = control_problem(value, breaks_allowed=column != "record_id")
                if message:
                    errors.append((index, column, message))
    return errors


def validate_table(table: LogTable, name: str, reasons: Sequence[str] = REASONS) -> list[str]:
    """All problems of a log read by :func:`read_table` (cells stripped), as
    ``name:row:column: message`` lines, row by row and in column order.

    Plain Python (no pandas/pandera: ``evsynth screen`` and ``validate`` start fast); the
    messages are those the pandera schema of earlier versions gave
    (``tests/test_screening_log_rules.py`` compares the two on hostile logs).
    """
    missing = [c for c in COLUMNS if c not in table.header]
    if missing:
        return [f"{name}:1: missing column(s): {', '.join(missing)}"]
    unknown = [c for c in table.header if c not in COLUMNS]
    if unknown:
        # evsynth rewrites the log: a column it does not know would be lost.
        return [f"{name}:1:{c}: unknown column (put remarks in 'notes')" for c in unknown]
    problems = _cell_errors(table, reasons) + _row_errors(table) + _control_errors(table)
    problems.sort(key=lambda p: (p[0], COLUMNS.index(p[1]) if p[1] in COLUMNS else 99, p[2]))
    return [f"{name}:{row}:{column}: {message}" for row, column, message in problems]


def read_table(path: Path, expected: Sequence[str] = COLUMNS) -> LogTable:
    """The CSV as text (neutralised formulas restored), with row numbers, or a one-line error.

    Rows are numbered as a spreadsheet shows them (the header is row 1; blank
    rows are skipped but counted). A file that is empty, whose first row is not
    a header with at least one of the *expected* columns, that is not UTF-8,
    that has a broken quote or a row with more or fewer cells than the header is
    refused with ``file:row:column: message`` (a quoting error names the line of
    the file where the broken quote stands).
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise EvsynthError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EvsynthError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise EvsynthError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EvsynthError(f"{path}:{line}:*: not UTF-8 (byte 0x{data[exc.start]:02x}); "
                           "save the file as 'CSV UTF-8'") from None
    records = iter_records(text, str(path))
    first = next((r for r in records if not r.blank), None)
    wanted = ",".join(expected)
    if first is None:
        raise EvsynthError(f"{path}:1:*: the file is empty; expected the header {wanted} "
                           "(a log with nothing in it yet is that header line alone)")
    header = [c.strip() for c in first.cells]
    if first.line != 1 or not set(expected).intersection(header):
        raise EvsynthError(f"{path}:1:*: the first row is not the header; expected {wanted}")
    for name in header:
        if header.count(name) > 1:
            raise EvsynthError(f"{path}:1:{name or '*'}: column appears twice in the header")
    rows: list[tuple[str, ...]] = []
    numbers: list[int] = []
    for number, record in enumerate(records, start=2):
        if record.blank:
            continue
        if len(record.cells) != len(header):
            raise EvsynthError(f"{path}:{number}:*: has {len(record.cells)} cells, "
                               f"the header has {len(header)}")
        rows.append(tuple(restore(cell) for cell in record.cells))  # the apostrophe evsynth put before a formula start
        numbers.append(number)
    return LogTable(tuple(header), tuple(rows), tuple(numbers))


def read_frame(path: Path, expected: Sequence[str] = COLUMNS) -> pd.DataFrame:
    """:func:`read_table` as a pandas frame of strings (nothing turned into NaN), indexed by row number."""
    import pandas as pd

    table = read_table(path, expected)
    return pd.DataFrame([list(row) for row in table.rows], columns=list(table.header),
                        index=pd.Index(list(table.numbers), dtype="int64"), dtype=object)


def validate_log(path: str | Path, reasons: Sequence[str] = REASONS) -> list[str]:
    """Every problem of the log at *path* as ``file:row:column: message`` lines (none: valid).

    An absent log is valid (nothing screened yet).
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        table = read_table(path).stripped()
    except EvsynthError as exc:
        return [str(exc)]
    return validate_table(table, str(path), reasons)


def load_log(path: str | Path, *, missing_ok: bool = True,
             reasons: Sequence[str] = REASONS) -> list[ScreeningEntry]:
    """Read and validate a screening log; an absent file is an empty log when *missing_ok*.

    Raises :class:`EvsynthError` with the first problems (``file:row:column: message``).
    """
    path = Path(path)
    if not path.exists() and missing_ok:
        return []
    table = read_table(path).stripped()
    problems = validate_table(table, str(path), reasons)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise EvsynthError(problems[0] + more)
    positions = [table.header.index(f.name) for f in fields(ScreeningEntry)]
    return [ScreeningEntry(*(row[i] for i in positions)) for row in table.rows]


def render_log(entries: Iterable[ScreeningEntry]) -> str:
    """The CSV text of a log: fixed columns, rows in record-id order, ``\\n`` line ends."""
    return dataclass_csv(sorted(entries, key=lambda e: (len(e.record_id), e.record_id)), COLUMNS)


def save_log(path: str | Path, entries: Iterable[ScreeningEntry]) -> None:
    """Write the log atomically (see :func:`render_log`)."""
    write_text(path, render_log(entries))


def find_entry(entries: Sequence[ScreeningEntry], key: str) -> int:
    """Index of the row with record id (or PMID) *key*, or a one-line error."""
    for index, entry in enumerate(entries):
        if entry.record_id == key or (entry.pmid and entry.pmid == key):
            return index
    shown = key if len(key) <= 80 else key[:80] + f"… ({len(key):,} characters)"
    raise EvsynthError(f"no record {shown!r} in the screening log")


def is_blocked(entry: ScreeningEntry) -> bool:
    """True when the record is flagged retracted or with an expression of concern."""
    return entry.flag in BLOCKING_FLAGS


def decide(entries: Sequence[ScreeningEntry], key: str, decision: str, *, reviewer: str,
           date: str, reason: str = "", stage: str | None = None,
           reasons: Sequence[str] = REASONS, allow_retracted: bool = False,
           note: str = "") -> list[ScreeningEntry]:
    """Record a decision for one record; returns the new log (the input is not changed).

    The same rules as for an edited CSV apply (an exclude at full text needs a
    reason from *reasons*, every decision names a reviewer and a date). A record
    flagged retracted or with an expression of concern is included only with
    *allow_retracted* and a *note* saying why; the note goes into ``notes``.
    """
    if decision not in DECISIONS:
        raise EvsynthError(f"decision must be one of: {', '.join(DECISIONS)}")
    if reason and reason not in reasons:
        raise EvsynthError(f"reason {reason!r} is not in the controlled list: {', '.join(reasons)}")
    if reason and decision != "exclude":
        raise EvsynthError("--reason is only given with decision 'exclude'")
    problem = control_problem(reviewer, breaks_allowed=False)
    if problem:
        raise EvsynthError(f"reviewer: {problem.replace('an id holds', 'the name holds')}")
    if decision != "pending" and not reviewer:
        raise EvsynthError("a decision needs --reviewer")
    if not re.match(_DATE_RE, date):
        raise EvsynthError(f"date {date!r} must be YYYY-MM-DD")
    if stage is not None and stage not in STAGES:
        raise EvsynthError(f"stage must be one of: {', '.join(STAGES)}")
    index = find_entry(entries, key)
    old = entries[index]
    new_stage = stage or old.stage
    if decision == "exclude" and not reason and new_stage == "full text":
        raise EvsynthError("an exclude at full text needs --reason (one of: "
                           + ", ".join(reasons) + ")")
    if reason == NOT_RETRIEVED and new_stage != "full text":
        raise EvsynthError(f"reason '{NOT_RETRIEVED}' needs --stage 'full text'")
    notes = old.notes
    if decision == "include" and is_blocked(old):
        if not allow_retracted:
            raise EvsynthError(
                f"{old.record_id} is flagged {old.flag.upper()} ({old.flag_detail or 'retraction watch'}): "
                "include it only with --allow-retracted --note TEXT")
        if not " ".join(note.split()):
            raise EvsynthError(f"{old.record_id}: --allow-retracted needs --note TEXT (why it is included)")
        allowed = ALLOWED_NOTE.format(flag=old.flag, note=" ".join(note.split()),
                                      reviewer=reviewer, date=date)
        notes = "; ".join(p for p in (old.notes, allowed) if p)
    updated = replace(old, decision=decision, reason=reason, reviewer=reviewer,
                      date=date, stage=new_stage, notes=notes)
    result = list(entries)
    result[index] = updated
    return result
