"""``evsynth export``: the included studies as RIS, BibTeX or CSL-JSON for a reference manager."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evsynth.cli.options import add_root_argument, project_of
from evsynth.core.atomic import write_text
from evsynth.screening.export import FORMATS, export_citations
from evsynth.screening.known import PreviousStudy, included_citations, new_inclusions, previous_from_rows
from evsynth.screening.files import ReviewFiles
from evsynth.review.load import read_studies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=sorted(FORMATS), default="ris", dest="fmt",
                        help="ris, bibtex or csl-json (default: ris)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="file to write (default: reports/included.EXT; '-' for standard output)")
    add_root_argument(parser)


def included_meaning(files: ReviewFiles, previous: list[PreviousStudy]) -> str:
    """One line saying what "included" counts, and what waits for a full-text decision."""
    entries = files.load_log()
    from_log = len(new_inclusions(entries, previous))
    waiting = sum(1 for e in entries if e.awaits_full_text)
    line = (f"included = included at full text ({from_log} from the screening log) and the rows "
            f"of studies.csv ({len(previous)})")
    if waiting:
        line += (f"; {waiting} records included at title/abstract await their full-text decision "
                 "and are not exported (evsynth screen --next)")
    return line


def run(args: argparse.Namespace) -> int:
    project = project_of(args)
    files = ReviewFiles(project.extracted)
    rows = read_studies(project.root)  # studies.csv, read once by the sheet engine's rule
    previous = previous_from_rows(rows)
    citations = included_citations(files, rows)
    text = export_citations(citations, args.fmt)
    if args.out == "-":
        sys.stdout.write(text)
        print(included_meaning(files, previous), file=sys.stderr)
        return 0
    out = Path(args.out) if args.out else project.reports / f"included{FORMATS[args.fmt]}"
    write_text(out, text)
    print(f"{out}: {len(citations)} included studies ({args.fmt})")
    print(included_meaning(files, previous))
    return 0
