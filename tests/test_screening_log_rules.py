"""The screening log's cell rules in plain Python give the problems the pandera schema gave.

``evsynth screen`` and ``evsynth validate`` check the log without pandas or pandera (they
start fast); the messages must stay those reviewers saw before, cell for cell. The pandera
schema of before is kept as the reference in ``tests/support/log_reference.py``.
"""

import random
import subprocess
import sys

from evsynth.screening.log import COLUMNS, LogTable, REASONS, load_log, save_log, validate_log, validate_table
from tests.support.living_helpers import decided, entry
from tests.support.log_reference import validate as pandera_validate

#: Values that break (or just pass) each column's rules, mixed into otherwise valid rows.
HOSTILE = ["", " ", "R00001", "R1", "r00002", "R00001\n", "12x3", "123456789", "1234567890", "10.1/x",
           "10.1 /x", "doi:10.1/x", "2025-02-30", "2025-01-01", "01/02/2025", "1999", "99",
           "title/abstract", "full text", "abstract", "include", "exclude", "pending", "maybe", "yes",
           "not English", "full text not retrieved", "too old", "retracted", "erratum", "RETRACTED",
           "a\x07b", "line\nbreak", "=1+1", "PubMed", "ü", "R00003", "R00003"]


def _hostile_table(rng: random.Random, rows: int) -> LogTable:
    base = [entry(i + 1, pmid=str(100 + i), source="PubMed") for i in range(rows)]
    table = []
    for e in base:
        cells = [getattr(e, c) for c in COLUMNS]
        for _ in range(rng.randint(0, 4)):
            cells[rng.randrange(len(COLUMNS))] = rng.choice(HOSTILE)
        table.append(tuple(cells))
    return LogTable(COLUMNS, tuple(table), tuple(range(2, rows + 2))).stripped()


def test_plain_python_rules_give_the_pandera_problems_on_hostile_logs():
    rng = random.Random(23)
    found = 0
    for _ in range(60):
        table = _hostile_table(rng, rng.randint(1, 25))
        expected = pandera_validate(table, "screening.csv")
        assert validate_table(table, "screening.csv") == expected
        found += len(expected)
    assert found > 300  # the inputs did break the rules, often


def test_a_project_list_of_reasons_is_the_list_checked():
    table = LogTable(COLUMNS, (tuple(getattr(decided(1, "exclude", reason="too old"), c) for c in COLUMNS),),
                     (2,))
    reasons = ("too old", *REASONS)
    assert validate_table(table, "s.csv", reasons) == pandera_validate(table, "s.csv", reasons) == []
    assert validate_table(table, "s.csv") == pandera_validate(table, "s.csv") != []


def test_reading_and_checking_the_log_imports_neither_pandas_nor_pandera(tmp_path):
    path = tmp_path / "screening.csv"
    save_log(path, [entry(1), decided(2, "exclude", reason="not English")])
    code = ("import sys; from evsynth.screening.log import load_log, validate_log; "
            f"assert len(load_log({str(path)!r})) == 2 and validate_log({str(path)!r}) == []; "
            "print(sorted(m for m in ('pandas', 'pandera', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert [e.record_id for e in load_log(path)] == ["R00001", "R00002"] and validate_log(path) == []
