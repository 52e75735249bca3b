"""The build: validate the sheets, verify the claims, and render ``reports/``.

Everything is computed first, in memory; only then is the set published, as
one atomic swap (:mod:`evsynth.core.publish`), so an invalid sheet, a claim
that stopped reproducing, an unwritable folder or a kill at any moment leaves
the previous report exactly as it was, or the new one complete. The outputs carry no timestamps: two
builds of the same sheets are byte-identical. ``reports/build-state.json``
keeps the key figures of the last build and of the one before
(:mod:`evsynth.report.state`), so the page can say what changed
(:mod:`evsynth.report.changes`) and still rebuild byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from evsynth import __version__
from evsynth.core import formats, json_numbers
from evsynth.core.errors import EvsynthError
from evsynth.core.lock import project_lock
from evsynth.core.project import SUPPLEMENTARY, Project
from evsynth.core.publish import publish_set
from evsynth.report import state as build_state
from evsynth.report.changes import (FIGURE_SECTIONS, SECTION_SOURCES, Changes, compare, snapshot,
                                     version_changes)
from evsynth.report import provenance
from evsynth.report.compute import Build, check_regressions, compute
from evsynth.report.forest import inline_svg
from evsynth.report.state import BuildState
from evsynth.report.supplementary import render_supplementary
from evsynth.review.claims import claims_summary
from evsynth.review.model import Review
from evsynth.review.appraisal import CHECKLISTS
from evsynth.review.certainty import SOURCES as CERTAINTY_SOURCES, START as CERTAINTY_START
from evsynth.review.plan import DOMAINS
from evsynth.review.synthesis import analyses_json
from evsynth.screening.log import ScreeningEntry
from evsynth.screening.prisma import counts_as_dict

#: File endings the build owns in reports/supplementary/ (stale ones are removed).
SUPPLEMENTARY_SUFFIXES = (".csv", ".notes.txt", ".xlsx", ".docx")
#: The files a build writes at the top of its output folder.
OWNED_FILES = frozenset({"review.html", "counts.json", "prisma.svg", build_state.FILENAME})


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("evsynth.report", "templates"),
                      autoescape=select_autoescape(["html", "svg", "j2"], default=True),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["inline_svg"] = inline_svg
    env.globals["prov"] = provenance  # the template places provenance; evsynth.report.provenance writes it
    env.globals["fmt"] = formats  # percentages with CIs: the one formatter (evsynth.core.formats)
    return env


def sheet_inventory(review: Review) -> list[tuple[str, int, str]]:
    """Each sheet as ``(file, data rows, what one row is)``, in the order ``sheets.toml`` declares them."""
    return [(provenance.sheet(spec.name), len(review.frame(spec.name)), spec.description)
            for spec in review.sheets.sheets]


def procedure_ids(review: Review) -> dict[str, dict[str, str]]:
    """Case-series procedure ids by column and value (``{"lrt": {"RFA": "P1-1, P2-1"}}``), for provenance."""
    if not review.has("case_procedures"):
        return {}
    frame = review.case_procedures
    return {column: {str(value): ", ".join(str(i) for i in frame.loc[frame[column] == value, "procedure_id"])
                     for value in dict.fromkeys(frame[column])}
            for column in ("lrt", "response")}


def page_sources(build: Build) -> dict[str, Any]:
    """Every hover title and "Source:" line of the page, built by :mod:`evsynth.report.provenance`.

    The template places these; it spells no sheet, row or file itself.
    """
    lit = build.counts["current"]["literature"]
    ids = procedure_ids(build.review)
    return {
        "studies": provenance.sheet_row_count("studies", lit["studies"]),
        "studies_cohorts": ", ".join([provenance.sheet_row_count("studies", lit["studies"]),
                                      provenance.sheet_row_count("cohorts", lit.get("cohorts", 0))]),
        "counts": provenance.counts(),
        "case_series": f"{provenance.sheets('case_procedures', 'case_patients')} (all rows)",
        "claims": f"{provenance.sheet_all_rows('claims')} via evsynth.review.claims",
        "changes": f"{provenance.report_file(build_state.FILENAME)} (previous → current figures, "
                   "evsynth.report.changes)",
        "flags": f"{provenance.screening_log()} (flag column)",
        "flag_rows": [f"{provenance.screening_log()} ({e.record_id}; flag from PubMed CommentsCorrections)"
                      for e in build.screening if e.flag],
        "prisma": f"{provenance.PRISMA_SHEETS} (evsynth.screening.prisma)",
        "prisma_note": f"{provenance.PRISMA_SHEETS}; also written as {provenance.report_file('prisma.svg')}.",
        "screening": provenance.screening_log(),
        "case_lrt": {k: provenance.sheet_ids("case_procedures", [v]) for k, v in ids.get("lrt", {}).items()},
        "case_response": {k: provenance.sheet_ids("case_procedures", [v])
                          for k, v in ids.get("response", {}).items()},
        "searches": [provenance.run_manifest(run.folder) for run in build.searches],
    }


def first_state(build: Build) -> BuildState:
    """The state of a build with no earlier one (what :func:`render_files` assumes by default)."""
    return build_state.advance(BuildState(None), snapshot(build))


def state_changes(state: BuildState) -> Changes | None:
    """What changed from the state's previous figures to its current ones (``None``: no earlier build)."""
    if state.previous is None or state.current is None:
        return None
    return compare(state.previous, state.current)


