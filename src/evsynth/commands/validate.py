"""``evsynth validate``: check every curated sheet and print each problem as file:row:column."""

from __future__ import annotations

import argparse
import sys

from evsynth.commands._common import add_root_argument, project_root
from evsynth.review import validate

HELP = "check the curated sheets in extracted/ and list every problem as file:row:column: message"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    problems = validate(project_root(args))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("extracted/: all sheets valid")
    return 0
