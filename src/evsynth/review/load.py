"""Reading the review: its sheet specification, then every sheet read once through the sheet engine,
checked, then typed.

A study marked ``extraction = incomplete`` in ``studies.csv`` (what ``evsynth
extract`` adds) is *awaiting extraction*: the empty required cells of its rows
(its study row, and every row of a sheet that hangs on it through
``study_id`` or ``cohort_id``) are not problems but items still to curate,
listed as ``file:row:column: to curate for S29 (added in 2026-12)``; its rows
are left out of the cross-sheet checks and of the typed review (nothing is
pooled from blanks). A value typed in such a row is still checked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from evsynth.core.errors import EvsynthError
from evsynth.core.project import Project
from evsynth.core.settings import ReviewSettings, load_settings
from evsynth.review import vocab
from evsynth.review.checks import cross_sheet_problems
from evsynth.review.claim_rules import CLAIMS_SHEET, claim_problems
from evsynth.review.model import AwaitingStudy, Review, SheetRows, SheetsInvalid, typed_frame
from evsynth.review.plan import AnalysisPlan, PlanError, load_plan
from evsynth.review.versions import version_problems
from evsynth.sheets import engine as sheets
from evsynth.sheets.engine import Problem, SheetRead
from evsynth.sheets.spec import SPEC_FILE, SheetSet, load_sheet_set

#: The message of an empty required cell (see :func:`evsynth.sheets.engine.check_cells`).
EMPTY_REQUIRED = "required value is empty"


def review_sheets(root: Path) -> SheetSet:
    """The sheets the project under *root* declares (``sheets.toml``); :class:`SpecError` when it is wrong."""
    return load_sheet_set(Project(root).sheet_spec, SPEC_FILE)


def sheet_hash(root: Path, sheet_set: SheetSet) -> str:
    """SHA-256 over every sheet's bytes, in a fixed order (the page header shows it)."""
    import hashlib  # here: validate does not hash the sheets

    digest = hashlib.sha256()
    for spec in sheet_set.sheets:
        path = Project(root).extracted / spec.filename
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


def incomplete_studies(studies: SheetRead) -> dict[str, int]:
    """Study id -> frame position of every study marked ``extraction = incomplete``."""
    if "extraction" not in studies.spec.columns or "study_id" not in studies.spec.columns:
        return {}
    return {str(r["study_id"]): position for position, r in enumerate(studies.records)
            if r["study_id"] is not None and r["extraction"] == vocab.INCOMPLETE}


def pending_positions(reads: dict[str, SheetRead], study_ids: set[str]) -> dict[str, dict[int, str]]:
    """Sheet -> {frame position: study id} of the rows of studies *study_ids*.

    A row belongs to a study through its ``study_id`` (the studies sheet
    itself, cohorts) or through the ``cohort_id`` of such a row (adverse events).
    """
    pending: dict[str, dict[int, str]] = {}
    cohort_study: dict[str, str] = {}
    for name, read in reads.items():
        if "study_id" in read.spec.columns:
            rows = {i: str(s) for i, s in enumerate(read.column("study_id")) if s in study_ids}
            pending[name] = rows
            if "cohort_id" in read.spec.columns:
                cohort_study.update({str(read.records[i]["cohort_id"]): s for i, s in rows.items()
                                     if read.records[i]["cohort_id"] is not None})
    for name, read in reads.items():
        if name not in pending and "cohort_id" in read.spec.columns:
            pending[name] = {i: cohort_study[c] for i, c in enumerate(read.column("cohort_id")) if c in cohort_study}
    return {name: rows for name, rows in pending.items() if rows}


def without_rows(read: SheetRead, positions: set[int]) -> SheetRead:
    """*read* without the rows at positions *positions*."""
    keep = [i for i in range(len(read.records)) if i not in positions]
    return replace(read, records=[read.records[i] for i in keep], rows=[read.rows[i] for i in keep],
                   problems=list(read.problems))


@dataclass(frozen=True)
class Checked:
    """The sheets checked: problems (to fix), what is still to curate, and the reads without pending rows."""

    problems: list[Problem]
    awaiting: tuple[AwaitingStudy, ...]
    reads: dict[str, SheetRead]

    @property
    def to_curate(self) -> list[Problem]:
        """Every item still to curate, study by study."""
        return [item for study in self.awaiting for item in study.to_curate]


