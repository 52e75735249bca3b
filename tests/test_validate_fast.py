"""``evsynth validate`` in plain Python gives the lines the pandas path gave, and loads no pandas.

The sheets are read into plain rows; cells, references and rules are checked on them, and
the analysis plan on typed rows (:func:`evsynth.review.load.checked_rows`), so ``validate``
starts without pandas, pandera or numpy (issue 23: within 10x of bare Python,
``benchmarks/bench_startup.py``). The path of before (pandera schema, pandas frames,
the plan on a loaded review's typed frames) is kept as the reference in
``tests/support/sheets_reference.py``; both must print the same lines, damage for damage.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.core.settings import load_settings
from evsynth.review.load import check, checked_rows, review_of, review_sheets
from evsynth.review.model import rows_of
from tests.conftest import REPO
from tests.support.sheets_reference import reference_mode

#: Cell values mixed into the sheets: mistyped, out of range, unknown vocabulary, empty, dangling
#: references (ids no sheet has), and values of the right type that may break a rule or repeat an id.
JUNK = ["", "x", "-1", "1e999", "3.5", "12", "nan", "a;b", "yes+no", "0", "1", "2", "100000", "S999", "C999",
        "yes", "no", "not reported", "MTC", "RFA", "assigned"]


def _validate(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["validate", "--root", str(project)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _both(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    fast = _validate(project, capsys)
    with monkeypatch.context() as patched:
        reference_mode(patched, project)
        reference = _validate(project, capsys)
    assert fast == reference
    assert "Traceback" not in fast[1] + fast[2]
    return fast


def _damage(project: Path, rng: random.Random, originals: dict[Path, str]) -> None:
    """One to three cells of unquoted lines of random sheets set to a junk value or another row's value."""
    for path, text in originals.items():
        path.write_text(text, encoding="utf-8")
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(sorted(originals))
        lines = path.read_text(encoding="utf-8").splitlines()
        candidates = [i for i, line in enumerate(lines[1:], start=1) if '"' not in line]
        if not candidates:
            continue
        i = rng.choice(candidates)
        cells = lines[i].split(",")
        column = rng.randrange(len(cells))
        other = lines[rng.choice(candidates)].split(",")
        # half the time a value of the same column in another row: well typed, it may break a rule or repeat an id
        cells[column] = (other[column] if rng.random() < 0.5 and len(other) == len(cells)
                         else rng.choice(JUNK + ["", "", other[0]]))
        lines[i] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_validate_prints_the_reference_lines_on_damaged_sheets(project, capsys, monkeypatch):
    rng = random.Random(23)
    originals = {p: p.read_text(encoding="utf-8") for p in sorted((project / "extracted").glob("*.csv"))
                 if p.name != "screening.csv"}
    rules = {r.message for spec in review_sheets(project).sheets for r in spec.rules}
    kinds: dict[str, int] = {}
    cohorts = project / "extracted" / "cohorts.csv"
    for trial in range(90):
        _damage(project, rng, originals)
        if trial >= 80:  # the declared rules: a cohort's mixed_cohort flipped against its study's thyroid_specific
            lines = cohorts.read_text(encoding="utf-8").splitlines()
            at = lines[0].split(",").index("mixed_cohort")
            i = rng.choice([i for i, line in enumerate(lines[1:], start=1) if '"' not in line])
            cells = lines[i].split(",")
            cells[at] = {"yes": "no", "no": "yes"}.get(cells[at], "no")
            lines[i] = ",".join(cells)
            cohorts.write_text("\n".join(lines) + "\n", encoding="utf-8")
        code, out, _ = _both(project, capsys, monkeypatch)
        for line in out.splitlines():
            message = line.split(": ", 1)[-1]
            kind = ("type or vocabulary" if " must be " in message else
                    "required" if message == "required value is empty" else
                    "duplicate id" if message.startswith("duplicate id") else
                    "reference" if " is not a " in message else
                    "rule" if any(message.startswith(r) for r in rules) else "cross-sheet or other")
            kinds[kind] = kinds.get(kind, 0) + 1
    # the damage broke every kind of check, often
    assert all(kinds.get(k, 0) >= 3 for k in ("type or vocabulary", "required", "duplicate id", "reference", "rule",
                                             "cross-sheet or other")), sorted(kinds.items())


def test_the_plan_checks_give_the_same_lines_on_rows_as_on_typed_frames(project, capsys, monkeypatch):
    assert _both(project, capsys, monkeypatch)[0] == 0  # the seed review: valid, plan valid
    plan = project / "analysis.toml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("min_total = 2", "min_total = 100000", 1),
                    encoding="utf-8")
    code, out, _ = _both(project, capsys, monkeypatch)
    assert code == 1 and "is eligible for the primary analysis (rules that excluded rows:" in out


@pytest.mark.parametrize("root", ["seed", "bundled"])
def test_checked_rows_are_the_typed_rows_of_the_loaded_review(project, root):
    folder = project if root == "seed" else REPO
    sheet_set, settings = review_sheets(folder), load_settings(folder)
    checked = check(folder, settings, sheet_set)
    rows = checked_rows(checked, sheet_set)
    assert rows.tables == rows_of(review_of(folder, checked, settings, sheet_set)).tables
    assert sum(len(t) for t in rows.tables.values()) > 100


def test_validate_imports_neither_pandas_nor_pandera_nor_numpy(project):
    cohorts = project / "extracted" / "cohorts.csv"
    broken = project.parent / "broken"
    broken.mkdir()
    code = ("import sys; from evsynth.cli.main import main; codes = [main(['validate', '--root', r]) for r in sys.argv[1:]]; "
            "print(codes, sorted(m for m in ('pandas', 'pandera', 'numpy', 'scipy') if m in sys.modules))")
    text = cohorts.read_text(encoding="utf-8")
    cohorts.write_text(text.replace(",MTC,", ",XYZ,", 1), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", code, str(REPO), str(project)], capture_output=True, text=True,
                          check=True, cwd=broken)
    assert done.stdout.strip().splitlines()[-1] == "[0, 1] []"
