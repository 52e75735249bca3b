"""Everything the build renders, computed in memory before anything is written.

:func:`compute` loads and validates the sheets, verifies the claims, runs the
syntheses and builds every table; :mod:`evsynth.report.build` renders and writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evsynth.core.errors import EvsynthError
from evsynth.core.project import Project
from evsynth.core.settings import ReviewSettings, VersionSpec, load_settings
from evsynth.meta.proportions import proportion_ci
from evsynth.report.forest import forest_svg
from evsynth.report.prisma_svg import render_svg
from evsynth.report.published_tables import (
    SourcedTable,
    case_adverse_events_table,
    case_series_outcomes_table,
    claims_table,
    counts_table,
    declared_table,
    pooled_table,
    sheet_table,
    supplementary_sheet_tables,
    table1,
    table2,
    table3,
)
from evsynth.report.tables import Table
from evsynth.review.claims import ClaimResult, verify_claims
from evsynth.review.context import figures_of, review_context
from evsynth.sheets.expressions import ExpressionError, parse_expression
from evsynth.sheets.expressions import check as check_expression
from evsynth.review.counts import review_counts
from evsynth.review.load import load_review, study_rows
from evsynth.review.model import (APPRAISAL_SHEETS, CASE_SERIES_SHEETS, CLAIM_SHEETS, GUIDELINE_SHEETS,
                                   LITERATURE_SHEETS, Review)
from evsynth.review.appraisal import StudyAppraisal, appraisals
from evsynth.review.design import StudyDesign, study_designs
from evsynth.review.outcomes import case_series_outcomes
from evsynth.review.retractions import flagged_studies, mark_review
from evsynth.review.retractions import footnote as retraction_footnote
from evsynth.review.plan import AnalysisPlan, load_plan
from evsynth.review.releases import ReleaseRecord, read_release
from evsynth.review.synthesis import Analysis, OutcomeSynthesis, run_analysis, synthesise_all
from evsynth.screening.files import ReviewFiles
from evsynth.screening.known import previous_from_rows
from evsynth.screening.log import ScreeningEntry
from evsynth.screening.prisma import PrismaCounts, check_invariants, review_prisma_counts
from evsynth.search.search_dates import SearchRun, latest_runs


class ClaimsRegressed(EvsynthError):
    """A claim registered as reproduced (approximate, stated in text) no longer is, from the sheets."""


@dataclass(frozen=True)
class VersionFigures:
    """A published version: its figures (frozen for a released version, else recomputed on its studies)."""

    spec: VersionSpec
    counts: dict[str, Any]
    #: The frozen state, for a version ``evsynth release`` made.
    release: ReleaseRecord | None
    #: The current sheets restricted to the version's studies.
    review: Review
    #: Pooled estimates on the version's studies (computed for the newest version when it is not frozen).
    syntheses: Mapping[str, OutcomeSynthesis | OutcomeAnalyses] | None = None


@dataclass(frozen=True)
class Headline:
    """A figure of the page's Summary that review.toml declares: its label, value and, when a published
    version is compared, the value on that version's studies."""

    label: str
    value: str
    expression: str
    then: str | None = None


