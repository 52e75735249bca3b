"""``evsynth chase``: references and cited-by records of the included studies into the screening log."""

from __future__ import annotations

import argparse

from evsynth.core.lock import project_lock
from evsynth.screening.chase import LINKS, SOURCE, chase, merge_chased
from evsynth.cli.eutils_options import add_eutils_arguments, make_client
from evsynth.cli.options import add_root_argument, project_of
from evsynth.screening.known import previous_from_rows
from evsynth.screening.files import ReviewFiles, check_date, today
from evsynth.review.load import read_studies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--date", default=None, help="date recorded as added (default: today, UTC)")
    add_eutils_arguments(parser)


def run(args: argparse.Namespace) -> int:
    date = check_date(args.date) if args.date else today()
    project = project_of(args)
    files = ReviewFiles(project.extracted)
    entries, merges = files.load()
    previous = previous_from_rows(read_studies(project.root))
    result = chase(make_client(args), entries, merges, previous, date)
    if not result.chased:
        print(f"No included study has a PMID to chase ({result.without_pmid} without PMID).")
        return 0
    with project_lock(project.root):  # merged into the logs as they are now
        entries, merges = files.load()
        merged = merge_chased(result, entries, merges, date).merge
        assert merged is not None
        files.save(merged.entries, merged.merges)
    refs, cited = (result.linked(name) for name in LINKS)
    print(f"chased {len(result.chased)} included studies"
          + (f" ({result.without_pmid} without PMID left out)" if result.without_pmid else "")
          + f": {refs} references, {cited} cited-by; {len(result.unseen)} not yet in the log")
    print(f"{SOURCE}: {len(merged.new_ids)} new pending, {merged.merged} merged with records "
          "from other databases")
    if merged.new_ids:
        print("Screen them: evsynth screen")
    return 0
