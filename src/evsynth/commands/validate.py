"""``evsynth validate``: check every curated sheet and print each problem as file:row:column."""

from __future__ import annotations

import argparse
import sys

from evsynth.commands._common import add_root_argument, project_root
from evsynth.review import validate
from evsynth.review_files import ReviewFiles
from evsynth.screening import validate_log

HELP = "check the curated sheets and screening logs in extracted/; list every problem as file:row:column: message"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    root = project_root(args)
    problems: list[object] = list(validate(root))
    files = ReviewFiles(root / "extracted")
    for log in (files.screening, *files.second_reviewers()):
        problems.extend(validate_log(log))
    for problem in problems:
        print(problem)
    if problems:
        sys.stdout.flush()  # the problem lines first, whole, even when both streams go to one file
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("extracted/: all sheets valid")
    return 0
