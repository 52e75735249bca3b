"""Options and helpers shared by the commands: the project root, E-utilities access."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from evsynth.core.errors import EvsynthError
from evsynth.core.project import EXTRACTED, Project, find_project, project_at
from evsynth.search.eutils import EutilsClient, api_key_from_env, resolve_base_url

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


def add_eutils_arguments(parser: argparse.ArgumentParser) -> None:
    """``--eutils-url`` and ``--email`` (the API key is read from NCBI_API_KEY only)."""
    parser.add_argument("--eutils-url", default=None, metavar="URL",
                        help="E-utilities base URL (default: $EVSYNTH_EUTILS_URL, else NCBI's)")
    parser.add_argument("--email", default=os.environ.get(ENV_EMAIL), metavar="ADDRESS",
                        help=f"contact e-mail sent to NCBI (default: ${ENV_EMAIL})")


def print_retry(line: str) -> None:
    """Show a retry on the terminal, one line each (``retry 2/6 in 2.1 s: HTTP 503``)."""
    print(line, file=sys.stderr, flush=True)


def make_client(args: argparse.Namespace, **options: object) -> EutilsClient:
    """A client for the chosen server; the key comes from the environment, never an option."""
    return EutilsClient(base_url=resolve_base_url(args.eutils_url), email=args.email,
                        api_key=api_key_from_env(), on_retry=print_retry, **options)  # type: ignore[arg-type]
