"""The command line itself: help, version, and errors without tracebacks."""

import subprocess
import sys

from evsynth import __version__
from evsynth.cli.main import build_parser, main


def test_version_printed(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_python_dash_m_runs():
    out = subprocess.run([sys.executable, "-m", "evsynth", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "Workflow" in out.stdout


def test_commands_listed_in_workflow_order():
    from evsynth.cli.main import COMMANDS, DESCRIPTION

    names = [name for name, _, _ in COMMANDS]
    # a reviewer's order: start, search, screen, curate and check, synthesise, render
    for earlier, later in [("init", "harvest"), ("harvest", "update"), ("update", "screen"),
                           ("screen", "validate"), ("validate", "verify"), ("verify", "build"),
                           ("pool", "build"), ("build", "tables")]:
        assert names.index(earlier) < names.index(later), (earlier, later)
    # the overview in --help names every command, in the same order
    listed = [line.split()[0] for line in DESCRIPTION.splitlines() if line.startswith("  ")]
    assert listed == names
    help_text = build_parser().format_help()
    positions = [help_text.index(f"\n    {name} ") for name in names]
    assert positions == sorted(positions)


def test_help_imports_no_command_module_and_no_heavy_library():
    """``evsynth --help`` and parsing one command load only that command's module (fast start-up)."""
    code = ("import sys\n"
            "from evsynth.cli.main import build_parser\n"
            "build_parser(['--help']).format_help()\n"
            "heavy = sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'pandera', 'statsmodels', 'numpy')"
            " if m in sys.modules)\n"
            "commands = sorted(m for m in sys.modules if m.startswith('evsynth.cli.commands.'))\n"
            "build_parser(['validate'])\n"
            "after = sorted(m for m in sys.modules if m.startswith('evsynth.cli.commands.'))\n"
            "print(heavy, commands, after)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] [] ['evsynth.cli.commands.validate']"
