"""A request-rate limiter shared by threads and by processes.

NCBI's rule (E-utilities usage guidelines, "Frequency, Timing and Registration
of E-utility URL Requests", https://www.ncbi.nlm.nih.gov/books/NBK25497/):
no more than **3 requests per second** from one IP address without an API key,
**10 per second** with one; beyond that NCBI answers HTTP 429.

The limiter keeps the start times of the most recent requests and lets a new one
go only when fewer than ``rate`` requests started in the last ``period`` seconds
(a sliding window, which is how a server counts). ``margin`` (0.1 s) widens the
window a little so that jitter on the way cannot make requests that left one
period apart arrive closer than that: with 0.05 s the benchmark still drew an
occasional 429 from a server counting exactly 3 per second. (Biopython spaces
requests 0.37 s apart for the same reason, its comments say.)

Within a process the window is guarded by a thread lock. Across processes it is
kept in a small file guarded by ``fcntl.flock``: every evsynth process on the
machine that uses the same lock file shares one budget, as NCBI counts them.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

#: NCBI's limits (requests per second), without and with an API key.
RATE_WITHOUT_KEY = 3.0
RATE_WITH_KEY = 10.0


def ncbi_rate(has_api_key: bool) -> float:
    """NCBI's allowed requests per second: 10 with an API key, 3 without."""
    return RATE_WITH_KEY if has_api_key else RATE_WITHOUT_KEY


def default_lock_path(has_api_key: bool, server: str = "eutils.ncbi.nlm.nih.gov") -> Path:
    """The per-user lock file shared by every evsynth process on this machine.

    One budget per server host and per kind of client: requests with
    and without a key are counted separately (NCBI counts per key, or per IP
    address without one). The key itself never appears in the name.
    """
    uid = os.getuid() if hasattr(os, "getuid") else 0
    kind = "key" if has_api_key else "nokey"
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", server)
    return Path(tempfile.gettempdir()) / f"evsynth-eutils-{uid}-{safe}-{kind}.ratelimit"


class RateLimiter:
    """At most ``rate`` request starts in any window of ``period + margin`` seconds.

    Call :meth:`acquire` immediately before each request. ``lock_path=None``
    limits this process only; a path shares the budget with every process that
    uses the same path.
    """

    def __init__(self, rate: float = RATE_WITHOUT_KEY, period: float = 1.0,
                 margin: float = 0.1, lock_path: str | os.PathLike[str] | None = None,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.period = float(period)
        self.margin = float(margin)
        self.lock_path = Path(lock_path) if lock_path is not None else None
        self._clock = clock
        self._sleep = sleep
        self._thread_lock = threading.Lock()
        self._starts: list[float] = []
        self._last_start = 0.0

    @property
    def slots(self) -> int:
        """Requests allowed per window (at least one, for fractional rates)."""
        return max(1, int(self.rate * self.period + 1e-9)) if self.rate >= 1 else 1

    @property
    def window(self) -> float:
        """The window length: one request per ``1/rate`` s for rates below 1."""
        base = self.period if self.rate >= 1 else 1.0 / self.rate
        return base + self.margin

    def acquire(self) -> float:
        """Block until a request may start, record its start and return it (the clock's time)."""
        while True:
            with self._thread_lock:
                wait = self._try_take()
                start = self._last_start
            if wait <= 0:
                return start
            self._sleep(wait)

    def _try_take(self) -> float:
        """Take a slot and return 0, or return how long to wait for one."""
        if self.lock_path is None:
            starts = self._starts
            wait = self._take_from(starts)
            self._starts = starts
            return wait
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with os.fdopen(os.dup(fd), "r+", encoding="ascii") as handle:
                starts = _read_times(handle.read())
                wait = self._take_from(starts)
                if wait <= 0:
                    handle.seek(0)
                    handle.truncate()
                    handle.write("\n".join(f"{t:.6f}" for t in starts))
                    handle.flush()
            return wait
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _take_from(self, starts: list[float]) -> float:
        now = self._clock()
        window = self.window
        starts[:] = [t for t in starts if now - t < window and t <= now + window]
        if len(starts) < self.slots:
            starts.append(now)
            self._last_start = now
            return 0.0
        return max(min(starts) + window - now, 0.001)


def _read_times(text: str) -> list[float]:
    """Start times from the lock file; a damaged file counts as empty."""
    times = []
    for line in text.split():
        try:
            times.append(float(line))
        except ValueError:
            continue
    return times
