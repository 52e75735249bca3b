"""The review as data: every curated sheet read, validated and typed.

:func:`load_review` is the one entry point: it reads each sheet
(:mod:`evsynth.sheets`), runs the cell checks and the cross-sheet checks
(:mod:`evsynth.validation`) and returns a :class:`Review` of typed pandas
frames, or raises :class:`SheetsInvalid` with every problem found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evsynth import sheets
from evsynth.errors import EvsynthError
from evsynth.sheets import Problem, SheetRead, SheetSpec


class SheetsInvalid(EvsynthError):
    """The sheets have problems; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the sheets; run 'evsynth validate' to list them")


@dataclass(frozen=True)
class Review:
    """Typed frames of every sheet, plus each row's spreadsheet row number (column ``_row``)."""

    root: Path
    studies: pd.DataFrame
    cohorts: pd.DataFrame
    adverse_events: pd.DataFrame
    case_patients: pd.DataFrame
    case_procedures: pd.DataFrame
    case_adverse_events: pd.DataFrame
    guidelines: pd.DataFrame
    footnotes: pd.DataFrame
    claims: pd.DataFrame
    content_hash: str

    def footnote(self, table: str, marker: str) -> str:
        """What a footnote marker of a printed table means."""
        rows = self.footnotes[(self.footnotes["table"] == table) & (self.footnotes["marker"] == marker)]
        return str(rows["meaning"].iloc[0]) if len(rows) else ""


def _typed(sheet: SheetRead) -> pd.DataFrame:
    """Convert the string cells of a valid sheet to their declared types."""
    frame = sheet.frame.copy()
    for f in sheet.spec.fields:
        column = frame[f.name]
        if f.kind == "int":
            frame[f.name] = pd.array([None if v is None else int(v) for v in column], dtype="Int64")
        elif f.kind == "number":
            frame[f.name] = pd.array([None if v is None else float(v) for v in column], dtype="Float64")
        else:
            frame[f.name] = column.astype(object).where(column.notna(), "")
    frame["_row"] = sheet.rows
    return frame


def sheet_hash(root: Path) -> str:
    """SHA-256 over every sheet's bytes, in a fixed order (the page header shows it)."""
    digest = hashlib.sha256()
    for spec in sheets.ALL_SHEETS:
        path = root / sheets.SHEETS_DIR / spec.filename
        digest.update(spec.filename.encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def read_all(root: Path) -> tuple[dict[str, SheetRead], list[Problem]]:
    """Read every sheet and run the per-sheet checks; return the reads and all problems."""
    reads: dict[str, SheetRead] = {}
    problems: list[Problem] = []
    for spec in sheets.ALL_SHEETS:
        read = sheets.read_sheet(spec, root)
        problems.extend(read.problems)
        problems.extend(sheets.check_cells(read))
        reads[spec.name] = read
    return reads, problems


def validate(root: Path) -> list[Problem]:
    """Every problem in the sheets under *root* (empty list when they are valid)."""
    from evsynth.validation import cross_sheet_problems

    reads, problems = read_all(root)
    if problems:
        return sorted(problems)
    return sorted(cross_sheet_problems(reads))


def load_review(root: Path) -> Review:
    """Read, validate and type every sheet under *root*; raise :class:`SheetsInvalid` on any problem."""
    problems = validate(root)
    if problems:
        raise SheetsInvalid(problems)
    reads, _ = read_all(root)
    typed = {name: _typed(read) for name, read in reads.items()}
    return Review(root=root, content_hash=sheet_hash(root), **typed)


def spec_of(name: str) -> SheetSpec:
    """The declared sheet called *name*."""
    return sheets.SHEETS_BY_NAME[name]
