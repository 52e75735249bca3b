"""Shared fixtures: the bundled review copied into a temporary project, and the browser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser import chromium  # noqa: F401  (the session-wide headless Chromium of tests/browser.py)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the bundled review's sheets in a fresh project folder."""
    shutil.copytree(REPO / "extracted", tmp_path / "extracted")
    return tmp_path
