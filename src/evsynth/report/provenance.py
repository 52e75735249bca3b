"""Where each number comes from, written in one place.

Every provenance string the build shows — a table row's hover title, a
figure's "Source:", the Sources appendix — is built by these functions from
the project layout (:mod:`evsynth.core.project`) and the rows the number was
computed from. The page template only places what they return; it spells no
sheet name or row itself, so the provenance cannot drift from the code that
computed the number.
"""

from __future__ import annotations

from collections.abc import Iterable

from evsynth.core.project import ANALYSIS_PLAN_FILE, EXTRACTED, REPORTS, SETTINGS_FILE
from evsynth.search.runs import MANIFEST

CLOPPER_PEARSON = "Clopper–Pearson CI"
COUNTS_MODULE = "evsynth.review.counts"
POOLING_MODULE = "evsynth.meta.pooling"


def screening_log(name: str = "screening") -> str:
    """``extracted/screening.csv`` (or another log of ``extracted/``)."""
    return f"{EXTRACTED}/{name}.csv"


def sheet(name: str) -> str:
    """``extracted/<name>.csv``."""
    return f"{EXTRACTED}/{name}.csv"


def sheets(*names: str) -> str:
    """Several sheets, comma-separated."""
    return ", ".join(sheet(n) for n in names)


def sheet_ids(name: str, ids: Iterable[object]) -> str:
    """``extracted/cohorts.csv (C1, C2)``: the rows of a sheet by their ids (``(none)`` for no row)."""
    listed = ", ".join(str(i) for i in ids)
    return f"{sheet(name)} ({listed or 'none'})"


def plan(outcome: str | None = None, line: int | None = None) -> str:
    """``analysis.toml``, ``analysis.toml (outcome orr)`` or ``analysis.toml line 12``."""
    if outcome is not None:
        return f"{ANALYSIS_PLAN_FILE} (outcome {outcome})"
    return f"{ANALYSIS_PLAN_FILE} line {line}" if line is not None else ANALYSIS_PLAN_FILE


def settings_table(table: str) -> str:
    """``review.toml [[versions]]``: an array of tables of the review's settings."""
    return f"{SETTINGS_FILE} [[{table}]]"


def settings(keys: str) -> str:
    """``review.toml (seed_citation, seed_doi)``."""
    return f"{SETTINGS_FILE} ({keys})"


def sheet_row(name: str, row: int, ident: object) -> str:
    """``extracted/claims.csv row 7 (K3)``: one spreadsheet row (header = row 1) and its id."""
    return f"{sheet(name)} row {int(row)} ({ident})"


def sheet_all_rows(name: str, what: str = "") -> str:
    """``extracted/cohorts.csv (all rows)`` or ``(response, all rows)``."""
    return f"{sheet(name)} ({what + ', ' if what else ''}all rows)"


def sheet_row_count(name: str, rows: int) -> str:
    """``extracted/studies.csv (17 rows)``."""
    return f"{sheet(name)} ({rows} rows)"


def report_file(name: str) -> str:
    """``reports/<name>``."""
    return f"{REPORTS}/{name}"


def run_manifest(folder: str) -> str:
    """The manifest of a harvest run folder (relative to the project root)."""
    return f"{folder}/{MANIFEST}"


def counts(name: str = "cohorts") -> str:
    """A figure of ``counts.json``."""
    return f"{report_file('counts.json')} ({COUNTS_MODULE} from {sheet(name)}, all rows)"


def pooled(cohort_ids: Iterable[object], method: str, measure: str, extra: str = "") -> str:
    """A pooled estimate: the cohorts it pools and the model."""
    ids = list(cohort_ids)
    return (f"{len(ids)} cohorts of {sheet_ids('cohorts', ids)}; method: {POOLING_MODULE} {method} ({measure})"
            + (f", {extra}" if extra else ""))


def crude(cohort_ids: Iterable[object]) -> str:
    """A crude proportion (not a model): the cohorts it sums and the interval."""
    ids = list(cohort_ids)
    return (f"{len(ids)} cohorts of {sheet_ids('cohorts', ids)}; crude proportion, Σ events / Σ patients, "
            f"{CLOPPER_PEARSON}")


#: What the PRISMA counts are computed from.
PRISMA_SHEETS = ", ".join([screening_log(), screening_log("merge-log"), sheet("studies")])
