"""Atomic writes give files ordinary permissions, not mkstemp's owner-only 0600."""

import os

from evsynth.core.atomic import write_text


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_text(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o640
