"""``evsynth harvest``: run the documented PubMed searches and keep every record with its provenance."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from evsynth.cli.options import ENV_EMAIL, add_root_argument, print_retry, project_of
from evsynth.core.errors import EvsynthError
from evsynth.search.eutils import EutilsClient, api_key_from_env
from evsynth.search.harvest import (DEFAULT_BATCH, SearchSpec, latest_unfinished_run, new_run_dir,
                             run_query, spec_from_query)
from evsynth.search.queries import DATETYPES, find_query, load_queries, term_problem


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``evsynth harvest``."""
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="query to run (queries/NAME.toml in the project); default: every query")
    parser.add_argument("--term", metavar="QUERY", help="an ad-hoc PubMed query (needs --out)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="run folder (default: queries/runs/NAME/<UTC timestamp>/); "
                             "an unfinished run there is resumed")
    add_root_argument(parser)
    parser.add_argument("--mindate", metavar="YYYY[/MM[/DD]]", help="earliest date (inclusive)")
    parser.add_argument("--maxdate", metavar="YYYY[/MM[/DD]]", help="latest date (inclusive)")
    parser.add_argument("--datetype", choices=DATETYPES,
                        help="date the limits and date windows apply to (default: the "
                             "query file's, else pdat)")
    parser.add_argument("--batch", metavar="N", type=int, default=DEFAULT_BATCH,
                        help=f"records per efetch request (default {DEFAULT_BATCH})")
    parser.add_argument("--email", metavar="ADDRESS", default=os.environ.get(ENV_EMAIL),
                        help=f"contact e-mail sent to NCBI (default: ${ENV_EMAIL})")
    parser.add_argument("--eutils-url", metavar="URL",
                        help="E-utilities base URL (default: $EVSYNTH_EUTILS_URL, else NCBI's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the newest unfinished run of each query instead of "
                             "starting a new one")
    parser.add_argument("--max-tries", metavar="N", type=int, default=6,
                        help="attempts per request before giving up (default 6)")


def run(args: argparse.Namespace) -> int:
    """Harvest; print one line per query."""
    if args.term is not None and args.name:
        raise EvsynthError("give either a query NAME or --term, not both")
    if args.term is not None and args.out is None:
        raise EvsynthError("--term needs --out DIR (where the run is written)")
    if args.max_tries < 1:
        raise EvsynthError("--max-tries must be at least 1")
    client = EutilsClient(base_url=args.eutils_url, email=args.email,
                          api_key=api_key_from_env(), max_tries=args.max_tries,
                          on_retry=print_retry)
    progress = sys.stderr.isatty()
    jobs: list[tuple[str, SearchSpec, Path]] = []
    if args.term is not None:
        term = " ".join(args.term.split())
        if not term:
            raise EvsynthError("--term is empty")
        problem = term_problem(term)
        if problem:
            raise EvsynthError(f"--term: {problem}")
        spec = SearchSpec(term=term, datetype=args.datetype or "pdat", mindate=args.mindate or "",
                          maxdate=args.maxdate or "", batch=args.batch)
        jobs.append(("ad-hoc", spec, args.out))
    else:
        project = project_of(args)
        queries = ([find_query(project.queries, args.name)] if args.name
                   else load_queries(project.queries))
        if args.out is not None and len(queries) > 1:
            raise EvsynthError("--out needs a single query NAME")
        runs_root = project.runs
        for query in queries:
            spec = spec_from_query(query, mindate=args.mindate, maxdate=args.maxdate,
                                   datetype=args.datetype, batch=args.batch)
            if args.out is not None:
                run_dir = args.out
            elif args.resume:
                unfinished = latest_unfinished_run(runs_root, query.name)
                if unfinished is None:
                    raise EvsynthError(f"{runs_root / query.name}: no unfinished run to resume")
                run_dir = unfinished
            else:
                run_dir = new_run_dir(runs_root, query.name)
            jobs.append((query.name, spec, run_dir))
    for name, spec, run_dir in jobs:
        result = run_query(client, spec, run_dir, progress=progress)
        m = result.manifest
        resumed = f", resumed ({m['batches']['reused']} batches kept)" if m["resumed"] else ""
        print(f"{name}: {m['records']} records (PubMed count {m['count']}), "
              f"{len(m['date_windows'])} date window(s), {m['requests']} requests, "
              f"{m['retries']} retries{resumed} -> {run_dir}")
        for warning in m["warnings"]:
            print(f"  warning: {warning}")
    return 0
