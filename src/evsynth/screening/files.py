"""Where the living-review files live inside a project folder, and how they are read together.

* ``extracted/screening.csv`` — the screening log (:mod:`evsynth.screening.log`);
* ``extracted/screening-NAME.csv`` — a second reviewer's decisions (dual screening);
* ``extracted/merge-log.csv`` — every de-duplication merge (:mod:`evsynth.screening.dedup`);
* ``extracted/studies.csv`` — the included studies of the review's previous version.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from evsynth.core.project import Project
from evsynth.core.errors import EvsynthError
from evsynth.core.screening_settings import load_exclusion_reasons
from evsynth.screening.dedup import Merge, load_merges, save_merges
from evsynth.screening.log import ScreeningEntry, load_log, save_log


@dataclass(frozen=True)
class ReviewFiles:
    """The files of one review, below its ``extracted/`` folder."""

    extracted: Path

    @property
    def screening(self) -> Path:
        return self.extracted / "screening.csv"

    @property
    def merges(self) -> Path:
        return self.extracted / "merge-log.csv"

    @property
    def sample(self) -> Path:
        """The random order of the random-sample check (:mod:`evsynth.prioritise.sample`)."""
        return self.extracted / "sample-order.csv"

    @property
    def studies(self) -> Path:
        return self.extracted / "studies.csv"

    @property
    def root(self) -> Path:
        """The project folder (holding ``review.toml`` and ``queries/``)."""
        return self.extracted.parent

    @property
    def runs(self) -> Path:
        """Where the harvest and update runs are: ``queries/runs``."""
        return Project(self.root).runs

    @property
    def reasons(self) -> tuple[str, ...]:
        """The project's exclusion reasons (``exclusion_reasons`` in ``review.toml``)."""
        return load_exclusion_reasons(self.root)

    def load_log(self, path: Path | None = None, *, missing_ok: bool = True) -> list[ScreeningEntry]:
        """A screening log of this project (the main one by default), checked against its reasons."""
        return load_log(path or self.screening, missing_ok=missing_ok, reasons=self.reasons)

    def second_reviewers(self) -> list[Path]:
        """``screening-NAME.csv`` files, sorted by name."""
        return sorted(self.extracted.glob("screening-*.csv"))

    def load(self) -> tuple[list[ScreeningEntry], list[Merge]]:
        """The screening log and the merge log (empty when absent)."""
        return self.load_log(), load_merges(self.merges)

    def save(self, entries: list[ScreeningEntry], merges: list[Merge]) -> None:
        """Write both logs atomically (the merge log only when it has lines)."""
        save_log(self.screening, entries)
        if merges or self.merges.exists():
            save_merges(self.merges, merges)


def today() -> str:
    """Today's date in UTC, ``YYYY-MM-DD``."""
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


def check_date(value: str, option: str = "--date") -> str:
    """*value* if it is an ISO date ``YYYY-MM-DD``, else a one-line error."""
    try:
        return _dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise EvsynthError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None
