"""What to screen next: the queue of open records and the stage each is decided at.

The order is one function, :func:`order_pending`, so a ranking (records most
likely to be included first) can replace it without touching the terminal or
the screening page. Until then the queue follows the log: title/abstract
records first (pending, then those marked ``maybe``), then the full texts to
assess (included at title/abstract, or open at full text), each group in
record-id order, the order of arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evsynth.screening.log import ScreeningEntry

TITLE_ABSTRACT = "title/abstract"
FULL_TEXT = "full text"


def is_waiting(entry: ScreeningEntry) -> bool:
    """True when the record waits for a decision at some stage."""
    return entry.is_open or entry.awaits_full_text


def decision_stage(entry: ScreeningEntry) -> str:
    """The stage the next decision on *entry* is made at (full text once included on title/abstract)."""
    return FULL_TEXT if entry.stage == FULL_TEXT or entry.awaits_full_text else TITLE_ABSTRACT


def order_pending(entries: Sequence[ScreeningEntry],
                  ranking: Sequence[str] = ()) -> list[ScreeningEntry]:
    """The open records in the order they are offered (see the module docstring).

    *ranking* is record ids, most likely include first
    (:func:`evsynth.prioritise.pending.rank_pending`): within a stage, ranked
    records come in that order, the others after them by record id.
    """
    position = {record_id: i for i, record_id in enumerate(ranking)}

    def group(e: ScreeningEntry) -> int:
        if decision_stage(e) == TITLE_ABSTRACT:
            return 0 if e.decision == "pending" else 1
        return 2 if e.awaits_full_text or e.decision == "pending" else 3
    waiting = [e for e in entries if is_waiting(e)]
    return sorted(waiting, key=lambda e: (group(e), position.get(e.record_id, len(position)),
                                          len(e.record_id), e.record_id))


@dataclass(frozen=True)
class Progress:
    """How far screening is: records decided and still open, per stage."""

    total: int
    title_abstract_open: int
    full_text_open: int
    decided: int

    @property
    def open(self) -> int:
        """Records still waiting for a decision at some stage."""
        return self.title_abstract_open + self.full_text_open


def progress(entries: Sequence[ScreeningEntry]) -> Progress:
    """Counts for the progress line: open at each stage, and records with a final decision."""
    ta = sum(1 for e in entries if is_waiting(e) and decision_stage(e) == TITLE_ABSTRACT)
    ft = sum(1 for e in entries if is_waiting(e) and decision_stage(e) == FULL_TEXT)
    return Progress(total=len(entries), title_abstract_open=ta, full_text_open=ft,
                    decided=len(entries) - ta - ft)
