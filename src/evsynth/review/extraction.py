"""From screening to extraction: a record included at full text becomes a study to curate.

:func:`extract` adds to ``studies.csv`` the study row of a screening-log
record included at full text — its identifiers (record id, PMID, DOI) and
bibliographic fields (authors, first author, year, title, journal) copied
from the log, ``identified_by`` saying so (the record the reviewer included), ``added_in`` the version in preparation, ``extraction =
incomplete`` — and to every sheet that hangs on a study (a ``study_id``
column: ``cohorts.csv``) one row with its ids to fill. Nothing is typed for
the reviewer: every other cell stays empty, and ``evsynth validate`` lists it
as still to curate until the reviewer sets ``extraction = complete``.

The files are appended to (the lines already there are kept byte for byte),
each atomically, the study row first: a run stopped between two files is
finished by running the same command again.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from evsynth.core.project import Project
from evsynth.core.atomic import write_text
from evsynth.core.errors import EvsynthError
from evsynth.core.settings import VERSION_NAME, ReviewSettings
from evsynth.review import vocab
from evsynth.review.load import review_sheets
from evsynth.review.versions import next_version
from evsynth.screening.citations import split_name
from evsynth.screening.dedup import normalise_doi
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import ScreeningEntry, find_entry, load_log
from evsynth.sheets import engine as sheets
from evsynth.sheets.engine import SheetRead
from evsynth.sheets.spec import SheetSet, SheetSpec


#: The columns of studies.csv extract needs: the version, the mark, and where the study came from.
EXTRACT_COLUMNS: tuple[str, ...] = ("added_in", "extraction", "record_id")


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract` did: the study, its version, and the rows added (file -> (row, id))."""

    study_id: str
    added_in: str
    entry: ScreeningEntry
    study_row: int
    rows: dict[str, tuple[int, str]]
    resumed: bool = False


def _read(spec: SheetSpec, root: Path) -> SheetRead:
    read = sheets.read_sheet(spec, root)
    if read.problems:
        raise EvsynthError(f"{read.problems[0]} (fix the sheet before adding a study)")
    return read


def _surname(entry: ScreeningEntry) -> str:
    name = entry.first_author or next((a.strip() for a in entry.authors.split(";") if a.strip()), "")
    parts = split_name(name) if name else {}
    return parts.get("family") or parts.get("literal") or ""


def _number(study_id: str) -> int | None:
    match = re.fullmatch(r"S(\d+)", study_id)
    return int(match.group(1)) if match else None


def _new_id(prefix: str, number: int, taken: set[str]) -> str:
    candidate = f"{prefix}{number}"
    suffix = iter("bcdefghijklmnopqrstuvwxyz")
    base = candidate
    while candidate in taken:
        candidate = base + next(suffix)
    return candidate


def _id_prefix(read: SheetRead) -> str:
    """The letters the sheet's ids start with (``C`` for ``C12b``), else its name's first letter."""
    prefixes = [m.group(1) for v in read.frame[read.spec.id_column] if v and (m := re.match(r"([A-Za-z]+)\d", v))]
    return max(set(prefixes), key=prefixes.count) if prefixes else read.spec.name[:1].upper()


def _append_row(root: Path, spec: SheetSpec, values: dict[str, str]) -> int:
    """Append one row (in the file's own column order) atomically; return its spreadsheet row number."""
    path = root / sheets.SHEETS_DIR / spec.filename
    text = path.read_text(encoding="utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([values.get(c.strip(), "") for c in header])
    if text and not text.endswith("\n"):
        text += "\n"
    rows = sum(1 for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r))
    write_text(path, text + buffer.getvalue())
    return rows + 1


def per_study_sheets(sheet_set: SheetSet) -> tuple[SheetSpec, ...]:
    """The sheets of rows with their own id that hang on a study (a ``study_id`` column): cohorts.csv.

    Sheets without an id column (the appraisal's one row per checklist item) are left to the reviewer.
    """
    return tuple(s for s in sheet_set.sheets
                 if s.name != "studies" and "study_id" in s.columns and s.id_column and s.id_column != "study_id")


def _version_for(studies: SheetRead, settings: ReviewSettings, asked: str | None, today: date) -> str:
    upcoming = next_version(studies, settings)
    name = asked or upcoming or today.strftime("%Y-%m")
    if not VERSION_NAME.match(name):
        raise EvsynthError(f"--version {name!r}: use letters, digits, '.', '_' or '-' (e.g. 2026-12)")
    if settings.version(name) is not None:
        raise EvsynthError(f"version {name} is already published (review.toml); a study added now goes into "
                           "the next version: give its name with --version")
    if upcoming and name != upcoming:
        raise EvsynthError(f"the version in preparation is called {upcoming!r} (added_in of studies.csv): "
                           f"add the study to it (--version {upcoming}) or rename it there first")
    return name


