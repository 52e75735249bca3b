"""Make ``docs/screening-page.png``: the screening page on a small synthetic project, in
Debian's headless Chromium (docs/guide/screening.md shows it). Run from the repository root::

    .venv/bin/python docs/make_screening_screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evsynth.workbench.app import WorkbenchServer  # noqa: E402
from evsynth.screening.files import ReviewFiles  # noqa: E402
from evsynth.workbench.session import ScreeningSession  # noqa: E402
from tests.support.browser import Chromium  # noqa: E402
from tests.support.screening_project import corpus, make_project  # noqa: E402


def main(out: Path = ROOT / "docs" / "screening-page.png") -> int:
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp), corpus(40))
        session = ScreeningSession.open(ReviewFiles(project / "extracted"), "AB",
                                        clock=lambda: "2025-03-04")
        for rid in ("R00001", "R00002"):
            session.decide(rid, "exclude")
        session.decide("R00003", "include")
        server = WorkbenchServer(session)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with Chromium() as browser:
                page = browser.live_page(f"http://127.0.0.1:{server.port}",
                                         viewport={"width": 1000, "height": 760})
                page.goto(server.url)
                page.wait_for_selector("#card:not([hidden])")
                page.keyboard.press("2")
                page.screenshot(path=str(out), full_page=False)
                page.close()
        finally:
            server.shutdown()
            server.server_close()
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
