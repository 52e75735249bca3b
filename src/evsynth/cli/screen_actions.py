"""``evsynth screen`` beyond the listing: decisions, ``--next``, ``--serve``, second reviewers, merges.

:mod:`evsynth.cli.commands.screen` imports this module by name only when one of
these actions is asked for, as :mod:`evsynth.cli.main` imports only the command
that runs: the plain listing (:mod:`evsynth.cli.screen_list`) then never loads the
screening page, the batch decisions or the dual-screening machinery.
"""

from __future__ import annotations

import argparse
import re
import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.errors import EvsynthError
from evsynth.core.lock import project_lock
from evsynth.core.settings import load_settings
from evsynth.cli.screen_list import (
    decide_hint, format_entry, listing, main_sample, ranking_seed, screening_status,
)
from evsynth.workbench.app import make_server
from evsynth.screening.batch import DecisionRow, apply_decisions, read_decisions
from evsynth.screening.dedup import Merge, load_merges, unmerge
from evsynth.screening.dual import cohens_kappa, agreement_pairs, find_conflicts, sync_second_log
from evsynth.screening.files import ReviewFiles, check_date, today
from evsynth.screening.log import DECISIONS, ScreeningEntry, decide, find_entry, save_log
from evsynth.prioritise.pending import is_to_screen, rank_pending, record_texts
from evsynth.screening.queue import decision_stage, order_pending, progress
from evsynth.prioritise.sample import draw_sample, in_sample_order, sample_csv
from evsynth.workbench.session import ScreeningSession, record_card
from evsynth.prioritise.stopping import StoppingStatus
from evsynth.search.records import Record
from evsynth.search.runs import records_of_runs


def conflicts_report(files: ReviewFiles, entries: Sequence[ScreeningEntry]) -> tuple[str, int]:
    """Text listing the disagreements with every second reviewer, and how many there are."""
    others = files.second_reviewers()
    if not others:
        raise EvsynthError(f"no second reviewer's file {files.extracted}/screening-NAME.csv to compare")
    lines: list[str] = []
    total = 0
    for path in others:
        reviewer = path.stem.removeprefix("screening-")
        other = files.load_log(path, missing_ok=False)
        conflicts = find_conflicts(entries, other, reviewer)
        total += len(conflicts)
        pairs = agreement_pairs(entries, other)
        kappa = cohens_kappa(pairs)
        agreement = (f"; title/abstract agreement {sum(a == b for a, b in pairs)}/{len(pairs)}, "
                     f"Cohen's kappa {kappa:.2f}" if kappa is not None else
                     f"; Cohen's kappa not defined on {len(pairs)} shared decisions")
        lines.append(f"{path.name}: {len(conflicts)} to reconcile{agreement}")
        for c in conflicts:
            lines.append(f"  {c.record_id} [{c.stage}] {c.kind}: main log {c.main}; "
                         f"{c.other_reviewer}: {c.other}")
            lines.append(f"      {c.title}")
    return "\n".join(lines) + "\n", total


def explain_report(entry: ScreeningEntry, merges: Sequence[Merge]) -> str:
    """The record and every merge into it: source, key, matched value, date, reverted or not."""
    lines = [f"{entry.record_id}: {entry.first_author} {entry.year} — {entry.title}",
             f"  first seen in {entry.origin or '(unknown)'} on {entry.added or '(no date)'}; "
             f"sources: {entry.source}"]
    mine = [m for m in merges if m.record_id == entry.record_id]
    for m in mine:
        state = f" (reverted {m.reverted})" if m.reverted else ""
        filled = f"; filled in {m.filled.replace(';', ', ')}" if m.filled else ""
        lines.append(f"  {m.merge_id} {m.date} from {m.source}: matched by {m.key} = {m.value}"
                     f"{filled}{state}")
    if not mine:
        lines.append("  no merges")
    return "\n".join(lines) + "\n"


def draw(files: ReviewFiles, entries: Sequence[ScreeningEntry]) -> str:
    """Draw the random sample and write it (once: an existing one is never replaced)."""
    if files.sample.exists():
        raise EvsynthError(f"{files.sample}: a random sample was drawn already; delete the file "
                           "to draw a new one (the check then starts again)")
    order = draw_sample(entries, load_settings(files.root).screening.seed)
    write_text(files.sample, sample_csv(order))
    return (f"random-sample check started: {len(order)} records to screen at title/abstract "
            f"put in a random order ({files.sample.name}); they come in that order from now on\n")


