"""Publishing a folder of files as one set: at any moment the folder is the old set or the new one.

Writing each file atomically is not enough for a set: a build killed between
two renames leaves a new page beside old tables. :func:`publish_set` instead

1. removes what killed runs left (:func:`clean_stale`);
2. checks, before anything is written, that every folder it will change can
   be written (a read-only ``reports/supplementary/`` is a one-line error
   naming it, and the old set stays);
3. builds the complete new set in a *staging* folder beside the target, on
   the same file system: files the publisher does not own (``owned``) are
   carried over as hard links, the new files are written and fsync'd;
4. swaps staging and target in **one** ``renameat2(RENAME_EXCHANGE)`` call
   (Linux; ``renamex_np(RENAME_SWAP)`` on macOS): the directory entry of the
   target points at the old tree or at the new tree, never at a mixture;
5. removes the old tree, now under the staging name.

A kill before step 4 leaves the old set plus a staging folder; a kill after
it leaves the new set plus the old tree under the staging name; the next run
removes either. The target stays a plain folder of plain files (so a
committed ``reports/`` is clean after a rebuild). Where the exchange call is
missing (another OS, a file system without it), the fallback is two renames
(target -> ``.NAME.evsynth-old-PID``, staging -> target); a kill between them
leaves no target, and the next run puts the old set back first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from evsynth.core.errors import EvsynthError

STAGING_TAG = ".evsynth-staging-"
OLD_TAG = ".evsynth-old-"
PROBE_PREFIX = ".evsynth-probe-"
#: Hidden temporary files of :mod:`evsynth.core.atomic` (``.NAME.XXXX.tmp``): never carried over.
_TEMP_SUFFIX = ".tmp"

_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS sys/stdio.h
_AT_FDCWD = -100


class PublishError(EvsynthError):
    """The new set could not be published; the target holds the previous set."""


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap the paths *a* and *b* (both must exist); False when the system cannot."""
    libc = _libc()
    if libc is None:
        return False
    src, dst = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        result = libc.renameat2(_AT_FDCWD, src, _AT_FDCWD, dst, _RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(src, dst, _RENAME_SWAP)
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the file system has no exchange: use the fallback
    raise OSError(code, os.strerror(code), str(b))


def _pid_of(name: str, tag: str) -> int | None:
    try:
        return int(name.rsplit(tag, 1)[1])
    except (IndexError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftovers(target: Path, tag: str) -> list[Path]:
    prefix = f".{target.name}{tag}"
    try:
        return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix))
    except FileNotFoundError:
        return []


def clean_stale(target: Path) -> list[Path]:
    """Undo what killed runs left beside *target*; return the paths removed or restored.

    A target missing beside an old tree (a fallback publish killed between its
    two renames) gets the old tree back; staging folders and old trees of
    processes that are not running are removed, and so are hidden ``.tmp``
    files inside the target (left by earlier versions' per-file writes) and
    write probes of killed runs.
    """
    touched: list[Path] = []
    olds = [p for p in _leftovers(target, OLD_TAG) if not _alive(_pid_of(p.name, OLD_TAG))]
    if olds and not target.exists():
        os.rename(olds[-1], target)
        touched.append(olds.pop())
    for path in olds + [p for p in _leftovers(target, STAGING_TAG) if not _alive(_pid_of(p.name, STAGING_TAG))]:
        _remove_tree(path)
        touched.append(path)
    stray = [p for p in target.parent.glob(PROBE_PREFIX + "*") if not _alive(_pid_of(p.name, PROBE_PREFIX))]
    if target.is_dir():
        stray += sorted(target.rglob(".*" + _TEMP_SUFFIX))
        stray += [p for p in target.rglob(PROBE_PREFIX + "*") if not _alive(_pid_of(p.name, PROBE_PREFIX))]
    for path in stray:
        if path.is_file():
            path.unlink()
            touched.append(path)
    return touched


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _probe(folder: Path) -> None:
    """Create and remove a file in *folder*: the only test a read-only mount cannot fool."""
    probe = folder / f"{PROBE_PREFIX}{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise PublishError(f"{folder}: cannot write here ({exc.strerror or exc}); "
                           "nothing was replaced") from None
    try:
        os.close(fd)
    finally:
        probe.unlink(missing_ok=True)


def check_writable(target: Path, folders: set[str]) -> None:
    """One-line :class:`PublishError` naming the first folder that cannot be written.

    Checked: the target's parent (staging and swap), the target, and each of
    *folders* (relative to the target) that exists — the old tree's files there
    must be removable after the swap.
    """
    _probe(target.parent)
    if target.exists():
        if not target.is_dir():
            raise PublishError(f"{target} exists and is not a folder; nothing was replaced")
        _probe(target)
        for relative in sorted(folders):
            folder = target / relative
            if folder.is_dir():
                _probe(folder)
            elif folder.exists():
                raise PublishError(f"{folder} exists and is not a folder; nothing was replaced")


def _mode(old: Path) -> int:
    try:
        return old.stat().st_mode & 0o7777
    except FileNotFoundError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # not narrowed by the umask: the mode of the file it replaces


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _carry_over(target: Path, staging: Path, owned: Callable[[str], bool], new: Mapping[str, bytes]) -> None:
    """Hard-link (or copy) into *staging* every file of *target* the publisher does not own."""
    for path in sorted(target.rglob("*")):
        relative = path.relative_to(target).as_posix()
        if path.is_dir() and not path.is_symlink():
            (staging / relative).mkdir(exist_ok=True)
            shutil.copystat(path, staging / relative)
            continue
        if owned(relative) or relative in new or (path.name.startswith(".") and path.name.endswith(_TEMP_SUFFIX)):
            continue
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, staging / relative, follow_symlinks=False)
        except OSError:
            shutil.copy2(path, staging / relative, follow_symlinks=False)


def publish_set(target: Path, files: Mapping[str, bytes], owned: Callable[[str], bool]) -> None:
    """Make *target* hold *files* (relative path -> bytes) in one atomic step (see the module docstring).

    Files of the old set for which ``owned(relative_path)`` is true and that
    are not in *files* disappear (e.g. a table the review no longer has);
    every other file already in *target* is kept.
    """
    target = Path(os.path.abspath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    check_writable(target, {str(Path(rel).parent) for rel in files if Path(rel).parent != Path(".")})
    staging = target.parent / f".{target.name}{STAGING_TAG}{os.getpid()}"
    _remove_tree(staging)
    os.mkdir(staging)
    try:
        if target.is_dir():
            shutil.copystat(target, staging)
            _carry_over(target, staging, owned, files)
        for relative in sorted(files):
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, files[relative], _mode(target / relative))
        for folder in sorted({(staging / rel).parent for rel in files}, reverse=True):
            _fsync_dir(folder)
        _swap(staging, target)
    except BaseException:
        _remove_tree(staging)
        clean_stale(target)  # a fallback swap stopped between its renames: the old set back in place
        raise
    _fsync_dir(target.parent)
    _remove_tree(staging)  # the old tree, after the swap


def _swap(staging: Path, target: Path) -> None:
    """Put *staging* in *target*'s place; the old tree ends up at *staging*."""
    if not target.exists():
        os.rename(staging, target)
        os.mkdir(staging)  # so the caller's clean-up finds the name it expects
        return
    try:
        if exchange(staging, target):
            return
    except OSError as exc:
        raise PublishError(f"{target}: cannot replace it ({exc.strerror or exc}); nothing was replaced") from None
    old = target.parent / f".{target.name}{OLD_TAG}{os.getpid()}"
    os.rename(target, old)
    os.rename(staging, target)
    os.rename(old, staging)
