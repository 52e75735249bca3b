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
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    root = project_with_sheets(args).root
    done = release(root, args.name, date=args.date or today(), citation=args.citation, doi=args.doi)
    v = done.version
    added = f"{len(done.added)} added since {done.previous or 'the start'}" + (
        f": {', '.join(done.added)}" if done.added else "")
    print(f"version {v.name} released ({v.date}): {len(v.studies)} studies ({added}); "
          f"sheets SHA-256 {v.sheet_sha256[:12]}…; figures frozen in {v.figures}; review.toml names it")
    print("next: evsynth build (the page then compares with this version)")
    return 0
