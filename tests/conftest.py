"""Shared fixtures: the session-wide headless Chromium lives in tests/browser.py."""

from browser import chromium  # noqa: F401  (re-exported as a fixture)
