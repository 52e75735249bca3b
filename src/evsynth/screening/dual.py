"""Dual screening: where a second reviewer's decisions differ from the main log.

Two people screen independently (Cochrane Handbook for Systematic Reviews of
Interventions, chapter 4, "Searching for and selecting studies"); the second keeps ``extracted/screening-NAME.csv``
of the same shape as the main log, and the main log holds the reconciled
decision. Records are paired by ``record_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from evsynth.screening.log import ScreeningEntry


@dataclass(frozen=True)
class Conflict:
    """One record on which two reviewers differ, or that awaits reconciliation."""

    record_id: str
    title: str
    kind: str
    stage: str
    main: str
    other: str
    other_reviewer: str


def _verdict(entry: ScreeningEntry) -> str:
    text = entry.decision + (f" ({entry.reason})" if entry.reason else "")
    return text + (f" by {entry.reviewer}" if entry.reviewer else "")


def find_conflicts(main: Sequence[ScreeningEntry], other: Sequence[ScreeningEntry],
                   reviewer: str) -> list[Conflict]:
    """Disagreements between the main log and a second reviewer's file, in record-id order.

    Kinds: ``decision`` (both decided at the same stage, different decisions),
    ``reason`` (both excluded, for different reasons), ``unreconciled`` (the
    second reviewer decided, the main log is still pending), ``unknown record``
    (the second file names a record the main log does not have).
    """
    by_id = {e.record_id: e for e in main}
    out: list[Conflict] = []
    for theirs in other:
        if theirs.decision == "pending":
            continue
        ours = by_id.get(theirs.record_id)
        if ours is None:
            out.append(Conflict(theirs.record_id, theirs.title, "unknown record", theirs.stage,
                                "(not in main log)", _verdict(theirs), reviewer))
            continue
        if ours.stage != theirs.stage:
            continue
        if ours.decision == "pending":
            kind = "unreconciled"
        elif ours.decision != theirs.decision:
            kind = "decision"
        elif ours.decision == "exclude" and ours.reason != theirs.reason:
            kind = "reason"
        else:
            continue
        out.append(Conflict(ours.record_id, ours.title, kind, ours.stage,
                            _verdict(ours), _verdict(theirs), reviewer))
    return sorted(out, key=lambda c: (len(c.record_id), c.record_id, c.other_reviewer))


def blind_copy(entry: ScreeningEntry) -> ScreeningEntry:
    """A row as a second reviewer first sees it: pending at title/abstract, nobody's decision."""
    return replace(entry, stage="title/abstract", decision="pending", reason="", reviewer="",
                   date="", notes="")


def sync_second_log(main: Sequence[ScreeningEntry],
                    other: Sequence[ScreeningEntry]) -> tuple[list[ScreeningEntry], int]:
    """The second reviewer's log with every record of the main log it lacks, as a blind copy.

    Rows the second reviewer already has are kept as they are (their decisions
    are theirs); returns the log and how many rows were added.
    """
    have = {e.record_id for e in other}
    added = [blind_copy(e) for e in main if e.record_id not in have]
    return list(other) + added, len(added)


def cohens_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels, one ``(rater 1, rater 2)`` pair per item.

    kappa = (p_o - p_e) / (1 - p_e), with p_o the share of items both gave the
    same label and p_e = sum over labels k of p_1k * p_2k, the agreement
    expected by chance from each rater's own label shares (Cohen J. A
    coefficient of agreement for nominal scales. Educ Psychol Meas
    1960;20:37-46). ``None`` when there are no pairs or p_e = 1 (both raters
    used one and the same label throughout: kappa is undefined).
    """
    n = len(pairs)
    if n == 0:
        return None
    labels = sorted({label for pair in pairs for label in pair})
    p_o = sum(1 for a, b in pairs if a == b) / n
    p_e = sum((sum(1 for a, _ in pairs if a == k) / n) * (sum(1 for _, b in pairs if b == k) / n)
              for k in labels)
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def title_abstract_verdict(entry: ScreeningEntry) -> str:
    """The title/abstract decision a log row implies: a row at full text was included there.

    The log keeps only a record's latest stage, so a record now at full text
    must have been included on title/abstract; ``""`` when undecided.
    """
    if entry.stage == "full text":
        return "include"
    return "" if entry.decision == "pending" else entry.decision


def agreement_pairs(main: Sequence[ScreeningEntry],
                    other: Sequence[ScreeningEntry]) -> list[tuple[str, str]]:
    """``(main, other)`` title/abstract decisions of the records both have decided there."""
    by_id = {e.record_id: e for e in main}
    pairs = []
    for theirs in other:
        ours = by_id.get(theirs.record_id)
        if ours is None:
            continue
        a, b = title_abstract_verdict(ours), title_abstract_verdict(theirs)
        if a and b:
            pairs.append((a, b))
    return pairs
