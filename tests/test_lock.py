"""The project lock (evsynth.core.lock): one writer at a time, re-entrant in a thread,
released when its holder dies, and one line naming the holder when a command gives up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.core import lock
from evsynth.core.lock import EXIT_BUSY, ProjectBusy, holds_lock, lock_path, project_lock

REPO = Path(__file__).resolve().parents[1]

HOLDER = """
import sys, time
from pathlib import Path
from evsynth.core.lock import project_lock
with project_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_in_child(root: Path, seconds: float) -> subprocess.Popen[str]:
    """A process that takes the lock of *root* and keeps it *seconds* (returns once it holds it)."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(root), str(seconds)],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_reentrant_within_a_thread(tmp_path: Path) -> None:
    with project_lock(tmp_path):
        assert holds_lock(tmp_path)
        with project_lock(tmp_path, timeout=0):
            assert holds_lock(tmp_path)
        assert holds_lock(tmp_path)
    assert not holds_lock(tmp_path)
    assert lock_path(tmp_path).read_text().split()[0] == str(os.getpid())
    # git ignores the lock folder in any project
    assert (tmp_path / ".evsynth" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_two_threads_take_turns(tmp_path: Path) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(20):
            with project_lock(tmp_path):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.001)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1


def test_another_process_waits_then_names_the_holder(tmp_path: Path) -> None:
    child = hold_in_child(tmp_path, 30)
    child.send_signal(signal.SIGSTOP)  # suspended while it holds the lock (Ctrl+Z): nothing moves
    try:
        with pytest.raises(ProjectBusy) as caught:
            with project_lock(tmp_path, timeout=0.2):
                pass
        assert str(caught.value) == f"another evsynth command is writing this project (pid {child.pid})"
        assert caught.value.exit_code == EXIT_BUSY == 75
    finally:
        child.kill()
        child.wait()
    # killed (as by kill -9): the operating system released the lock
    with project_lock(tmp_path, timeout=2):
        assert holds_lock(tmp_path)


def test_waits_for_a_short_holder(tmp_path: Path) -> None:
    child = hold_in_child(tmp_path, 0.3)
    started = time.monotonic()
    with project_lock(tmp_path, timeout=10):
        waited = time.monotonic() - started
    child.wait()
    assert waited > 0.1  # it did wait for the holder, and then got the lock


def test_command_gives_up_with_one_line_and_exit_75(project: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock, "TIMEOUT", 0.2)
    child = hold_in_child(project, 30)
    child.send_signal(signal.SIGSTOP)
    try:
        code = main(["build", "--root", str(project)])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    err = capsys.readouterr().err
    assert code == 75
    assert err == f"evsynth: error: another evsynth command is writing this project (pid {child.pid})\n"


BUSY = """
import sys, time
from pathlib import Path
from evsynth.core.lock import project_lock
print("start", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    with project_lock(Path(sys.argv[1])):
        time.sleep(0.1)
"""


def test_a_busy_project_keeps_its_waiters_waiting(tmp_path: Path) -> None:
    """The timeout counts while the lock stays in the same hands, not while the turns go round."""
    child = subprocess.Popen([sys.executable, "-c", BUSY, str(tmp_path), "2.0"], stdout=subprocess.PIPE,
                             text=True, cwd=REPO)
    assert child.stdout is not None and child.stdout.readline().strip() == "start"
    time.sleep(0.2)
    with project_lock(tmp_path, timeout=0.6):  # the child takes turn after turn for 2 s
        pass
    child.wait()


def test_a_long_holder_at_work_keeps_its_waiters_waiting(tmp_path: Path) -> None:
    """A holder that works (a build, a release) longer than the timeout is waited for."""
    child = hold_in_child(tmp_path, 4)  # stamps the lock every second while it holds it
    started = time.monotonic()
    with project_lock(tmp_path, timeout=2):
        waited = time.monotonic() - started
    child.wait()
    assert waited > 2  # longer than its timeout: the holder was at work
