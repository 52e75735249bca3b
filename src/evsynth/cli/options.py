"""Options and helpers shared by the commands: the project root (E-utilities access is in
:mod:`evsynth.cli.eutils_options`, so commands that never reach PubMed do not import the client)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evsynth.core.errors import EvsynthError
from evsynth.core.project import EXTRACTED, Project, find_project, project_at

#: Environment variable with the contact e-mail sent to NCBI.
ENV_EMAIL = "NCBI_EMAIL"

def add_root_argument(parser: argparse.ArgumentParser) -> None:
    """``--root DIR``: the review project (default: found from the current folder upwards, like git)."""
    parser.add_argument("--root", type=Path, default=None, metavar="DIR",
                        help="the review project folder (default: the nearest folder, from the current "
                             "one upwards, holding review.toml or extracted/)")


def project_of(args: argparse.Namespace) -> Project:
    """The project named by ``--root``, else the one found from the current folder upwards."""
    root: Path | None = getattr(args, "root", None)
    return project_at(root) if root is not None else find_project()


def project_with_sheets(args: argparse.Namespace) -> Project:
    """:func:`project_of`, checked to hold ``extracted/`` (the commands that read the sheets)."""
    project = project_of(args)
    if not project.extracted.is_dir():
        raise EvsynthError(f"{project.root}: no {EXTRACTED}/ folder here; run evsynth from a review project "
                           "(or pass --root, or create one with 'evsynth init DIR')")
    return project


def print_retry(line: str) -> None:
    """Show a retry on the terminal, one line each (``retry 2/6 in 2.1 s: HTTP 503``)."""
    print(line, file=sys.stderr, flush=True)
