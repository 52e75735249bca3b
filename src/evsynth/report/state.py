"""``reports/build-state.json``: the key figures of the last build and of the one before.

The file holds two snapshots (:func:`evsynth.report.changes.snapshot`): ``current``,
the figures of the last build, and ``previous``, those of the build before the
figures last changed. :func:`advance` is the rule that keeps rebuilding
byte-identical: a build whose figures equal ``current`` keeps the state as it
is (and so re-renders the same comparison, previous -> current); a build with
different figures moves ``current`` to ``previous``. A missing or malformed
file counts as no earlier build (never an error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evsynth.core import json_numbers
from evsynth.report.changes import Snapshot

FILENAME = "build-state.json"
FORMAT = 1
MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class BuildState:
    """The last build's figures and, when the figures have changed at least once, the earlier ones."""

    current: Snapshot | None
    previous: Snapshot | None = None


def _valid_snapshot(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(section, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in section.items())
        for section in value.values())


def parse(text: str) -> BuildState:
    """The state in *text*; an empty state when it is not a state file this version wrote."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return BuildState(None)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not _valid_snapshot(data.get("current")):
        return BuildState(None)
    previous = data.get("previous")
    return BuildState(data["current"], previous if _valid_snapshot(previous) else None)


def read(path: Path) -> BuildState:
    """The state stored at *path* (empty when missing, unreadable or malformed)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return BuildState(None)
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return BuildState(None)


def advance(state: BuildState, figures: Snapshot) -> BuildState:
    """The state after a build with *figures*: unchanged when they equal ``current``, else shifted."""
    if state.current == figures:
        return state
    return BuildState(current=figures, previous=state.current)


def dumps(state: BuildState) -> bytes:
    """The state file's bytes (snapshot order kept, stable, UTF-8, trailing newline)."""
    data = {"format": FORMAT, "current": state.current, "previous": state.previous}
    return json_numbers.dumps(data, indent=1).encode("utf-8")
