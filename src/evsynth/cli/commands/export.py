"""``evsynth export``: the included studies as RIS, BibTeX or CSL-JSON for a reference manager."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.screening.export import FORMATS, export_citations
from evsynth.screening.known import included_citations, load_previous_studies, new_inclusions
from evsynth.screening.files import ReviewFiles


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=sorted(FORMATS), default="ris", dest="fmt",
                        help="ris, bibtex or csl-json (default: ris)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="file to write (default: reports/included.EXT; '-' for standard output)")
    parser.add_argument("--extracted", default="extracted", metavar="DIR",
                        help="folder of the screening log and studies.csv (default: extracted)")


def included_meaning(files: ReviewFiles) -> str:
    """One line saying what "included" counts, and what waits for a full-text decision."""
    entries = files.load_log()
    previous = load_previous_studies(files)
    from_log = len(new_inclusions(entries, previous))
    waiting = sum(1 for e in entries if e.awaits_full_text)
    line = (f"included = included at full text ({from_log} from the screening log) and the rows "
            f"of studies.csv ({len(previous)})")
    if waiting:
        line += (f"; {waiting} records included at title/abstract await their full-text decision "
                 "and are not exported (evsynth screen --next)")
    return line


def run(args: argparse.Namespace) -> int:
    files = ReviewFiles(Path(args.extracted))
    citations = included_citations(files)
    text = export_citations(citations, args.fmt)
    if args.out == "-":
        sys.stdout.write(text)
        print(included_meaning(files), file=sys.stderr)
        return 0
    out = Path(args.out or f"reports/included{FORMATS[args.fmt]}")
    write_text(out, text)
    print(f"{out}: {len(citations)} included studies ({args.fmt})")
    print(included_meaning(files))
    return 0
