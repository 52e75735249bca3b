"""The command line itself: help, version, and errors without tracebacks."""

import subprocess
import sys

from evsynth import __version__
from evsynth.cli import build_parser, main


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
    help_text = build_parser().format_help()
    assert "usage: evsynth" in help_text
