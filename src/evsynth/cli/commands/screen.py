"""``evsynth screen``: what is left to screen, decisions from the command line, reviewer conflicts."""

from __future__ import annotations

import argparse
import re
import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path

from evsynth.screening.dedup import Merge, unmerge
from evsynth.screening.dual import find_conflicts, sync_second_log
from evsynth.core.errors import EvsynthError
from evsynth.screening.files import ReviewFiles, check_date, today
from evsynth.screening.log import (
    DECISIONS, REASONS, STAGES, ScreeningEntry, decide, find_entry, load_log, save_log,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extracted", default="extracted", metavar="DIR",
                        help="folder of the screening log (default: extracted)")
    parser.add_argument("--decide", nargs=2, metavar=("RECORD_ID", "DECISION"),
                        help=f"record a decision ({' | '.join(DECISIONS)}) for a record id or PMID")
    parser.add_argument("--reason", default="", help="exclusion reason: " + "; ".join(REASONS))
    parser.add_argument("--reviewer", default="", help="who decided (initials or name)")
    parser.add_argument("--stage", choices=STAGES, default=None,
                        help="screening stage of the decision (default: the record's stage)")
    parser.add_argument("--date", default=None, help="date of the decision (default: today, UTC)")
    parser.add_argument("--as", dest="second", metavar="NAME", default=None,
                        help="work as second reviewer NAME on extracted/screening-NAME.csv "
                             "(created from the main log, blind to its decisions)")
    parser.add_argument("--conflicts", action="store_true",
                        help="list disagreements with second reviewers' screening-NAME.csv files")
    parser.add_argument("--limit", type=int, default=0, help="show at most N pending records")
    parser.add_argument("--explain", metavar="RECORD_ID",
                        help="show which records were merged into this one, and by which key")
    parser.add_argument("--unmerge", metavar="MERGE_ID",
                        help="undo a merge of the merge log: the record returns as its own pending row")


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


def pending_report(entries: Sequence[ScreeningEntry], width: int, limit: int = 0) -> str:
    """The pending and maybe records by stage, flagged records first."""
    out: list[str] = []
    flagged = [e for e in entries if e.flag]
    if flagged:
        out.append("FLAGGED (retraction watch):")
        for e in flagged:
            out.append(f"  ! {e.record_id} {e.flag.upper()}: {e.first_author} {e.year} — "
                       f"{e.flag_detail or e.title}")
        out.append("")
    open_entries = [e for e in entries if e.is_open or e.awaits_full_text]
    if not open_entries:
        out.append(f"Nothing to screen ({len(entries)} records in the log).")
        return "\n".join(out) + "\n"
    shown = 0
    groups = [("title/abstract: {n} to screen", [e for e in open_entries
                                                 if e.stage == "title/abstract" and e.is_open]),
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
        out.append(f"... {len(open_entries) - shown} more (use --limit 0 to see all)")
    out.append('Record a decision: evsynth screen --decide RECORD_ID include|exclude|maybe '
               '--reviewer NAME [--reason "..."] [--stage "full text"]')
    return "\n".join(out).rstrip("\n") + "\n"


def conflicts_report(files: ReviewFiles, entries: Sequence[ScreeningEntry]) -> tuple[str, int]:
    """Text listing the disagreements with every second reviewer, and how many there are."""
    others = files.second_reviewers()
    if not others:
        raise EvsynthError(f"no second reviewer's file {files.extracted}/screening-NAME.csv to compare")
    lines: list[str] = []
    total = 0
    for path in others:
        reviewer = path.stem.removeprefix("screening-")
        conflicts = find_conflicts(entries, load_log(path, missing_ok=False), reviewer)
        total += len(conflicts)
        lines.append(f"{path.name}: {len(conflicts)} to reconcile")
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


def second_reviewer_file(files: ReviewFiles, name: str) -> Path:
    """``extracted/screening-NAME.csv`` for a valid reviewer name."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", name):
        raise EvsynthError(f"--as {name!r}: use lower-case letters, digits and _ (e.g. initials)")
    return files.extracted / f"screening-{name}.csv"


def run_second(args: argparse.Namespace, files: ReviewFiles) -> int:
    """List or decide on a second reviewer's log, brought up to date with the main log first."""
    path = second_reviewer_file(files, args.second)
    own, added = sync_second_log(load_log(files.screening), load_log(path))
    if args.decide:
        key, decision = args.decide
        date = check_date(args.date) if args.date else today()
        own = decide(own, key, decision, reviewer=args.reviewer.strip() or args.second,
                     date=date, reason=args.reason.strip(), stage=args.stage)
        save_log(path, own)
        row = own[find_entry(own, key)]
        print(f"{path.name}: {row.record_id}: {row.stage}: {row.decision}"
              + (f" ({row.reason})" if row.reason else "") + f" by {row.reviewer}")
        return 0
    if added or not path.exists():
        save_log(path, own)
    width = shutil.get_terminal_size((100, 24)).columns - 2
    print(f"{path.name}: {len(own)} records" + (f" ({added} new from the main log)" if added else ""))
    print(pending_report(own, width, max(args.limit, 0)), end="")
    return 0


def run(args: argparse.Namespace) -> int:
    files = ReviewFiles(Path(args.extracted))
    if args.second:
        if args.explain or args.unmerge or args.conflicts:
            raise EvsynthError("--as works with listing and --decide only")
        return run_second(args, files)
    entries = load_log(files.screening)
    if args.explain:
        merges = files.load()[1]
        print(explain_report(entries[find_entry(entries, args.explain)], merges), end="")
        return 0
    if args.unmerge:
        date = check_date(args.date) if args.date else today()
        new_entries, merges = unmerge(entries, files.load()[1], args.unmerge, date)
        files.save(new_entries, merges)
        restored = new_entries[-1]
        print(f"{args.unmerge} undone: {restored.record_id} is a record of its own again "
              f"({restored.source}, pending)")
        return 0
    if args.decide:
        key, decision = args.decide
        date = check_date(args.date) if args.date else today()
        updated = decide(entries, key, decision, reviewer=args.reviewer.strip(), date=date,
                         reason=args.reason.strip(), stage=args.stage)
        files.save(updated, files.load()[1])
        changed = next(e for e, old in zip(updated, entries) if e != old) if updated != entries else None
        if changed is not None:
            print(f"{changed.record_id}: {changed.stage}: {changed.decision}"
                  + (f" ({changed.reason})" if changed.reason else "") + f" by {changed.reviewer}")
        else:
            print(f"{key}: unchanged")
        return 0
    if args.conflicts:
        text, total = conflicts_report(files, entries)
        print(text, end="")
        return 0
    width = shutil.get_terminal_size((100, 24)).columns - 2
    print(pending_report(entries, width, max(args.limit, 0)), end="")
    return 0
