"""What changed since the previous build: a snapshot of the key figures, and the comparison of two.

:func:`snapshot` flattens what a reader would watch into plain strings,
grouped by section: the studies (id -> citation), the counts of
``counts.json``, the PRISMA flow's counts, the pooled estimates with their
CIs, the claims' statuses and the searches. Values are the strings the page
prints, so a comparison never reports floating-point noise. :func:`compare` lists studies added and removed
and every other figure that moved (old -> new). Both are pure; keeping
snapshots between builds is :mod:`evsynth.report.state`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from evsynth.core.formats import percent_ci
from evsynth.core.project import QUERIES, RUNS
from evsynth.meta.pooling import PoolResult
from evsynth.report import provenance
from evsynth.report.compute import Build, VersionFigures
from evsynth.review.model import Review, study_citation
from evsynth.review.synthesis import OutcomeSynthesis
from evsynth.screening.prisma import counts_as_dict

#: A snapshot: section -> key -> value, all strings.
Snapshot = dict[str, dict[str, str]]

STUDIES = "studies"
#: Sections compared, in page order, with their headings (studies: a changed citation is a figure that moved).
FIGURE_SECTIONS: dict[str, str] = {
    STUDIES: "Studies (citation)",
    "counts": "Counts (reports/counts.json)",
    "prisma": "PRISMA flow (records and studies)",
    "pooled": "Pooled estimates (with their CIs)",
    "claims": "Claims check (status)",
    "searches": "Searches (newest run per query)",
}
#: Where each section's figures come from (shown as the row's provenance).
SECTION_SOURCES: dict[str, str] = {
    STUDIES: f"{provenance.sheet('studies')} (study_id, citation_as_printed)",
    "counts": f"{provenance.report_file('counts.json')} ({provenance.COUNTS_MODULE})",
    "prisma": f"{provenance.PRISMA_SHEETS} (evsynth.screening.prisma)",
    "pooled": "evsynth.review.synthesis (the primary and sensitivity analyses of analysis.toml)",
    "claims": f"{provenance.sheet('claims')} via evsynth.review.claims",
    "searches": provenance.run_manifest(f"{QUERIES}/{RUNS}/<query>/<run>"),
}


@dataclass(frozen=True)
class Change:
    """One figure that moved; ``old`` or ``new`` is ``None`` when the figure is new or gone."""

    section: str
    key: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Changes:
    """Studies added and removed (id, citation) and the figures that moved, in a stable order."""

    studies_added: tuple[tuple[str, str], ...]
    studies_removed: tuple[tuple[str, str], ...]
    moved: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        """Nothing changed."""
        return not (self.studies_added or self.studies_removed or self.moved)

    def moved_in(self, section: str) -> tuple[Change, ...]:
        """The figures of *section* that moved."""
        return tuple(c for c in self.moved if c.section == section)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested mappings to ``{"a › b": "value"}`` (keys in their given order; leaves as text)."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, inner in value.items():
            flat.update(flatten(inner, f"{prefix} › {key}" if prefix else str(key)))
        return flat
    return {prefix: str(value)}


#: PRISMA entries that are prose, not figures (left out of the comparison).
PRISMA_PROSE = ("notes", "total_detail", "previous_detail")


def prisma_figures(counts: dict[str, Any]) -> dict[str, str]:
    """The PRISMA counts flattened (``None`` -> ``not reported``), without the explanatory notes."""
    flat = flatten({k: v for k, v in counts.items() if k not in PRISMA_PROSE})
    return {k: {"None": "not reported", "True": "yes", "False": "no"}.get(v, v) for k, v in flat.items()}


def pooled_text(result: "PoolResult") -> str:
    """``"34.5 % (95 % CI 20.1–51.2), k = 9"``, as the page prints it (:func:`evsynth.core.formats.percent_ci`)."""
    p = result.pooled
    return f"{percent_ci(p.estimate, p.ci_lower, p.ci_upper, level=result.level, unit=' %')}, k = {result.k}"


def studies_section(review: Review) -> dict[str, str]:
    """Study id -> citation, the seed's studies by reference number first, then the later ones by id."""
    frame = review.studies
    order = sorted(range(len(frame)), key=lambda i: (pd.isna(frame["reference"].iloc[i]),
                                                      0 if pd.isna(frame["reference"].iloc[i])
                                                      else int(frame["reference"].iloc[i]),
                                                      len(str(frame["study_id"].iloc[i])),
                                                      str(frame["study_id"].iloc[i])))
    return {str(frame["study_id"].iloc[i]): study_citation(frame.iloc[i]) for i in order}


