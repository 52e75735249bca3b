"""``evsynth sheets``: the data dictionary of the project's sheets, generated from ``sheets.toml``."""

from __future__ import annotations

import argparse
import sys

from evsynth.cli.options import add_root_argument, project_of
from evsynth.review.load import review_sheets
from evsynth.sheets.dictionary import FORMATS, data_dictionary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text for the terminal (default) or markdown (docs/data-dictionary.md)")


def run(args: argparse.Namespace) -> int:
    """Print every sheet and column: type, required, allowed values, references, description."""
    sys.stdout.write(data_dictionary(review_sheets(project_of(args).root), args.format))
    return 0