def shown_value(value: Any) -> str:
    """An expression's value as the page prints it: whole numbers as such, others to one decimal,
    sets sorted and joined, empty as "–"."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.0f}" if value == int(value) and abs(value) < 1e15 else f"{value:.1f}"
    if isinstance(value, (frozenset, set)):
        return ", ".join(sorted(shown_value(v) if not isinstance(v, tuple) else "/".join(map(str, v)) for v in value))
    if isinstance(value, tuple):
        return ", ".join(shown_value(v) for v in value)
    return str(value)


def headline_figures(review: Review, settings: ReviewSettings, syntheses: Mapping[str, OutcomeSynthesis],
                     then: Review | None = None) -> tuple[Headline, ...]:
    """review.toml's ``[[page.figures]]``, each evaluated on the sheets (outcome figures from this build's
    primary analyses) and, for sheet figures, on the studies of *then* (a published version).

    One-line :class:`EvsynthError` (``review.toml: page.figures[N]: ...``) for a wrong expression.
    """
    out = []
    context = review_context(review, {k: figures_of(s.primary) for k, s in syntheses.items()})
    before = review_context(then) if then is not None else None
    for f in settings.page.figures:
        where = f"review.toml: page.figures[{f.number}]"
        try:
            expression = parse_expression(f.value)
            problems = check_expression(expression, review.sheets, outcomes=list(syntheses))
            if problems:
                raise problems[0]
            value = shown_value(expression.evaluate(context))
            old = (shown_value(expression.evaluate(before))
                   if before is not None and not expression.outcomes else None)
        except ExpressionError as exc:
            raise EvsynthError(f"{where}: {f.value}: {exc}") from None
        out.append(Headline(f.label, value, f.value, old))
    return tuple(out)


def summary_note(review: Review, settings: ReviewSettings, syntheses: Mapping[str, OutcomeSynthesis]) -> str:
    """review.toml's ``[page] summary_note`` with every ``{EXPRESSION}`` replaced by its value on the sheets."""
    text = settings.page.summary_note
    if not text:
        return ""
    context = review_context(review, {k: figures_of(s.primary) for k, s in syntheses.items()})

    def value(match: re.Match[str]) -> str:
        try:
            expression = parse_expression(match.group(1))
            problems = check_expression(expression, review.sheets, outcomes=list(syntheses))
            if problems:
                raise problems[0]
            return shown_value(expression.evaluate(context))
        except ExpressionError as exc:
            raise EvsynthError(f"review.toml: page.summary_note: {{{match.group(1)}}}: {exc}") from None

    return re.sub(r"\{([^{}]+)\}", value, text)


@dataclass(frozen=True)
class Build:
    """Everything the build renders, computed before anything is written."""

    review: Review
    counts: dict[str, Any]
    claims: list[ClaimResult]
    syntheses: dict[str, OutcomeSynthesis]
    tables: dict[str, SourcedTable]
    prisma: PrismaCounts
    prisma_svg: str
    #: Forest plot (SVG text) of each outcome, by outcome key; "" when nothing was pooled.
    forests: dict[str, str]
    screening: list[ScreeningEntry]
    settings: ReviewSettings
    searches: tuple[SearchRun, ...] = ()
    #: The analysis plan (analysis.toml) the syntheses ran.
    plan: AnalysisPlan = AnalysisPlan(())
    #: Each study's design (declared or derived), by study_id.
    designs: dict[str, StudyDesign] | None = None
    #: JBI appraisal of each appraised study, by study_id.
    appraisals: dict[str, StudyAppraisal] | None = None
    #: The published versions of review.toml, oldest first.
    versions: tuple[VersionFigures, ...] = ()
    #: Every declared sheet as a table (``sheet_NAME``), written to reports/supplementary/ only.
    sheet_tables: tuple[Table, ...] = ()
    #: The Summary's figures review.toml declares ([[page.figures]]).
    headline: tuple[Headline, ...] = ()
    #: The sentence under them ([page] summary_note, its expressions evaluated).
    summary_note: str = ""

    #: The version this build is compared with ("What changed", PRISMA, the Summary): the newest
    #: published version, or the one before it when the page is the newest release (:func:`compared_version`).
    compared: VersionFigures | None = None


def compared_version(settings: ReviewSettings, content_hash: str, settled: bool = True) -> VersionSpec | None:
    """The version a build is compared with.

    The newest version of review.toml, unless the sheets are exactly those it froze at release
    (the same content SHA-256) and the screening log holds no record the release did not settle
    (*settled*): then the page *is* that version, and what it changed is told against the version
    before it (a released update shows its own PRISMA flow and every study and figure it added),
    if there is one.
    """
    versions = settings.versions
    if not versions:
        return None
    newest = versions[-1]
    if settled and len(versions) > 1 and newest.sheet_sha256 and newest.sheet_sha256 == content_hash:
        return versions[-2]
    return newest


def review_tables(root: Path) -> list[Table]:
    """Every table of the review, in page order (for ``evsynth tables`` and the supplementary files)."""
    return [t.table for t in compute(root).tables.values()]