def check(root: Path, settings: ReviewSettings | None = None, sheet_set: SheetSet | None = None,
          plan: AnalysisPlan | PlanError | None = None) -> Checked:
    """Read and check every declared sheet under *root*, setting aside the studies awaiting extraction.

    *plan*: the analysis plan already read (or the :class:`PlanError` reading it gave), whose
    outcome keys ``pooled(KEY)`` in a claim may name; ``None``: read it here when needed.
    """
    settings = settings if settings is not None else load_settings(root)
    sheet_set = sheet_set if sheet_set is not None else review_sheets(root)
    reads, cell_problems = read_all(root, sheet_set)
    incomplete = incomplete_studies(reads["studies"]) if "studies" in reads else {}
    pending = pending_positions(reads, set(incomplete))
    row_study = {(reads[name].path, reads[name].rows[i]): sid for name, rows in pending.items() for i, sid in rows.items()}
    problems: list[Problem] = []
    curate: dict[str, list[Problem]] = {sid: [] for sid in incomplete}
    studies = reads["studies"] if "studies" in reads else None

    def added_in(sid: str) -> str:
        value = (studies.records[incomplete[sid]]["added_in"]
                 if studies is not None and "added_in" in studies.spec.columns else None)
        return str(value or "the next version")

    for p in cell_problems:
        sid = row_study.get((p.file, p.row))
        if sid is not None and p.message == EMPTY_REQUIRED:
            curate[sid].append(Problem(p.file, p.row, p.column, f"to curate for {sid} (added in {added_in(sid)})"))
        else:
            problems.append(p)
    awaiting = []
    for sid, position in incomplete.items():
        row = reads["studies"].rows[position]
        last = Problem(reads["studies"].path, row, "extraction",
                       f"to curate for {sid} (added in {added_in(sid)}): set 'complete' once every row of the study is curated")
        record = reads["studies"].records[position]
        citation = str(record.get("citation_as_printed") or record.get("first_author") or sid)
        awaiting.append(AwaitingStudy(sid, citation, added_in(sid), str(record.get("record_id") or ""),
                                      str(record.get("pmid") or ""), row, (*sorted(curate[sid]), last)))
    complete = {name: without_rows(read, set(pending.get(name, {}))) for name, read in reads.items()}
    # references compare cell texts: they are checked in the same pass as the cells' types and vocabularies
    cells_parse = not problems
    # (among the sheets without a problem of their own: a row a broken sheet lost would show as a broken reference)
    sound = {name: read for name, read in complete.items() if not reads[name].problems}
    problems.extend(sheets.reference_problems(sound, sheet_set))
    if cells_parse:  # the checks across rows and sheets need every cell to parse
        problems.extend(version_problems(reads, settings))
        problems.extend(cross_sheet_problems(complete))
        problems.extend(sheets.rule_problems(complete, sheet_set))
        if CLAIMS_SHEET in complete:
            outcomes = (plan_outcomes(root, sheet_set) if plan is None else
                        None if isinstance(plan, PlanError) else tuple(o.key for o in plan.outcomes))
            problems.extend(claim_problems(complete[CLAIMS_SHEET], sheet_set, outcomes))
    return Checked(sorted(problems), tuple(awaiting), complete)


def plan_outcomes(root: Path, sheet_set: SheetSet) -> tuple[str, ...] | None:
    """The outcome keys of the analysis plan (what ``pooled(KEY)`` may name); ``None`` when the plan
    itself has a problem (``evsynth validate`` reports it)."""
    try:
        return tuple(o.key for o in load_plan(root, sheet_set).outcomes)
    except PlanError:
        return None


def validate(root: Path) -> list[Problem]:
    """Every problem in the sheets under *root* (empty list when they are valid).

    Items still to curate for a study awaiting extraction are not problems
    (see :func:`check`).
    """
    return check(root).problems


def load_review(root: Path, settings: ReviewSettings | None = None) -> Review:
    """Read, validate and type every sheet under *root*; raise :class:`SheetsInvalid` on any problem."""
    settings = settings if settings is not None else load_settings(root)
    sheet_set = review_sheets(root)
    return review_of(root, check(root, settings, sheet_set), settings, sheet_set)


def review_of(root: Path, checked: Checked, settings: ReviewSettings, sheet_set: SheetSet) -> Review:
    """The typed review of sheets already checked by :func:`check` (``evsynth validate`` checks
    once and reuses the reads); :class:`SheetsInvalid` if *checked* has problems."""
    if checked.problems:
        raise SheetsInvalid(checked.problems)
    typed = {name: typed_frame(read) for name, read in checked.reads.items()}
    versions = {v.name: v.studies for v in settings.versions}
    return Review(root=root, sheets=sheet_set, frames=typed, content_hash=sheet_hash(root, sheet_set),
                  awaiting=checked.awaiting, versions=versions)


def checked_rows(checked: Checked, sheet_set: SheetSet) -> SheetRows:
    """The typed rows of sheets checked by :func:`check` (the rows :func:`review_of` would give, without
    pandas: what ``evsynth validate`` checks the analysis plan on); :class:`SheetsInvalid` if *checked* has problems."""
    if checked.problems:
        raise SheetsInvalid(checked.problems)
    return SheetRows(sheet_set, {name: read.typed_rows() for name, read in checked.reads.items()})


def _cell_text(value: object) -> str:
    """A typed cell as the text the sheet holds ("" for an empty cell)."""
    import pandas as pd

    return "" if value is None or pd.isna(value) else str(value)  # type: ignore[arg-type]


def study_rows(review: Review) -> list[dict[str, str]]:
    """The rows of ``studies.csv`` of a loaded review, as text (for the screening stage's readers)."""
    if not review.has("studies"):
        return []
    frame = review.studies.drop(columns="_row")
    return [{k: _cell_text(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def read_studies(root: Path) -> list[dict[str, str]]:
    """The rows of ``studies.csv`` as text, read by the sheet engine's rule (shape and cell checks).

    For the commands that need only this sheet (import, chase, update, export):
    the same strict rule as ``validate`` and ``build``, one read. A project
    that declares no ``studies`` sheet, or has no such file yet, has none (a
    project may screen before it has included studies); a problem is a
    one-line :class:`EvsynthError` naming ``file:row:column``.
    """
    project = Project(root)
    if not project.sheet_spec.is_file() and not (project.extracted / "studies.csv").is_file():
        return []  # a project that only screens so far: no sheets declared, no included studies
    sheet_set = review_sheets(root)
    if not sheet_set.has("studies"):
        return []
    spec = sheet_set.get("studies")
    if not (Project(root).extracted / spec.filename).is_file():
        return []
    read = sheets.read_sheet(spec, root)
    problems = sorted(read.problems or sheets.check_cells(read))
    if problems:
        more = f" (and {len(problems) - 1} more: run 'evsynth validate')" if len(problems) > 1 else ""
        raise EvsynthError(f"{problems[0]}{more}")
    return [{k: "" if v is None else str(v) for k, v in rec.items()} for rec in read.records]
