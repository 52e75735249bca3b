"""``evsynth verify``: recompute each published claim from the sheets."""

from __future__ import annotations

import argparse

from evsynth.review.claims import claims_summary, verify_claims
from evsynth.cli.options import add_root_argument, project_with_sheets
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
    results = verify_claims(review)
    for r in results:
        if args.all or r.status != "reproduced" or r.regression:
            flag = "  REGRESSION" if r.regression else ""
            detail = f"paper {r.expected}, sheets {r.computed}" if r.computed else r.why
            print(f"{r.claim_id:<4} {r.status:<13} {r.statement} ({detail}){flag}")
    summary = claims_summary(results)
    print(f"{summary['reproduced']} reproduced, {summary['approximate']} approximate, "
          f"{summary['stated in text']} stated in text, {summary['differs']} differ, "
          f"{summary['not derivable']} not derivable ({len(results)} registered statements)")
    return 1 if any(r.regression for r in results) else 0
