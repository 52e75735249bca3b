"""Look at a local HTML page the way a reader would: in a real, headless Chromium.

The tests (and anyone checking ``reports/review.html``) use this to open a
file in Debian's Chromium (``/usr/bin/chromium``, installed by
``tests/setup.sh``) through Playwright, and get back a :class:`PageReport`:
whether it loaded, console errors, uncaught page errors, dialogs that fired
(``alert``/``confirm``/``prompt``), requests that tried to leave the machine
(they are blocked and listed: the page must be self-contained), which
elements are visible, values of JavaScript expressions, and a PNG screenshot.

Playwright drives the system browser via ``executable_path`` and never
downloads one. Usage::

    with Chromium(profile_dir) as browser:
        report = browser.open_page(path, selectors=("table", "svg"), screenshot=png)
        report.assert_clean()

In tests, take the session-scoped ``chromium`` fixture (re-exported by
``tests/conftest.py``): one browser per test session, a fresh page per call.
If Chromium or Playwright is missing, the fixture FAILS with a message saying
to run ``bash tests/setup.sh``; it never skips.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

#: The browser: Debian's chromium package. ``EVSYNTH_CHROMIUM`` may point elsewhere.
CHROMIUM = Path(os.environ.get("EVSYNTH_CHROMIUM", "/usr/bin/chromium"))

#: Flags for a quiet, sandbox-free, network-free headless run with a throw-away profile.
LAUNCH_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)

#: URL schemes a self-contained page may load; anything else is blocked and reported.
LOCAL_SCHEMES: tuple[str, ...] = ("file:", "data:", "blob:", "about:")

VIEWPORT = {"width": 1280, "height": 900}
SETUP_HINT = "run `bash tests/setup.sh` (it apt-installs Debian's chromium and pip-installs playwright)"


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed."""


@dataclass(frozen=True)
class ElementReport:
    """How many elements matched a CSS selector, and how many of them are visible."""

    selector: str
    count: int
    visible: int

    @property
    def all_visible(self) -> bool:
        """At least one element matched and every match is visible."""
        return self.count > 0 and self.visible == self.count


@dataclass(frozen=True)
class PageReport:
    """What opening one page showed."""

    url: str
    loaded: bool
    title: str = ""
    text: str = ""
    console_errors: tuple[str, ...] = ()
    page_errors: tuple[str, ...] = ()
    dialogs: tuple[str, ...] = ()
    blocked_requests: tuple[str, ...] = ()
    elements: Mapping[str, ElementReport] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    screenshot: Path | None = None
    load_error: str = ""

    @property
    def problems(self) -> list[str]:
        """Everything a reader would call broken, one line each (empty when clean)."""
        found = [] if self.loaded else [f"page did not load: {self.load_error}"]
        found += [f"console error: {m}" for m in self.console_errors]
        found += [f"page error: {m}" for m in self.page_errors]
        found += [f"dialog: {m}" for m in self.dialogs]
        found += [f"network request outside the file: {u}" for u in self.blocked_requests]
        return found

    def assert_clean(self) -> None:
        """Fail with every problem listed unless the page loaded cleanly."""
        if self.problems:
            raise AssertionError(f"{self.url}:\n  " + "\n  ".join(self.problems))


def _is_remote(url: str) -> bool:
    """True for any URL a self-contained page must not load."""
    return not url.startswith(LOCAL_SCHEMES)


