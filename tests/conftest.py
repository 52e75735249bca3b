"""Shared fixtures: the bundled review copied into a temporary project, the browser,
the loopback E-utilities server and a fast client for it."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.browser import chromium  # noqa: F401  (the session-wide headless Chromium of tests/support/browser.py)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The bundled review as its first version (2021) in a fresh project folder.

    A copy of its sheets, their specification, review.toml and analysis.toml, with the
    studies added by later versions (``added_in`` not ``2021``: their rows in every
    sheet that names them) and the screening log left out, so a test of the update path
    starts from the seed as the 2021 paper published it. Tests of the current bundled
    review read ``REPO`` itself.
    """
    shutil.copytree(REPO / "extracted", tmp_path / "extracted")
    for name in ("review.toml", "sheets.toml", "analysis.toml"):
        shutil.copy2(REPO / name, tmp_path / name)
    seed_only(tmp_path)
    return tmp_path


def _rewrite(path: Path, keep, optional: tuple[str, ...] = ()) -> set[str]:
    import csv
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    kept = [r for r in rows if keep(r)]
    # optional columns that only the later studies fill are left out of the header, as in 2021
    header = [h for h in header if h not in optional or any(r.get(h) for r in kept)]
    kept = [{h: r.get(h, "") for h in header} for r in kept]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    return {str(r.get(header[0], "")) for r in rows if not keep(r)}


def seed_only(root: Path) -> None:
    """Leave out of *root* every study added after the 2021 version, its rows, and the screening log."""
    extracted = root / "extracted"
    later = _rewrite(extracted / "studies.csv", lambda r: r.get("added_in", "2021") in ("", "2021"))
    if not later:
        return
    cohorts = _rewrite(extracted / "cohorts.csv", lambda r: r["study_id"] not in later,
                       ("response_criteria", "response_timepoint", "not_assessed_reason", "second_criteria",
                        "second_cr", "second_pr", "second_sd", "second_pd", "where"))
    _rewrite(extracted / "adverse_events.csv", lambda r: r["cohort_id"] not in cohorts,
             ("excluded_patients", "where"))
    _rewrite(extracted / "appraisal.csv", lambda r: r["study_id"] not in later)
    for name in ("screening.csv", "merge-log.csv"):
        (extracted / name).unlink(missing_ok=True)
    # review.toml names only the 2021 version (the later ones froze studies left out above)
    settings = root / "review.toml"
    if settings.exists():
        text = settings.read_text(encoding="utf-8")
        blocks = text.split("\n[[versions]]\n")
        kept = [blocks[0]] + [b for b in blocks[1:] if b.startswith('name = "2021"\n')]
        settings.write_text("\n[[versions]]\n".join(kept).rstrip("\n") + "\n", encoding="utf-8")
    # the outcome the 2026-12 version added to the plan (its cohorts are left out above)
    plan = root / "analysis.toml"
    if plan.exists():
        text = plan.read_text(encoding="utf-8")
        plan.write_text(text.split(SECOND_CRITERIA_PLAN, 1)[0].rstrip("\n") + "\n", encoding="utf-8")


# Where analysis.toml's 2026-12 outcome starts (the response of the same patients by a second criteria).
SECOND_CRITERIA_PLAN = "\n# Response criteria (2026-12)."


from tests.support.eutils_server import FakeEutils, SyntheticRecord  # noqa: E402

from evsynth.search.eutils import EutilsClient  # noqa: E402
from evsynth.search.ratelimit import RateLimiter  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only reach 127.0.0.1: any other TCP connection fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in LOOPBACK:
                raise OSError(f"test tried to reach {address!r}; tests stay on 127.0.0.1")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def eutils_server() -> Iterator[Callable[..., FakeEutils]]:
    """Factory: ``eutils_server(records, rate_limit=None, faults=Faults(...))`` -> started server.

    Every server it starts is stopped after the test.
    """
    started: list[FakeEutils] = []

    def start(records: list[SyntheticRecord] | tuple[()] = (), **kwargs: object) -> FakeEutils:
        server = FakeEutils(records, **kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def fast_client() -> Callable[..., EutilsClient]:
    """Factory for a client with a fast in-process limiter and short backoff (tests only)."""

    def make(server: FakeEutils, **kwargs: object) -> EutilsClient:
        options: dict[str, object] = dict(limiter=RateLimiter(rate=200, margin=0.0), backoff=0.01,
                                          max_backoff=0.05, timeout=5.0, max_tries=6)
        options.update(kwargs)
        return EutilsClient(base_url=server.url, **options)  # type: ignore[arg-type]

    return make
