"""The search dates shown in the page header: the newest finished harvest run of each query.

The harvester writes ``queries/runs/<query>/<UTC timestamp>/manifest.json``
last, so a manifest marks a finished run. This module only reads those
manifests, offline and defensively: a missing folder, an unreadable or
malformed manifest, or fields of the wrong type are ignored (that run is
skipped), never an error, because the review must build without any search.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evsynth.core.project import Project
from evsynth.search.runs import MANIFEST

#: A manifest bigger than this is not a manifest (skipped without reading it).
MAX_MANIFEST_BYTES = 5_000_000
_STAMP = re.compile(r"^(?P<stamp>.+?)(?:-(?P<n>\d+))?$")


@dataclass(frozen=True)
class SearchRun:
    """A finished search run, as its manifest states it (empty string = not stated)."""

    query: str
    folder: str  # relative to the project root, with forward slashes
    searched_utc: str
    finished_utc: str
    count: int | None
    records: int | None
    mindate: str = ""
    maxdate: str = ""


def _run_order(folder: Path) -> tuple[str, int]:
    """Sort key of a run folder: its timestamp, then the ``-N`` suffix of runs started in one second."""
    match = _STAMP.match(folder.name)
    assert match is not None  # the pattern matches any non-empty name
    return match["stamp"], int(match["n"] or 1)


def _text(manifest: dict[str, Any], *keys: str) -> str:
    """The first of *keys* holding a short string (a date or a name), else ``""``."""
    for key in keys:
        value = manifest.get(key)
        if isinstance(value, str) and 0 < len(value) <= 200:
            return value
    return ""


def _count(manifest: dict[str, Any], key: str) -> int | None:
    value = manifest.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _query_name(manifest: dict[str, Any], fallback: str) -> str:
    query = manifest.get("query")
    if isinstance(query, dict):
        return _text(query, "name") or fallback
    if isinstance(query, str) and 0 < len(query) <= 200:
        return query
    return fallback


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The JSON object in *path*, or ``None`` when it is missing, too big, unreadable or not an object."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def run_from_manifest(manifest: dict[str, Any], query_folder: str, folder: str) -> SearchRun | None:
    """A :class:`SearchRun` from a parsed manifest, or ``None`` when it states no date at all."""
    searched = _text(manifest, "searched_utc", "started_utc", "start_utc", "started")
    finished = _text(manifest, "finished_utc", "end_utc", "finished", "ended_utc")
    if not (searched or finished):
        return None
    return SearchRun(query=_query_name(manifest, query_folder), folder=folder, searched_utc=searched,
                     finished_utc=finished, count=_count(manifest, "count"), records=_count(manifest, "records"),
                     mindate=_text(manifest, "mindate"), maxdate=_text(manifest, "maxdate"))


def latest_runs(root: Path) -> tuple[SearchRun, ...]:
    """The newest run with a usable manifest of each query under ``root/queries/runs``, by query folder name."""
    runs_root = Project(root).runs
    try:
        query_dirs = sorted(p for p in runs_root.iterdir() if p.is_dir()) if runs_root.is_dir() else []
    except OSError:
        return ()
    found: list[SearchRun] = []
    for query_dir in query_dirs:
        try:
            run_dirs = sorted((p for p in query_dir.iterdir() if p.is_dir()), key=_run_order, reverse=True)
        except OSError:
            continue
        for run_dir in run_dirs:
            manifest = read_manifest(run_dir / MANIFEST)
            run = None if manifest is None else run_from_manifest(
                manifest, query_dir.name, run_dir.relative_to(root).as_posix())
            if run is not None:
                found.append(run)
                break
    return tuple(found)
