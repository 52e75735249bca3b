"""CSV text the project writes: one writer for the logs it keeps, and formula neutralisation for every CSV.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula ("CSV injection": ``=HYPERLINK(...)``
in a PubMed title becomes a live link, ``=cmd|...`` worse). As OWASP
recommends (OWASP, "CSV Injection"), every text cell evsynth writes to a CSV
that starts with one of those characters is written with a leading
apostrophe, which spreadsheets take as "this is text" and do not show; a
number such as ``-3`` or ``+1.5e3`` stays a number. :func:`neutralise` is
exact and reversible: a text that already starts with apostrophes followed by
one of those characters gets one more, and :func:`restore` (used where
evsynth reads its own logs back) removes exactly one, so every value
round-trips.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

#: First characters a spreadsheet treats as the start of a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ESCAPED = re.compile("'+[" + re.escape("".join(FORMULA_START)) + "]")


def neutralise(text: str) -> str:
    """*text* as it is written to a CSV cell: a leading apostrophe before a formula start."""
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    if text.startswith("'") and _ESCAPED.match(text):
        return "'" + text
    return text


def restore(text: str) -> str:
    """The value :func:`neutralise` was given (for CSVs evsynth reads back)."""
    return text[1:] if _ESCAPED.match(text) else text


def writer(buffer: io.StringIO) -> Any:
    """A ``csv.writer`` with evsynth's dialect (``\\n`` line ends, minimal quoting)."""
    return csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def csv_row(values: Iterable[object]) -> list[object]:
    """*values* with every text cell neutralised (numbers and ``None`` pass through)."""
    return [neutralise(v) if isinstance(v, str) else v for v in values]


def dataclass_csv(rows: Iterable[Any], columns: Sequence[str]) -> str:
    """CSV text with a header of *columns* and one line per dataclass in *rows*, in the order given."""
    buffer = io.StringIO()
    out = writer(buffer)
    out.writerow(columns)
    for row in rows:
        values = asdict(row)
        out.writerow(csv_row(values[c] for c in columns))
    return buffer.getvalue()
