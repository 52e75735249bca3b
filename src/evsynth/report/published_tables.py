"""The paper's Tables 1-3 and the review's count tables, rebuilt from the sheets.

Footnote markers are printed as superscripts (Unicode ¹²³⁴, and ``*``), as in
the published tables, so every output format (HTML, CSV, XLSX, DOCX) shows the
same cell text. Each row carries its source (sheet and row ids) for the
provenance shown on the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from evsynth.report import provenance
from evsynth.core.formats import percent, percent_ci
from evsynth.review import vocab
from evsynth.review.claims import ClaimResult
from evsynth.review.counts import histology_columns, review_counts
from evsynth.review.model import Review, study_citation
from evsynth.core.errors import EvsynthError
from evsynth.core.project import SETTINGS_FILE
from evsynth.core.settings import DEFAULT_TABLE_TITLES, PageTable
from evsynth.review.model import typed_rows
from evsynth.sheets.expressions import ExpressionError, SheetData, parse_condition
from evsynth.sheets.expressions import check as check_expression
from evsynth.report.tables import Cell, Table
from evsynth.meta.pooling import PoolResult
from evsynth.review.synthesis import Analysis, Interval, OutcomeSynthesis, crude, prediction_interval

#: How subgroup variables read in table rows.
SUBGROUP_LABELS = {"lrt": "LRT", "histology": "histology", "design": "design"}

SUPERSCRIPTS = str.maketrans("0123456789,", "⁰¹²³⁴⁵⁶⁷⁸⁹˒")


@dataclass(frozen=True)
class SourcedTable:
    """A table plus, for each row, where its numbers come from (sheet:id, row)."""

    table: Table
    row_sources: tuple[str, ...]


def superscript(markers: str) -> str:
    """``"1;2"`` -> ``"¹˒²"``; ``"*"`` stays ``*``."""
    parts = [m.strip() for m in markers.split(";") if m.strip()]
    numbers = ",".join(p for p in parts if p.isdigit()).translate(SUPERSCRIPTS)
    return numbers + ("*" if "*" in parts else "")


def _markers(cell: Any, keep: set[str] | None = None) -> str:
    parts = [m.strip() for m in str(cell or "").split(";") if m.strip()]
    if keep is not None:
        parts = [p for p in parts if p in keep]
    return superscript(";".join(parts))


def _mm(value: Any) -> str:
    value = float(value)
    return f"{value:g}"


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _source(sheet: str, row: pd.Series, id_column: str) -> str:
    return provenance.sheet_row(sheet, row["_row"], row[id_column])


# ------------------------------------------------------------------ Table 1

def table1(review: Review, title: str = DEFAULT_TABLE_TITLES["table1"]) -> SourcedTable:
    """Table 1: the case series, one row per procedure (patient data repeated)."""
    patients = review.case_patients.set_index("patient_id")
    rows: list[tuple[Cell, ...]] = []
    sources: list[str] = []
    for _, p in review.case_procedures.sort_values(["patient_id", "sequence"]).iterrows():
        pt = patients.loc[p["patient_id"]]
        sites = ", ".join(s.strip().capitalize() for s in pt["other_metastatic_sites"].split(";") if s.strip())
        tki = f"Yes ({p['tki']})" if p["concomitant_tki"] == "yes" else "No"
        rows.append((
            str(p["patient_id"]).lstrip("P"), f"{pt['histology']} ({int(pt['age_at_lm_diagnosis'])} years)",
            str(pt["lm_pattern"]).capitalize(), sites or "–", tki, str(p["lrt"]).replace("+", " + "),
            int(p["treated_lm_count"]), f"{_mm(p['largest_lm_mm'])} mm", str(p["response"]),
        ))
        sources.append(_source("case_procedures", p, "procedure_id")
                       + "; " + provenance.sheet_row("case_patients", pt["_row"], p["patient_id"]))
    return SourcedTable(Table(
        key="table1_case_series",
        title=title,
        columns=("Pt", "Histology (age*)", "LM", "Other sites of metastases", "Concomitant TKI treatment",
                 "LRT", "No. of treated LM", "Size of largest treated LM", "Response of treated LM"),
        rows=tuple(rows),
        footnotes=(f"* {review.footnote('table1', '*')}",),
        source=provenance.sheets("case_patients", "case_procedures"),
    ), tuple(sources))


# ------------------------------------------------------------------ Table 2

def _size_cell(c: pd.Series, na: str) -> str:
    kind = c["size_kind"]
    if kind == "not available":
        return na
    pattern = str(c["lesion_pattern"]).capitalize()
    if kind == "value":
        return f"{pattern} ({_mm(c['size_mm'])} mm)"
    if kind == "median and range":
        return (f"{pattern} (median {_mm(c['size_median_mm'])} mm; "
                f"range {_mm(c['size_min_mm'])}–{_mm(c['size_max_mm'])})")
    return f"{pattern} (size not known)"


def _symptomatic_cell(c: pd.Series, na: str) -> str:
    value = c["symptomatic_response"]
    if value == "not available":
        return na
    if value == "not reported":
        return "–"
    text = str(value).capitalize()
    return f"{text} ({_mm(c['symptomatic_pct'])}%)" if not _missing(c["symptomatic_pct"]) else text


def _structural_cell(c: pd.Series, na: str) -> str:
    if c["structural_response"] == "not available":
        return na
    mark = superscript("3") if c["recist"] == "no" else ""
    parts = []
    for key in ("cr", "pr", "sd", "pd"):
        k = int(c[f"resp_{key}"])
        if k:
            parts.append((f"{key.upper()}{mark}", k))
    if int(c["resp_uncategorised"]):
        parts.append((f"Yes{mark}", int(c["resp_uncategorised"])))
    if int(c["resp_not_assessed"]):
        parts.append(("NA", int(c["resp_not_assessed"])))
    if int(c["n_patients"]) == 1 and len(parts) == 1:
        return parts[0][0]
    return "; ".join(f"{label} (n = {k})" for label, k in parts)


def _grade(low: Any, high: Any) -> str:
    if _missing(low):
        return ""
    return f"G{int(low)}" if int(low) == int(high) else f"G{int(low)}-{int(high)}"


def _ae_cell(c: pd.Series, events: pd.DataFrame, na: str) -> str:
    status = c["ae_status"]
    if status == "none":
        return "None"
    if status == "not available":
        return na
    groups: list[tuple[list[str], str]] = []  # consecutive events sharing a grade and no count
    singles: list[str] = []
    for _, e in events.iterrows():
        name = f"{e['event']}{_markers(e['footnotes'])}"
        grade = _grade(e["ctcae_grade_min"], e["ctcae_grade_max"])
        if not _missing(e["patients"]) and int(c["n_patients"]) > 1:
            detail = "; ".join(x for x in (f"n = {int(e['patients'])}", grade) if x)
            singles.append(f"{name} ({detail})")
        elif groups and groups[-1][1] == grade:
            groups[-1][0].append(name)
        else:
            groups.append(([name], grade))
    parts = []
    for names, grade in groups:
        text = ", ".join(names)
        if grade:
            text += f" ({'all ' if len(names) > 1 else ''}{grade})"
        parts.append(text)
    text = "; ".join(parts + singles)
    return text[:1].upper() + text[1:]


def table2(review: Review, title: str = DEFAULT_TABLE_TITLES["table2"]) -> SourcedTable:
    """Table 2: the literature review, one row per printed cohort row."""
    studies = review.studies.set_index("study_id", drop=False)
    rows: list[tuple[Cell, ...]] = []
    sources: list[str] = []
    columns = histology_columns(review)
    for _, c in review.cohorts.sort_values("printed_order").iterrows():
        study = studies.loc[c["study_id"]]
        na = "NA*" if c["mixed_cohort"] == "yes" else "NA"
        lrt_marks = _markers(c["footnotes"], {"1", "2"})
        lrt = str(c["lrt"]).replace("+", " + ").replace(";", "; ") + lrt_marks
        histologies = [h for h, col in columns.items() if int(c[col])]
        n = int(c["n_patients"])
        if len(histologies) > 1:
            number: Cell = f"{n} (" + ", ".join(f"{h} {int(c[columns[h]])}" for h in histologies) + ")"
        else:
            number = n
        if c["lrt_assignment"] == vocab.UNASSIGNED:
            lrt += " (not assigned per patient)"
        events = review.adverse_events[review.adverse_events["cohort_id"] == c["cohort_id"]]
        rows.append((
            study_citation(study), lrt, "; ".join(histologies), number,
            _size_cell(c, na), _symptomatic_cell(c, na), _structural_cell(c, na), _ae_cell(c, events, na),
        ))
        sources.append(_source("cohorts", c, "cohort_id") + "; " + provenance.sheet_ids("studies", [c["study_id"]])
                       + ("; " + provenance.sheet_ids("adverse_events", events["ae_id"]) if len(events) else ""))
    notes = review.footnotes[review.footnotes["table"] == "table2"]
    footnotes = tuple(f"{superscript(str(m)) if str(m).isdigit() else m} {meaning}"
                      for m, meaning in zip(notes["marker"], notes["meaning"]))
    return SourcedTable(Table(
        key="table2_literature",
        title=title,
        columns=("Author", "Type of LRT", "Histology", "Number of patients", "Number (size of largest M)",
                 "Symptomatic response", "Structural response", "Reported AEs"),
        rows=tuple(rows),
        footnotes=footnotes + ("NA not available; – not reported.",),
        source=provenance.sheets("studies", "cohorts", "adverse_events"),
    ), tuple(sources))


# ------------------------------------------------------------------ Table 3

def table3(review: Review, title: str = DEFAULT_TABLE_TITLES["table3"]) -> SourcedTable:
    """Table 3: guideline recommendations."""
    rows: list[tuple[Cell, ...]] = []
    sources: list[str] = []
    for _, g in review.guidelines.iterrows():
        rows.append((f"{g['guideline']} {int(g['guideline_year'])} [{int(g['reference'])}]",
                     str(g["disease"]), str(g["recommendation"])))
        sources.append(_source("guidelines", g, "recommendation_id"))
    return SourcedTable(Table(
        key="table3_guidelines",
        title=title,
        columns=("Guideline", "Disease", "Recommendation"),
        rows=tuple(rows),
        source=provenance.sheet("guidelines"),
    ), tuple(sources))


# ------------------------------------------------------------------ a sheet as it is

def sheet_table(review: Review, name: str, title: str) -> SourcedTable:
    """Any declared sheet as a table: its columns as ``sheets.toml`` declares them, one row per sheet row.

    The page of a project without this review type's tables (e.g. ``evsynth init --template blank``)
    shows its studies this way.
    """
    spec = review.sheets.get(name)
    frame = review.frame(name)
    rows: list[tuple[Cell, ...]] = []
    sources: list[str] = []
    for _, r in frame.iterrows():
        rows.append(tuple(None if _missing(r[c]) or r[c] == "" else (int(r[c]) if spec.field(c).kind == "int" else
                          float(r[c]) if spec.field(c).kind == "number" else str(r[c])) for c in spec.columns))
        sources.append(_source(name, r, spec.id_column) if spec.id_column else f"{provenance.sheet(name)} row {int(r['_row'])}")
    return SourcedTable(Table(key=name, title=title, columns=tuple(f.heading for f in spec.fields), rows=tuple(rows),
                              source=provenance.sheet(spec.name)), tuple(sources))


def _cell(spec_field: Any, value: Any, citations: dict[str, str]) -> Cell:
    if _missing(value) or value == "":
        return None
    if spec_field.ref.startswith("studies.") and str(value) in citations:
        return citations[str(value)]
    if spec_field.kind == "int":
        return int(value)
    if spec_field.kind == "number":
        return float(value)
    return str(value)


def declared_table(review: Review, page: PageTable) -> SourcedTable:
    """A ``[[page.tables]]`` table of review.toml: the rows of its sheet that meet ``where``, its columns
    headed by their labels in sheets.toml; a column referencing the studies shows each study's citation.

    :class:`EvsynthError` (``review.toml: page.tables[N]: ...``) for an unknown sheet, column or a wrong condition.
    """
    where = f"{SETTINGS_FILE}: page.tables[{page.number}]"
    if not review.sheets.has(page.sheet):
        raise EvsynthError(f"{where}: unknown sheet {page.sheet!r} (sheets.toml declares: "
                           f"{', '.join(review.sheets.names)})")
    spec = review.sheets.get(page.sheet)
    columns = page.columns or spec.columns
    for c in columns:
        if c not in spec.columns:
            raise EvsynthError(f"{where}: {page.sheet}.csv has no column {c!r}")
    condition = None
    if page.where:
        try:
            condition = parse_condition(page.where)
        except ExpressionError as exc:
            raise EvsynthError(f"{where}.where: {exc}") from None
        problems = check_expression(condition, review.sheets, sheet=page.sheet)
        if problems:
            raise EvsynthError(f"{where}.where: {problems[0]}")
    context = SheetData({name: typed_rows(frame) for name, frame in review.frames.items()}, review.sheets)
    citations = ({str(r["study_id"]): study_citation(r) for _, r in review.studies.iterrows()}
                 if review.has("studies") else {})
    frame = review.frame(page.sheet)
    rows: list[tuple[Cell, ...]] = []
    sources: list[str] = []
    for typed, (_, r) in zip(context.rows(page.sheet), frame.iterrows()):
        if condition is not None and not condition.test(typed, context, page.sheet):
            continue
        rows.append(tuple(_cell(spec.field(c), r[c], citations) for c in columns))
        sources.append(_source(page.sheet, r, spec.id_column) if spec.id_column
                       else f"{provenance.sheet(page.sheet)} row {int(r['_row'])}")
    key = f"page_{page.number}_{page.sheet}"
    return SourcedTable(Table(key=key, title=page.title, columns=tuple(spec.field(c).heading for c in columns),
                              rows=tuple(rows), footnotes=page.footnotes, source=provenance.sheet(page.sheet)),
                        tuple(sources))


def supplementary_sheet_tables(review: Review) -> list[Table]:
    """Every declared sheet as it stands, one table each (``sheet_NAME``), for reports/supplementary/."""
    return [replace(sheet_table(review, spec.name, f"{spec.filename}: {spec.description}".rstrip(": ")).table,
                    key=f"sheet_{spec.name}") for spec in review.sheets.sheets]


# ------------------------------------------------------------------ counts and claims

def case_adverse_events_table(review: Review, grading: str = "") -> SourcedTable:
    """Adverse events of the case series (Results text); *grading*: the scale's name (review.toml
    ``[page] case_series_grading``) in the grade column's heading."""
    rows = tuple((str(e["event"]), _grade(e["ctcae_grade_min"], e["ctcae_grade_max"]), int(e["patients"]))
                 for _, e in review.case_adverse_events.iterrows())
    sources = tuple(_source("case_adverse_events", e, "ae_id") for _, e in review.case_adverse_events.iterrows())
    return SourcedTable(Table(
        key="case_series_adverse_events", title="Case series: LRT-related adverse events in the first month",
        columns=("Event", f"{grading} grade" if grading else "Grade", "Patients"), rows=rows,
        footnotes=tuple(sorted({str(n) for n in review.case_adverse_events["note"] if str(n)})),
        source=provenance.sheet("case_adverse_events")), sources)