def next_report(entries: Sequence[ScreeningEntry], records: dict[str, Record], width: int,
                second: str | None = None, seed: int | None = 0,
                status: StoppingStatus | None = None, sample: Sequence[str] = ()) -> str:
    """The next record to decide (highest ranked first) with its abstract, MeSH terms and the command to decide it.

    *status*: the stopping status of *entries* (:func:`screening_status`), shown
    under the heading (and when nothing is left to screen) with the heuristic beside it;
    *sample*: the random-sample order, whose records come first (:func:`main_sample`).
    """
    ranking = rank_pending(entries, record_texts(records.values()), seed) \
        if seed is not None and any(is_to_screen(e) for e in entries) else []
    if sample:
        ranking = in_sample_order(ranking, sample, entries)
    queue = order_pending(entries, ranking)
    counts = progress(entries)
    where = [status.describe(), "  " + status.heuristic()] if status is not None else []
    if not queue:
        return "\n".join([f"Nothing to screen ({len(entries)} records in the log).", *where]) + "\n"
    entry = queue[0]
    record = records.get(entry.pmid) if entry.pmid else None
    card = record_card(entry, record)
    wrap = textwrap.TextWrapper(width=max(width, 40), initial_indent="    ",
                                subsequent_indent="    ")
    lines = [f"Next: {card['stage']} ({counts.decided} of {counts.total} decided; "
             f"{counts.title_abstract_open} open at title/abstract, {counts.full_text_open} at full text)",
             *where, ""]
    lines.extend(format_entry(entry, width))
    if card["flag"]:
        lines.append(f"    ! {card['flag'].upper()}: {card['flag_detail']}")
    if card["authors"]:
        lines.extend(wrap.wrap("Authors: " + ", ".join(card["authors"])))
    if card["mesh"]:
        lines.extend(wrap.wrap("MeSH: " + "; ".join(card["mesh"])))
    lines.append("")
    if card["abstract"]:
        for paragraph in card["abstract"].split("\n"):
            lines.extend(wrap.wrap(paragraph))
    else:
        lines.append("    (no abstract: the record is not in a finished run under queries/runs, "
                     "or PubMed has none)")
    lines.append("")
    lines.append(decide_hint(second, entry.record_id))
    return "\n".join(lines) + "\n"


def parse_decide(values: Sequence[str]) -> tuple[list[str], str]:
    """``ID [ID ...] DECISION`` -> (ids, decision), or a one-line error."""
    if len(values) < 2:
        raise EvsynthError("--decide needs RECORD_ID [RECORD_ID ...] DECISION")
    *keys, decision = values
    if decision not in DECISIONS:
        raise EvsynthError(f"--decide: the last value must be the decision ({' | '.join(DECISIONS)}), "
                           f"not {decision!r}")
    return keys, decision


def apply_command_decisions(args: argparse.Namespace, files: ReviewFiles,
                            entries: list[ScreeningEntry], default_reviewer: str,
                            rows: list[DecisionRow] | None = None,
                            ) -> tuple[list[ScreeningEntry], list[ScreeningEntry]]:
    """The log with ``--decide`` or ``--from`` applied (in memory) and the rows that changed.

    *rows*: the ``--from`` file already read (it is read before the project's lock is taken).
    """
    date = check_date(args.date) if args.date else today()
    reviewer = args.reviewer.strip() or default_reviewer
    if args.from_file:
        if rows is None:
            rows = read_decisions(args.from_file)
        updated = apply_decisions(args.from_file, entries, rows, reasons=files.reasons,
                                  reviewer=reviewer, date=date,
                                  allow_retracted=args.allow_retracted, note=args.note)
    else:
        keys, decision = parse_decide(args.decide)
        updated = list(entries)
        for key in keys:
            stage = args.stage or decision_stage(updated[find_entry(updated, key)])
            updated = decide(updated, key, decision, reviewer=reviewer, date=date,
                             reason=args.reason.strip(), stage=stage, reasons=files.reasons,
                             allow_retracted=args.allow_retracted, note=args.note)
    changed = [new for new, old in zip(updated, entries) if new != old]
    return updated, changed