def outcome_forest(synthesis: OutcomeSynthesis) -> str:
    """The forest plot of an outcome's primary analysis ("" when the plan's model was not fitted).

    Below the plan's small-k rule it shows the studies side by side without the model's diamond.
    """
    primary = synthesis.primary
    if not primary.fitted or primary.result is None:
        return ""
    shown = primary.result
    if primary.below_rule:  # the studies side by side: no model diamond where the model is not the headline
        return forest_svg(shown, title=f"{synthesis.label} — the {shown.k} studies side by side (fewer than the "
                                       f"plan's {primary.spec.min_studies} for a model)", pooled=False)
    return forest_svg(shown, title=f"{synthesis.label} — primary analysis, {shown.method} ({shown.measure}), "
                                   f"k = {shown.k}")


def compute(root: Path) -> Build:
    """Load and validate the sheets, verify the claims and build every table (nothing written)."""
    settings = load_settings(root)
    review = load_review(root, settings)
    screening, merges = ReviewFiles(Project(root).extracted).load()
    releases = {v.name: read_release(root, v) for v in settings.versions if v.figures}
    newest = settings.latest_version
    newest_release = releases.get(newest.name) if newest else None
    settled = newest_release is not None and {e.record_id for e in screening} <= set(newest_release.settled_records)
    compared_spec = compared_version(settings, review.content_hash, settled)
    frozen = releases.get(compared_spec.name) if compared_spec else None
    prisma = review_prisma_counts(
        previous_from_rows(study_rows(review)), screening, merges,
        own_series=review.has("case_procedures") and len(review.case_procedures) > 0,
        notes=settings.previous_version_notes,
        previous_version=compared_spec.studies if compared_spec else None, released=frozen.name if frozen else "",
        settled_records=frozen.settled_records if frozen else (),
        settled_merges=frozen.settled_merges if frozen else ())
    problems = check_invariants(prisma)
    if problems:
        raise EvsynthError("PRISMA counts do not add up: " + "; ".join(problems))
    # each part of the review is computed only when the project declares its sheets (sheets.toml)
    claims = verify_claims(review) if review.has(*CLAIM_SHEETS) else []
    plan = load_plan(root, review.sheets)
    # Studies PubMed flags (retraction watch) stay in, marked, and every analysis is repeated without them.
    flagged = flagged_studies(Project(root).extracted, review, screening) if review.has("studies") else {}
    marked = mark_review(review, flagged)
    syntheses = synthesise_all(marked, plan, frozenset(flagged)) if plan.outcomes else {}
    forests = {key: outcome_forest(s) for key, s in syntheses.items()}
    titles = settings.table_titles
    ordered: list[SourcedTable] = []
    if review.has(*CASE_SERIES_SHEETS):
        case_outcomes = case_series_outcomes(review, plan)
        level = plan.outcomes[0].primary.model.level if plan.outcomes else 0.95  # the plan's level everywhere
        limits = [(ci.ci_lower, ci.ci_upper) for ci in
                  (proportion_ci(int(r["events"]), int(r["total"]), "CP", level) for _, r in case_outcomes.iterrows())]
        ordered += [table1(review, titles["table1"]), case_adverse_events_table(review, settings.page.case_series_grading),
                    *([case_series_outcomes_table(case_outcomes, limits, level)] if len(case_outcomes) else [])]
    if review.has("studies") and not review.has(*LITERATURE_SHEETS):
        ordered.append(sheet_table(review, "studies", "Included studies"))
    if review.has(*LITERATURE_SHEETS):
        literature = table2(marked, titles["table2"])
        if flagged:
            labels = {str(sid): f"{a} [{ref}]" for sid, a, ref in zip(
                review.studies["study_id"], review.studies["first_author"], review.studies["reference"])}
            literature = replace(literature, table=replace(
                literature.table, footnotes=literature.table.footnotes + (retraction_footnote(flagged, labels),)))
        ordered += [literature, counts_table(review),
                    *(pooled_table(s) for s in syntheses.values())]
    if review.has(*GUIDELINE_SHEETS):
        ordered.append(table3(review, titles["table3"]))
    if review.has(*CLAIM_SHEETS) and claims:  # a header-only registry: no claims, no section
        ordered.append(claims_table(claims))
    ordered += page_tables(review, settings)
    notes = settings.page.table_notes
    unknown = sorted(set(notes) - {t.table.key for t in ordered})
    if unknown:
        raise EvsynthError(f"review.toml: [page.table_notes]: no table {unknown[0]!r} on the page "
                           f"(tables: {', '.join(t.table.key for t in ordered)})")
    ordered = [replace(t, table=replace(t.table, footnotes=t.table.footnotes + notes.get(t.table.key, ())))
               for t in ordered]
    tables = {t.table.key: t for t in ordered}
    versions = tuple(_version_figures(review, spec, releases.get(spec.name), syntheses, spec is compared_spec, plan)
                     for spec in settings.versions)
    compared = next((v for v in versions if v.spec is compared_spec), None)
    counts = {"current": review_counts(review), "versions": {v.spec.name: v.counts for v in versions}}
    return Build(review=review, counts=counts, claims=claims, syntheses=syntheses, tables=tables,
                 prisma=prisma, prisma_svg=render_svg(prisma), screening=screening, settings=settings, forests=forests,
                 searches=latest_runs(root), versions=versions, plan=plan, designs=study_designs(review) if review.has("studies", "cohorts") else {},
                 appraisals=appraisals(review) if review.has("appraisal") else {},
                 sheet_tables=tuple(supplementary_sheet_tables(review)),
                 compared=compared,
                 headline=headline_figures(review, settings, syntheses,
                                           compared.review if compared else None),
                 summary_note=summary_note(review, settings, syntheses))