def counts_table(review: Review) -> SourcedTable:
    """The pooled counts of the literature review, by histology and by LRT as printed."""
    counts = review_counts(review)["literature"]
    rows: list[tuple[Cell, ...]] = [
        ("Studies", "all", counts["studies"], ""),
        ("Printed cohort rows", "all", counts["cohorts"], ""),
        ("Patients", "all", counts["patients"], ""),
    ]
    for h, k in counts["patients_by_histology"].items():
        rows.append(("Patients", f"histology {h}", k, ""))
    for key, k in counts["patients_by_lrt"].items():
        rows.append(("Patients", f"LRT {key}", k, f"{counts['studies_by_lrt'][key]} stud"
                     + ("y" if counts["studies_by_lrt"][key] == 1 else "ies")))
    mixed = counts["mixed_cohorts"]
    rows.append(("Patients", "in mixed cohorts (NA*)", mixed["patients"], f"{mixed['studies']} studies"))
    return SourcedTable(Table(
        key="counts_literature", title="Pooled counts of the literature review (computed from the sheets)",
        columns=("Count", "Of", "Value", "Studies"), rows=tuple(rows),
        footnotes=("LRT keys are as printed: a combination such as TAE + PEI is its own key; patients of a study "
                   "that used several LRTs without saying who had which count under 'unassigned'.",),
        source=provenance.report_file("counts.json")), tuple(provenance.sheet_all_rows("cohorts") for _ in rows))


