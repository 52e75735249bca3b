"""Reading the review: its sheet specification, then every sheet read once through the sheet engine,
checked, then typed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from evsynth.review.checks import cross_sheet_problems
from evsynth.review.model import Review, SheetsInvalid, typed_frame
from evsynth.sheets import engine as sheets
from evsynth.sheets.engine import Problem, SheetRead
from evsynth.sheets.spec import SPEC_FILE, SheetSet, load_sheet_set


def review_sheets(root: Path) -> SheetSet:
    """The sheets the project under *root* declares (``sheets.toml``); :class:`SpecError` when it is wrong."""
    return load_sheet_set(root / SPEC_FILE, SPEC_FILE)


def sheet_hash(root: Path, sheet_set: SheetSet) -> str:
    """SHA-256 over every sheet's bytes, in a fixed order (the page header shows it)."""
    digest = hashlib.sha256()
    for spec in sheet_set.sheets:
        path = root / sheets.SHEETS_DIR / spec.filename
        digest.update(spec.filename.encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def read_all(root: Path, sheet_set: SheetSet) -> tuple[dict[str, SheetRead], list[Problem]]:
    """Read every declared sheet and run the per-sheet checks; return the reads and all problems."""
    reads: dict[str, SheetRead] = {}
    problems: list[Problem] = []
    for spec in sheet_set.sheets:
        read = sheets.read_sheet(spec, root)
        problems.extend(read.problems)
        problems.extend(sheets.check_cells(read))
        reads[spec.name] = read
    return reads, problems


def _problems(reads: dict[str, SheetRead], problems: list[Problem], sheet_set: SheetSet) -> list[Problem]:
    if problems:
        return sorted(problems)
    return sorted([*sheets.reference_problems(reads, sheet_set), *cross_sheet_problems(reads)])


def validate(root: Path) -> list[Problem]:
    """Every problem in the sheets under *root* (empty list when they are valid)."""
    sheet_set = review_sheets(root)
    reads, problems = read_all(root, sheet_set)
    return _problems(reads, problems, sheet_set)


def load_review(root: Path) -> Review:
    """Read, validate and type every sheet under *root*; raise :class:`SheetsInvalid` on any problem."""
    sheet_set = review_sheets(root)
    reads, problems = read_all(root, sheet_set)
    problems = _problems(reads, problems, sheet_set)
    if problems:
        raise SheetsInvalid(problems)
    typed = {name: typed_frame(read) for name, read in reads.items()}
    return Review(root=root, sheets=sheet_set, frames=typed, content_hash=sheet_hash(root, sheet_set))
