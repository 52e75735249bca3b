"""Checks that span rows or sheets: references, sums and consistency.

They run only on sheets whose cells already passed the schema
(:func:`evsynth.sheets.engine.check_cells`), so every number parses here.
Each problem names the file, spreadsheet row and column to fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evsynth.review import vocab
from evsynth.review.appraisal import CHECKLISTS, OWN_SERIES
from evsynth.sheets.engine import Problem, SheetRead, parse_int, parse_number


def _rows(sheet: SheetRead) -> Iterator[tuple[int, dict[str, str | None]]]:
    for number, record in zip(sheet.rows, sheet.records):
        yield number, record


def _int(value: str | None) -> int | None:
    return None if value is None else parse_int(value)


def _num(value: str | None) -> float | None:
    return None if value is None else parse_number(value)


def _cohort_problems(sheet: SheetRead, studies: SheetRead) -> Iterator[Problem]:
    """The row rules of ``cohorts.csv``, in this order for each row (see the functions it calls)."""
    p = sheet.path
    histology_columns = sheet.spec.columns_for(vocab.HISTOLOGY)
    response_columns = tuple(sheet.spec.columns_for(vocab.RESPONSE_COUNT).values())
    orders: dict[int, int] = {}
    for row, r in _rows(sheet):
        n = _int(r["n_patients"]) or 0
        order = _int(r["printed_order"])
        if order is not None:
            if order in orders:
                yield Problem(p, row, "printed_order", f"{order} is also the printed order of row {orders[order]}")
            orders[order] = row
        found = [*_histology_split(r, n, histology_columns), *_lrt_assignment(r), *_size(r),
                 *_responses(r, n, response_columns), *_mixed_cohort(r)]
        for column, message in found:
            yield Problem(p, row, column, message)


RowProblems = Iterator[tuple[str, str]]


def _histology_split(r: dict[str, Any], n: int, histology_columns: dict[str, str]) -> RowProblems:
    """The histology counts add up to n and match the histology list."""
    split = {h: _int(r[c]) or 0 for h, c in histology_columns.items()}
    if sum(split.values()) != n:
        yield "n_patients", f"histology counts add up to {sum(split.values())}, not n_patients = {n}"
    listed = {h.strip() for h in (r["histology"] or "").split(";")}
    with_patients = {h for h, k in split.items() if k > 0}
    if listed != with_patients:
        yield ("histology", f"lists {';'.join(sorted(listed))} but patients are counted under "
                            f"{';'.join(sorted(with_patients)) or 'none'}")


def _lrt_assignment(r: dict[str, Any]) -> RowProblems:
    """A ';' list of LRTs means the study did not say which patient had which."""
    lrt = r["lrt"] or ""
    if (";" in lrt) != (r["lrt_assignment"] == vocab.UNASSIGNED):
        yield "lrt_assignment", "use 'unassigned' exactly when lrt lists several treatments with ';'"


def _size(r: dict[str, Any]) -> RowProblems:
    """The size of the largest metastasis agrees with its size_kind."""
    kind = r["size_kind"]
    size, median, low, high = (_num(r[c]) for c in ("size_mm", "size_median_mm", "size_min_mm", "size_max_mm"))
    if kind == "value" and size is None:
        yield "size_mm", "size_kind is 'value' but size_mm is empty"
    if kind != "value" and size is not None:
        yield "size_mm", f"size_mm given but size_kind is {kind!r}"
    if kind == "median and range":
        if None in (median, low, high):
            yield "size_median_mm", "median and range need size_median_mm, size_min_mm and size_max_mm"
        elif not (low <= median <= high):  # type: ignore[operator]
            yield "size_median_mm", f"median {median:g} is not within the range {low:g}-{high:g}"
    elif any(v is not None for v in (median, low, high)):
        yield "size_kind", "median/range given but size_kind is not 'median and range'"


def _responses(r: dict[str, Any], n: int, response_columns: tuple[str, ...]) -> RowProblems:
    """Symptomatic percentage only with a 'yes'; structural response counts as reported."""
    if r["symptomatic_pct"] is not None and r["symptomatic_response"] != "yes":
        yield "symptomatic_pct", "a percentage needs symptomatic_response = yes"
    counts = {c: _int(r[c]) for c in response_columns}
    if r["structural_response"] == "reported":
        for c, v in counts.items():
            if v is None:
                yield c, "structural_response is 'reported': give a count (0 if none)"
        total = sum(v or 0 for v in counts.values())
        if total > n:
            yield response_columns[0], f"response counts add up to {total}, more than n_patients = {n}"
        if total == 0:
            yield "structural_response", "reported but every response count is 0"
    else:
        for c, v in counts.items():
            if v is not None:
                yield c, "a count is given but structural_response is 'not available'"


def _mixed_cohort(r: dict[str, Any]) -> RowProblems:
    """Mixed cohorts (printed NA*) carry the '*' footnote (their agreement with the studies sheet is a
    rule of the project's sheets.toml)."""
    mixed = r["mixed_cohort"] == "yes"
    markers = {m.strip() for m in (r["footnotes"] or "").split(";") if m.strip()}
    if mixed != ("*" in markers):
        yield "footnotes", "mixed cohorts (NA*) carry the '*' footnote, and only they do"


def _grade_problems(sheet: SheetRead) -> Iterator[Problem]:
    for row, r in _rows(sheet):
        low, high = _int(r["ctcae_grade_min"]), _int(r["ctcae_grade_max"])
        if (low is None) != (high is None):
            yield Problem(sheet.path, row, "ctcae_grade_max", "give both grade_min and grade_max, or neither")
        elif low is not None and high is not None and low > high:
            yield Problem(sheet.path, row, "ctcae_grade_min", f"grade {low} is above grade_max {high}")


def _ae_patient_problems(events: SheetRead, cohorts: SheetRead) -> Iterator[Problem]:
    n_of = {r["cohort_id"]: _int(r["n_patients"]) for _, r in _rows(cohorts)}
    status_of = {r["cohort_id"]: r["ae_status"] for _, r in _rows(cohorts)}
    for row, r in _rows(events):
        n = n_of.get(r["cohort_id"])
        k = _int(r["patients"])
        if n is not None and k is not None and k > n:
            yield Problem(events.path, row, "patients", f"{k} patients affected in a cohort of {n}")
        if r["cohort_id"] in status_of and status_of[r["cohort_id"]] != "reported":
            yield Problem(events.path, row, "cohort_id",
                          f"cohort {r['cohort_id']} has ae_status = {status_of[r['cohort_id']]!r}, not 'reported'")
    with_events = {r["cohort_id"] for _, r in _rows(events)}
    for row, r in _rows(cohorts):
        if r["ae_status"] == "reported" and r["cohort_id"] not in with_events:
            yield Problem(cohorts.path, row, "ae_status", "'reported' but adverse_events.csv has no row for this cohort")


def _procedure_problems(procedures: SheetRead) -> Iterator[Problem]:
    seen: dict[tuple[str | None, int | None], int] = {}
    for row, r in _rows(procedures):
        key = (r["patient_id"], _int(r["sequence"]))
        if key in seen:
            yield Problem(procedures.path, row, "sequence", f"patient {key[0]} already has procedure {key[1]} (row {seen[key]})")
        seen[key] = row
        if (r["concomitant_tki"] == "yes") != (r["tki"] is not None):
            yield Problem(procedures.path, row, "tki", "name the TKI exactly when concomitant_tki = yes")


def _footnote_problems(reads: dict[str, SheetRead]) -> Iterator[Problem]:
    notes = reads["footnotes"]
    seen: dict[tuple[str | None, str | None], int] = {}
    for row, r in _rows(notes):
        key = (r["table"], r["marker"])
        if key in seen:
            yield Problem(notes.path, row, "marker", f"marker {key[1]!r} of {key[0]} is already defined in row {seen[key]}")
        seen[key] = row
    defined = {m for (t, m) in seen if t == "table2"}
    for name in ("cohorts", "adverse_events"):
        for row, r in _rows(reads[name]):
            for marker in (r["footnotes"] or "").split(";"):
                if marker.strip() and marker.strip() not in defined:
                    yield Problem(reads[name].path, row, "footnotes", f"footnote {marker.strip()!r} is not defined for table2 in footnotes.csv")


def _appraisal_problems(appraisal: SheetRead, studies: SheetRead | None) -> Iterator[Problem]:
    """Known study, an item of its checklist, one checklist per study, every item answered once."""
    known = ({r["study_id"] for _, r in _rows(studies)} if studies is not None else set()) | {OWN_SERIES}
    checklist_of: dict[str | None, tuple[str | None, int]] = {}
    items: dict[str | None, dict[int, int]] = {}
    for row, r in _rows(appraisal):
        study, checklist, item = r["study_id"], r["checklist"], _int(r["item"])
        if study not in known:
            yield Problem(appraisal.path, row, "study_id", f"{study!r} is not a study_id in studies.csv "
                                                           f"(or {OWN_SERIES} for the authors' own series)")
        if study in checklist_of and checklist_of[study][0] != checklist:
            yield Problem(appraisal.path, row, "checklist", f"study {study} is appraised with the "
                                                            f"{checklist_of[study][0]} checklist on row {checklist_of[study][1]}")
            continue
        checklist_of.setdefault(study, (checklist, row))
        size = len(CHECKLISTS.get(checklist or "", ()))
        if item is not None and size and item > size:
            yield Problem(appraisal.path, row, "item", f"the JBI {checklist} checklist has {size} items, not {item}")
            continue
        if item is not None:
            seen = items.setdefault(study, {})
            if item in seen:
                yield Problem(appraisal.path, row, "item", f"item {item} of {study} is also on row {seen[item]}")
            seen[item] = row
    for study, (checklist, row) in checklist_of.items():
        missing = [str(i) for i in range(1, len(CHECKLISTS.get(checklist or "", ())) + 1)
                   if i not in items.get(study, {})]
        if missing:
            yield Problem(appraisal.path, row, "item", f"study {study}: items {', '.join(missing)} of the "
                                                       f"{checklist} checklist have no row (answer 'not assessed')")


def cross_sheet_problems(reads: dict[str, SheetRead]) -> list[Problem]:
    """Every problem of this review type that needs more than one cell: sums, consistency, coverage.

    References declared in ``sheets.toml`` (``ref``) are checked by the sheet engine;
    each check here runs only when the project declares the sheets it reads.
    """
    has = lambda *names: all(n in reads for n in names)  # noqa: E731
    problems: list[Problem] = []
    if has("cohorts", "studies"):
        problems += _cohort_problems(reads["cohorts"], reads["studies"])
    for name in ("adverse_events", "case_adverse_events"):
        if has(name):
            problems += _grade_problems(reads[name])
    if has("adverse_events", "cohorts"):
        problems += _ae_patient_problems(reads["adverse_events"], reads["cohorts"])
    if has("case_procedures"):
        problems += _procedure_problems(reads["case_procedures"])
    if has("footnotes", "cohorts", "adverse_events"):
        problems += _footnote_problems(reads)
    if has("appraisal"):
        problems += _appraisal_problems(reads["appraisal"], reads["studies"] if has("studies") else None)
    if has("studies", "cohorts"):
        studies_with_rows = {r["study_id"] for _, r in _rows(reads["cohorts"])}
        for row, r in _rows(reads["studies"]):
            if r["study_id"] not in studies_with_rows:
                problems.append(Problem(reads["studies"].path, row, "study_id", "no cohort row in cohorts.csv for this study"))
    if has("case_patients", "case_procedures"):
        patients_with_procedures = {r["patient_id"] for _, r in _rows(reads["case_procedures"])}
        for row, r in _rows(reads["case_patients"]):
            if r["patient_id"] not in patients_with_procedures:
                problems.append(Problem(reads["case_patients"].path, row, "patient_id", "no procedure in case_procedures.csv"))
    return problems
