"""One project object: the root found like git finds its own, --root on every project command,
and the layout spelled in one module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from evsynth.cli.main import COMMANDS, build_parser, main
from evsynth.core.errors import EvsynthError
from evsynth.core.project import Project, find_project

SRC = Path(__file__).resolve().parents[1] / "src" / "evsynth"

#: Commands that work on a project (init makes one from DIR; pool reads the CSV it is given).
PROJECT_COMMANDS = {"harvest", "update", "import", "screen", "chase", "export", "validate", "verify",
                    "build", "tables", "sheets", "identify", "extract", "release", "simulate"}


def test_the_root_is_found_from_any_subfolder(tmp_path, monkeypatch):
    (tmp_path / "review.toml").write_text('title = "x"\n')
    deep = tmp_path / "notes" / "2025" / "drafts"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    project = find_project()
    assert project.root.resolve() == tmp_path.resolve()
    assert project.extracted.resolve() == (tmp_path / "extracted").resolve()
    assert project.runs.resolve() == (tmp_path / "queries" / "runs").resolve()
    assert project.supplementary.resolve() == (tmp_path / "reports" / "supplementary").resolve()


def test_extracted_alone_marks_a_project_and_the_nearest_one_wins(tmp_path):
    (tmp_path / "review.toml").write_text("")
    inner = tmp_path / "sub" / "inner"
    (inner / "extracted").mkdir(parents=True)
    assert find_project(inner / "extracted").root.resolve() == inner.resolve()
    assert find_project(tmp_path / "sub").root.resolve() == tmp_path.resolve()


def test_outside_a_project_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EvsynthError, match="not inside a review project"):
        find_project()
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --root DIR" in err


def test_every_project_command_takes_root():
    assert PROJECT_COMMANDS <= {name for name, _, _ in COMMANDS}
    for name in PROJECT_COMMANDS:
        parser = build_parser([name])
        sub = parser._subparsers._group_actions[0].choices[name]  # noqa: SLF001 (argparse has no public accessor)
        options = {o for action in sub._actions for o in action.option_strings}  # noqa: SLF001
        assert "--root" in options, name
        assert "--extracted" not in options and "--queries" not in options, name


def test_commands_run_from_a_subfolder_of_the_project(project, monkeypatch, capsys):
    (project / "notes").mkdir()
    monkeypatch.chdir(project / "notes")
    assert main(["validate"]) == 0
    assert "all sheets valid" in capsys.readouterr().out
    assert main(["screen"]) == 0  # no screening log yet: nothing to screen
    assert "Nothing to screen" in capsys.readouterr().out


def test_layout_names_are_spelled_in_core_project_only():
    """No module but evsynth.core.project spells a folder or file name of the project layout."""
    layout = {"extracted", "reports", "queries", "runs", "supplementary", "review.toml", "sheets.toml"}
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "core" / "project.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        keys = {id(k) for d in ast.walk(tree) if isinstance(d, ast.Dict) for k in d.keys if k is not None}
        for node in ast.walk(tree):  # a JSON key that happens to be "runs" is not a path
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in layout
                    and id(node) not in keys):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value!r}")
    assert offenders == []


def test_relative_paths_are_shown_from_the_root(tmp_path):
    project = Project(tmp_path)
    assert project.relative(project.runs / "q" / "r") == "queries/runs/q/r"
    assert project.relative(Path("/elsewhere/x")) == "/elsewhere/x"
