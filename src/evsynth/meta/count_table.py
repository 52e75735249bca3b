"""Read a table of per-study counts (``study,events,total`` + grouping columns) from CSV.

Every problem is reported as one line ``FILE:ROW:COLUMN: message`` (ROW is the
line number in the file where the row starts, the header being line 1), raised
as :class:`~evsynth.core.errors.EvsynthError`.

Counts are limited to :data:`MAX_COUNT` (10^8 per study). The statistics are
computed in IEEE double precision; with counts of 10^8, studies at the extremes
(all large, large beside small, 0 % and 100 % of a large study) pool under every
measure, tau^2 method and test without a floating-point warning
(``tests/test_hostile_inputs.py``), while at 10^9 a 100 % study on the PR scale
already divides by zero. No single study of a proportion comes near 10^8 patients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from evsynth.core.csv_read import iter_records
from evsynth.core.errors import EvsynthError

REQUIRED: tuple[str, ...] = ("study", "events", "total")
_WHOLE = re.compile(r"[+-]?\d+")

#: The largest count (events or total of one study) that ``evsynth pool`` accepts; see the module text.
MAX_COUNT = 100_000_000


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
    digits = value.lstrip("+-").lstrip("0")
    if value.startswith("-") and digits:
        raise EvsynthError(f"{path}:{row}:{column}: negative count: {_short(value)}")
    if len(digits) > len(str(MAX_COUNT)) or int(digits or "0") > MAX_COUNT:
        raise EvsynthError(f"{path}:{row}:{column}: count {_short(value)} is larger than {MAX_COUNT:,}, "
                           "the largest count evsynth pools (its statistics are computed in double "
                           "precision, which does not carry larger counts reliably)")
    return int(digits or "0")


def _short(value: str) -> str:
    """A number as typed, shortened to 30 characters (a 5,000-digit cell stays one readable line)."""
    return value if len(value) <= 30 else f"{value[:12]}...{value[-12:]} ({len(value.lstrip('+-'))} digits)"


def read_counts(path: str | Path, by: str | None = None) -> CountTable:
    """Read and check a per-study count table (``evsynth pool``'s input).

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV file with the columns ``study``, ``events``, ``total`` (and any others).
    by : str, optional
        A grouping column that must exist (``evsynth pool --by``).

    Returns
    -------
    CountTable
        Studies, events and totals in file order, and the groups when *by* is given.

    Raises
    ------
    evsynth.core.errors.EvsynthError
        One line, ``FILE:ROW:COLUMN: message``, for the first problem.

    Notes
    -----
    Checks: readable UTF-8 text, a header with ``study``, ``events``, ``total``
    (and ``by``), at least one study, whole non-negative counts, total >= 1,
    events <= total, counts at most :data:`MAX_COUNT`, non-empty study labels and
    group values.

    References
    ----------
    Shafranovich Y (2005). Common Format and MIME Type for Comma-Separated Values (CSV)
    Files. RFC 4180 (the quoting rules of the file).
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
    records = [r for r in iter_records(text, name) if not r.blank]
    if not records:
        raise EvsynthError(f"{name}:1: empty file (expected the header study,events,total)")
    header = [h.strip() for h in records[0].cells]
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
    for record in records[1:]:
        line_no, row = record.line, record.cells

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