def claims_table(results: list[ClaimResult]) -> SourcedTable:
    """The claims check: each published statement, the recomputed value and the verdict."""
    rows = tuple((r.claim_id, r.section, r.statement, r.expected or "–", r.computed or "–", r.status, r.why)
                 for r in results)
    return SourcedTable(Table(
        key="claims_check", title="Claims check: the paper's quantitative statements recomputed from the sheets",
        columns=("Claim", "Where", "Statement (paraphrased)", "Paper", "Sheets", "Status", "How / why"),
        rows=rows, source=provenance.sheet("claims")),
        tuple(provenance.sheet_row("claims", r.row, r.claim_id) for r in results))


# ------------------------------------------------------------------ meta-analyses

def _pct_ci(estimate: float, low: float, high: float) -> str:
    if not all(math.isfinite(v) for v in (estimate, low, high)):
        return "not estimable"
    return percent_ci(estimate, low, high)


def _pi(result: "PoolResult") -> str:
    """The prediction interval with t_(k−2) (:func:`evsynth.review.synthesis.prediction_interval`); none below k = 3."""
    lo, hi = prediction_interval(result)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "–"
    return f"{percent(lo)}–{percent(hi)}"


def _model(result: "PoolResult") -> str:
    """The model that produced the pooled numbers; the crude proportion says so, never the model's name."""
    if result.basis == "crude":
        return f"crude Σ events / Σ patients, Clopper–Pearson ({result.basis_reason})"
    return f"{result.method} ({result.measure})"


