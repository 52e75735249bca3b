"""``evsynth update``: new records since each query's last run, into the screening log; retraction watch."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from evsynth.cli.eutils_options import add_eutils_arguments, make_client
from evsynth.cli.options import add_root_argument, project_of
from evsynth.screening.known import previous_from_rows
from evsynth.core.errors import EvsynthError
from evsynth.screening.files import ReviewFiles, check_date
from evsynth.screening.update import OVERLAP_DAYS, run_update, summary
from evsynth.review.load import read_studies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--overlap", type=int, default=OVERLAP_DAYS, metavar="DAYS",
                        help=f"days each window reaches back into the last one (default: {OVERLAP_DAYS})")
    parser.add_argument("--today", default=None, metavar="YYYY-MM-DD",
                        help="end of the window (default: today, UTC)")
    add_eutils_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.overlap < 0:
        raise EvsynthError("--overlap must be zero or more days")
    today = date.fromisoformat(check_date(args.today, "--today")) if args.today else None
    project = project_of(args)
    previous = previous_from_rows(read_studies(project.root))
    outcome = run_update(make_client(args), project.queries, ReviewFiles(project.extracted), previous,
                         today=today, overlap_days=args.overlap,
                         progress=sys.stderr.isatty())
    print(summary(outcome), end="")
    return 0
