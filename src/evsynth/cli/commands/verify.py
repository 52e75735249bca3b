"""``evsynth verify``: recompute each registered claim from the sheets.

Each claim's metric (an expression over the sheets, ``extracted/claims.csv``)
is computed and compared with the value stated; a claim that no longer has
its registered status is a regression, named, and the command exits 1. A
project without claims (no claims sheet, or one with only its header) has
nothing to verify: it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys

from evsynth.cli.options import add_root_argument, project_with_sheets
from evsynth.review.claims import CLAIMS_SHEET, claims_summary, verify_claims
from evsynth.review.load import load_review
from evsynth.review.model import SheetsInvalid


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--all", action="store_true", help="also list reproduced claims")


def run(args: argparse.Namespace) -> int:
    root = project_with_sheets(args).root
    try:
        review = load_review(root)
    except SheetsInvalid as exc:
        for problem in exc.problems:
            print(problem)
        raise
    if CLAIMS_SHEET not in review.frames:
        print("no claims registered (sheets.toml declares no claims sheet)")
        return 0
    results = verify_claims(review)
    if not results:
        print(f"no claims registered ({CLAIMS_SHEET}.csv has no rows)")
        return 0
    for r in results:
        if args.all or r.status != "reproduced" or r.regression:
            flag = "  REGRESSION" if r.regression else ""
            detail = f"paper {r.expected}, sheets {r.computed}" if r.computed else r.why
            print(f"{r.claim_id:<4} {r.status:<13} {r.statement} ({detail}){flag}")
    summary = claims_summary(results)
    print(f"{summary['reproduced']} reproduced, {summary['approximate']} approximate, "
          f"{summary['stated in text']} stated in text, {summary['differs']} differ, "
          f"{summary['not derivable']} not derivable ({len(results)} registered statements)")
    regressed = [r for r in results if r.regression]
    if regressed:
        sys.stdout.flush()
        listing = "; ".join(f"{r.claim_id} ({CLAIMS_SHEET}.csv row {r.row}: registered {r.expected_status}, "
                            f"now {r.status})" for r in regressed)
        print(f"evsynth verify: {len(regressed)} claim(s) no longer as registered: {listing}", file=sys.stderr)
        return 1
    return 0
