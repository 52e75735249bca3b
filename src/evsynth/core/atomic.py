"""Atomic file output: write to a temporary file in the same folder, then rename.

A run killed at any moment leaves either the previous file or the new one,
never a half-written file (``os.replace`` is atomic on POSIX within one file
system).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary sibling of *path* for writing; rename it over *path* on success.

    On an exception the temporary file is removed and *path* is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    import tempfile  # here, not at the top: the commands that only read (validate) start without it

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _mode_for(target))
        with os.fdopen(fd, mode, encoding=None if binary else encoding,
                       newline=None if binary else newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _mode_for(target: Path) -> int:
    """Permissions for the new file: those of the file it replaces, else 0o666 less the umask.

    ``mkstemp`` creates files readable by their owner only; without this every
    output (a report a web server should serve, a sheet a colleague should
    read) would end up mode 0600.
    """
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write *text* (UTF-8, ``\\n`` line ends) to *path* atomically."""
    with atomic_open(path, "w", newline="\n") as handle:
        handle.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write *data* to *path* atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write *obj* as stable JSON (sorted keys, two-space indent, trailing newline)."""
    import json

    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
