"""``evsynth init DIR [--template blank|case-series]``: start a new review project from a template."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from evsynth.core.project import Project
from evsynth.review.scaffold import DEFAULT_TEMPLATE, TEMPLATES, create_project


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``DIR``: a folder that does not exist yet or is empty; ``--template``: which sheets to start with."""
    parser.add_argument("directory", metavar="DIR", type=Path,
                        help="new or empty folder for the project (created if missing)")
    parser.add_argument("--template", choices=TEMPLATES, default=DEFAULT_TEMPLATE,
                        help="blank: one sheet of included studies, to which you add your own sheets in "
                             "sheets.toml; case-series: the bundled review's nine sheets (literature cohorts "
                             "with response counts, a case series, guidelines, a claims registry). "
                             f"Default: {DEFAULT_TEMPLATE}, because a new review rarely has the bundled "
                             "review's structure")


def run(args: argparse.Namespace) -> int:
    """Scaffold the project and say what to do next."""
    made = create_project(args.directory, args.template)
    shown = os.path.relpath(args.directory.absolute())
    print(f"Created a review project in {shown}/ from the {args.template!r} template "
          f"({len(made)} files and folders).")
    project = Project(Path(shown))
    print(f"Next: edit {project.queries / 'sample.toml'}, fill in the sheets in "
          f"{project.extracted}/ (`evsynth sheets` lists their columns), then run "
          f"`evsynth validate` and `evsynth build` there (see {os.path.join(shown, 'README.md')}).")
    return 0
