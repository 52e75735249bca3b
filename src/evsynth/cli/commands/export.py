"""``evsynth export``: the included studies as RIS, BibTeX or CSL-JSON for a reference manager."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.screening.export import FORMATS, export_citations
from evsynth.screening.known import included_citations
from evsynth.screening.files import ReviewFiles


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=sorted(FORMATS), default="ris", dest="fmt",
                        help="ris, bibtex or csl-json (default: ris)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="file to write (default: reports/included.EXT; '-' for standard output)")
    parser.add_argument("--extracted", default="extracted", metavar="DIR",
                        help="folder of the screening log and studies.csv (default: extracted)")


def run(args: argparse.Namespace) -> int:
    citations = included_citations(ReviewFiles(Path(args.extracted)))
    text = export_citations(citations, args.fmt)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out or f"reports/included{FORMATS[args.fmt]}")
    write_text(out, text)
    print(f"{out}: {len(citations)} included studies ({args.fmt})")
    return 0
