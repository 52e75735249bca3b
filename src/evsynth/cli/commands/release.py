"""``evsynth release``: freeze the current state as a named version of the review."""

from __future__ import annotations

import argparse

from evsynth.cli.options import add_root_argument, project_with_sheets
from evsynth.report.release import release
from evsynth.screening.files import today


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the version's name, e.g. 2026-12")
    parser.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="its date (default: today, UTC)")
    parser.add_argument("--citation", default="", help="where the version is published, if it is")
    parser.add_argument("--doi", default="", help="its DOI, if it has one")
    parser.add_argument("--allow-unscreened", action="store_true",
                        help="release although records of the screening log are still to screen (needs --note)")
    parser.add_argument("--note", default="", help="why the version is released with records still to screen")
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    root = project_with_sheets(args).root
    done = release(root, args.name, date=args.date or today(), citation=args.citation, doi=args.doi,
                   allow_unscreened=args.allow_unscreened, note=args.note)
    v = done.version
    added = f"{len(done.added)} added since {done.previous or 'the start'}" + (
        f": {', '.join(done.added)}" if done.added else "")
    print(f"version {v.name} released ({v.date}): {len(v.studies)} studies ({added}); "
          f"sheets SHA-256 {v.sheet_sha256[:12]}…; figures frozen in {v.figures}; review.toml names it")
    if done.record.unscreened:
        print(f"released with {len(done.record.unscreened)} record(s) still to screen "
              f"({done.record.unscreened_note}); the page says so")
    print("next: evsynth build (the page then compares with this version)")
    return 0
