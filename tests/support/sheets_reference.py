"""``evsynth validate`` as it ran on pandas frames before the sheets were checked in plain Python:
the reference the plain-Python path is compared with (``tests/test_validate_fast.py``).

The cell checks are the pandera schema (:func:`evsynth.sheets.engine.pandera_cell_problems`), the
references and rules read each sheet's pandas frame (the code of before, kept here), and the analysis
plan is checked on the typed frames of a loaded review (:func:`evsynth.review.load.review_of`).
:func:`reference_mode` switches a ``monkeypatch`` to that path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from evsynth.cli.commands import validate as validate_command
from evsynth.core.settings import load_settings
from evsynth.review.load import Checked, review_of
from evsynth.review.model import Review
from evsynth.sheets import engine
from evsynth.sheets.engine import Problem, SheetRead
from evsynth.sheets.expressions import typed_row  # noqa: F401  (the rows of before)
from evsynth.sheets.spec import SPEC_FILE, SheetSet


#: The engine's rule check, kept before :func:`reference_mode` replaces it by the one below.
_ENGINE_RULE_PROBLEMS = engine.rule_problems


def _records(read: SheetRead) -> list[dict]:
    frame: pd.DataFrame = read.frame
    return frame.to_dict("records")


def reference_problems(reads: dict[str, SheetRead], sheet_set: SheetSet) -> Iterator[Problem]:
    """Declared references, read from the pandas frames (the code of before)."""
    for spec in sheet_set.sheets:
        child = reads.get(spec.name)
        for f in spec.fields:
            if not f.ref or child is None:
                continue
            parent, _, key = f.ref.partition(".")
            if parent not in reads:
                continue
            known = {v for v in reads[parent].frame[key] if v is not None}
            for row, value in zip(child.rows, child.frame[f.name]):
                if value is not None and value not in known:
                    yield Problem(child.path, row, f.name, f"{value!r} is not a {key} in {parent}.csv")


def rule_problems(reads: dict[str, SheetRead], sheet_set: SheetSet, source: str = SPEC_FILE) -> Iterator[Problem]:
    """The sheets' rules on the rows of the pandas frames (the rows of before)."""
    rows = {name: [typed_row(read.spec, record) | {"_row": number}
                   for number, record in zip(read.rows, _records(read))]
            for name, read in reads.items()}
    return _ENGINE_RULE_PROBLEMS(reads, sheet_set, source, rows)


def typed_review(root: Path, checked: Checked, sheet_set: SheetSet) -> Review:
    """The review of typed pandas frames the plan was checked on before."""
    return review_of(root, checked, load_settings(root), sheet_set)


def reference_mode(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make ``evsynth validate`` run the pandas path of before for the project under *root*."""
    monkeypatch.setattr(engine, "PYTHON_CHECK_ROWS", -1)  # every sheet through the pandera schema
    monkeypatch.setattr(engine, "reference_problems", reference_problems)
    monkeypatch.setattr(engine, "rule_problems", rule_problems)
    monkeypatch.setattr(validate_command, "checked_rows", lambda checked, sheet_set: typed_review(root, checked, sheet_set))
