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
project locked. The holder writes its process id into the file, so a command
that waits longer than :data:`TIMEOUT` seconds says who holds it::

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
#: Seconds a command waits for the lock before giving up.
TIMEOUT = 30.0
#: Exit code when the lock could not be taken (sysexits.h EX_TEMPFAIL).
EXIT_BUSY = 75

_held: dict[tuple[str, int], int] = {}
_held_guard = threading.Lock()


class ProjectBusy(EvsynthError):
    """Another command held the project's lock for longer than the timeout."""

    def __init__(self, pid: str) -> None:
        super().__init__(f"another evsynth command is writing this project (pid {pid or '?'})",
                         exit_code=EXIT_BUSY)


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
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


@contextmanager
def project_lock(root: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of the project at *root* for the ``with`` block.

    Waits up to *timeout* seconds (default :data:`TIMEOUT`), polling; then
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
        deadline = time.monotonic() + wait
        pause = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise EvsynthError(f"{path}: cannot lock ({exc.strerror or exc})") from None
            if time.monotonic() >= deadline:
                raise ProjectBusy(_holder(fd))
            time.sleep(pause)
            pause = min(pause * 1.5, 0.05)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # the pid is for the message only
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holds_lock(root: Path) -> bool:
    """True when this thread holds the lock of the project at *root*."""
    key = (os.path.realpath(lock_path(root)), threading.get_ident())
    with _held_guard:
        return key in _held