def render_html(build: Build, state: BuildState | None = None) -> str:
    """The self-contained review page (inline CSS, no scripts, no network).

    *state* (default: a first build) gives the "what changed" section.
    """
    template = _environment().get_template("review.html.j2")
    state = state or first_state(build)
    latest = build.compared
    then_source = ""
    if latest is not None:
        then_source = (f"{latest.spec.figures} (frozen when version {latest.spec.name} was released)" if latest.release
                       else f"review.toml version {latest.spec.name}: recomputed from the sheets on its "
                            f"{len(latest.spec.studies)} studies")
    return template.render(
        version=__version__, content_hash=build.review.content_hash, counts=build.counts["current"],
        settings=build.settings, versions=build.versions, awaiting=build.review.awaiting,
        then=latest.counts if latest else None, then_name=latest.spec.name if latest else "",
        then_date=latest.spec.date if latest else "", then_source=then_source,
        then_recomputed=latest is not None and latest.release is None,
        version_changes=version_changes(build, state.current) if state.current is not None else None,
        searches=build.searches, changes=state_changes(state),
        figure_sections=FIGURE_SECTIONS, section_sources=SECTION_SOURCES,
        sheet_inventory=sheet_inventory(build.review), sources=page_sources(build),
        claim_statements={c.claim_id: c.statement for c in build.claims},
        tables=build.tables, claims=build.claims, claims_summary=claims_summary(build.claims),
        syntheses=build.syntheses, plan=build.plan, designs=build.designs or {},
        appraisals=build.appraisals or {}, checklists=CHECKLISTS, domains=DOMAINS,
        certainty_start=CERTAINTY_START, certainty_sources=CERTAINTY_SOURCES, derived_subgroups=build.plan.column_descriptions(),
        page_tables=[t for key, t in build.tables.items() if key.startswith(("page_", "generic_"))],
        headline=build.headline, summary_note=build.summary_note,
        prisma=counts_as_dict(build.prisma), prisma_svg=build.prisma_svg, forests=build.forests,
        flagged=[e for e in build.screening if e.flag],
        screening_summary=_screening_summary(build.screening),
        abbreviations=build.review.sheets.labels(), sheet_overview=build.review.sheets.overview,
        references=reference_list(build.review),
    )


