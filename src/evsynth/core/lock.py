"""One advisory lock per project: commands that change the project's files take turns.

Every read-modify-write of the project (the screening logs, the merge and update
logs, ``studies.csv`` and the sheets that hang on it, ``review.toml`` and
``versions/``, ``reports/``) runs inside :func:`project_lock`: it takes the lock,
re-reads what it changes, writes it (atomically, :mod:`evsynth.core.atomic`) and
only then lets the next writer in. Two screening pages, a terminal and an
update can therefore work on one project at once without losing a decision.

The lock is ``fcntl.flock`` on ``.evsynth/lock`` in the project root (the folder
is created on first use with a ``.gitignore`` of ``*``, so git ignores it in
any project). The lock belongs to an open file, so the operating system releases it when
its process ends, even on ``kill -9``: a crashed command never leaves the
project locked. The holder writes its process id into the file, and a fresh
token every second while it works, so a command that waits while nothing moves
for :data:`TIMEOUT` seconds (a holder suspended with Ctrl+Z) says who holds it (a
project that is merely busy, its writers taking turns or a build at work, keeps it
waiting, up to :data:`MAX_WAIT_FACTOR` times as long; see :class:`_Progress`)::

    evsynth: error: another evsynth command is writing this project (pid 4242)

and exits with :data:`EXIT_BUSY` (75, ``EX_TEMPFAIL``: try again later).

The lock is re-entrant within one thread (a command that takes it and calls a
function that takes it again does not wait for itself); two threads of one
process (the screening page's server) take turns like two processes.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evsynth.core.errors import EvsynthError

#: Folder of the lock file, in the project root (git ignores it).
LOCK_DIR = ".evsynth"
LOCK_NAME = "lock"
#: The queue in front of the lock (see :func:`_acquire`).
GATE_NAME = "gate"
#: Seconds a command waits for the lock to change hands before giving up (see :class:`_Progress`).
TIMEOUT = 30.0
#: However busy the project, a command gives up after this many times :data:`TIMEOUT`.
MAX_WAIT_FACTOR = 20
#: Exit code when the lock could not be taken (sysexits.h EX_TEMPFAIL).
EXIT_BUSY = 75

_held: dict[tuple[str, int], int] = {}
_held_guard = threading.Lock()


class ProjectBusy(EvsynthError):
    """Another command held the project's lock for longer than the timeout."""

    def __init__(self, pid: str) -> None:
        super().__init__(f"another evsynth command is writing this project (pid {pid or '?'})",
                         exit_code=EXIT_BUSY)


def _acquire(fd: int, gate: int, wait: float) -> bool:
    """Take the lock *fd* within *wait* seconds, through the *gate*; True when taken.

    Only the command that holds the gate waits on the lock itself; it lets the
    gate go once it holds the lock. A holder that releases the lock and asks
    again at once (the page's next decision) therefore queues at the gate behind
    the command already waiting, instead of taking the lock again before that
    one is even scheduled: no writer waits out its timeout behind a busy page.
    """
    import fcntl

    watch = _Progress(fd, wait)
    if not _flock_within(gate, watch):
        return False
    try:
        return _flock_within(fd, watch)
    finally:
        fcntl.flock(gate, fcntl.LOCK_UN)


class _Progress:
    """When a waiter gives up: when the lock file has not changed for *wait* seconds.

    Each holder writes ``PID TOKEN`` into the lock file when it takes the lock
    and again every second while it holds it (:func:`_heartbeat`; a new token each
    time), so a waiter sees the work go on. A busy project (two pages, a terminal
    and an update taking turns, or a long build) keeps its waiters waiting, up to
    :data:`MAX_WAIT_FACTOR` times *wait*; a holder that stops (suspended with
    Ctrl+Z) makes them give up after *wait* seconds, naming its pid.
    """

    def __init__(self, fd: int, wait: float) -> None:
        self.fd = fd
        self.wait = wait
        self.start = self.changed = time.monotonic()
        self.seen = _content(fd)

    def expired(self) -> bool:
        now = time.monotonic()
        content = _content(self.fd)
        if content != self.seen:
            self.seen, self.changed = content, now
        return now - self.changed >= self.wait or now - self.start >= self.wait * MAX_WAIT_FACTOR


