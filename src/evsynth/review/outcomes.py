"""Outcome data sets, as the analysis plan defines them, with every exclusion and its rule.

For an outcome of the plan (:class:`evsynth.review.plan.OutcomePlan`) and an
analysis's eligibility, every row of the outcome's sheet (in the sheet's
order) is either *eligible* — a row ``study, cohort_id, events, total`` plus
its study, design and derived columns — or *excluded* with the first rule it
fails, in this order:

1. the eligibility rules, in the order the plan names them (a condition in the
   expression language on the row, its derived columns included);
2. ``missing``: the plan's conditions under which the row's counts are not given;
3. counts: an events or denominator column (or expression) is empty;
4. ``min_total``: the denominator is smaller (0 = no evaluable row);
5. more events than the denominator.

``cohort_id`` in the data is the id of the row (the sheet's ``id`` column).
Each row is labelled by the citation of the study it references
(:func:`evsynth.review.model.study_citation`), with the plan's ``row_label``
column added when the study has several rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evsynth.review.design import StudyDesign, study_designs
from evsynth.review.model import Review, SheetRows, rows_of, study_citation
from evsynth.review.plan import AnalysisPlan, Count, Eligibility, OutcomePlan
from evsynth.sheets.expressions import ExpressionError, SheetData

if TYPE_CHECKING:
    import pandas as pd

#: Response columns of cohorts.csv and the response category each counts (for the case series).
RESPONSE_CATEGORIES: dict[str, str] = {"resp_cr": "CR", "resp_pr": "PR", "resp_sd": "SD", "resp_pd": "PD"}
DATA_COLUMNS = ["study", "cohort_id", "events", "total", "study_id", "design"]


@dataclass(frozen=True)
class Exclusion:
    """A row left out of an analysis, with the plan's rule it fails."""

    cohort_id: str
    study: str
    rule: str


@dataclass(frozen=True)
class OutcomeData:
    """The eligible rows of one analysis (``data``) and the excluded ones with their rule."""

    data: pd.DataFrame  # columns: DATA_COLUMNS, then the derived and subgroup columns
    excluded: tuple[Exclusion, ...]

    @property
    def cohort_ids(self) -> list[str]:
        return [str(c) for c in self.data["cohort_id"]]


def study_column(review: Review | SheetRows, sheet: str) -> str:
    """The column of *sheet* that references the studies sheet ("" when none)."""
    if sheet == "studies":
        return "study_id"
    spec = review.sheets.get(sheet)
    return next((f.name for f in spec.fields if f.ref.startswith("studies.")), "")


def _context(data: SheetRows) -> SheetData:
    return SheetData({name: data.rows(name) for name in data.tables}, data.sheets)


@dataclass(frozen=True)
class OutcomeRows:
    """The rows of an outcome's sheet with the derived columns, their labels and the context they are read in."""

    rows: list[dict[str, Any]]
    labels: list[str]
    context: SheetData


def outcome_rows(review: Review | SheetRows, outcome: OutcomePlan,
                 designs: Mapping[str, StudyDesign] | None = None) -> OutcomeRows:
    """Typed rows of the outcome's sheet, each with ``design`` and the plan's derived columns, and its label."""
    data = rows_of(review)
    context = _context(data)
    sheet = outcome.sheet
    spec = data.sheets.get(sheet)
    link = study_column(data, sheet)
    designs = designs if designs is not None else study_designs(data)
    studies = ({str(s["study_id"]): s for s in data.tables["studies"]}
               if data.has("studies") and link else {})
    rows: list[dict[str, Any]] = []
    for raw in context.rows(sheet):
        row = dict(raw)
        study_id = str(row.get(link)) if link and row.get(link) is not None else ""
        row["design"] = designs[study_id].design if study_id in designs else None
        for d in outcome.derived:
            try:
                value = next((v.value(row, context, sheet) for cond, v in d.cases
                              if cond.test(row, context, sheet)), None)
                if value is None and d.otherwise is not None and not any(c.test(row, context, sheet)
                                                                        for c, _ in d.cases):
                    value = d.otherwise.value(row, context, sheet)
            except ExpressionError as exc:
                raise ExpressionError(f"derived column {d.name!r}, row {row.get('_row')} of {sheet}.csv: {exc}") from None
            row[d.name] = value
        row["_study_id"] = study_id
        rows.append(row)
    per_study: dict[str, int] = {}
    for row in rows:
        per_study[row["_study_id"]] = per_study.get(row["_study_id"], 0) + 1
    labels = []
    for row in rows:
        study = studies.get(row["_study_id"])
        label = study_citation(study) if study is not None else str(row.get(spec.id_column) or row.get("_row"))
        if study is not None and per_study[row["_study_id"]] > 1:
            extra = row.get(outcome.row_label) if outcome.row_label else row.get(spec.id_column)
            if extra is not None:
                label += f" {extra}"
        labels.append(label)
    return OutcomeRows(rows, labels, context)


def _count(count: Count, row: Mapping[str, Any], context: SheetData, sheet: str) -> int | None:
    if count.expression is not None:
        value = count.expression.value(row, context, sheet)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise ExpressionError(f"{count.expression.text} gives {value!r} for row {row.get('_row')} of "
                                  f"{sheet}.csv, not a whole number")
        return int(value)
    values = [row.get(c) for c in count.columns]
    if any(v is None for v in values):
        return None
    return sum(int(v) for v in values)


def _shown(row: Mapping[str, Any], columns: frozenset[str]) -> str:
    return ", ".join(f"{c} = {'empty' if row.get(c) is None else row.get(c)}" for c in sorted(columns))


