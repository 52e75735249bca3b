"""The random sample's order file, ``extracted/sample-order.csv`` (``position,record_id``), read and checked.

Apart from :mod:`evsynth.prioritise.sample` (which draws the order and reads the log against
it), so that ``evsynth validate`` checks the file without importing the ranking and the
stopping rule.
"""

from __future__ import annotations

from pathlib import Path

from evsynth.core.csv_read import iter_records
from evsynth.core.errors import EvsynthError

#: The columns of ``sample-order.csv``.
SAMPLE_COLUMNS = ("position", "record_id")


def read_sample(path: Path, known: set[str] | None = None, label: str = "") -> list[str]:
    """The sample's record ids in order; ``[]`` if there is no sample file. Every
    problem is one line naming ``FILE:LINE:COLUMN`` (FILE: *label*, else *path*)."""
    if not path.is_file():
        return []
    label = label or str(path)
    order: list[str] = []
    records = iter(iter_records(path.read_text(encoding="utf-8"), label))
    header = next(records, None)
    if header is None or tuple(c.strip() for c in header.cells) != SAMPLE_COLUMNS:
        raise EvsynthError(f"{label}:1: the header must be {','.join(SAMPLE_COLUMNS)}")
    seen: set[str] = set()
    for record in records:
        if record.blank:
            continue
        if len(record.cells) != 2:
            raise EvsynthError(f"{label}:{record.line}: {len(record.cells)} cells, the header has 2")
        position, record_id = (c.strip() for c in record.cells)
        if position != str(len(order) + 1):
            raise EvsynthError(f"{label}:{record.line}:position: {position!r}, expected "
                               f"{len(order) + 1} (the positions count 1, 2, 3, …)")
        if record_id in seen:
            raise EvsynthError(f"{label}:{record.line}:record_id: {record_id} is listed twice")
        if known is not None and record_id not in known:
            raise EvsynthError(f"{label}:{record.line}:record_id: {record_id} is not in the "
                               "screening log")
        seen.add(record_id)
        order.append(record_id)
    if not order:
        raise EvsynthError(f"{label}: no records below the header")
    return order