def changed_line(row: ScreeningEntry, prefix: str = "") -> str:
    """``R00001: title/abstract: exclude (wrong population) by CD``."""
    return (f"{prefix}{row.record_id}: {row.stage}: {row.decision}"
            + (f" ({row.reason})" if row.reason else "") + f" by {row.reviewer}")


def serve(args: argparse.Namespace, files: ReviewFiles) -> int:
    """Run the screening page until interrupted; its address is the first line printed."""
    reviewer = args.reviewer.strip() or (args.second or "")
    if args.second:
        second_reviewer_file(files, args.second)
    session = ScreeningSession.open(files, reviewer, args.second)
    server = make_server(session, port=args.port)
    print(server.url, flush=True)
    who = f"second reviewer {args.second} (blind)" if args.second else f"reviewer {reviewer}"
    print(f"screening {session.path} as {who}; every decision is saved at once. "
          "Stop with Ctrl+C.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; every decision is in " + str(session.path))
    finally:
        server.server_close()
    return 0


def second_reviewer_file(files: ReviewFiles, name: str) -> Path:
    """``extracted/screening-NAME.csv`` for a valid reviewer name."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", name):
        raise EvsynthError(f"--as {name!r}: use lower-case letters, digits and _ (e.g. initials)")
    return files.extracted / f"screening-{name}.csv"


def run_second(args: argparse.Namespace, files: ReviewFiles) -> int:
    """List or decide on a second reviewer's log, brought up to date with the main log first."""
    path = second_reviewer_file(files, args.second)
    if args.decide or args.from_file:
        rows = read_decisions(args.from_file) if args.from_file else None
        with project_lock(files.root):
            own, _ = sync_second_log(files.load_log(), files.load_log(path))
            own, changed = apply_command_decisions(args, files, own, args.second, rows)
            save_log(path, own)
        for row in changed:
            print(changed_line(row, f"{path.name}: "))
        if not changed:
            print(f"{path.name}: unchanged")
        return 0
    with project_lock(files.root):
        own, added = sync_second_log(files.load_log(), files.load_log(path))
        if added or not path.exists():
            save_log(path, own)
    width = shutil.get_terminal_size((100, 24)).columns - 2
    if args.next:
        print(next_report(own, records_of_runs(files.runs), width, args.second,
                          ranking_seed(files), screening_status(own, files)), end="")
        return 0
    print(f"{path.name}: {len(own)} records" + (f" ({added} new from the main log)" if added else ""))
    print(listing(own, files, width, max(args.limit, 0), args.second), end="")
    return 0


def run(args: argparse.Namespace, files: ReviewFiles) -> int:
    """Every action of ``evsynth screen`` but the plain listing (its options checked already)."""
    if args.serve:
        return serve(args, files)
    if args.second:
        return run_second(args, files)
    if args.unmerge:
        date = check_date(args.date) if args.date else today()
        with project_lock(files.root):
            entries, merges = files.load()
            new_entries, merges = unmerge(entries, merges, args.unmerge, date)
            files.save(new_entries, merges)
        restored = new_entries[-1]
        print(f"{args.unmerge} undone: {restored.record_id} is a record of its own again "
              f"({restored.source}, pending)")
        return 0
    if args.decide or args.from_file:
        rows = read_decisions(args.from_file) if args.from_file else None
        with project_lock(files.root):  # read, change and write the log as one step
            entries = files.load_log()
            updated, changed = apply_command_decisions(args, files, entries, "", rows)
            if changed:
                files.save(updated, load_merges(files.merges))
        for row in changed:
            print(changed_line(row))
        if not changed:
            print("unchanged")
        return 0
    entries = files.load_log()
    if args.explain:
        merges = files.load()[1]
        print(explain_report(entries[find_entry(entries, args.explain)], merges), end="")
        return 0
    if args.conflicts:
        text, total = conflicts_report(files, entries)
        print(text, end="")
        return 0
    if args.sample:  # then the listing (or --next), which shows the sample's status
        with project_lock(files.root):
            entries = files.load_log()
            print(draw(files, entries), end="")
    width = shutil.get_terminal_size((100, 24)).columns - 2
    if args.next:
        sample = main_sample(files, entries)
        print(next_report(entries, records_of_runs(files.runs), width,
                          seed=ranking_seed(files), status=screening_status(entries, files, sample),
                          sample=sample),
              end="")
        return 0
    print(listing(entries, files, width, max(args.limit, 0)), end="")
    return 0
