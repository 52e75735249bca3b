"""Decisions in bulk: a CSV of decisions applied in one process, every row checked first.

Columns (header names, any order): ``record_id`` or ``pmid`` (one of them, to
name the record), ``decision``, and optionally ``reason``, ``stage``,
``reviewer``, ``date`` and ``note``. Empty ``reviewer``/``date`` cells take the
command's ``--reviewer`` and today's date; an empty ``stage`` is the stage the
record is at (full text once included on title/abstract). Rows are applied in
file order (a record may be included on title/abstract and decided at full text
in one file), but one record decided twice at the same stage in one file is
refused, naming both lines. A ``note`` is kept: it goes into the record's
``notes`` in the log (and is the reason required to include a record flagged
retracted). The file must be a regular file (not a FIFO or a device) of at most
:data:`MAX_BYTES` bytes; dates must be real calendar days. Nothing is written
unless every row is valid: a problem is one
line ``FILE:ROW:COLUMN: message`` (row = line of the CSV, header = 1).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from evsynth.core.csv_read import iter_records
from evsynth.core.errors import EvsynthError
from evsynth.core.text import control_problem
from evsynth.screening.log import DECISIONS, STAGES, ScreeningEntry, decide, find_entry
from evsynth.screening.queue import decision_stage

KEY_COLUMNS: tuple[str, ...] = ("record_id", "pmid")
OPTIONAL_COLUMNS: tuple[str, ...] = ("reason", "stage", "reviewer", "date", "note")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: The largest decisions file read: a sheet's limit
#: (:attr:`evsynth.sheets.engine.SheetLimits.max_bytes`).
MAX_BYTES = 5_000_000


def _read_regular(path: Path) -> str:
    """The text of *path*, a regular file within :data:`MAX_BYTES` (a FIFO or device would block or never end)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise EvsynthError(f"{path}: no such file") from None
    except OSError as exc:
        raise EvsynthError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, device or socket"
            raise EvsynthError(f"{path}: not a regular file ({kind}); give a CSV file")
        if info.st_size > MAX_BYTES:
            raise EvsynthError(f"{path}: {info.st_size:,} bytes, over the limit of {MAX_BYTES:,} bytes "
                               "for a decisions file; is it the right file?")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise EvsynthError(f"{path}: over the limit of {MAX_BYTES:,} bytes for a decisions file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvsynthError(f"{path}: not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'") from None


@dataclass(frozen=True)
class DecisionRow:
    """One row of a decisions file, as written (``line`` is its line in the file)."""

    line: int
    key_column: str
    key: str
    decision: str
    reason: str = ""
    stage: str = ""
    reviewer: str = ""
    date: str = ""
    note: str = ""


def read_decisions(path: str | Path) -> list[DecisionRow]:
    """The rows of a decisions CSV; a missing column or an unreadable file is a one-line error."""
    path = Path(path)
    text = _read_regular(path)
    records = [r for r in iter_records(text, str(path)) if not r.blank]  # a broken quote: FILE:LINE:COLUMN
    header = [c.strip() for c in records[0].cells] if records else []
    keys = [c for c in KEY_COLUMNS if c in header]
    if not keys:
        raise EvsynthError(f"{path}:1: needs a column record_id or pmid")
    if len(keys) > 1:
        raise EvsynthError(f"{path}:1: give record_id or pmid, not both")
    if "decision" not in header:
        raise EvsynthError(f"{path}:1: missing column decision")
    unknown = [c for c in header if c not in (*KEY_COLUMNS, "decision", *OPTIONAL_COLUMNS)]
    if unknown:
        raise EvsynthError(f"{path}:1:{unknown[0]}: unknown column (known: record_id or pmid, "
                           "decision, " + ", ".join(OPTIONAL_COLUMNS) + ")")
    key_column = keys[0]
    rows = []
    for record in records[1:]:
        number = record.line
        if len(record.cells) > len(header):
            raise EvsynthError(f"{path}:{number}: more cells than columns")
        cells = {name: (value or "").strip() for name, value in zip(header, record.cells)}
        cells.update({name: "" for name in header[len(record.cells):]})
        if not any(cells.values()):
            continue
        rows.append(DecisionRow(line=number, key_column=key_column, key=cells[key_column],
                                decision=cells["decision"],
                                **{c: " ".join(cells.get(c, "").split()) for c in OPTIONAL_COLUMNS}))
    return rows


def apply_decisions(path: str | Path, entries: Sequence[ScreeningEntry], rows: Sequence[DecisionRow],
                    *, reasons: Sequence[str], reviewer: str, date: str,
                    allow_retracted: bool = False, note: str = "") -> list[ScreeningEntry]:
    """The log with every row applied in order, or a one-line error for the first bad row.

    The input is not changed; the caller writes the result once, so a bad row
    anywhere leaves the log as it was.
    """
    out = list(entries)
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        where = f"{path}:{row.line}"
        if not row.key:
            raise EvsynthError(f"{where}:{row.key_column}: empty")
        if row.key_column == "record_id" and not re.fullmatch(r"R\d{5,}", row.key):
            raise EvsynthError(f"{where}:record_id: {_short(row.key)!r} is not a record id like R00001")
        if row.key_column == "pmid" and not row.key.isdigit():
            raise EvsynthError(f"{where}:pmid: {_short(row.key)!r} is not a PMID (digits)")
        try:
            index = find_entry(out, row.key)
        except EvsynthError as exc:
            raise EvsynthError(f"{where}:{row.key_column}: {exc}") from None
        if row.decision not in DECISIONS:
            raise EvsynthError(f"{where}:decision: {_short(row.decision)!r} is not one of {', '.join(DECISIONS)}")
        if row.stage and row.stage not in STAGES:
            raise EvsynthError(f"{where}:stage: {row.stage!r} is not one of {', '.join(STAGES)}")
        if row.reason and row.reason not in reasons:
            raise EvsynthError(f"{where}:reason: {row.reason!r} is not in the project's list "
                               "(exclusion_reasons in review.toml)")
        if row.date and not _DATE.match(row.date):
            raise EvsynthError(f"{where}:date: {_short(row.date)!r} is not YYYY-MM-DD")
        if row.date:
            try:
                _dt.date.fromisoformat(row.date)
            except ValueError:
                raise EvsynthError(f"{where}:date: {row.date} is not a calendar date") from None
        problem = control_problem(row.note)
        if problem:
            raise EvsynthError(f"{where}:note: {problem}")
        stage = row.stage or decision_stage(out[index])
        first = seen.setdefault((out[index].record_id, stage), row.line)
        if first != row.line:
            raise EvsynthError(f"{where}:{row.key_column}: {out[index].record_id} is decided twice at "
                               f"{stage} in this file (lines {first} and {row.line}); keep one row")
        who = row.reviewer or reviewer
        if not who and row.decision != "pending":
            raise EvsynthError(f"{where}:reviewer: empty, and no --reviewer given")
        try:
            out = decide(out, row.key, row.decision, reviewer=who, date=row.date or date,
                         reason=row.reason, stage=stage,
                         reasons=reasons, allow_retracted=allow_retracted,
                         note=row.note or note)
        except EvsynthError as exc:
            raise EvsynthError(f"{where}: {exc}") from None
        if row.note and row.note not in out[index].notes:  # kept in the log, not dropped
            out[index] = replace(out[index], notes="; ".join(p for p in (out[index].notes, row.note) if p))
    return out


def _short(text: str, limit: int = 80) -> str:
    """*text* cut to *limit* characters for a message (a bogus cell is never echoed whole)."""
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"
