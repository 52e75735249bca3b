"""``evsynth changes``: what the last update and build changed, as text or a pull request's Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

from evsynth.cli.options import add_root_argument, project_of
from evsynth.core.atomic import write_text
from evsynth.report import state as build_state
from evsynth.report.changes import compare
from evsynth.report.pull_request import pull_request_body
from evsynth.screening.files import ReviewFiles
from evsynth.screening.update import load_update_log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--title", default="Living update",
                        help="the first line (heading) of the text (default: 'Living update')")
    parser.add_argument("--output", default=None, metavar="FILE",
                        help="write the text to FILE instead of printing it (e.g. a pull request's body)")


def run(args: argparse.Namespace) -> int:
    project = project_of(args)
    entries, _ = ReviewFiles(project.extracted).load()
    runs = load_update_log(project.extracted / "update-log.csv")
    state = build_state.read(project.reports / build_state.FILENAME)
    changes = (compare(state.previous, state.current)
               if state.previous is not None and state.current is not None else None)
    text = pull_request_body(args.title, runs, entries, changes)
    if args.output:
        write_text(Path(args.output), text)
    else:
        print(text, end="")
    return 0