def _text(value: object) -> str:
    """A sheet cell as text ("" for empty; ``16360382.0`` from a float column -> ``16360382``)."""
    if value is None or (isinstance(value, float) and value != value) or str(value) in ("<NA>", "nan"):
        return ""
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def reference_list(review: "Review") -> list[dict[str, str]]:
    """The studies as references, in reference-number order, with PubMed and DOI links when confirmed."""
    out: list[dict[str, str]] = []
    if not review.has("studies"):
        return out
    studies = review.studies
    if "reference" in studies.columns:
        studies = studies.sort_values("reference", na_position="last")
    for row in studies.to_dict("records"):
        pmid, doi = _text(row.get("pmid")), _text(row.get("doi"))
        out.append({
            "study_id": _text(row.get("study_id")), "reference": _text(row.get("reference")),
            "citation": _text(row.get("citation_as_printed")) or _text(row.get("first_author")),
            "title": _text(row.get("title")),
            "journal": _text(row.get("journal")), "year": _text(row.get("year")),
            "pmid": pmid, "doi": doi, "identified_by": _text(row.get("identified_by")),
            "pubmed_url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
            "doi_url": f"https://doi.org/{doi}" if doi else "",
        })
    return out


def _screening_summary(entries: list[ScreeningEntry]) -> dict[str, int]:
    """Records in the screening log by stage and decision (``stage: decision`` -> count)."""
    summary: dict[str, int] = {}
    for e in entries:
        key = f"{e.stage}: {e.decision}"
        summary[key] = summary.get(key, 0) + 1
    return dict(sorted(summary.items()))


def render_files(build: Build, state: BuildState | None = None) -> dict[str, bytes]:
    """Every output file of the build, by path relative to ``reports/``.

    *state* is the build state after this build (:func:`evsynth.report.state.advance`);
    by default, that of a first build.
    """
    state = state or first_state(build)
    files = {
        "review.html": render_html(build, state).encode("utf-8"),
        build_state.FILENAME: build_state.dumps(state),
        "counts.json": json_numbers.dumps(build.counts).encode("utf-8"),
        "analyses.json": json_numbers.dumps(analyses_json(build.syntheses)).encode("utf-8"),
        "prisma.svg": build.prisma_svg.encode("utf-8"),
    }
    for name, data in render_supplementary([t.table for t in build.tables.values()] + list(build.sheet_tables)).items():
        files[f"{SUPPLEMENTARY}/{name}"] = data
    return files


def owned(relative: str) -> bool:
    """True for the files a build owns in its output folder (replaced or removed by the next build).

    The page and its companions at the top, and the table files in
    ``supplementary/``; anything else a user keeps there (an export, notes) stays.
    """
    if "/" not in relative:
        return relative in OWNED_FILES
    folder, _, name = relative.partition("/")
    return folder == SUPPLEMENTARY and "/" not in name and name.endswith(SUPPLEMENTARY_SUFFIXES)


def build(root: Path, out_dir: Path | None = None) -> dict[str, Path]:
    """Validate, verify and render; publish the whole set at once. Returns the files written.

    Everything is rendered in memory first; :func:`evsynth.core.publish.publish_set`
    then swaps the complete new set in, so at every moment the output folder
    is the previous build's set or this one's (never a mixture), and an
    unwritable folder is a one-line error before anything is replaced. It holds
    the project's lock (:func:`evsynth.core.lock.project_lock`) throughout, so the
    sheets it renders are not changed under it and two builds take turns.
    """
    project = Project(root)
    out = out_dir if out_dir is not None else project.reports
    _check_out(project, out)
    with project_lock(root):  # one build's sheets and state, published before the next writer
        result = compute(root)
        check_regressions(result.claims)
        state = build_state.advance(build_state.read(out / build_state.FILENAME), snapshot(result))
        files = render_files(result, state)
        publish_set(out, files, owned)
    return {relative: out / relative for relative in sorted(files)}


def _check_out(project: Project, out: Path) -> None:
    """Refuse an output folder that holds the project's sheets (it is replaced as a whole)."""
    sheets_dir = project.extracted.resolve()
    resolved = out.resolve()
    if resolved == sheets_dir or resolved in sheets_dir.parents:
        raise EvsynthError(f"{out}: the build replaces this folder as a whole; choose a folder of its own "
                           f"(default: {project.relative(project.reports)}/)")
