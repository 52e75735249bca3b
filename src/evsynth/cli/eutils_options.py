"""Options shared by the commands that reach PubMed's E-utilities: the server, the contact
e-mail, the client (the API key is read from the environment only)."""

from __future__ import annotations

import argparse
import os

from evsynth.cli.options import ENV_EMAIL, print_retry
from evsynth.search.eutils import EutilsClient, api_key_from_env, resolve_base_url


def add_eutils_arguments(parser: argparse.ArgumentParser) -> None:
    """``--eutils-url`` and ``--email`` (the API key is read from NCBI_API_KEY only)."""
    parser.add_argument("--eutils-url", default=None, metavar="URL",
                        help="E-utilities base URL (default: $EVSYNTH_EUTILS_URL, else NCBI's)")
    parser.add_argument("--email", default=os.environ.get(ENV_EMAIL), metavar="ADDRESS",
                        help=f"contact e-mail sent to NCBI (default: ${ENV_EMAIL})")


def make_client(args: argparse.Namespace, **options: object) -> EutilsClient:
    """A client for the chosen server; the key comes from the environment, never an option."""
    return EutilsClient(base_url=resolve_base_url(args.eutils_url), email=args.email,
                        api_key=api_key_from_env(), on_retry=print_retry, **options)  # type: ignore[arg-type]
