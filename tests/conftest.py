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
    """A copy of the bundled review's sheets, their specification, review.toml and analysis.toml in a fresh project folder."""
    shutil.copytree(REPO / "extracted", tmp_path / "extracted")
    for name in ("review.toml", "sheets.toml", "analysis.toml"):
        shutil.copy2(REPO / name, tmp_path / name)
    return tmp_path


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
