"""The review as data: typed frames of every curated sheet.

:func:`evsynth.review.load.load_review` is the one entry point: it reads each
sheet (:mod:`evsynth.sheets.engine`), runs the cell checks and the
cross-sheet checks (:mod:`evsynth.review.checks`) and returns a
:class:`Review`, or raises :class:`SheetsInvalid` with every problem found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evsynth.core.errors import EvsynthError
from evsynth.sheets.engine import Problem, SheetRead
from evsynth.sheets.spec import SheetSet


class SheetsInvalid(EvsynthError):
    """The sheets have problems; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the sheets; run 'evsynth validate' to list them")


#: The sheets of the case-series review type, by the part of the review they feed. A project
#: declares the sheets it has in ``sheets.toml``; the page shows only the parts whose sheets it declares.
LITERATURE_SHEETS = ("studies", "cohorts", "adverse_events", "footnotes")
CASE_SERIES_SHEETS = ("case_patients", "case_procedures", "case_adverse_events")
GUIDELINE_SHEETS = ("guidelines",)
CLAIM_SHEETS = ("claims", "cohorts")
APPRAISAL_SHEETS = ("appraisal",)


@dataclass(frozen=True)
class Review:
    """Typed frames of every declared sheet, plus each row's spreadsheet row number (column ``_row``)."""

    root: Path
    sheets: SheetSet
    frames: dict[str, pd.DataFrame]
    content_hash: str

    def has(self, *names: str) -> bool:
        """True when the project declares every sheet in *names*."""
        return all(name in self.frames for name in names)

    def frame(self, name: str) -> pd.DataFrame:
        """The typed frame of sheet *name* (``KeyError`` when the project does not declare it)."""
        return self.frames[name]

    studies = property(lambda self: self.frames["studies"])
    cohorts = property(lambda self: self.frames["cohorts"])
    adverse_events = property(lambda self: self.frames["adverse_events"])
    case_patients = property(lambda self: self.frames["case_patients"])
    case_procedures = property(lambda self: self.frames["case_procedures"])
    case_adverse_events = property(lambda self: self.frames["case_adverse_events"])
    guidelines = property(lambda self: self.frames["guidelines"])
    footnotes = property(lambda self: self.frames["footnotes"])
    claims = property(lambda self: self.frames["claims"])
    appraisal = property(lambda self: self.frames["appraisal"])

    def footnote(self, table: str, marker: str) -> str:
        """What a footnote marker of a printed table means."""
        rows = self.footnotes[(self.footnotes["table"] == table) & (self.footnotes["marker"] == marker)]
        return str(rows["meaning"].iloc[0]) if len(rows) else ""


def typed_frame(sheet: SheetRead) -> pd.DataFrame:
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
