"""``evsynth identify``: propose PubMed records for the studies without a PMID; confirm one."""

from __future__ import annotations

import argparse

from evsynth.cli.eutils_options import add_eutils_arguments, make_client
from evsynth.cli.options import add_root_argument, project_of
from evsynth.core.errors import EvsynthError
from evsynth.core.lock import project_lock
from evsynth.screening.files import ReviewFiles, check_date, today
from evsynth.screening.identify import (confirm, parse_confirmation, propose, read_studies,
                                        studies_to_identify)
from evsynth.search.queries import query_terms


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)
    parser.add_argument("--study", action="append", default=[], metavar="STUDY",
                        help="only this study id (repeatable; default: every study without a PMID)")
    parser.add_argument("--confirm", action="append", default=[], metavar="STUDY=PMID",
                        help="confirm a PubMed record for a study: fills pmid, doi, title, journal "
                             "and year in studies.csv, and identified_by (repeatable)")
    parser.add_argument("--reviewer", default="", help="who checked the record (with --confirm)")
    parser.add_argument("--source", default="",
                        help="what the record was checked against, kept in identified_by")
    parser.add_argument("--date", default=None, help="date of the confirmation (default: today, UTC)")
    parser.add_argument("--top", type=int, default=3, metavar="N",
                        help="candidates shown per study (default 3)")
    add_eutils_arguments(parser)


def run(args: argparse.Namespace) -> int:
    project = project_of(args)
    files = ReviewFiles(project.extracted)
    client = make_client(args)
    if args.confirm:
        date = check_date(args.date) if args.date else today()
        pairs = [parse_confirmation(c) for c in args.confirm]
        records = {r.pmid: r for r in client.efetch_records([p for _, p in pairs], require_all=False)}
        for study_id, pmid in pairs:
            if pmid not in records:
                raise EvsynthError(f"PMID {pmid}: PubMed returned no record; not confirmed")
            with project_lock(project.root):  # studies.csv re-read, changed and written as one step
                row = confirm(files.studies, study_id, records[pmid], reviewer=args.reviewer,
                              date=date, source=args.source)
            print(f"{study_id}: PMID {row['pmid']}" + (f", doi {row['doi']}" if row["doi"] else "")
                  + f" — {row['title']} {row['journal']} {row['year']} (confirmed by {args.reviewer.strip()})")
        return 0
    if args.top < 1:
        raise EvsynthError("--top must be at least 1")
    _, rows = read_studies(files.studies)
    studies = studies_to_identify(rows)
    if args.study:
        unknown = sorted(set(args.study) - {r["study_id"] for r in rows})
        if unknown:
            raise EvsynthError(f"{files.studies}: no study {unknown[0]!r}")
        studies = [s for s in studies if s.study_id in args.study]
    if not studies:
        print("Every study has a PMID.")
        return 0
    topic = query_terms(project.queries)
    for proposal in propose(client, studies, topic, per_study=args.top):
        s = proposal.study
        print(f"{s.study_id} {s.first_author}" + (f" {s.year}" if s.year else "")
              + f": searched {proposal.term}")
        if proposal.citation is not None:
            c = proposal.citation
            print(f"  ECitMatch: {c.status}" + (f" PMID {c.pmid}" if c.pmid else "")
                  + (f" (candidates {', '.join(c.candidates)})" if c.candidates else ""))
        if not proposal.candidates:
            print("  no candidate")
        for rank, cand in enumerate(proposal.candidates, 1):
            r = cand.record
            print(f"  {rank}. PMID {r.pmid} score {cand.score:g}: {r.first_author} {r.year or ''} "
                  f"{r.journal} — {r.title}")
            for line in cand.evidence:
                print(f"       {line}")
        print()
    print("Check a candidate on PubMed, then: evsynth identify --confirm STUDY=PMID --reviewer NAME "
          '[--source "what you checked"]')
    return 0
