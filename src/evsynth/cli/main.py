"""The ``evsynth`` command line: one sub-command per step of a reviewer's workflow.

Each sub-command lives in ``evsynth.cli.commands.<name>`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``; its one-line help is in
:data:`COMMANDS`. The list below is in
the order a reviewer uses them, and ``evsynth --help`` shows it in that order.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from evsynth import __version__
from evsynth.core.errors import EvsynthError

#: Sub-commands in workflow order: (name, module, one-line help). Only the module of the
#: command that runs is imported, so ``evsynth --help`` and every command start fast.
COMMANDS: list[tuple[str, str, str]] = [
    ("init", "evsynth.cli.commands.init",
     "start a new review project in DIR from a template (blank or case-series): sheets, a sample query"),
    ("harvest", "evsynth.cli.commands.harvest",
     "run the documented PubMed searches in queries/ and save every record (resumable)"),
    ("update", "evsynth.cli.commands.update",
     "re-run every query for the window since its last run; new records into the screening log"),
    ("import", "evsynth.cli.commands.import_ris",
     "import a RIS export (Embase, Scopus, Web of Science, CENTRAL) into the screening log"),
    ("screen", "evsynth.cli.commands.screen",
     "list records to screen, record a decision, or compare with a second reviewer"),
    ("identify", "evsynth.cli.commands.identify",
     "propose PubMed records for included studies without a PMID (ESearch, ECitMatch); confirm one"),
    ("simulate", "evsynth.cli.commands.simulate",
     "replay a fully labelled screening data set through the ranking and stopping rule (JSON)"),
    ("chase", "evsynth.cli.commands.chase",
     "citation chasing: add references and cited-by records of included studies (Entrez elink)"),
    ("export", "evsynth.cli.commands.export",
     "export the included studies as RIS, BibTeX or CSL-JSON"),
    ("sheets", "evsynth.cli.commands.sheets",
     "print the data dictionary: every sheet and column, its type and allowed values (from sheets.toml)"),
    ("extract", "evsynth.cli.commands.extract",
     "add the study of a record included at full text to the sheets, with its rows to curate"),
    ("validate", "evsynth.cli.commands.validate",
     "check the curated sheets and screening logs in extracted/; list every problem as file:row:column: message"),
    ("verify", "evsynth.cli.commands.verify",
     "recompute every registered claim of the paper from the sheets: reproduced / approximate / stated in text / differs / not derivable"),
    ("pool", "evsynth.cli.commands.pool",
     "pool proportions across studies (metafor's models: PLO/PFT/PAS/PR, REML/DL/.../GLMM)"),
    ("build", "evsynth.cli.commands.build",
     "validate the sheets, verify the claims and render reports/ (offline; nothing written if invalid)"),
    ("tables", "evsynth.cli.commands.tables",
     "write the review's tables as supplementary files (CSV, XLSX, DOCX)"),
    ("changes", "evsynth.cli.commands.changes",
     "what the last update and build changed: searches, records to screen, figures moved (Markdown)"),
    ("release", "evsynth.cli.commands.release",
     "freeze the current state as a named version of the review (versions/NAME.json, review.toml)"),
]

DESCRIPTION = """\
Keep a systematic review alive and reproducible.

Workflow, in the order a reviewer uses it:
  init      start a new review project from a template (sheets, a sample query)
  harvest   run the documented PubMed searches (queries/) and keep every record
  update    re-run them since their last run; new records into the screening log
  import    add another database's RIS export to the screening log (de-duplicated)
  screen    list records to screen, record decisions, compare two reviewers
  identify  PubMed records for the included studies without a PMID; --confirm one
  simulate  replay a labelled screening data set: work saved, where the stopping rule fires
  chase     citation chasing: references and cited-by of the included studies
  export    included studies as RIS, BibTeX or CSL-JSON
  sheets    the data dictionary: every sheet, column, type and allowed values
  extract   a record included at full text becomes a study with rows to curate
  validate  check the curated sheets in extracted/ (file:row:column errors)
  verify    recompute every published claim from the sheets
  pool      meta-analysis of proportions from per-study counts (metafor's models)
  build     validate, verify, then render reports/ (offline)
  tables    write just the supplementary tables (CSV, XLSX, DOCX)
  changes   what the last update and build changed (a pull request's text)
  release   freeze the current state as a named version of the review
"""


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command named in *argv* (the first argument that is not an option), if any."""
    names = {name for name, _, _ in COMMANDS}
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in names else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered in workflow order.

    Only the command chosen in *argv* is registered, with its options (its module is
    imported then): each sub-parser costs argparse a few translation-file look-ups, so
    registering the other eighteen would cost a command more start-up than most of its
    own modules. Without a command (``evsynth --help``, a misspelt one) every command is
    registered, without its options, for the list; with ``argv=None`` every command's
    module is imported and registered.
    """
    parser = argparse.ArgumentParser(
        prog="evsynth", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"evsynth {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    chosen = chosen_command(argv) if argv is not None else None
    for name, module_name, help_text in COMMANDS:
        if chosen is not None and name != chosen:
            continue
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if argv is None or name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(_run=module.run)
    return parser


#: The longest error line printed; a longer message (one quoting a huge input) is cut.
MAX_ERROR_CHARS = 2_000


def readable(message: str) -> str:
    """*message* cut to :data:`MAX_ERROR_CHARS` characters (saying how much was cut)."""
    line = message
    if len(line) <= MAX_ERROR_CHARS:
        return line
    return line[:MAX_ERROR_CHARS] + f"… ({len(line) - MAX_ERROR_CHARS:,} more characters not shown)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evsynth`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except EvsynthError as exc:
        print(f"evsynth: error: {readable(str(exc))}", file=sys.stderr)
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
