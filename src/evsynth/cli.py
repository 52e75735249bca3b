"""The ``evsynth`` command line: one sub-command per step of a reviewer's workflow.

Each sub-command lives in ``evsynth.commands.<name>`` and exposes ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``. The list below is in
the order a reviewer uses them, and ``evsynth --help`` shows it in that order.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from evsynth import __version__
from evsynth.errors import EvsynthError

#: Sub-commands in workflow order: (name, module).
COMMANDS: list[tuple[str, str]] = [
    ("init", "evsynth.commands.init"),
    ("harvest", "evsynth.commands.harvest"),
    ("update", "evsynth.commands.update"),
    ("import", "evsynth.commands.import_ris"),
    ("screen", "evsynth.commands.screen"),
    ("chase", "evsynth.commands.chase"),
    ("export", "evsynth.commands.export"),
    ("validate", "evsynth.commands.validate"),
    ("verify", "evsynth.commands.verify"),
    ("pool", "evsynth.commands.pool"),
    ("build", "evsynth.commands.build"),
    ("tables", "evsynth.commands.tables"),
]

DESCRIPTION = """\
Keep a systematic review alive and reproducible.

Workflow, in the order a reviewer uses it:
  init      start a new review project (empty sheets, a sample query)
  harvest   run the documented PubMed searches (queries/) and keep every record
  update    re-run them since their last run; new records into the screening log
  import    add another database's RIS export to the screening log (de-duplicated)
  screen    list records to screen, record decisions, compare two reviewers
  chase     citation chasing: references and cited-by of the included studies
  export    included studies as RIS, BibTeX or CSL-JSON
  validate  check the curated sheets in extracted/ (file:row:column errors)
  verify    recompute every published claim from the sheets
  pool      meta-analysis of proportions from per-study counts (metafor's models)
  build     validate, verify, then render reports/ (offline)
  tables    write just the supplementary tables (CSV, XLSX, DOCX)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered in workflow order."""
    parser = argparse.ArgumentParser(
        prog="evsynth", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"evsynth {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, module_name in COMMANDS:
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evsynth`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except EvsynthError as exc:
        print(f"evsynth: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("evsynth: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: one line, and the traceback on request
        if os.environ.get("EVSYNTH_DEBUG"):
            raise
        print(f"evsynth: internal error: {type(exc).__name__}: {exc} "
              "(set EVSYNTH_DEBUG=1 to see the traceback, and please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
