"""``evsynth tables``: write the review's tables as supplementary CSV, XLSX and DOCX files."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from evsynth.cli.options import add_root_argument, project_of
from evsynth.core.errors import EvsynthError
from evsynth.report.compute import review_tables
from evsynth.report.supplementary import FORMATS, write_supplementary
from evsynth.report.tables import Table


def parse_formats(text: str) -> list[str]:
    """``csv``, ``xlsx,docx`` ... as a list of known format names."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in FORMATS:
            raise argparse.ArgumentTypeError(
                f"unknown format {name!r} (choose from {', '.join(FORMATS)})")
    if not names:
        raise argparse.ArgumentTypeError("no format given")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--format`` (repeatable or comma-separated), ``--out DIR``, ``--root DIR``."""
    parser.add_argument("--format", dest="formats", action="extend", type=parse_formats,
                        metavar="FORMAT",
                        help="csv, xlsx or docx; repeat or separate with commas "
                             "(default: all three)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: reports/supplementary/ in the project)")
    add_root_argument(parser)


def load_tables(root: Path) -> list[Table]:
    """The review's tables, as the build renders them (:func:`evsynth.report.compute.review_tables`)."""
    return list(review_tables(root))


def run(args: argparse.Namespace) -> int:
    """Collect the tables, write them, and list the files written."""
    project = project_of(args)
    formats = tuple(dict.fromkeys(args.formats or FORMATS))
    out_dir = args.out if args.out is not None else project.supplementary
    if out_dir.exists() and not out_dir.is_dir():
        raise EvsynthError(f"{out_dir} exists and is not a folder")
    tables = load_tables(project.root)
    if not tables:
        raise EvsynthError("the review has no tables to write")
    try:
        written = write_supplementary(tables, out_dir, formats)
    except ValueError as exc:
        raise EvsynthError(str(exc)) from exc
    except OSError as exc:
        raise EvsynthError(f"cannot write {exc.filename or out_dir}: {exc.strerror or exc}") from exc
    for path in written:
        print(os.path.relpath(path))
    return 0
