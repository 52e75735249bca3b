"""The random-sample check: screen what is left in a random order, so the stopping
criterion no longer leans on the ranking.

A ranking's stopping criterion reads the records screened most recently as a
random draw, which they are not (:mod:`evsynth.prioritise.stopping`). Callaghan &
Müller-Bloch (2020) give the remedy: once the ranking stops finding includes,
put every record still to screen at title/abstract in a random order and screen
them in that order; the first ``n`` are then a true random draw from them.

* :func:`draw_sample` fixes that order (seeded, reproducible) for the records
  pending at title/abstract now; :func:`sample_csv` / :func:`read_sample` keep it
  in ``extracted/sample-order.csv`` (``position,record_id``), written once.
* :func:`sample_progress` reads the log against it: the longest *prefix* of the
  order whose records are all decided at title/abstract is the sample drawn so
  far (a record skipped holds back the ones after it, so what counts is always
  the start of the random order, never a choice among it), with its includes,
  the includes found before, and the records that arrived later (an update) and
  are not covered by the sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from evsynth.core.errors import EvsynthError
from evsynth.screening.log import ScreeningEntry
from evsynth.prioritise.sample_file import SAMPLE_COLUMNS, read_sample  # noqa: F401 (the file, read alone by validate)
from evsynth.prioritise.pending import stopping_status, title_abstract_label
from evsynth.prioritise.ranking import random_keys
from evsynth.prioritise.stopping import (
    StoppingStatus, rejects, check_target, sample_more_needed, sample_p_value,
)

#: Added to the project's seed for the sample's random order: another stream than the
#: ranking's random start (same seed, different order).
SAMPLE_STREAM = 104_729


@dataclass(frozen=True)
class SampleProgress:
    """How far the random sample is, read from the log."""

    #: Records in the sample (every record pending at title/abstract when it was drawn).
    urn: int
    #: Records of the sample's order decided so far, counted from its start (``n``).
    drawn: int
    #: Includes among them (``k``).
    includes: int
    #: Includes at title/abstract among the records outside the sample (``r_b``).
    includes_before: int
    #: Records outside the sample still to screen at title/abstract (arrived later).
    uncovered: int


def draw_sample(entries: Sequence[ScreeningEntry], seed: int) -> list[str]:
    """Record ids of every record still to screen at title/abstract, in a random order
    fixed by *seed* and the ids (a SHA-256 key per id, salted apart from the ranking's)."""
    import numpy as np
    pending = [e.record_id for e in entries if title_abstract_label(e) is None]
    if not pending:
        raise EvsynthError("nothing is left to screen at title/abstract: no sample to draw")
    keys = random_keys(pending, seed + SAMPLE_STREAM)
    return [pending[i] for i in np.argsort(keys, kind="stable")]


def sample_csv(order: Sequence[str]) -> str:
    """``sample-order.csv``'s text for *order*."""
    lines = [",".join(SAMPLE_COLUMNS)]
    lines.extend(f"{i},{record_id}" for i, record_id in enumerate(order, 1))
    return "\n".join(lines) + "\n"


def sample_progress(entries: Sequence[ScreeningEntry], order: Sequence[str]) -> SampleProgress:
    """The sample drawn so far, read from the log (see the module docstring)."""
    by_id = {e.record_id: e for e in entries}
    in_sample = set(order)
    drawn = includes = 0
    for record_id in order:
        entry = by_id.get(record_id)
        label = None if entry is None else title_abstract_label(entry)
        if label is None:
            break
        drawn += 1
        includes += label
    outside = [e for e in entries if e.record_id not in in_sample]
    labels = [title_abstract_label(e) for e in outside]
    return SampleProgress(urn=len(order), drawn=drawn, includes=includes,
                          includes_before=sum(1 for x in labels if x == 1),
                          uncovered=sum(1 for x in labels if x is None))


def describe_sample(progress: SampleProgress) -> str:
    """The sample's line for the screening views."""
    text = (f"Random-sample check: {progress.drawn} of the {progress.urn} records in the "
            f"random order screened, {progress.includes} "
            f"include{'s' if progress.includes != 1 else ''} among them; the criterion now "
            "tests that sample alone.")
    if progress.uncovered:
        text += (f" {progress.uncovered} record{'s' if progress.uncovered != 1 else ''} added "
                 "since the sample was drawn must be screened as well: the sample does not "
                 "cover them.")
    return text


def sample_status(entries: Sequence[ScreeningEntry], order: Sequence[str], *,
                  target_recall: float = 0.95, confidence: float = 0.95) -> StoppingStatus:
    """The stopping status once a random sample was drawn: the log's counts as before,
    the p-value, "met" and "how many more" from the sample's test
    (:func:`evsynth.prioritise.stopping.sample_p_value`), and the sample's line as its note.
    Records added after the sample was drawn keep it from being met until they are screened.
    """
    check_target(target_recall, confidence)
    overall = stopping_status(entries, target_recall=target_recall, confidence=confidence)
    progress = sample_progress(entries, order)
    p = sample_p_value(progress.drawn, progress.includes, progress.urn,
                       progress.includes_before, target_recall)
    met = rejects(p, 1.0 - confidence) and progress.uncovered == 0
    more = 0 if met else sample_more_needed(progress.drawn, progress.includes, progress.urn,
                                            progress.includes_before, target_recall, confidence)
    return replace(overall, p_value=p, met=met, more_needed=more + progress.uncovered,
                   note=describe_sample(progress))


def in_sample_order(ranking: Sequence[str], order: Sequence[str],
                    entries: Sequence[ScreeningEntry]) -> list[str]:
    """The records to screen at title/abstract: the sample's, in its order, then the rest
    in *ranking*'s order (records added after the sample was drawn)."""
    to_screen = {e.record_id for e in entries if title_abstract_label(e) is None}
    first = [r for r in order if r in to_screen]
    taken = set(first)
    return first + [r for r in ranking if r not in taken]
