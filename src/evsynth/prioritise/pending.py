"""Prioritised screening of the review's log: ranked pending records and the stopping status.

The API the screening views use (``evsynth screen``, the screening page,
``screen --next``)::

    from evsynth.prioritise.pending import rank_pending, record_texts, stopping_status

    texts = record_texts(records_of_runs(files.runs).values())   # evsynth.search.runs
    order = rank_pending(entries, texts, seed=settings.screening.seed)
    status = stopping_status(entries, target_recall=settings.screening.target_recall,
                             confidence=settings.screening.confidence)
    status.describe()   # one line: screened, includes found, met or not, how many more
    status.heuristic()  # the "irrelevant in a row" count, labelled as a heuristic

* :func:`rank_pending` — record ids of the records still to screen at
  title/abstract (``pending`` or ``maybe``), most likely include first. Random
  (seeded, reproducible) until the log has one include and one exclude at
  title/abstract; then ranked by the model of :mod:`evsynth.prioritise.ranking`,
  retrained on every call (so after each batch of decisions). Features: the
  log's title plus, for records with a PMID, the abstract and MeSH headings of
  the harvested record (:func:`record_texts`).
* :func:`stopping_status` — a :class:`~evsynth.prioritise.stopping.StoppingStatus`
  for the title/abstract decisions so far (:func:`screening_sequence`).

Which decisions count (title/abstract screening, the stage the ranking serves):
an ``include`` at title/abstract or any row at stage ``full text`` is an
include (it passed title/abstract); an ``exclude`` at title/abstract is an
exclude; ``pending`` and ``maybe`` are not screened yet. Every row of the log
counts towards the records in all.

Order of the decisions: the test needs them in the order they were made. The
log keeps one date per record (no time of day, and a full-text decision
overwrites the title/abstract date), so the order is by date, and within a
day the excludes first and the includes last. That is the cautious
assumption: the criterion only gives credit for excludes screened *after*
the includes, so placing includes as late as the dates allow can only raise
``p`` (an include moved later turns a window's ``(k, K̂)`` into
``(k + 1, K̂ + 1)``, which never lowers ``P(X ≤ k)``). A decision without a
date counts as the earliest if it is an exclude and the latest if an include.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from evsynth.core.errors import EvsynthError
from evsynth.screening.log import ScreeningEntry
from evsynth.prioritise.ranking import RankingItem, rank
from evsynth.prioritise.rate_rule import rate_status
from evsynth.prioritise.stopping import StoppingStatus, check_target
from evsynth.prioritise.stopping import stopping_status as _status
from evsynth.search.records import Record


@dataclass(frozen=True)
class RecordText:
    """What the ranking reads of a harvested record besides its title."""

    abstract: str = ""
    #: MeSH descriptors, separated by ``"; "``.
    keywords: str = ""


def record_texts(records: Iterable[Record]) -> dict[str, RecordText]:
    """Abstract and MeSH headings by PMID (a later record of the same PMID wins)."""
    out: dict[str, RecordText] = {}
    for record in records:
        if record.pmid:
            out[record.pmid] = RecordText(
                abstract=record.abstract,
                keywords="; ".join(m.descriptor for m in record.mesh))
    return out


def title_abstract_label(entry: ScreeningEntry) -> int | None:
    """1 include, 0 exclude, ``None`` not screened yet (see the module docstring)."""
    if entry.stage == "full text":
        return 1
    if entry.decision == "include":
        return 1
    if entry.decision == "exclude":
        return 0
    return None


def is_to_screen(entry: ScreeningEntry) -> bool:
    """Waiting for a title/abstract decision."""
    return entry.stage == "title/abstract" and entry.is_open


def rank_pending(entries: Sequence[ScreeningEntry], texts: Mapping[str, RecordText],
                 seed: int) -> list[str]:
    """Record ids of the records to screen at title/abstract, most likely include first."""
    items = []
    for entry in entries:
        text = texts.get(entry.pmid, RecordText()) if entry.pmid else RecordText()
        label = title_abstract_label(entry)
        if label is None and not is_to_screen(entry):
            continue
        items.append(RankingItem(key=entry.record_id, title=entry.title, abstract=text.abstract,
                                 keywords=text.keywords, label=label))
    return rank(items, seed)


def screening_sequence(entries: Sequence[ScreeningEntry]) -> list[int]:
    """The title/abstract decisions (1/0) in the order they were made, as far as the log
    tells (by date; within a day excludes first; see the module docstring)."""
    decided = []
    for entry in entries:
        label = title_abstract_label(entry)
        if label is None:
            continue
        date = entry.date or ("9999-99-99" if label else "")
        decided.append((date, label, entry.record_id))
    decided.sort()
    return [label for _, label, _ in decided]


#: Said beside the ranked-rate rule's status (review.toml [screening] stopping_rule = "rate").
RATE_RULE_NOTE = ("Experimental rule: on two of nine benchmark sets it was not designed on, it "
                  "stopped below its target in ranked order (a second group of includes after a "
                  "long gap); the default is the hypergeometric criterion.")


#: Said beside the status when the project screens in the log's own order.
LOG_ORDER_NOTE = ('The records are screened in log order (review.toml [screening] order = "log"), '
                  "neither ranked nor at random: what this criterion promises was measured for "
                  "ranked and random orders only.")


def stopping_status(entries: Sequence[ScreeningEntry], *, target_recall: float = 0.95,
                    confidence: float = 0.95, order: str = "ranked",
                    rule: str = "hypergeometric") -> StoppingStatus:
    """Where the log stands against the stopping criterion (all rows count as records).

    *order*: the project's ``[screening] order``; with ``"log"`` the status carries
    :data:`LOG_ORDER_NOTE` and is the hypergeometric criterion's (the ranked-rate rule
    models a ranking). *rule*: the project's ``[screening] stopping_rule``.
    """
    sequence = screening_sequence(entries)
    ranked_rate = rule == "rate" and order == "ranked"
    if len(sequence) == len(entries):
        status = all_screened(sequence, target_recall=target_recall, confidence=confidence)
        if ranked_rate:
            status = replace(status, rule="rate")
    elif ranked_rate:
        status = replace(rate_status(sequence, len(entries), target_recall=target_recall,
                                     confidence=confidence), note=RATE_RULE_NOTE)
    else:
        status = _status(sequence, len(entries), target_recall=target_recall, confidence=confidence)
    return replace(status, note=LOG_ORDER_NOTE) if order == "log" else status


def all_screened(labels: Sequence[int], *, target_recall: float = 0.95,
                 confidence: float = 0.95) -> StoppingStatus:
    """The status of a log whose every record is screened, in plain Python (no numpy or scipy:
    the listing with nothing left to screen answers at once).

    With ``t = N`` the recall is known: every include is found, so H0 "recall is below the
    target" is false and ``p = 0``. It is what the hypergeometric test gives too: in the
    whole-sequence window the urn is the ``N`` records screened, drawn entirely, so
    ``X = K̂ = ⌊r / target⌋ + 1 > r`` and ``P(X ≤ r) = 0`` (``tests/test_screen_prioritised.py``
    compares the two). An empty log (nothing to screen, nothing screened) has ``p = 1``, as there.
    """
    check_target(target_recall, confidence)
    if any(label not in (0, 1) for label in labels):
        raise EvsynthError("screening decisions must be a sequence of 0 (exclude) and 1 (include)")
    last = max((i for i, label in enumerate(labels) if label), default=-1)
    return StoppingStatus(screened=len(labels), total=len(labels), includes_found=sum(labels),
                          target_recall=target_recall, confidence=confidence,
                          p_value=0.0 if labels else 1.0, met=bool(labels), more_needed=0, irrelevant_streak=len(labels) - (last + 1))