def shown_sheets(review: Review, settings: ReviewSettings) -> set[str]:
    """The declared sheets a table of the page already shows (the review type's tables and [[page.tables]])."""
    shown = {t.sheet for t in settings.page.tables} | {"studies", "claims"}
    for part in (LITERATURE_SHEETS, CASE_SERIES_SHEETS, GUIDELINE_SHEETS, APPRAISAL_SHEETS):
        if review.has(*part):
            shown |= set(part)
    return shown


def page_tables(review: Review, settings: ReviewSettings) -> list[SourcedTable]:
    """The tables review.toml declares ([[page.tables]]), then every other declared sheet no table of the
    page shows, as a generic table (``generic_NAME``)."""
    out = [declared_table(review, t) for t in settings.page.tables]
    shown = shown_sheets(review, settings)
    for spec in review.sheets.sheets:
        if spec.name not in shown:
            generic = sheet_table(review, spec.name, f"{spec.name}: {spec.description}".rstrip(": "))
            out.append(replace(generic, table=replace(generic.table, key=f"generic_{spec.name}")))
    return out


@dataclass(frozen=True)
class OutcomeAnalyses:
    """An outcome's primary and sensitivity analyses, without subgroups or certainty (what a version is compared on)."""

    label: str
    primary: Analysis
    sensitivity: tuple[Analysis, ...]


def version_analyses(review: Review, plan: AnalysisPlan) -> dict[str, OutcomeAnalyses]:
    """The plan's primary and sensitivity analyses run on *review* (a version's studies)."""
    designs = study_designs(review)
    return {o.key: OutcomeAnalyses(o.label, run_analysis(review, o, o.primary, designs),
                                   tuple(run_analysis(review, o, s, designs) for s in o.sensitivity))
            for o in plan.outcomes}


def _version_figures(review: Review, spec: VersionSpec, release: ReleaseRecord | None,
                     current: dict[str, OutcomeSynthesis], newest: bool, plan: AnalysisPlan) -> VersionFigures:
    """A version's figures: frozen when released; else recomputed on its studies (pooled only for the newest)."""
    on_version = review.version_review(spec.name)
    if release is not None:
        return VersionFigures(spec, release.counts, release, on_version)
    syntheses = None
    if newest and current:
        same = set(on_version.studies["study_id"]) == set(review.studies["study_id"])
        syntheses = current if same else version_analyses(on_version, plan)
    return VersionFigures(spec, review_counts(on_version), None, on_version, syntheses)



def check_regressions(claims: list[ClaimResult]) -> None:
    """Raise :class:`ClaimsRegressed` when a claim lost its registered status (see ClaimResult.regression)."""
    regressed = [c for c in claims if c.regression]
    if regressed:
        listing = "; ".join(f"{c.claim_id} (claims.csv row {c.row}: paper {c.expected}, sheets {c.computed or '?'})"
                            for c in regressed)
        raise ClaimsRegressed(f"{len(regressed)} claim(s) no longer reproduced as registered: {listing}")


