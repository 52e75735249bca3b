"""Dataclass rows as CSV text: the one way evsynth writes the logs it keeps (stable, ``\\n`` line ends)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any


def dataclass_csv(rows: Iterable[Any], columns: Sequence[str]) -> str:
    """CSV text with a header of *columns* and one line per dataclass in *rows*, in the order given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = asdict(row)
        writer.writerow([values[c] for c in columns])
    return buffer.getvalue()
