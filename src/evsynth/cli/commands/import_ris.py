"""``evsynth import FILE.ris --source NAME``: add another source's records to the screening log.

PRISMA 2020 counts a record under the column of the source it was first seen in:
*Identification of studies via databases and registers* for a database (embase,
scopus, ...), *via other methods* for the names of
:data:`evsynth.screening.log.OTHER_METHODS` (websites, organisations, citation
searching, handsearch, ...). The command says which.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from evsynth.cli.options import add_root_argument, project_of
from evsynth.screening.dedup import merge_records
from evsynth.core.errors import EvsynthError
from evsynth.core.lock import project_lock
from evsynth.screening.known import is_previous_study, previous_from_rows
from evsynth.screening.files import ReviewFiles, check_date, today
from evsynth.screening.log import OTHER_METHODS
from evsynth.screening.ris import read_ris
from evsynth.review.load import read_studies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.ris", help="RIS file exported from a database")
    parser.add_argument("--source", required=True,
                        help="database or register it came from (e.g. embase, scopus, wos, central), or one of "
                             f"the other methods of PRISMA 2020: {', '.join(OTHER_METHODS)}")
    add_root_argument(parser)
    parser.add_argument("--date", default=None, help="date recorded as added (default: today, UTC)")


def summary_line(name: str, total: int, new: int, matched: dict[str, int], seen: int = 0,
                 source: str = "") -> str:
    """``scopus.ris: 4 records, 1 new, 3 matched (2 by doi, 1 by title+year+first_author)``.

    Records matched that were already imported from the same source are named too.
    """
    parts = ", ".join(f"{n} by {key}" for key, n in sorted(matched.items()) if n)
    count = sum(matched.values())
    line = f"{name}: {total} records, {new} new, {count} matched" + (f" ({parts})" if parts else "")
    return line + (f"; {seen} of them already imported from {source}" if seen else "")


def run(args: argparse.Namespace) -> int:
    source = args.source.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9 ._-]*", source):
        raise EvsynthError(f"--source {args.source!r}: use a short database name (letters, digits, - _ .)")
    date = check_date(args.date) if args.date else today()
    project = project_of(args)
    files = ReviewFiles(project.extracted)
    found = read_ris(args.file, source)
    previous = previous_from_rows(read_studies(project.root))
    records = [r for r in found if not is_previous_study(r, previous)]
    with project_lock(project.root):  # the logs as they are now, merged and written as one step
        entries, merges = files.load()
        result = merge_records(entries, merges, records, source, date)
        files.save(result.entries, result.merges)
    line = summary_line(Path(args.file).name, len(found), len(result.new_ids), dict(result.matched),
                        sum(result.seen.values()), source)
    skipped = len(found) - len(records)
    print(line + (f"; {skipped} already included in the previous version" if skipped else ""))
    column = "other methods" if source in OTHER_METHODS else "databases and registers"
    print(f"PRISMA 2020: records first seen in {source!r} count under 'Identification of studies via {column}'")
    return 0
