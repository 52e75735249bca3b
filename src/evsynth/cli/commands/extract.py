"""``evsynth extract``: a record included at full text becomes a study row and the rows to curate."""

from __future__ import annotations

import argparse
from datetime import date

from evsynth.cli.options import add_root_argument, project_with_sheets
from evsynth.core.lock import project_lock
from evsynth.core.settings import load_settings
from evsynth.review.extraction import extract
from evsynth.screening.files import check_date


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record", metavar="RECORD_ID", help="record id (or PMID) of the screening log, included at full text")
    parser.add_argument("--version", default=None, metavar="NAME",
                        help="the version the study is added in (default: the version in preparation, "
                             "else this month, YYYY-MM)")
    parser.add_argument("--today", default=None, metavar="YYYY-MM-DD", help="the date that names a new version (default: today)")
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    root = project_with_sheets(args).root
    today = date.fromisoformat(check_date(args.today, "--today")) if args.today else None
    with project_lock(root):  # study and row ids allocated on the sheets as they are now
        done = extract(root, args.record, load_settings(root), version=args.version, today=today)
    e = done.entry
    ids = ", ".join(x for x in (e.record_id, f"PMID {e.pmid}" if e.pmid else "", f"doi {e.doi}" if e.doi else "") if x)
    verb = "already in" if done.resumed else "added to"
    print(f"{done.study_id} {verb} extracted/studies.csv (row {done.study_row}) from {ids}: "
          f"added in {done.added_in}, extraction = incomplete")
    for path, (row, row_id) in done.rows.items():
        print(f"{row_id} added to {path} (row {row}): its cells are to fill")
    print("next: fill the rows ('evsynth validate' lists what is still to curate), "
          f"then set extraction = complete for {done.study_id} in extracted/studies.csv")
    return 0
