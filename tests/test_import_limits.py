"""Imports respect the sheet limits (issue 20): a RIS field the screening log cannot hold is
refused with FILE:LINE and nothing is written, so the project still validates."""

from __future__ import annotations

from pathlib import Path

from evsynth.cli.main import main
from evsynth.screening.ris import MAX_FIELD_CHARS
from evsynth.sheets.engine import SheetLimits


def ris(*titles: str) -> str:
    out = []
    for i, title in enumerate(titles):
        out += ["TY  - JOUR", f"TI  - {title}", f"AU  - Author{i}, A", "PY  - 2023", "ER  - ", ""]
    return "\n".join(out)


def test_limit_is_the_sheet_cell_limit() -> None:
    assert MAX_FIELD_CHARS == SheetLimits().max_cell_chars


def test_over_long_title_refused_with_file_line_and_project_still_valid(project: Path, capsys) -> None:
    log = project / "extracted" / "screening.csv"
    before = log.read_bytes() if log.exists() else None
    path = project / "big.ris"
    path.write_text(ris("A fine title", "x" * 200_000))
    assert main(["import", str(path), "--source", "embase", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert err == (f"evsynth: error: {path}:8: reference 2: the title (TI) has 200,000 characters, over the "
                   "limit of 10,000 for a cell of the screening log; nothing imported (shorten it in the file, "
                   "or export it again)\n")
    assert (log.read_bytes() if log.exists() else None) == before
    assert main(["validate", "--root", str(project)]) == 0


def test_title_at_the_limit_imports_and_validates(project: Path, capsys) -> None:
    path = project / "edge.ris"
    path.write_text(ris("y" * MAX_FIELD_CHARS))
    assert main(["import", str(path), "--source", "embase", "--root", str(project)]) == 0
    assert "1 records, 1 new" in capsys.readouterr().out
    assert main(["validate", "--root", str(project)]) == 0
    assert main(["build", "--root", str(project)]) == 0


def test_over_long_author_list_refused(project: Path, capsys) -> None:
    path = project / "authors.ris"
    lines = ["TY  - JOUR", "TI  - Many authors"] + [f"AU  - Surname{i:05d}, Given" for i in range(700)]
    path.write_text("\n".join(lines + ["ER  - ", ""]))
    assert main(["import", str(path), "--source", "embase", "--root", str(project)]) == 1
    assert f"{path}:3: reference 1: the authors (AU) has" in capsys.readouterr().err