class Chromium:
    """One headless Chromium (a persistent context on a fresh profile) that opens pages."""

    def __init__(self, profile_dir: str | Path | None = None, executable: Path = CHROMIUM) -> None:
        self.executable = executable
        self._own_profile = profile_dir is None
        self.profile_dir = Path(profile_dir or tempfile.mkdtemp(prefix="evsynth-chromium-"))
        self._playwright: Any = None
        self._context: Any = None

    def start(self) -> "Chromium":
        """Launch the browser; raise :class:`BrowserMissing` with a fix if it cannot be found."""
        if not (self.executable.is_file() and os.access(self.executable, os.X_OK)):
            raise BrowserMissing(f"Chromium not found at {self.executable}: {SETUP_HINT}")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise BrowserMissing(f"the playwright package is not installed: {SETUP_HINT}") from exc
        self._playwright = sync_playwright().start()
        try:
            self._context = self._playwright.chromium.launch_persistent_context(
                str(self.profile_dir), executable_path=str(self.executable), headless=True,
                args=list(LAUNCH_FLAGS), viewport=VIEWPORT, java_script_enabled=True)
        except Exception:
            self._playwright.stop()
            raise
        self._context.route(_is_remote, lambda route: route.abort())
        return self

    def open_page(self, path: str | Path, *, selectors: Sequence[str] = (),
                  evaluate: Sequence[str] = (), screenshot: str | Path | None = None,
                  media: str = "screen", viewport: Mapping[str, int] | None = None,
                  timeout_ms: int = 15_000) -> PageReport:
        """Open the local file *path* and report what happened.

        *selectors* are CSS selectors whose matches are counted and checked for
        visibility; *evaluate* are JavaScript expressions whose values are
        returned in :attr:`PageReport.values`; *screenshot* is where a
        full-page PNG is saved; *media* ``"print"`` applies the page's print
        stylesheet, to see what a reader gets on paper; *viewport*
        (``{"width": 390, "height": 844}``) replaces the default window size
        for this page, e.g. to look at a phone screen.
        """
        if self._context is None:
            raise RuntimeError("Chromium.open_page called before start()")
        url = Path(path).resolve().as_uri()
        console: list[str] = []
        errors: list[str] = []
        dialogs: list[str] = []
        blocked: list[str] = []
        page = self._context.new_page()
        page.emulate_media(media=media)
        if viewport is not None:
            page.set_viewport_size({"width": int(viewport["width"]), "height": int(viewport["height"])})
        page.on("console", lambda m: console.append(_console_line(m)) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
        page.on("request", lambda r: blocked.append(r.url) if _is_remote(r.url) else None)
        try:
            try:
                page.goto(url, wait_until="load", timeout=timeout_ms)
            except Exception as exc:  # Playwright's Error and TimeoutError
                return PageReport(url=url, loaded=False, load_error=str(exc).splitlines()[0],
                                  console_errors=tuple(console), page_errors=tuple(errors),
                                  dialogs=tuple(dialogs), blocked_requests=tuple(blocked))
            # Let handlers queued during load (timers of 0 ms, the next frame) run.
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
            elements = {s: _element_report(page, s) for s in selectors}
            values = {e: page.evaluate(e) for e in evaluate}
            shot: Path | None = None
            if screenshot is not None:
                shot = Path(screenshot)
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True)
            return PageReport(
                url=url, loaded=page.evaluate("document.readyState") == "complete",
                title=page.title(), text=page.evaluate("document.body ? document.body.innerText : ''"),
                console_errors=tuple(console), page_errors=tuple(errors), dialogs=tuple(dialogs),
                blocked_requests=tuple(blocked), elements=elements, values=values, screenshot=shot)
        finally:
            page.close()

    def live_page(self, origin: str, *, viewport: Mapping[str, int] | None = None) -> Any:
        """A new Playwright page that may load *origin* (``http://127.0.0.1:PORT``) and nothing else.

        For pages served on this machine (the screening page). Every other
        request stays blocked by the context's route; the caller closes the page.
        """
        if self._context is None:
            raise RuntimeError("Chromium.live_page called before start()")
        if not origin.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError(f"live_page serves loopback origins only, not {origin!r}")
        page = self._context.new_page()
        if viewport is not None:
            page.set_viewport_size({"width": int(viewport["width"]), "height": int(viewport["height"])})
        page.route(lambda url: url.startswith(origin + "/"), lambda route: route.continue_())
        return page

    def close(self) -> None:
        """Shut the browser down (and remove the profile if this object made it)."""
        if self._context is not None:
            self._context.close()
            self._context = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
        if self._own_profile:
            import shutil
            shutil.rmtree(self.profile_dir, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _console_line(message: Any) -> str:
    """A console message as ``text (url:line)``."""
    location = message.location or {}
    where = f" ({location.get('url', '')}:{location.get('lineNumber', '')})" if location.get("url") else ""
    return f"{message.text}{where}"


def _element_report(page: Any, selector: str) -> ElementReport:
    """Count the matches of *selector* on *page* and how many are visible."""
    locator = page.locator(selector)
    count = locator.count()
    visible = sum(1 for index in range(count) if locator.nth(index).is_visible())
    return ElementReport(selector=selector, count=count, visible=visible)


def open_page(path: str | Path, **options: Any) -> PageReport:
    """Open one page in a browser started just for it (see :meth:`Chromium.open_page`)."""
    with Chromium() as browser:
        return browser.open_page(path, **options)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """One headless Chromium for the whole test session, on a fresh profile."""
    browser = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.start()
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield browser
    browser.close()
