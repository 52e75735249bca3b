"""The review project: its root folder and every path inside it, named in one place.

A project is a folder holding ``review.toml`` and/or ``extracted/``. Commands
find it the way git finds its repository: from the current folder upwards to
the first folder that holds either (:func:`find_project`), unless ``--root DIR``
names it. Every other module takes its paths from a :class:`Project` (or from
the names below), so the layout is spelled once::

    review.toml                     the review's own words (evsynth.core.settings)
    sheets.toml                     the sheets the review declares (evsynth.sheets.spec)
    analysis.toml                   the analysis plan (evsynth.review.plan)
    extracted/                      the curated sheets and the screening logs
    queries/*.toml                  the documented searches
    queries/runs/<query>/<run>/     harvest runs (manifest.json written last)
    reports/                        what the build publishes
    reports/supplementary/          the tables as CSV, XLSX and DOCX
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from evsynth.core.errors import EvsynthError

SETTINGS_FILE = "review.toml"
SHEET_SPEC_FILE = "sheets.toml"
ANALYSIS_PLAN_FILE = "analysis.toml"
EXTRACTED = "extracted"
QUERIES = "queries"
RUNS = "runs"
REPORTS = "reports"
SUPPLEMENTARY = "supplementary"

#: What marks a folder as a project root (either is enough).
MARKERS: tuple[str, ...] = (SETTINGS_FILE, EXTRACTED)


@dataclass(frozen=True)
class Project:
    """A review project rooted at :attr:`root`; every path of the layout comes from here."""

    root: Path

    @property
    def settings_file(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def sheet_spec(self) -> Path:
        return self.root / SHEET_SPEC_FILE

    @property
    def extracted(self) -> Path:
        return self.root / EXTRACTED

    @property
    def queries(self) -> Path:
        return self.root / QUERIES

    @property
    def runs(self) -> Path:
        return self.root / QUERIES / RUNS

    @property
    def reports(self) -> Path:
        return self.root / REPORTS

    @property
    def supplementary(self) -> Path:
        return self.root / REPORTS / SUPPLEMENTARY

    def relative(self, path: Path) -> str:
        """*path* relative to the root with forward slashes (as the page and messages show it)."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def is_project_root(folder: Path) -> bool:
    """True when *folder* holds ``review.toml`` (a file) or ``extracted/`` (a folder)."""
    return (folder / SETTINGS_FILE).is_file() or (folder / EXTRACTED).is_dir()


def find_project(start: Path | None = None) -> Project:
    """The project holding *start* (default: the current folder), searched upwards like git.

    Raises :class:`EvsynthError` when no folder from *start* up to the file-system
    root holds ``review.toml`` or ``extracted/``.
    """
    here = Path(start) if start is not None else Path.cwd()
    here = Path(os.path.abspath(here))
    for folder in (here, *here.parents):
        if is_project_root(folder):
            return Project(_shown(folder))
    raise EvsynthError(f"{here}: not inside a review project (no {SETTINGS_FILE} or {EXTRACTED}/ here "
                       "or in any parent folder); pass --root DIR, or create one with 'evsynth init DIR'")


def project_at(root: Path) -> Project:
    """The project at *root* as given with ``--root`` (an existing folder; its layout may still be empty)."""
    if not root.is_dir():
        raise EvsynthError(f"{root}: no such project folder")
    return Project(root)


def _shown(folder: Path) -> Path:
    """*folder* relative to the current folder when it is the current folder or above it (shorter messages)."""
    try:
        rel = os.path.relpath(folder)
    except ValueError:  # another drive (Windows)
        return folder
    return Path(rel)