def pooled_section(syntheses: dict[str, OutcomeSynthesis]) -> dict[str, str]:
    """Each outcome's pooled estimates (primary and sensitivity model) as the page prints them."""
    pooled: dict[str, str] = {}
    for s in syntheses.values():
        for analysis in (s.primary, *s.sensitivity):
            if analysis.pooled and analysis.result is not None:
                pooled[f"{s.label} — {analysis.spec.name}, {analysis.result.method} ({analysis.result.measure})"] = \
                    pooled_text(analysis.result)
            elif analysis is s.primary and analysis.below_rule and analysis.crude is not None:
                c = analysis.crude
                pooled[f"{s.label} — {analysis.spec.name}, crude proportion (below the small-k rule)"] = \
                    f"{percent_ci(c.estimate, c.ci_lower, c.ci_upper, level=analysis.spec.model.level, unit=' %')}, " \
                    f"k = {analysis.k}"
    return pooled


#: The sections a version is compared on (the review's content, not its search or screening log).
VERSION_SECTIONS: tuple[str, ...] = (STUDIES, "counts", "pooled")


def version_snapshot(version: VersionFigures) -> Snapshot:
    """A version's figures in the sections of :data:`VERSION_SECTIONS` (frozen ones for a released version)."""
    if version.release is not None:
        return {k: dict(v) for k, v in version.release.figures.items() if k in VERSION_SECTIONS}
    figures: Snapshot = {STUDIES: studies_section(version.review), "counts": flatten(version.counts)}
    if version.syntheses is not None:
        figures["pooled"] = pooled_section(version.syntheses)
    return figures


def version_changes(build: "Build", current: Snapshot) -> Changes | None:
    """What changed since the version the build is compared with (``None`` when review.toml names none)."""
    if build.compared is None:
        return None
    return compare(version_snapshot(build.compared), {k: v for k, v in current.items() if k in VERSION_SECTIONS})


def snapshot(build: "Build") -> Snapshot:
    """The key figures of *build*, flattened to strings (JSON-ready, stable order)."""
    studies = studies_section(build.review)
    pooled = pooled_section(build.syntheses)
    claims = {c.claim_id: c.status for c in build.claims}
    searches = {}
    for run in build.searches:
        count = "?" if run.count is None else str(run.count)
        searches[run.query] = f"{count} records, searched {run.searched_utc or run.finished_utc}"
    return {STUDIES: studies, "counts": flatten(build.counts["current"]), "prisma": prisma_figures(counts_as_dict(build.prisma)),
            "pooled": pooled, "claims": claims, "searches": searches}


def _section(snap: Snapshot, name: str) -> dict[str, str]:
    section = snap.get(name, {})
    return section if isinstance(section, dict) else {}


def compare(old: Snapshot, new: Snapshot) -> Changes:
    """Studies added/removed and figures moved from *old* to *new* (new's order, then figures gone)."""
    old_studies, new_studies = _section(old, STUDIES), _section(new, STUDIES)
    added = tuple((k, v) for k, v in new_studies.items() if k not in old_studies)
    removed = tuple((k, v) for k, v in old_studies.items() if k not in new_studies)
    moved: list[Change] = [Change(STUDIES, k, old_studies[k], v) for k, v in new_studies.items()
                           if k in old_studies and old_studies[k] != v]
    for section in FIGURE_SECTIONS:
        if section == STUDIES or section not in old or section not in new:
            continue  # a section one build did not record (an older evsynth) is not a change
        before, after = _section(old, section), _section(new, section)
        moved += [Change(section, k, before.get(k), v) for k, v in after.items() if before.get(k) != v]
        moved += [Change(section, k, v, None) for k, v in before.items() if k not in after]
    return Changes(added, removed, tuple(moved))