def _pooled_row(analysis: str, group: str, result: "PoolResult", note: str = "") -> tuple[Cell, ...]:
    h = result.heterogeneity
    events = sum(s.events for s in result.studies)
    total = sum(s.total for s in result.studies)
    tau2 = f"{h.tau2:.3f}" if math.isfinite(h.tau2) else "–"
    i2 = f"{h.i2:.1f}" if math.isfinite(h.i2) and result.k > 1 else "–"
    model = _model(result) + (f"; {note}" if note else "")
    p = result.pooled
    return (analysis, group, result.k, f"{events}/{total}", _pct_ci(p.estimate, p.ci_lower, p.ci_upper),
            _pi(result), tau2, i2, model)


def _interval_row(analysis: str, group: str, k: int | str, interval: "Interval", how: str) -> tuple[Cell, ...]:
    counts = f"{interval.events}/{interval.total}" if interval.total else ""
    return (analysis, group, k, counts, _pct_ci(interval.estimate, interval.ci_lower, interval.ci_upper),
            "", "", "", how)


def _analysis_rows(label: str, a: "Analysis") -> tuple[Cell, ...]:
    """One analysis of the plan: the model's estimate, or the crude stand-in (and why), or why nothing."""
    if a.pooled:
        note = "; ".join(x for x in (a.estimand, a.message) if x)
        return _pooled_row(label, "all eligible cohorts", a.result, note)  # type: ignore[arg-type]
    if a.below_rule and a.crude is not None:
        return _interval_row(label, "all eligible cohorts", a.k, a.crude,
                             f"crude, Clopper–Pearson: k = {a.k} is below the plan's minimum of "
                             f"{a.spec.min_studies} studies for a model-based headline")
    if a.crude is not None:
        method = a.spec.model.method  # synthesis's message may already name it ("GLMM not used: …")
        why = a.message if a.message.startswith(f"{method} ") else f"{method} not used: {a.message}"
        return _interval_row(label, "all eligible cohorts", a.k, a.crude, f"{why}; crude, Clopper–Pearson")
    return (label, "", 0, "", "–", "", "", "", a.message)


