"""``evsynth validate``: check every curated sheet and print each problem as file:row:column.

The screening logs, the analysis plan and the query files (``queries/*.toml``) are
checked too.

Studies awaiting extraction (``extraction = incomplete``) are listed with
what is still to curate for each; those items are not problems.
"""

from __future__ import annotations

import argparse
import sys

from evsynth.cli.options import add_root_argument, project_with_sheets
from evsynth.core.errors import EvsynthError
from evsynth.core.project import Project
from evsynth.core.settings import load_settings
from evsynth.review.load import check, checked_rows, review_sheets
from evsynth.review.outcomes import plan_problems
from evsynth.review.plan import PLAN_FILE, AnalysisPlan, PlanError, load_plan
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import validate_log
from evsynth.search.queries import load_query
from evsynth.prioritise.sample_file import read_sample


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    root = project_with_sheets(args).root
    settings, sheet_set = load_settings(root), review_sheets(root)
    plan: AnalysisPlan | PlanError
    try:  # read once: the claims' check names the plan's outcomes too
        plan = load_plan(root, sheet_set)
    except PlanError as exc:
        plan = exc
    checked = check(root, settings, sheet_set, plan)
    problems: list[object] = list(checked.problems)
    if isinstance(plan, PlanError):
        problems.append(str(plan))
    else:
        if not problems and plan.outcomes:
            problems.extend(plan_problems(checked_rows(checked, sheet_set), plan))
    queries = Project(root).queries
    for query in sorted(queries.glob("*.toml")) if queries.is_dir() else ():
        try:  # a query's term: balanced, no control character, not absurdly long
            load_query(query)
        except EvsynthError as exc:
            problems.append(str(exc))
    files = ReviewFiles(Project(root).extracted)
    for log in (files.screening, *files.second_reviewers()):
        problems.extend(validate_log(log, files.reasons))
    if files.sample.is_file() and not problems:
        try:  # the random-sample order must list records of the log, once each
            read_sample(files.sample, {e.record_id for e in files.load_log(files.screening)},
                        Project(root).relative(files.sample))
        except EvsynthError as exc:
            problems.append(str(exc))
    for item in checked.to_curate:
        print(item)
    for problem in problems:
        print(problem)
    awaiting = ""
    if checked.awaiting:
        studies = ", ".join(f"{a.study_id} ({len(a.to_curate)} to curate)" for a in checked.awaiting)
        awaiting = f"; awaiting extraction: {studies}"
    if problems:
        sys.stdout.flush()  # the problem lines first, whole, even when both streams go to one file
        print(f"{len(problems)} problem(s) found{awaiting}", file=sys.stderr)
        return 1
    print("extracted/: all sheets valid" + (f"; {PLAN_FILE}: plan valid" if (root / PLAN_FILE).is_file() else "")
          + awaiting)
    return 0
