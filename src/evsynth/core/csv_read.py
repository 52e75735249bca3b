"""Reading CSV text record by record, with the line of the file where each record starts.

Every CSV evsynth reads (the extraction sheets, the screening and merge logs,
the count table of ``evsynth pool``) goes through :func:`iter_records`, so a
broken file is reported the same way everywhere: ``FILE:LINE:COLUMN: message``
with the physical line of the file (the header is line 1) and the column's
header name. Quoting follows RFC 4180 (Python's ``csv`` module in strict mode):
a cell that starts with ``"`` runs to the next lone ``"``, ``""`` inside it is
one quote, and nothing but ``,`` or a line end may follow the closing quote.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from evsynth.core.errors import EvsynthError

#: One physical line with its line end (``\\r\\n``, ``\\r`` or ``\\n``), as ``csv`` counts lines.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

#: Python's csv module refuses cells longer than this (``csv.field_size_limit()``).
CSV_FIELD_LIMIT = csv.field_size_limit()


@dataclass(frozen=True)
class CsvRecord:
    """One record of a CSV file: its cells and the physical line it starts on (1-based)."""

    line: int
    cells: list[str]

    @property
    def blank(self) -> bool:
        """No cell holds anything but white space (a blank spreadsheet row)."""
        return not any(cell.strip() for cell in self.cells)


class CsvSyntaxError(EvsynthError):
    """A CSV file that cannot be split into cells, located as ``FILE:LINE:COLUMN: message``."""

    def __init__(self, label: str, line: int, column: str, message: str) -> None:
        super().__init__(f"{label}:{line}:{column}: {message}")
        self.label, self.line, self.column, self.message = label, line, column, message


def iter_records(text: str, label: str) -> Iterator[CsvRecord]:
    """The records of CSV *text* in order, each with the line where it starts.

    A blank line is a record with no cells (a spreadsheet's empty row), so
    record numbers and spreadsheet row numbers agree. A quoting error raises
    :class:`CsvSyntaxError` naming the line of the broken quote and the column
    (by its name in the first record, the header, when it has one).
    """
    reader = csv.reader((m.group() for m in _LINE.finditer(text)), strict=True)
    header: Sequence[str] = ()
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _located(text, label, start, reader.line_num, header, str(exc)) from None
        if start == 1:
            header = [c.strip() for c in cells]
        yield CsvRecord(start, cells)


def _column_name(header: Sequence[str], index: int) -> str:
    if index < len(header) and header[index]:
        return header[index]
    return f"#{index + 1}"


def _located(text: str, label: str, start: int, current: int, header: Sequence[str],
             reason: str) -> CsvSyntaxError:
    """Turn the csv module's complaint into the line and column a person can look at."""
    found = _scan_record(text, start)
    if found is None and "field larger than field limit" in reason:
        return CsvSyntaxError(label, start, "*", f"a cell of the record starting on this line is longer "
                              f"than {CSV_FIELD_LIMIT:,} characters")
    if found is None:  # not a quoting problem the scanner knows: say what csv said, where it stopped
        return CsvSyntaxError(label, current, "*", f"not a readable CSV file ({reason})")
    line, index, message = found
    return CsvSyntaxError(label, line, _column_name(header, index), message)


def _line_offset(text: str, line: int) -> int:
    """Character offset where physical *line* (1-based) begins."""
    offset = 0
    for number, match in enumerate(_LINE.finditer(text), start=1):
        if number == line:
            return match.start()
        offset = match.end()
    return offset


def _scan_record(text: str, line: int) -> tuple[int, int, str] | None:
    """Walk the record starting on *line* as RFC 4180 reads it; return the first quoting fault.

    The result is (line of the fault, cell index in the record, message): a
    quote that is never closed is reported on the line where it opens, text
    after a closing quote on the line where it stands.
    """
    i, n = _line_offset(text, line), len(text)
    cell, at_cell_start = 0, True
    while i < n:
        c = text[i]
        if at_cell_start and c == '"':
            opened = line
            i += 1
            while True:
                if i >= n:
                    return (opened, cell, "a quoted cell is never closed: its opening quote is on this "
                            "line and no closing quote follows before the end of the file")
                c = text[i]
                if c == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        i += 2
                        continue
                    i += 1
                    break
                if c in "\r\n":
                    if c == "\r" and i + 1 < n and text[i + 1] == "\n":
                        i += 1
                    line += 1
                i += 1
            if i >= n or text[i] in "\r\n":
                return None
            if text[i] == ",":
                cell, at_cell_start, i = cell + 1, True, i + 1
                continue
            where = f" opened on line {opened}" if opened != line else ""
            return (line, cell, f"text after the closing quote of a quoted cell{where} (a quote "
                    "inside a quoted cell is written as two quotes \"\")")
        if c == ",":
            cell, at_cell_start = cell + 1, True
        elif c in "\r\n":
            return None
        else:
            at_cell_start = False
        i += 1
    return None
