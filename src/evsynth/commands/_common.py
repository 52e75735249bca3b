"""Arguments and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from evsynth.errors import EvsynthError


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    """``--root DIR``: the review project (default: the current folder)."""
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="the review project folder, holding extracted/ (default: current folder)")


def project_root(args: argparse.Namespace) -> Path:
    """The review project folder, checked to hold ``extracted/``."""
    root: Path = args.root
    if not (root / "extracted").is_dir():
        raise EvsynthError(f"{root}: no extracted/ folder here; run evsynth from a review project "
                           "(or pass --root, or create one with 'evsynth init DIR')")
    return root
