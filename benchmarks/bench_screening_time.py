"""Benchmark: the time to screen 100 records, three ways, in one run on the same project.

* baseline: 100 ``evsynth screen --decide ID DECISION`` processes, one per record
  (what a reviewer scripting the terminal did before ``--from``);
* ``evsynth screen --from FILE``: the same 100 decisions in one process;
* the screening page (``evsynth screen --serve``'s server) in Debian's headless
  Chromium through Playwright, one key press per record (i / e / m), each
  decision saved before the next record shows.

Each starts from a fresh copy of a project made by ``evsynth update`` against the
loopback E-utilities server (120 synthetic records with abstracts). Times are
wall-clock; the ratios are against the baseline measured in the same run. Run
from the repository root (the browser part needs ``bash tests/setup.sh``)::

    .venv/bin/python benchmarks/bench_screening_time.py [--records 100]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evsynth.workbench.app import WorkbenchServer  # noqa: E402
from evsynth.screening.files import ReviewFiles  # noqa: E402
from evsynth.workbench.session import ScreeningSession  # noqa: E402
from tests.support.browser import Chromium  # noqa: E402
from tests.support.screening_project import corpus, make_project  # noqa: E402

EVSYNTH = [sys.executable, "-m", "evsynth.cli.main"]


def decision(i: int) -> str:
    """include / exclude / maybe in turn (record R00004 is flagged retracted: excluded)."""
    return ("exclude", "include", "maybe")[i % 3] if i != 3 else "exclude"


def decided(project: Path, n: int) -> int:
    files = ReviewFiles(project / "extracted")
    return sum(1 for e in files.load_log()[:n] if e.decision != "pending")


def by_processes(project: Path, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        subprocess.run(EVSYNTH + ["screen", "--decide", f"R{i + 1:05d}", decision(i),
                                  "--reviewer", "AB"], cwd=project, check=True,
                       stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def by_file(project: Path, n: int) -> float:
    lines = ["record_id,decision"] + [f"R{i + 1:05d},{decision(i)}" for i in range(n)]
    (project / "decisions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(EVSYNTH + ["screen", "--from", "decisions.csv", "--reviewer", "AB"],
                   cwd=project, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def by_page(project: Path, n: int) -> float:
    session = ScreeningSession.open(ReviewFiles(project / "extracted"), "AB")
    server = WorkbenchServer(session)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key = {"include": "i", "exclude": "e", "maybe": "m"}
    try:
        with Chromium() as browser:
            page = browser.live_page(f"http://127.0.0.1:{server.port}")
            page.goto(server.url)
            page.wait_for_selector("#card:not([hidden])")
            started = time.perf_counter()
            for i in range(n):
                rid = f"R{i + 1:05d}"
                page.wait_for_function("id => document.getElementById('rid').textContent === id",
                                       arg=rid)
                page.keyboard.press(key[decision(i)])
            page.wait_for_function(
                "id => document.getElementById('rid').textContent !== id", arg=f"R{n:05d}")
            return time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100)
    args = parser.parse_args()
    n = args.records
    with tempfile.TemporaryDirectory() as tmp:
        template = make_project(Path(tmp) / "template", corpus(n + 20))
        results = {}
        for name, run in (("baseline: one --decide process per record", by_processes),
                          ("--from FILE (one process)", by_file),
                          ("screening page, keyboard (Chromium)", by_page)):
            project = Path(tmp) / name.split()[0].strip(":")
            shutil.copytree(template, project)
            seconds = run(project, n)
            assert decided(project, n) == n, f"{name}: not every decision was saved"
            results[name] = seconds
    base = results["baseline: one --decide process per record"]
    print(f"\nTime to screen {n} records (same project, same decisions):")
    for name, seconds in results.items():
        print(f"  {name:45s} {seconds:8.2f} s  {seconds / n * 1000:7.0f} ms/record  "
              f"{seconds / base:6.3f} x baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
