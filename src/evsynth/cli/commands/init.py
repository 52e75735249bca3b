"""``evsynth init DIR``: start a new review project with empty sheets and a sample query."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from evsynth.review.scaffold import create_project


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``DIR``: a folder that does not exist yet or is empty."""
    parser.add_argument("directory", metavar="DIR", type=Path,
                        help="new or empty folder for the project (created if missing)")


def run(args: argparse.Namespace) -> int:
    """Scaffold the project and say what to do next."""
    made = create_project(args.directory)
    shown = os.path.relpath(args.directory.absolute())
    print(f"Created a review project in {shown}/ ({len(made)} files and folders).")
    print(f"Next: edit {os.path.join(shown, 'queries', 'sample.toml')}, fill in the sheets in "
          f"{os.path.join(shown, 'extracted')}/, then run `evsynth validate` and "
          f"`evsynth build` there (see {os.path.join(shown, 'README.md')}).")
    return 0
