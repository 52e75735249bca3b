"""``evsynth screen``: what is left to screen, decisions from the command line, reviewer conflicts.

The plain listing runs from :mod:`evsynth.cli.screen_list`; every other action
(``--decide``, ``--from``, ``--next``, ``--serve``, ``--as``, ``--conflicts``,
``--explain``, ``--unmerge``, ``--sample``) from :mod:`evsynth.cli.screen_actions`,
which is imported by name (:data:`ACTIONS`) only when one is asked for, as
:mod:`evsynth.cli.main` imports only the command that runs: the listing then
starts without the screening page, batch decisions or dual screening.
"""

from __future__ import annotations

import argparse
import importlib
import shutil

from evsynth.cli.options import add_root_argument, project_of
from evsynth.cli.screen_list import listing
from evsynth.core.errors import EvsynthError
from evsynth.core.text import control_problem
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import DECISIONS, STAGES

#: The module of every action but the listing; imported only when one runs.
ACTIONS = "evsynth.cli.screen_actions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--next", action="store_true",
                        help="show the next record to decide, with its abstract")
    parser.add_argument("--decide", nargs="+", metavar="ID",
                        help=f"RECORD_ID [RECORD_ID ...] DECISION: record one decision "
                             f"({' | '.join(DECISIONS)}) for one or more record ids or PMIDs")
    parser.add_argument("--from", dest="from_file", metavar="FILE",
                        help="apply a CSV of decisions (record_id or pmid, decision, optional "
                             "reason, stage, reviewer, date, note); every row is checked first")
    parser.add_argument("--reason", default="",
                        help="exclusion reason from the project's list (exclusion_reasons in "
                             "review.toml); required at full text, optional at title/abstract")
    parser.add_argument("--reviewer", default="", help="who decided (initials or name)")
    parser.add_argument("--stage", choices=STAGES, default=None,
                        help="screening stage of the decision (default: the stage the record "
                             "waits at: full text once included on title/abstract)")
    parser.add_argument("--date", default=None, help="date of the decision (default: today, UTC)")
    parser.add_argument("--allow-retracted", action="store_true",
                        help="allow including a record flagged retracted or with an expression "
                             "of concern (needs --note)")
    parser.add_argument("--note", default="", help="why a flagged record is included anyway")
    parser.add_argument("--as", dest="second", metavar="NAME", default=None,
                        help="work as second reviewer NAME on extracted/screening-NAME.csv "
                             "(created from the main log, blind to its decisions)")
    parser.add_argument("--conflicts", action="store_true",
                        help="list disagreements with second reviewers' screening-NAME.csv files")
    parser.add_argument("--limit", type=int, default=20,
                        help="show at most N pending records (default 20; 0: all)")
    parser.add_argument("--explain", metavar="RECORD_ID",
                        help="show which records were merged into this one, and by which key")
    parser.add_argument("--unmerge", metavar="MERGE_ID",
                        help="undo a merge of the merge log: the record returns as its own pending row")
    parser.add_argument("--sample", action="store_true",
                        help="start the random-sample check: put every record still to screen "
                             "at title/abstract in a random order (extracted/sample-order.csv)"
                             "; they are offered in it from now on and the stopping criterion "
                             "tests that sample, whatever the ranking did")
    parser.add_argument("--serve", action="store_true",
                        help="open the screening page on this machine (127.0.0.1); the first "
                             "line printed is its address with its access token")
    parser.add_argument("--port", type=int, default=0, metavar="N",
                        help="port of the screening page (default: a free port)")


def run(args: argparse.Namespace) -> int:
    files = ReviewFiles(project_of(args).extracted)
    if args.decide and args.from_file:
        raise EvsynthError("give --decide or --from, not both")
    if args.port and not args.serve:
        raise EvsynthError("--port goes with --serve")
    if not 0 <= args.port <= 65535:
        raise EvsynthError(f"--port {args.port}: not a port number (0-65535)")
    problem = control_problem(args.reviewer, breaks_allowed=False)
    if problem:
        raise EvsynthError(f"--reviewer: {problem.replace('an id holds', 'the name holds')}")
    if args.sample and (args.decide or args.from_file or args.explain or args.unmerge
                        or args.conflicts or args.serve or args.second):
        raise EvsynthError("--sample works alone (or with --next)")
    if args.serve and (args.decide or args.from_file or args.explain or args.unmerge
                       or args.conflicts or args.next):
        raise EvsynthError("--serve works alone (with --as, --reviewer, --port)")
    if args.second and not args.serve and (args.explain or args.unmerge or args.conflicts):
        raise EvsynthError("--as works with listing, --next, --decide and --from only")
    if (args.serve or args.second or args.unmerge or args.decide or args.from_file or args.explain
            or args.conflicts or args.sample or args.next):
        return int(importlib.import_module(ACTIONS).run(args, files))
    entries = files.load_log()
    width = shutil.get_terminal_size((100, 24)).columns - 2
    print(listing(entries, files, width, max(args.limit, 0)), end="")
    return 0