def extract(root: Path, key: str, settings: ReviewSettings, *, version: str | None = None,
            today: date | None = None) -> Extraction:
    """Add the study of screening-log record *key* (record id or PMID) and its rows to curate."""
    log = ReviewFiles(Project(root).extracted).screening
    if not log.is_file():
        raise EvsynthError(f"{Project(root).relative(log)}: no screening log yet (evsynth update or evsynth import fill it)")
    entries = load_log(log)
    entry = entries[find_entry(entries, key)]
    if not entry.is_included:
        raise EvsynthError(
            f"{entry.record_id} is not included at full text (stage {entry.stage}, decision {entry.decision}); "
            f"record that first: evsynth screen --decide {entry.record_id} include --stage 'full text' --reviewer NAME")
    sheet_set = review_sheets(root)
    if not sheet_set.has("studies"):
        raise EvsynthError("sheets.toml declares no studies sheet: there is nowhere to add a study")
    studies = _read(sheet_set.get("studies"), root)
    header = next(csv.reader(io.StringIO((root / sheets.SHEETS_DIR / "studies.csv").read_text(encoding="utf-8-sig"))))
    missing = [c for c in EXTRACT_COLUMNS if c not in {h.strip() for h in header}]
    if missing:
        raise EvsynthError(f"{studies.path}:1: no column {', '.join(missing)}: add {'them' if len(missing) > 1 else 'it'} "
                           "to the header (and to sheets.toml) to extract studies into the sheet")
    frame = studies.frame
    doi = normalise_doi(entry.doi)
    for position, row in enumerate(frame.to_dict("records")):
        same = (row.get("record_id") == entry.record_id or (entry.pmid and row.get("pmid") == entry.pmid)
                or (doi and normalise_doi(row.get("doi") or "") == doi))
        if not same:
            continue
        where = f"{studies.path} row {studies.rows[position]}"
        if row.get("extraction") != vocab.INCOMPLETE:
            raise EvsynthError(f"{entry.record_id} is already in the review as {row['study_id']} ({where})")
        rows = _add_study_rows(root, sheet_set, str(row["study_id"]))
        return Extraction(str(row["study_id"]), str(row.get("added_in") or ""), entry, studies.rows[position],
                          rows, resumed=True)
    name = _version_for(studies, settings, version, today or date.today())
    numbers = [n for n in (_number(str(s)) for s in frame["study_id"] if s) if n is not None]
    study_id = _new_id("S", max(numbers, default=0) + 1, {str(s) for s in frame["study_id"]})
    surname = _surname(entry)
    authors = [a.strip() for a in entry.authors.split(";") if a.strip()]
    values = {"study_id": study_id, "first_author": surname,
              "citation_as_printed": (f"{surname} et al." if len(authors) > 1 else surname) if surname else "",
              "year": entry.year, "pmid": entry.pmid, "doi": entry.doi, "added_in": name,
              "extraction": vocab.INCOMPLETE, "record_id": entry.record_id, "authors": "; ".join(authors),
              "title": entry.title, "journal": entry.journal,
              "identified_by": (f"screening-log record {entry.record_id} ({entry.source}), included at full text"
                                + (f" by {entry.reviewer}" if entry.reviewer else "")
                                + (f" on {entry.date}" if entry.date else "") + " (evsynth extract)")}
    row = _append_row(root, sheet_set.get("studies"), values)
    return Extraction(study_id, name, entry, row, _add_study_rows(root, sheet_set, study_id))


def _add_study_rows(root: Path, sheet_set: SheetSet, study_id: str) -> dict[str, tuple[int, str]]:
    """One row with its ids in every per-study sheet that has none for *study_id* yet."""
    added: dict[str, tuple[int, str]] = {}
    number = _number(study_id)
    for spec in per_study_sheets(sheet_set):
        read = _read(spec, root)
        if (read.frame["study_id"] == study_id).any():
            continue
        taken = {str(v) for v in read.frame[spec.id_column] if v}
        values = {"study_id": study_id,
                  spec.id_column: _new_id(_id_prefix(read), number if number is not None else len(taken) + 1, taken)}
        if "printed_order" in spec.columns:
            orders = [sheets.parse_int(v) for v in read.frame["printed_order"] if v]
            values["printed_order"] = str(max((o for o in orders if o is not None), default=0) + 1)
        row = _append_row(root, spec, values)
        added[f"{sheets.SHEETS_DIR}/{spec.filename}"] = (row, values[spec.id_column])
    return added
