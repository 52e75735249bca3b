"""Reading the review: every sheet read once through the sheet engine, checked, then typed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from evsynth.review.checks import cross_sheet_problems
from evsynth.review.model import Review, SheetsInvalid, typed_frame
from evsynth.review import sheet_specs
from evsynth.sheets import engine as sheets
from evsynth.sheets.engine import Problem, SheetRead


def sheet_hash(root: Path) -> str:
    """SHA-256 over every sheet's bytes, in a fixed order (the page header shows it)."""
    digest = hashlib.sha256()
    for spec in sheet_specs.ALL_SHEETS:
        path = root / sheets.SHEETS_DIR / spec.filename
        digest.update(spec.filename.encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def read_all(root: Path) -> tuple[dict[str, SheetRead], list[Problem]]:
    """Read every sheet and run the per-sheet checks; return the reads and all problems."""
    reads: dict[str, SheetRead] = {}
    problems: list[Problem] = []
    for spec in sheet_specs.ALL_SHEETS:
        read = sheets.read_sheet(spec, root)
        problems.extend(read.problems)
        problems.extend(sheets.check_cells(read))
        reads[spec.name] = read
    return reads, problems


def validate(root: Path) -> list[Problem]:
    """Every problem in the sheets under *root* (empty list when they are valid)."""
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
    typed = {name: typed_frame(read) for name, read in reads.items()}
    return Review(root=root, content_hash=sheet_hash(root), **typed)