_SCALES = {"PLO": "logit", "PFT": "double arcsine", "PAS": "arcsine", "PR": "proportion"}


def _ci_note(synthesis: "OutcomeSynthesis") -> str:
    """What the model CIs of this outcome's analyses were computed with (from the plan's tests)."""
    tests = {a.spec.model.test for a in (synthesis.primary, *synthesis.sensitivity)}
    parts = []
    if "z" in tests:
        parts.append("normal quantiles (z)")
    if "knha" in tests:
        parts.append("Knapp–Hartung, t with k − 1 df (test = knha)")
    return f"Model CIs by {' and '.join(parts)}."


def pooled_table(synthesis: "OutcomeSynthesis") -> SourcedTable:
    """One outcome as planned: studies, described case reports, primary, crude, marginal, sensitivity, subgroups."""
    plan = synthesis.plan
    ci_level = f"{100 * plan.primary.model.level:g}%"
    primary = synthesis.primary
    frame = primary.data.data
    rows: list[tuple[Cell, ...]] = []
    sources: list[str] = []

    def cohorts(ids: list[str]) -> str:
        return provenance.sheet_ids("cohorts", ids) if ids else \
            f"{provenance.sheet('cohorts')} (no eligible cohort under the rules of analysis.toml)"
    for _, r in frame.iterrows():
        rows.append(_interval_row("Study", str(r["study"]), 1, _crude_of(int(r["events"]), int(r["total"]), plan.primary.model.level),
                                  "Clopper–Pearson"))
        sources.append(f"{cohorts([str(r['cohort_id'])])}; {provenance.CLOPPER_PEARSON}")
    for _, r in synthesis.described.data.iterrows():
        rows.append(_interval_row(f"Described, not pooled ({r['design']})", str(r["study"]), 1,
                                  _crude_of(int(r["events"]), int(r["total"]), plan.primary.model.level), "Clopper–Pearson"))
        sources.append(f"{cohorts([str(r['cohort_id'])])}; {provenance.CLOPPER_PEARSON}")
    ids = primary.data.cohort_ids
    rows.append(_analysis_rows(f"Primary: {plan.primary.model.method}", primary))
    sources.append(f"{cohorts(ids)}; {provenance.POOLING_MODULE} {primary.spec.model.describe()}")
    if primary.crude is not None:
        rows.append(_interval_row("Crude pooled proportion", "Σ events / Σ patients", primary.k, primary.crude,
                                  "crude, Clopper–Pearson"))
        sources.append(f"{cohorts(ids)}; Clopper–Pearson CI of the summed counts")
    if primary.below_rule and primary.result is not None:
        rows.append(_pooled_row(f"Sensitivity: {primary.spec.model.method} model (k below the plan's minimum)",
                                "all eligible cohorts", primary.result, primary.result.estimand))
        sources.append(f"{cohorts(ids)}; {provenance.POOLING_MODULE} {primary.spec.model.describe()}")
    if primary.marginal is not None and primary.result is not None and primary.result.marginal is not None:
        rows.append(_interval_row("Population-averaged (marginal)" + (" — sensitivity" if primary.below_rule else ""),
                                  "GLMM", primary.k, primary.marginal,
                                  f"GLMM integrated over the random-effect distribution; CI: "
                                  f"{primary.result.marginal.bootstrap_method}"))
        sources.append(f"{cohorts(ids)}; evsynth.meta.pooling (GLMM marginal proportion)")
    for a in synthesis.sensitivity:
        rows.append(_analysis_rows(f"Sensitivity: {a.spec.name}", a))
        sources.append(f"{cohorts(a.data.cohort_ids)}; {provenance.POOLING_MODULE} {a.spec.model.describe()}")
    for sub in synthesis.subgroups:
        analysis = f"By {SUBGROUP_LABELS.get(sub.by, sub.by)}"
        if sub.note:
            rows.append((analysis, "", "", "", "–", "", "", "", sub.note))
            sources.append(cohorts(ids))
            continue
        level_ids = sub.cohorts or {}
        for level, result in sub.pooled.items():
            rows.append(_pooled_row(analysis, level, result))
            sources.append(f"{cohorts(level_ids.get(level, []))} ({sub.by} = {level}); evsynth.meta.pooling "
                           f"{_model(result)}")
        for level, (interval, why) in sub.descriptive.items():
            rows.append(_interval_row(analysis, level, len(level_ids.get(level, [])), interval,
                                      f"not pooled: {why}; crude, Clopper–Pearson"))
            sources.append(f"{cohorts(level_ids.get(level, []))}; Clopper–Pearson CI of the summed counts")
        for level, interval in sub.single.items():
            rows.append(_interval_row(analysis, level, 1, interval, "single study, not pooled (Clopper–Pearson)"))
            sources.append(f"{cohorts(level_ids.get(level, []))}; {provenance.CLOPPER_PEARSON}")
        if sub.test_between is not None:
            t = sub.test_between
            compared = f"{t.model} ({t.measure}) in " + ", ".join(t.subgroups) if t.subgroups else ""
            left_out = "; ".join(f"{name} left out: {why}" for name, why in t.excluded)
            if math.isfinite(t.q):
                test = f"Q = {t.q:.2f}, df = {t.df}, p = {t.pvalue:.3f}"
            else:
                test = "not tested"
            rows.append((analysis, "test for subgroup differences", len(t.subgroups), "", test, "", "", "",
                         "; ".join(x for x in (t.method, compared, left_out, t.note) if x)))
            sources.append(f"levels {', '.join(sub.pooled)} of {sub.by}; evsynth.meta.pooling.test_between_subgroups")
    excluded = "; ".join(f"{e.study} ({e.cohort_id}): {e.rule}" for e in primary.data.excluded)
    return SourcedTable(Table(
        key=f"pooled_{plan.key}", title=f"Meta-analysis: {plan.label} ({plan.definition()})",
        columns=("Analysis", "Group", "k", "Events/total", f"% ({ci_level} CI)", f"{ci_level} PI (%)",
                 f"τ² ({_SCALES.get(plan.primary.model.measure, plan.primary.model.measure)} scale)", "I² (%)",
                 "Model"),
        rows=tuple(rows),
        footnotes=("GLMM: random-intercept logistic model fitted by maximum likelihood (metafor rma.glmm, "
                   "measure PLO); its estimate is the conditional (median-study) proportion. REML (PLO): "
                   "inverse-variance random-effects model on the logit scale, 0.5 added to studies with 0% or "
                   f"100% (metafor rma). {_ci_note(synthesis)} PI, prediction interval for a new study: "
                   "t with k − 2 df (Higgins, Thompson & Spiegelhalter 2009), none below k = 3. Crude: Σ events / "
                   "Σ patients with the exact (Clopper–Pearson) CI.",
                   f"Response criteria: {synthesis.response_criteria}.",
                   f"Left out of the primary analysis: {excluded}." if excluded else "No cohort left out."),
        source=f"{provenance.sheets('cohorts', 'adverse_events')} via analysis.toml (outcome {plan.key})"),
        tuple(sources))


def _crude_of(events: int, total: int, level: float = 0.95) -> "Interval":
    return crude(events, total, level)


def case_series_outcomes_table(frame: "pd.DataFrame", limits: list[tuple[float, float]],
                               level: float = 0.95) -> SourcedTable:
    """The case series reported per procedure (not pooled), with Clopper–Pearson CIs."""
    rows = tuple((str(r["label"]), f"{int(r['events'])}/{int(r['total'])}",
                  _pct_ci(r["events"] / r["total"], low, high))
                 for (_, r), (low, high) in zip(frame.iterrows(), limits))
    return SourcedTable(Table(
        key="case_series_outcomes", title="Case series: outcomes per procedure (not pooled)",
        columns=("Outcome", "Procedures", f"% ({100 * level:g}% CI)"), rows=rows,
        footnotes=("Clopper–Pearson exact CIs; 6 procedures in 4 patients, so procedures are not independent.",),
        source=provenance.sheet("case_procedures")),
        tuple(f"{provenance.sheet_all_rows('case_procedures', 'response')}; {provenance.CLOPPER_PEARSON}"
              for _ in rows))
