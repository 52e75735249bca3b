"""The review as data: typed frames of every curated sheet.

:func:`evsynth.review.load.load_review` is the one entry point: it reads each
sheet (:mod:`evsynth.sheets.engine`), runs the cell checks and the
cross-sheet checks (:mod:`evsynth.review.checks`) and returns a
:class:`Review`, or raises :class:`SheetsInvalid` with every problem found.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any
from pathlib import Path

from evsynth.core.errors import EvsynthError
from evsynth.sheets.engine import Problem, SheetRead
from evsynth.sheets.expressions import ROW_KEY
from evsynth.sheets.spec import SheetSet

if TYPE_CHECKING:
    import pandas as pd

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
CLAIM_SHEETS = ("claims",)
APPRAISAL_SHEETS = ("appraisal",)


@dataclass(frozen=True)
class AwaitingStudy:
    """A study whose rows are still being curated (``extraction = incomplete`` in studies.csv)."""

    study_id: str
    citation: str
    added_in: str
    record_id: str
    pmid: str
    row: int
    #: What is still to curate, one cell per item (``file:row:column: to curate for ...``).
    to_curate: tuple[Problem, ...]


@dataclass(frozen=True)
class Review:
    """Typed frames of every declared sheet, plus each row's spreadsheet row number (column ``_row``).

    Studies awaiting extraction are not in the frames (nor their cohorts and
    events): they are listed in ``awaiting``. ``versions`` maps each published
    version (``review.toml``, oldest first) to its studies.
    """

    root: Path
    sheets: SheetSet
    frames: dict[str, pd.DataFrame]
    content_hash: str
    awaiting: tuple[AwaitingStudy, ...] = ()
    versions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def seed_version(self) -> str:
        """The first version's name ("" when review.toml names none)."""
        return next(iter(self.versions), "")

    def restricted_to(self, study_ids: tuple[str, ...] | list[str] | set[str]) -> "Review":
        """The review with only the studies *study_ids*: their rows, and the rows that hang on those.

        Every frame with a ``study_id`` column keeps that study's rows; then
        every other frame with a ``cohort_id`` column keeps the rows of the
        cohorts left. The case series and the other sheets are unchanged.
        """
        keep = set(study_ids)
        frames = dict(self.frames)
        for name, frame in self.frames.items():
            if "study_id" in frame.columns:
                frames[name] = frame[frame["study_id"].isin(keep)]
        cohorts = set(frames["cohorts"]["cohort_id"]) if "cohorts" in frames else set()
        for name, frame in self.frames.items():
            if "study_id" not in frame.columns and "cohort_id" in frame.columns:
                frames[name] = frame[frame["cohort_id"].isin(cohorts)]
        return replace(self, awaiting=(), frames=frames)

    def version_review(self, name: str) -> "Review":
        """The review as version *name* holds it: its studies only (a one-line error for an unknown version)."""
        if name not in self.versions:
            known = ", ".join(self.versions) or "none"
            raise EvsynthError(f"unknown version {name!r} (review.toml names: {known})")
        return self.restricted_to(self.versions[name])

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


def _present(value: object) -> bool:
    if value is None or isinstance(value, str):
        return value is not None and value != ""
    if isinstance(value, (int, float)):  # a typed row's plain value (NaN is not present)
        return value == value
    import pandas as pd

    return value is not None and not (not isinstance(value, str) and pd.isna(value)) and str(value) != ""


def reference_mark(study: pd.Series | dict[str, Any]) -> str:
    """`` [8]`` for a study of the seed paper (its reference number); for a study added later
    its year, else its id (`` 2024``, `` (S29)``)."""
    if _present(study.get("reference")):
        return f" [{int(study['reference'])}]"
    if _present(study.get("year")):
        return f" {int(study['year'])}"
    return f" ({study['study_id']})"


def study_citation(study: pd.Series | dict[str, Any]) -> str:
    """A study as the tables cite it: ``Bergamini et al. [8]``, ``Rossi et al. 2024``."""
    citation = str(study["citation_as_printed"])
    if _present(study.get("reference")):
        return f"{citation} [{int(study['reference'])}]"
    year = f"{int(study['year'])}" if _present(study.get("year")) else ""
    return citation if not year or citation.endswith(year) else f"{citation} {year}"


def typed_frame(sheet: SheetRead) -> pd.DataFrame:
    """Convert the string cells of a valid sheet to their declared types."""
    import pandas as pd

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


def _cell(value: Any) -> Any:
    """A typed frame's cell as a plain value: ``None`` for NA or empty text; numpy scalars unwrapped."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    import pandas as pd

    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


#: id(frame) -> (a weak reference to the frame, its rows): :func:`typed_rows` of a frame read again.
_ROWS_OF: dict[int, tuple[weakref.ref[pd.DataFrame], list[dict[str, Any]]]] = {}


def typed_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a typed frame (:func:`evsynth.review.model.typed_frame`) as mappings of plain values.

    A build reads the same frames hundreds of times (every outcome's rows in the context of
    every sheet); the rows of a frame still alive are kept and handed out as fresh copies
    (the frames of a :class:`Review` are never changed in place).
    """
    known = _ROWS_OF.get(id(frame))
    if known is not None and known[0]() is frame:
        return [dict(row) for row in known[1]]
    columns = list(frame.columns)
    rows = [{c: _cell(v) if c != ROW_KEY else int(v) for c, v in zip(columns, values)}
            for values in frame.itertuples(index=False, name=None)]
    if len(_ROWS_OF) >= 4096:
        _ROWS_OF.clear()
    _ROWS_OF[id(frame)] = (weakref.ref(frame), rows)
    return [dict(row) for row in rows]


@dataclass(frozen=True)
class SheetRows:
    """Typed rows of every declared sheet, as plain values (``None`` when empty; ``_row`` the spreadsheet row).

    What the analysis plan's checks read: :func:`rows_of` gives them for a loaded
    :class:`Review`, :func:`evsynth.review.load.checked_rows` for sheets only checked
    (``evsynth validate``, without pandas). The rows are those :func:`typed_rows`
    gives for the review's typed frames.
    """

    sheets: SheetSet
    tables: dict[str, list[dict[str, Any]]]

    def has(self, *names: str) -> bool:
        """True when the project declares every sheet in *names*."""
        return all(name in self.tables for name in names)

    def rows(self, name: str) -> list[dict[str, Any]]:
        """Fresh copies of the rows of sheet *name* (``KeyError`` when the project does not declare it)."""
        return [dict(row) for row in self.tables[name]]


def rows_of(source: Review | SheetRows) -> SheetRows:
    """The typed rows of a review's frames (a :class:`SheetRows` is returned as it is)."""
    if isinstance(source, SheetRows):
        return source
    return SheetRows(source.sheets, {name: typed_rows(frame) for name, frame in source.frames.items()})
