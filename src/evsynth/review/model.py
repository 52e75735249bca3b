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

from evsynth.sheets import engine as sheets
from evsynth.core.errors import EvsynthError
from evsynth.sheets.engine import Problem, SheetRead, SheetSpec


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
