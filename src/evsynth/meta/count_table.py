"""Read a table of per-study counts (``study,events,total`` + grouping columns) from CSV.

Every problem is reported as one line ``FILE:ROW:COLUMN: message`` (ROW is the
line number in the file, the header being line 1), raised as
:class:`~evsynth.errors.EvsynthError`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from evsynth.core.errors import EvsynthError

REQUIRED: tuple[str, ...] = ("study", "events", "total")
_WHOLE = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class CountTable:
    """Per-study event counts and sample sizes, in file order, with an optional grouping."""

    path: str
    studies: tuple[str, ...]
    events: tuple[int, ...]
    totals: tuple[int, ...]
    groups: tuple[str, ...] | None = None
    by: str | None = None


def _count(path: str, row: int, column: str, text: str) -> int:
    value = text.strip()
    if value == "":
        raise EvsynthError(f"{path}:{row}:{column}: empty cell (a whole number is needed)")
    if not _WHOLE.fullmatch(value):
        raise EvsynthError(f"{path}:{row}:{column}: not a whole number: {value!r}")
    number = int(value)
    if number < 0:
        raise EvsynthError(f"{path}:{row}:{column}: negative count: {number}")
    return number


def read_counts(path: str | Path, by: str | None = None) -> CountTable:
    """Read and check ``path``; ``by`` names a grouping column that must exist.

    Checks: readable UTF-8 text, a header with ``study``, ``events``, ``total``
    (and ``by``), at least one study, whole non-negative counts, total >= 1,
    events <= total, non-empty study labels and group values.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvsynthError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise EvsynthError(f"{name}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise EvsynthError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise EvsynthError(f"{name}: cannot read: {exc.strerror or exc}") from None
    rows = list(csv.reader(text.splitlines()))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise EvsynthError(f"{name}:1: empty file (expected the header study,events,total)")
    header = [h.strip() for h in rows[0]]
    wanted = list(REQUIRED) + ([by] if by else [])
    for column in wanted:
        if column not in header:
            raise EvsynthError(f"{name}:1:{column}: missing column {column!r} "
                               f"(the header has: {', '.join(h for h in header if h) or 'nothing'})")
    index = {column: header.index(column) for column in wanted}
    studies: list[str] = []
    events: list[int] = []
    totals: list[int] = []
    groups: list[str] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line

        def cell(column: str) -> str:
            i = index[column]
            return row[i] if i < len(row) else ""

        study = cell("study").strip()
        if not study:
            raise EvsynthError(f"{name}:{line_no}:study: empty study label")
        x = _count(name, line_no, "events", cell("events"))
        n = _count(name, line_no, "total", cell("total"))
        if n == 0:
            raise EvsynthError(f"{name}:{line_no}:total: total must be at least 1")
        if x > n:
            raise EvsynthError(f"{name}:{line_no}:events: events ({x}) larger than total ({n})")
        if by:
            group = cell(by).strip()
            if not group:
                raise EvsynthError(f"{name}:{line_no}:{by}: empty subgroup value")
            groups.append(group)
        studies.append(study)
        events.append(x)
        totals.append(n)
    if not studies:
        raise EvsynthError(f"{name}:2: no studies (the file has only a header)")
    return CountTable(name, tuple(studies), tuple(events), tuple(totals),
                      tuple(groups) if by else None, by)