def exclusion_rule(outcome: OutcomePlan, eligibility: Eligibility, row: Mapping[str, Any],
                   context: SheetData) -> tuple[str, int, int]:
    """``(rule, events, total)``: the first rule *row* fails ("" if eligible) and its counts."""
    sheet = outcome.sheet
    for rule in eligibility.rules:
        if not rule.condition.test(row, context, sheet):
            return f"{rule.name}: {_shown(row, rule.condition.columns)} (rule: {rule.text})", 0, 0
    for missing in outcome.missing:
        if missing.condition.test(row, context, sheet):
            return f"counts: {missing.why}", 0, 0
    total = _count(outcome.denominator, row, context, sheet)
    events = _count(outcome.events, row, context, sheet)
    if events is None or total is None:
        return f"counts: {outcome.events.text()} / {outcome.denominator.text()} not given", 0, 0
    if total == 0:
        return "min total: no evaluable participant (denominator 0)", 0, 0
    if total < eligibility.min_total:
        return f"min total: {total} < {eligibility.min_total}", 0, 0
    if events > total:
        return f"counts: {events} events among {total}", 0, 0
    return "", events, total


def _columns(outcome: OutcomePlan) -> list[str]:
    names = [d.name for d in outcome.derived] + list(outcome.subgroups)
    if outcome.criteria.column:
        names.append(outcome.criteria.column)
    return [n for n in dict.fromkeys(names) if n not in DATA_COLUMNS]


def outcome_data(review: Review | SheetRows, outcome: OutcomePlan, eligibility: Eligibility,
                 designs: Mapping[str, StudyDesign] | None = None, rows: OutcomeRows | None = None) -> OutcomeData:
    """The rows *eligibility* lets into *outcome*, in the sheet's order, and the rest with their rule."""
    import pandas as pd

    data, extra, excluded = _split(review, outcome, eligibility, designs, rows)
    return OutcomeData(pd.DataFrame(data, columns=DATA_COLUMNS + extra), excluded)


def _split(review: Review | SheetRows, outcome: OutcomePlan, eligibility: Eligibility,
           designs: Mapping[str, StudyDesign] | None = None,
           rows: OutcomeRows | None = None) -> tuple[list[list[Any]], list[str], tuple[Exclusion, ...]]:
    """:func:`outcome_data` as plain lists: the eligible rows (``DATA_COLUMNS`` and the extra columns),
    the extra columns' names, and the excluded rows."""
    rows = rows if rows is not None else outcome_rows(review, outcome, designs)
    spec = review.sheets.get(outcome.sheet)
    extra = _columns(outcome)
    data = []
    excluded: list[Exclusion] = []
    for row, label in zip(rows.rows, rows.labels):
        row_id = str(row.get(spec.id_column) if spec.id_column else row.get("_row"))
        rule, x, n = exclusion_rule(outcome, eligibility, row, rows.context)
        if rule:
            excluded.append(Exclusion(row_id, label, rule))
        else:
            data.append([label, row_id, x, n, row["_study_id"], row["design"] or ""]
                        + ["" if row.get(c) is None else str(row.get(c)) for c in extra])
    return data, extra, tuple(excluded)


def criteria_label(outcome: OutcomePlan, data: OutcomeData) -> str:
    """How the page names the criteria behind the pooled rows (the plan's ``criteria``)."""
    column = outcome.criteria.column
    values = [str(v) for v in data.data[column]] if column and column in data.data.columns else []
    return outcome.criteria.label(values)


def case_series_outcomes(review: Review, plan: AnalysisPlan) -> pd.DataFrame:
    """The plan's response outcomes in the case series, per procedure (``key, label, events, total``).

    An outcome counts here when its events and denominator are response
    categories (cohorts.csv ``resp_cr`` … ``resp_pd``); none without procedures.
    """
    responses = review.case_procedures["response"]
    rows = []
    for o in plan.outcomes:
        columns = set(o.events.columns) | set(o.denominator.columns)
        if o.events.expression is not None or not columns <= set(RESPONSE_CATEGORIES) or len(responses) == 0:
            continue
        events = [RESPONSE_CATEGORIES[c] for c in o.events.columns]
        denominator = [RESPONSE_CATEGORIES[c] for c in o.denominator.columns]
        rows.append((o.key, o.label, int(responses.isin(events).sum()), int(responses.isin(denominator).sum())))
    import pandas as pd

    return pd.DataFrame(rows, columns=["key", "label", "events", "total"])


def plan_problems(review: Review | SheetRows, plan: AnalysisPlan) -> list[str]:
    """Problems of a parsed plan that need the sheets: an outcome whose primary analysis has no eligible row.

    *review*: a loaded review, or the typed rows of checked sheets (:class:`~evsynth.review.model.SheetRows`,
    what ``evsynth validate`` passes: no pandas).
    """
    data = rows_of(review)
    designs = study_designs(data)
    problems = []
    for o in plan.outcomes:
        try:
            eligible, _, excluded = _split(data, o, o.primary.eligibility, designs)
        except ExpressionError as exc:
            problems.append(f"{plan.source}:{o.line}: outcome {o.key!r}: {exc}")
            continue
        if not eligible:
            rules = sorted({e.rule.split(":")[0] for e in excluded})
            problems.append(f"{plan.source}:{o.line}: outcome {o.key!r}: no row of {o.sheet}.csv is eligible for "
                            f"the primary analysis (rules that excluded rows: {', '.join(rules) or 'none; no row'})")
    return problems