def _stamp(fd: int) -> None:
    """Write ``PID TOKEN`` into the lock file (a new token each time: waiters see progress)."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.time_ns()}\n".encode("ascii"), 0)
    except OSError:
        pass  # the pid is for the message only


def _heartbeat(fd: int, stop: threading.Event, every: float) -> None:
    """While the lock is held, stamp it every *every* seconds: a long build or release is
    a holder at work, and its waiters wait; a holder that is suspended (Ctrl+Z) stops
    stamping, and after :data:`TIMEOUT` seconds its waiters give up naming it."""
    while not stop.wait(every):
        _stamp(fd)


def _content(fd: int) -> bytes:
    try:
        return os.pread(fd, 64, 0)
    except OSError:
        return b""


def _flock_within(fd: int, watch: _Progress) -> bool:
    """Take ``flock`` on *fd* before *watch* expires; True when taken.

    A blocking ``flock`` (the kernel wakes a waiter as soon as the lock is
    released, so a long waiter is not starved by short, frequent holders the way
    polling would let it be) runs in a helper thread; when the time is up the
    caller gives up, and the helper, if it gets the lock later, releases it at once.
    """
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise EvsynthError(f"cannot lock the project ({exc.strerror or exc})") from None
    if watch.wait <= 0:
        return False
    waiter_fd = os.dup(fd)  # the helper's own descriptor of the same open file
    done = threading.Event()
    state = {"cancelled": False, "taken": False}
    guard = threading.Lock()

    def take() -> None:
        try:
            fcntl.flock(waiter_fd, fcntl.LOCK_EX)
            taken = True
        except OSError:
            taken = False
        with guard:
            if state["cancelled"]:
                if taken:
                    fcntl.flock(waiter_fd, fcntl.LOCK_UN)
            else:
                state["taken"] = taken
            done.set()
        os.close(waiter_fd)

    threading.Thread(target=take, name="evsynth-lock-wait", daemon=True).start()
    while not done.wait(min(0.2, watch.wait)):
        if watch.expired():
            break
    with guard:
        if done.is_set():
            return state["taken"]
        state["cancelled"] = True
        return False


def lock_path(root: Path) -> Path:
    """``ROOT/.evsynth/lock``."""
    return Path(root) / LOCK_DIR / LOCK_NAME


def _make_folder(folder: Path) -> None:
    """``.evsynth/`` with a ``.gitignore`` of ``*`` (git ignores the folder in any project)."""
    if folder.is_dir():
        return
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# evsynth's lock file: never committed\n*\n", encoding="utf-8")


def _holder(fd: int) -> str:
    """The pid the holder wrote into the lock file (``PID TOKEN``), or ``""``."""
    text = _content(fd).decode("ascii", "replace").split()
    return text[0] if text and text[0].isdigit() else ""


@contextmanager
def project_lock(root: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of the project at *root* for the ``with`` block.

    Waits up to *timeout* seconds (default :data:`TIMEOUT`); then
    raises :class:`ProjectBusy` naming the holder's pid. Re-entrant within one
    thread.
    """
    import fcntl

    wait = TIMEOUT if timeout is None else timeout
    path = lock_path(root)
    key = (os.path.realpath(path), threading.get_ident())
    with _held_guard:
        if key in _held:
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    try:
        _make_folder(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise EvsynthError(f"{path}: cannot open the project's lock file "
                           f"({exc.strerror or exc})") from None
    try:
        try:
            gate = os.open(path.with_name(GATE_NAME), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                           0o666)
        except OSError as exc:
            raise EvsynthError(f"{path.parent}: cannot open the project's lock file "
                               f"({exc.strerror or exc})") from None
        try:
            taken = _acquire(fd, gate, wait)
        finally:
            os.close(gate)
        if not taken:
            raise ProjectBusy(_holder(fd))
        _stamp(fd)
        alive = threading.Event()
        beat = threading.Thread(target=_heartbeat, args=(fd, alive, min(1.0, max(wait, 0.05) / 4)),
                                name="evsynth-lock-heartbeat", daemon=True)
        beat.start()
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]
            alive.set()
            beat.join()
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holds_lock(root: Path) -> bool:
    """True when this thread holds the lock of the project at *root*."""
    key = (os.path.realpath(lock_path(root)), threading.get_ident())
    with _held_guard:
        return key in _held
