"""`evsynth init DIR`: an empty review project, and refusal to touch a non-empty folder."""

import csv
import subprocess
import sys
import tomllib

import pytest

import evsynth.review.scaffold
from evsynth.cli.main import main
from evsynth.core.errors import EvsynthError
from evsynth.review.scaffold import TEMPLATES, create_project, load_template, sheet_headers

SHEET_HEADERS = sheet_headers(load_template("case-series"))


def test_init_lays_out_sheets_query_reports_and_readme(tmp_path, capsys):
    target = tmp_path / "reviews" / "new-review"
    assert main(["init", str(target), "--template", "case-series"]) == 0
    out = capsys.readouterr().out
    assert "Created a review project" in out and "sample.toml" in out and "'case-series'" in out
    sheets = sorted(p.name for p in (target / "extracted").iterdir())
    assert sheets == sorted(SHEET_HEADERS)
    for name, columns in SHEET_HEADERS.items():
        with open(target / "extracted" / name, encoding="utf-8", newline="") as handle:
            assert list(csv.reader(handle)) == [list(columns)]
    with open(target / "queries" / "sample.toml", "rb") as handle:
        query = tomllib.load(handle)
    assert set(query) == {"name", "version", "database", "term", "rationale"}
    assert query["database"] == "pubmed"
    assert "[mh]" in query["term"] and "[tiab]" in query["term"] and "\n" not in query["term"]
    assert (target / "reports").is_dir() and list((target / "reports").iterdir()) == []
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# new-review\n")
    for step in ("evsynth harvest", "evsynth validate", "evsynth build", "extracted/"):
        assert step in readme
    assert sorted(p.name for p in target.iterdir()) == [".github", "README.md", "extracted", "queries", "reports",
                                                         "review.toml", "sheets.toml"]
    from evsynth.core.settings import load_settings
    assert load_settings(target).title == "new-review: a living systematic review"
    assert [p.name for p in target.parent.iterdir()] == ["new-review"]  # no staging folder left


@pytest.mark.parametrize("template", TEMPLATES)
def test_an_initialised_project_builds_and_speaks_of_itself(tmp_path, template):
    target = tmp_path / "my-review"
    assert main(["init", str(target), "--template", template]) == 0
    assert main(["build", "--root", str(target)]) == 0
    html = (target / "reports" / "review.html").read_text(encoding="utf-8")
    assert "<h1>my-review: a living systematic review</h1>" in html
    # nothing of the bundled review's own story (its seed paper, its table titles, its PRISMA notes)
    for text in ("Gastrointestinal", "52:823", "Summary of the available English", "cross-referencing; the paper"):
        assert text not in html


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_sheet_has_unique_nonempty_columns(template):
    for name, columns in sheet_headers(load_template(template)).items():
        assert name.endswith(".csv") and columns
        assert len(set(columns)) == len(columns), name


@pytest.mark.parametrize("existing", [[], [".git"]])
def test_init_accepts_an_empty_folder_or_a_fresh_git_repo(tmp_path, existing):
    target = tmp_path / "proj"
    target.mkdir()
    for name in existing:
        (target / name).mkdir()
    made = create_project(target)
    assert target / "README.md" in made
    assert (target / "extracted" / "studies.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_init_refuses_a_non_empty_folder_and_changes_nothing(tmp_path, capsys):
    target = tmp_path / "proj"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["init", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("evsynth: error: ") and "is not empty" in err and "notes.txt" in err
    assert err.count("\n") == 1
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "mine"


def test_init_refuses_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["init", str(target)]) == 1
    assert "exists and is not a folder" in capsys.readouterr().err


def test_init_failure_leaves_no_half_project(tmp_path, monkeypatch):
    calls = []

    def failing_write(path, text):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        evsynth.core.atomic.write_text(path, text)

    import evsynth.core.atomic
    monkeypatch.setattr(evsynth.review.scaffold, "write_text", failing_write)
    with pytest.raises(EvsynthError, match="No space left on device"):
        create_project(tmp_path / "proj")
    assert list(tmp_path.iterdir()) == []


def test_init_error_has_no_traceback(tmp_path):
    (tmp_path / "x").write_text("x")
    result = subprocess.run([sys.executable, "-m", "evsynth", "init", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]


@pytest.mark.parametrize("template", TEMPLATES)
def test_review_toml_spells_out_the_screening_defaults_of_the_code(tmp_path, template):
    """``[screening]`` of a new project names every setting, each with a one-line comment, and
    its values are the code's defaults (so the file says what the project does)."""
    import dataclasses

    from evsynth.core.settings import ScreeningSettings, VersionSpec, append_version, load_settings

    target = tmp_path / "p"
    assert main(["init", str(target), "--template", template]) == 0
    text = (target / "review.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)["screening"]
    defaults = dataclasses.asdict(ScreeningSettings())
    assert table == defaults
    assert all(type(table[key]) is type(value) for key, value in defaults.items())
    assert load_settings(target).screening == ScreeningSettings()
    lines = text.splitlines()
    for key in defaults:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
        assert lines[at - 1].startswith("# ") and len(lines[at - 1]) > 10, key
    # evsynth release appends [[versions]] after it; both still read back.
    version = VersionSpec(name="2026-01", date="2026-01", studies=("S1",))
    append_version(target, version)
    settings = load_settings(target)
    assert settings.versions == (version,) and settings.screening == ScreeningSettings()


@pytest.mark.parametrize("template", ["blank", "case-series"])
def test_the_sample_query_has_a_version_to_raise(tmp_path, template):
    """The README says to raise a query's version when its term changes; the template's query has one."""
    from evsynth.search.queries import load_queries

    target = tmp_path / "r"
    assert main(["init", str(target), "--template", template]) == 0
    text = (target / "queries" / "sample.toml").read_text(encoding="utf-8")
    assert "\nversion = 1\n" in text and "Raise the version" in text
    assert [q.version for q in load_queries(target / "queries")] == [1]
