"""The listing of ``evsynth screen``: what is left to screen, in ranked order, with the stopping status.

The plain ``evsynth screen`` imports only this module (and what it needs), so the
listing starts fast; the other actions of the command (decisions, ``--next``,
``--serve``, second reviewers, merges) are in :mod:`evsynth.cli.screen_actions`,
imported only when one of them is asked for, and share the text below.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from evsynth.core.screening_settings import load_screening_settings
from evsynth.prioritise.pending import (
    is_to_screen, rank_pending, record_texts, stopping_status, title_abstract_label,
)
from evsynth.prioritise.sample import in_sample_order, read_sample, sample_status
from evsynth.prioritise.stopping import StoppingStatus
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import ScreeningEntry
from evsynth.search.runs import records_of_runs


def format_entry(entry: ScreeningEntry, width: int) -> list[str]:
    """A record as a few terminal lines: id, author/year/ids, wrapped title, sources."""
    ids = [f"PMID {entry.pmid}" if entry.pmid else "", f"doi {entry.doi}" if entry.doi else ""]
    head = " · ".join(p for p in [entry.first_author or "(no author)", entry.year or "n.d.",
                                   entry.journal, *ids] if p)
    status = entry.decision + (f", {entry.flag.upper()}" if entry.flag else "")
    lines = [f"{entry.record_id}  [{entry.stage}: {status}]  {head}"]
    wrap = textwrap.TextWrapper(width=max(width, 40), initial_indent="    ",
                                subsequent_indent="    ")
    lines.extend(wrap.wrap(entry.title or "(no title)"))
    lines.append(f"    from: {entry.source}")
    return lines


def decide_hint(second: str | None = None, record_id: str = "RECORD_ID") -> str:
    """The command line that records a decision (a second reviewer's keeps ``--as NAME``)."""
    who = f"--as {second} " if second else ""
    return (f'Record a decision: evsynth screen {who}--decide {record_id} include|exclude|maybe '
            '--reviewer NAME [--reason "..."]   (next record: --next; many: --from FILE; '
            'in the browser: --serve)')


def pending_report(entries: Sequence[ScreeningEntry], width: int, limit: int = 0,
                   second: str | None = None, order: Sequence[str] | None = None,
                   status: StoppingStatus | None = None, sampled: bool = False) -> str:
    """The pending and maybe records by stage, flagged records first.

    *order*: record ids of the title/abstract group in the order to show them
    (:func:`evsynth.prioritise.pending.rank_pending`; *sampled*: the random-sample
    check's order first); *status*: the stopping status, shown after the flagged
    records with the heuristic beside it.
    """
    out: list[str] = []
    flagged = [e for e in entries if e.flag]
    if flagged:
        out.append("FLAGGED (retraction watch):")
        for e in flagged:
            out.append(f"  ! {e.record_id} {e.flag.upper()}: {e.first_author} {e.year} — "
                       f"{e.flag_detail or e.title}")
        out.append("")
    if status is not None:
        out.append(status.describe())
        out.append("  " + status.heuristic())
        out.append("")
    open_entries = [e for e in entries if e.is_open or e.awaits_full_text]
    if not open_entries:
        out.append(f"Nothing to screen ({len(entries)} records in the log).")
        return "\n".join(out) + "\n"
    shown = 0
    to_screen = [e for e in open_entries if is_to_screen(e)]
    heading = "title/abstract: {n} to screen"
    if order is not None:
        position = {key: i for i, key in enumerate(order)}
        to_screen.sort(key=lambda e: position.get(e.record_id, len(position)))
        labels = {title_abstract_label(e) for e in entries}
        heading += (", the random-sample check's order first (evsynth screen --sample)"
                    if sampled else
                    ", most likely include first (ranked on the decisions so far)"
                    if {0, 1} <= labels else
                    ", in a seeded random order (ranking starts once there is one include "
                    "and one exclude)")
    groups = [(heading, to_screen),
              ("full text: {n} to assess (included on title/abstract)",
               [e for e in open_entries if e.awaits_full_text]),
              ("full text: {n} to decide", [e for e in open_entries if e.stage == "full text"])]
    for heading, group in groups:
        if not group:
            continue
        out.append(heading.format(n=len(group)))
        for e in group:
            if limit and shown >= limit:
                break
            out.extend(format_entry(e, width))
            shown += 1
        out.append("")
    if limit and shown < len(open_entries):
        out.append(f"... {len(open_entries) - shown} more (--limit 0 shows all; --next shows "
                   "the next with its abstract)")
    out.append(decide_hint(second))
    return "\n".join(out).rstrip("\n") + "\n"


def screening_status(entries: Sequence[ScreeningEntry], files: ReviewFiles,
                     sample: Sequence[str] = ()) -> StoppingStatus | None:
    """The stopping status of *entries* for the project's ``[screening]`` target and
    confidence (``review.toml``); ``None`` for an empty log. With a random *sample*
    (:func:`main_sample`) the criterion tests the sample
    (:func:`evsynth.prioritise.sample.sample_status`)."""
    if not entries:
        return None
    settings = load_screening_settings(files.root)
    if sample:
        return sample_status(entries, sample, target_recall=settings.target_recall,
                             confidence=settings.confidence)
    return stopping_status(entries, target_recall=settings.target_recall,
                           confidence=settings.confidence, order=settings.order,
                           rule=settings.stopping_rule)


def main_sample(files: ReviewFiles, entries: Sequence[ScreeningEntry]) -> list[str]:
    """The random-sample order of the main log (``[]`` if none was drawn)."""
    return read_sample(files.sample, {e.record_id for e in entries})


def ranking_seed(files: ReviewFiles) -> int | None:
    """The seed of the ranking, or ``None`` when the project screens in log order."""
    settings = load_screening_settings(files.root)
    return settings.seed if settings.order == "ranked" else None


def listing(entries: Sequence[ScreeningEntry], files: ReviewFiles, width: int, limit: int,
            second: str | None = None) -> str:
    """The pending report in ranked order, with the stopping status of *entries*' decisions.

    The project (``review.toml``, ``queries/runs``) is the folder holding ``extracted/``.
    """
    settings = load_screening_settings(files.root)
    sample = main_sample(files, entries) if second is None else []
    order = None
    if any(is_to_screen(e) for e in entries):
        if settings.order == "ranked":
            order = rank_pending(entries, record_texts(records_of_runs(files.runs).values()),
                                 settings.seed)
        if sample:
            order = in_sample_order(order or [], sample, entries)
    return pending_report(entries, width, limit, second, order=order,
                          status=screening_status(entries, files, sample), sampled=bool(sample))
