"""`evsynth tables`: the review's tables (from evsynth.report) written as supplementary files."""

import sys
from pathlib import Path

import openpyxl
import pytest

from evsynth.cli.main import COMMANDS, main
from evsynth.report.supplementary import DOCX_NAME, XLSX_NAME
from evsynth.report.tables import Table

TABLES = [
    Table("table1_case_series", "Table 1  Case series", ("Patient", "LRT", "Response"),
          ((1, "TACE", "PR"), (2, "RFA", "SD")), ("PR partial response",)),
    Table("table3_guidelines", "Table 3  Guidelines", ("Guideline", "Recommendation"),
          (("ATA 2015 [10]", "Thermal ablation may be considered"),), ()),
]


@pytest.fixture
def review(monkeypatch, tmp_path):
    """A project folder whose build yields TABLES; records the root it was asked about."""
    asked: list[Path] = []

    def review_tables(root: Path) -> list[Table]:
        asked.append(root)
        return TABLES

    monkeypatch.setattr("evsynth.cli.commands.tables.review_tables", review_tables)
    root = tmp_path / "project"
    root.mkdir()
    return root, asked


def test_default_writes_all_formats_into_reports_supplementary(review, capsys):
    root, asked = review
    assert main(["tables", "--root", str(root)]) == 0
    assert asked == [root]
    out_dir = root / "reports" / "supplementary"
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted([DOCX_NAME, XLSX_NAME, "table1_case_series.csv",
                            "table1_case_series.notes.txt", "table3_guidelines.csv",
                            "table3_guidelines.notes.txt"])
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 6 and printed[-1].endswith(DOCX_NAME)
    workbook = openpyxl.load_workbook(out_dir / XLSX_NAME)
    assert workbook.sheetnames == ["table1_case_series", "table3_guidelines"]
    assert workbook["table3_guidelines"]["B4"].value == "Thermal ablation may be considered"


@pytest.mark.parametrize("args, expected", [
    (["--format", "xlsx"], [XLSX_NAME]),
    (["--format", "docx,xlsx"], [DOCX_NAME, XLSX_NAME]),
    (["--format", "csv", "--format", "docx"],
     [DOCX_NAME, "table1_case_series.csv", "table1_case_series.notes.txt",
      "table3_guidelines.csv", "table3_guidelines.notes.txt"]),
])
def test_format_selection(review, tmp_path, args, expected):
    root, _ = review
    out = tmp_path / "out"
    assert main(["tables", "--root", str(root), "--out", str(out), *args]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)


def test_unknown_format_is_a_usage_error(review, capsys):
    root, _ = review
    with pytest.raises(SystemExit) as exit_info:
        main(["tables", "--root", str(root), "--format", "pdf"])
    assert exit_info.value.code == 2
    assert "unknown format 'pdf'" in capsys.readouterr().err


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("evsynth: error: ") and err.count("\n") == 1, err
    return err


def test_out_is_a_file(review, tmp_path, capsys):
    root, _ = review
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert main(["tables", "--root", str(root), "--out", str(blocker)]) == 1
    assert "is not a folder" in one_line_error(capsys)
    assert main(["tables", "--root", str(root), "--out", str(blocker / "sub")]) == 1
    assert "cannot write" in one_line_error(capsys)
    assert blocker.read_text() == "x"


def test_missing_root(review, tmp_path, capsys):
    assert main(["tables", "--root", str(tmp_path / "nope")]) == 1
    assert "no such project folder" in one_line_error(capsys)


@pytest.mark.parametrize("tables, message", [
    ([], "no tables to write"),
    ([TABLES[0], TABLES[0]], "share the key"),
])
def test_bad_table_lists_are_one_line_errors(monkeypatch, tmp_path, capsys, tables, message):
    monkeypatch.setattr("evsynth.cli.commands.tables.review_tables", lambda root: tables)
    assert main(["tables", "--root", str(tmp_path)]) == 1
    assert message in one_line_error(capsys)
    assert not (tmp_path / "reports").exists()


def test_registered_in_workflow_order():
    names = [name for name, _, _ in COMMANDS]
    assert names[0] == "init"
    assert "tables" in names
    if "build" in names:
        assert names.index("tables") == names.index("build") + 1


def test_command_error_is_one_line_without_traceback(tmp_path):
    import subprocess
    result = subprocess.run([sys.executable, "-m", "evsynth", "tables", "--root",
                             str(tmp_path / "missing")], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == f"evsynth: error: {tmp_path / 'missing'}: no such project folder\n"
