"""Shared fixtures: the loopback E-utilities server and a fast client for it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eutils_server import FakeEutils, SyntheticRecord  # noqa: E402

from evsynth.eutils import EutilsClient  # noqa: E402
from evsynth.ratelimit import RateLimiter  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


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
