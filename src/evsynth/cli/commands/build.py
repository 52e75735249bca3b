"""``evsynth build``: validate, verify and render the review into reports/ (offline)."""

from __future__ import annotations

import argparse
from pathlib import Path

from evsynth.cli.options import add_root_argument, project_with_sheets
from evsynth.core.project import Project
from evsynth.report.build import build
from evsynth.review.model import SheetsInvalid


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write the report here instead of reports/")


def run(args: argparse.Namespace) -> int:
    root = project_with_sheets(args).root
    try:
        written = build(root, args.out)
    except SheetsInvalid as exc:
        for problem in exc.problems:
            print(problem)
        raise
    out = args.out if args.out is not None else Project(root).reports
    print(f"wrote {len(written)} files to {out}/ (review.html, counts.json, build-state.json, supplementary/)")
    return 0
