"""Start-up time of the command line, as ratios against a bare ``python -c pass`` in the same run.

Times ``evsynth --help``, ``evsynth validate`` and ``evsynth screen`` on the
bundled review (copied to a temporary folder, run from there, so the project
is found from the current folder) and ``python -c pass``, each as the median
wall time of ``--repeat`` runs, the runs of all commands interleaved so that
a busy machine slows them alike. Ratios, not seconds, are the result: the
2-core machines these run on vary several-fold with their load. Each is
given for wall time and for CPU time (user + system of the child process,
from ``getrusage``), which a shared machine's load disturbs less.

The commands run with their bytecode cached, as a user's installed evsynth does:
``PYTHONDONTWRITEBYTECODE`` is dropped from the children's environment, so the
warm-up run of each command writes the checkout's ``__pycache__`` (ignored by git;
the installed libraries have theirs already). With ``--cold-bytecode`` the
environment is passed on as it is (every run then compiles every evsynth module it
imports when the environment forbids writing bytecode).

    .venv/bin/python benchmarks/bench_startup.py                     # this checkout
    .venv/bin/python benchmarks/bench_startup.py --checkout before=../old-checkout --checkout after=.

Each ``--checkout NAME=DIR`` is a checkout with its own ``.venv`` (e.g. a
``git worktree`` of an older commit); the bundled review of each checkout is
used with that checkout's evsynth. Aims (issues 10 and 23): ``--help`` within 3x of
bare Python, ``validate`` within 10x, the ``screen`` listing within 5x; ``evsynth build``
of the bundled review is timed too (median of 3 runs, seconds; aim: 2 s; ``--no-build``
skips it). With two or more checkouts the last lines compare the first with the last
(``before → after``), from the medians of this run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "evsynth --help": ["-m", "evsynth", "--help"],
    "evsynth validate": ["-m", "evsynth", "validate"],
    "evsynth screen": ["-m", "evsynth", "screen"],
}
AIMS = {"evsynth --help": 3.0, "evsynth validate": 10.0, "evsynth screen": 5.0}
BUILD = ["-m", "evsynth", "build"]


def _project_copy(checkout: Path, into: Path) -> Path:
    """The checkout's bundled review (sheets, queries, versions and its TOML files) in a fresh folder."""
    root = into / "projects" / checkout.name
    shutil.copytree(checkout / "extracted", root / "extracted")
    for folder in ("queries", "versions"):  # versions/: the released versions a build compares with
        if (checkout / folder).is_dir():
            shutil.copytree(checkout / folder, root / folder)
    for path in checkout.glob("*.toml"):  # review.toml, sheets.toml, analysis.toml where they exist
        if path.name != "pyproject.toml":
            shutil.copy2(path, root / path.name)
    return root


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _environment(cold: bool) -> dict[str, str]:
    """The children's environment: bytecode may be written unless *cold*."""
    env = dict(os.environ)
    if not cold:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


ENV: dict[str, str] = dict(os.environ)


def _time(python: Path, args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run([str(python), *args], cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=ENV)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if done.returncode not in (0, 2):  # --help without a command exits 0; nothing else may fail
        raise SystemExit(f"{python} {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", default=[], metavar="NAME=DIR",
                        help="a checkout with its own .venv (default: this one, as 'this')")
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median reported)")
    parser.add_argument("--no-build", dest="build", action="store_false",
                        help="do not time 'evsynth build' of the bundled review (3 runs; seconds)")
    parser.add_argument("--cold-bytecode", action="store_true",
                        help="pass the environment on as it is (PYTHONDONTWRITEBYTECODE kept)")
    args = parser.parse_args()
    checkouts = [(name, Path(folder).resolve()) for name, _, folder in
                 (item.partition("=") for item in args.checkout)] or [("this", HERE)]
    with tempfile.TemporaryDirectory() as tmp:
        global ENV
        ENV = _environment(args.cold_bytecode)
        runs = []
        for name, checkout in checkouts:
            python = checkout / ".venv" / "bin" / "python"
            if not python.is_file():
                raise SystemExit(f"{checkout}: no .venv/bin/python")
            runs.append((name, python, _project_copy(checkout, Path(tmp) / name)))
        for _, python, project in runs:  # warm the file cache and the bytecode
            for command in COMMANDS.values():
                _time(python, command, project)
            if args.build:
                _time(python, BUILD, project)
        times: dict[tuple[str, str], list[tuple[float, float]]] = {
            (n, c): [] for n, _, _ in runs for c in COMMANDS}
        for _ in range(args.repeat):
            for name, python, project in runs:
                for label, command in COMMANDS.items():
                    times[(name, label)].append(_time(python, command, project))
        builds = {name: [_time(python, BUILD, project) for _ in range(3)] if args.build else []
                  for name, python, project in runs}
    load = os.getloadavg()
    print(f"median of {args.repeat} runs each, interleaved; ratio = command / python -c pass of the "
          "same checkout; wall time, then CPU time (user + system); bytecode "
          + ("as the environment allows" if args.cold_bytecode else "cached")
          + f"; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    header = f"{'command':<20}" + "".join(f"{name + ' s':>10}{'×':>7}{'cpu s':>9}{'cpu ×':>7}"
                                          for name, _, _ in runs) + "  aim"
    print(header)
    for label in COMMANDS:
        line = f"{label:<20}"
        for name, _, _ in runs:
            for part, width in ((0, 10), (1, 9)):
                base = statistics.median(t[part] for t in times[(name, "python -c pass")])
                value = statistics.median(t[part] for t in times[(name, label)])
                line += f"{value:>{width}.3f}{value / base:>7.1f}"
        aim = AIMS.get(label)
        print(line + (f"  ≤ {aim:g}×" if aim else ""))
    if args.build:
        line = f"{'evsynth build':<20}"
        for name, _, _ in runs:
            wall = statistics.median(t[0] for t in builds[name])
            cpu = statistics.median(t[1] for t in builds[name])
            line += f"{wall:>10.2f}{'':>7}{cpu:>9.2f}{'':>7}"
        print(line + "  ≤ 2 s (median of 3, seconds)")
    if len(runs) > 1:
        (first, *_), (last, *_) = runs[0], runs[-1]
        print(f"\n{first} → {last} (wall ×, CPU ×; build: wall s, CPU s)")
        for label in COMMANDS:
            if label == "python -c pass":
                continue
            ratios = []
            for part in (0, 1):
                for name in (first, last):
                    base = statistics.median(t[part] for t in times[(name, "python -c pass")])
                    ratios.append(statistics.median(t[part] for t in times[(name, label)]) / base)
            print(f"{label:<20}{ratios[0]:>7.1f}× → {ratios[1]:.1f}×   cpu {ratios[2]:.1f}× → {ratios[3]:.1f}×")
        if args.build:
            wall = [statistics.median(t[0] for t in builds[n]) for n in (first, last)]
            cpu = [statistics.median(t[1] for t in builds[n]) for n in (first, last)]
            print(f"{'evsynth build':<20}{wall[0]:>7.2f} s → {wall[1]:.2f} s   cpu {cpu[0]:.2f} s → {cpu[1]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
