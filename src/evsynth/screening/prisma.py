"""PRISMA 2020 flow-diagram counts, computed from the screening and merge logs.

Boxes follow the PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71,
figure 1), in its form for new reviews and in its form for updated reviews
(studies included in the previous version + new studies = total). There are
two identification columns: databases and registers, and other methods
(citation chasing, cross-referencing); a record belongs to the column of the
source it was first seen in (the first of its ``source`` values).

How a row of the screening log counts:

=====================  ==========================  =================================
stage                  decision                    boxes
=====================  ==========================  =================================
title/abstract         pending, maybe              awaiting screening
title/abstract         exclude                     screened, excluded
title/abstract         include                     screened, sought, awaiting assessment
full text              exclude (not retrieved)     screened, sought, not retrieved
full text              exclude (other reason)      ... assessed, excluded with that reason
full text              include                     ... assessed, included
full text              pending, maybe              ... sought, awaiting assessment
=====================  ==========================  =================================

Records identified per source = rows first seen there + merges from there;
duplicates removed = active merges (:mod:`evsynth.screening.dedup`). Each record is one
report; reports of the same study are not linked, so reports = studies for
new inclusions. ``None`` means *not reported* (shown so, never as zero).

The invariants (:func:`check_invariants`): identified − duplicates = screened
+ awaiting screening; screened − excluded = sought; sought − not retrieved =
assessed + awaiting assessment; assessed − excluded with reasons = included;
previous + new = total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace

from evsynth.screening.dedup import Merge, active_merges, normalise_doi
from evsynth.screening.known import PreviousStudy
from evsynth.screening.log import NOT_RETRIEVED, OTHER_METHODS, ScreeningEntry

Count = int | None


@dataclass(frozen=True)
class FlowColumn:
    """The boxes of one identification column (None = not reported)."""

    identified: dict[str, Count]
    duplicates_removed: Count = 0
    awaiting_screening: Count = 0
    screened: Count = 0
    excluded_screening: Count = 0
    sought: Count = 0
    not_retrieved: Count = 0
    awaiting_assessment: Count = 0
    assessed: Count = 0
    excluded_reasons: dict[str, int] | None = field(default_factory=dict)
    included: Count = 0

    @property
    def identified_total(self) -> Count:
        """All records identified in this column, or None if any source is not reported."""
        values = list(self.identified.values())
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    @property
    def excluded_assessment(self) -> Count:
        """Reports excluded at full text (sum of the reasons)."""
        return None if self.excluded_reasons is None else sum(self.excluded_reasons.values())


def not_reported_column(sources: Sequence[str]) -> FlowColumn:
    """A column whose every count is not reported (a published review that gives none)."""
    return FlowColumn(identified={s: None for s in sources}, duplicates_removed=None,
                      awaiting_screening=None, screened=None, excluded_screening=None,
                      sought=None, not_retrieved=None, awaiting_assessment=None, assessed=None,
                      excluded_reasons=None, included=None)


@dataclass(frozen=True)
class PrismaCounts:
    """Every box of the PRISMA 2020 flow diagram.

    ``is_update`` selects the updated-review form (a previous-version column
    and "new studies"); ``total_studies``/``total_reports`` is the final box.
    ``notes`` are printed under the diagram (provenance, what is not reported);
    ``total_detail`` lines go into the final box of a new review and
    ``previous_detail`` into the previous-version box of an update (what the
    count is made of).
    """

    databases: FlowColumn
    other_methods: FlowColumn
    is_update: bool = False
    previous_studies: Count = None
    previous_reports: Count = None
    total_studies: Count = None
    total_reports: Count = None
    notes: tuple[str, ...] = ()
    total_detail: tuple[str, ...] = ()
    previous_detail: tuple[str, ...] = ()
    #: The previous version's included studies in the words of what it printed (e.g. "17 published
    #: studies + the authors' case series"), shown instead of a count it never printed.
    previous_as_printed: str = ""

    @property
    def new_studies(self) -> Count:
        """New studies included (both columns), or None if either is not reported."""
        a, b = self.databases.included, self.other_methods.included
        return None if a is None or b is None else a + b


def _add(*values: Count) -> Count:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def column_counts(entries: Iterable[ScreeningEntry], merges: Iterable[Merge],
                  sources: Iterable[str] = ()) -> FlowColumn:
    """The boxes of one column from its rows and its merges (see the module table).

    *sources* are listed (with their counts, zero if nothing came from them)
    before any other source found in the rows, so a search that found nothing
    still shows.
    """
    identified: Counter[str] = Counter({s: 0 for s in sources})
    boxes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for e in entries:
        identified[e.origin] += 1
        if e.stage == "title/abstract":
            if e.is_open:
                boxes["awaiting_screening"] += 1
                continue
            boxes["screened"] += 1
            if e.decision == "exclude":
                boxes["excluded_screening"] += 1
            else:
                boxes["sought"] += 1
                boxes["awaiting_assessment"] += 1
            continue
        boxes["screened"] += 1
        boxes["sought"] += 1
        if e.is_open:
            boxes["awaiting_assessment"] += 1
        elif e.decision == "exclude" and e.reason == NOT_RETRIEVED:
            boxes["not_retrieved"] += 1
        else:
            boxes["assessed"] += 1
            if e.decision == "exclude":
                reasons[e.reason] += 1
            else:
                boxes["included"] += 1
    active = active_merges(merges)
    for m in active:
        identified[m.source] += 1
    order = list(dict.fromkeys(list(sources) + sorted(identified)))
    return FlowColumn(
        identified={s: identified[s] for s in order}, duplicates_removed=len(active),
        excluded_reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        **{name: boxes[name] for name in (
            "awaiting_screening", "screened", "excluded_screening", "sought", "not_retrieved",
            "awaiting_assessment", "assessed", "included")},
    )


def is_other_method(source: str) -> bool:
    """True for citation chasing, cross-referencing and other non-search sources."""
    return source in OTHER_METHODS


def prisma_counts(entries: Sequence[ScreeningEntry], merges: Sequence[Merge] = (), *,
                  previous_studies: Count = None, previous_reports: Count = None,
                  database_sources: Sequence[str] = (), other_sources: Sequence[str] = (),
                  notes: Sequence[str] = ()) -> PrismaCounts:
    """PRISMA 2020 counts of a screening log (+ its merge log).

    With *previous_studies* given, the updated-review form: total = previous +
    new studies. *database_sources* / *other_sources* name sources shown even
    when they contributed nothing (e.g. ``["pubmed"]``).
    """
    rows_db = [e for e in entries if not is_other_method(e.origin)]
    rows_other = [e for e in entries if is_other_method(e.origin)]
    merges_db = [m for m in merges if not is_other_method(m.source)]
    merges_other = [m for m in merges if is_other_method(m.source)]
    databases = column_counts(rows_db, merges_db, database_sources)
    other = column_counts(rows_other, merges_other, other_sources)
    is_update = previous_studies is not None
    new = _add(databases.included, other.included)
    total = _add(previous_studies, new) if is_update else new
    total_reports = _add(previous_reports, new) if is_update else new
    return PrismaCounts(databases, other, is_update, previous_studies, previous_reports,
                        total, total_reports, tuple(notes))


def check_invariants(counts: PrismaCounts) -> list[str]:
    """Every PRISMA sum that does not add up (counts that are not reported are skipped)."""
    problems: list[str] = []

    def equal(label: str, left: Count, right: Count) -> None:
        if left is not None and right is not None and left != right:
            problems.append(f"{label}: {left} != {right}")

    for name, col in (("databases", counts.databases), ("other methods", counts.other_methods)):
        ident = col.identified_total
        dup = col.duplicates_removed
        equal(f"{name}: identified - duplicates = screened + awaiting screening",
              None if ident is None or dup is None else ident - dup,
              _add(col.screened, col.awaiting_screening))
        equal(f"{name}: screened - excluded = sought",
              None if col.screened is None or col.excluded_screening is None
              else col.screened - col.excluded_screening, col.sought)
        equal(f"{name}: sought - not retrieved = assessed + awaiting assessment",
              None if col.sought is None or col.not_retrieved is None
              else col.sought - col.not_retrieved, _add(col.assessed, col.awaiting_assessment))
        excluded = col.excluded_assessment
        equal(f"{name}: assessed - excluded with reasons = included",
              None if col.assessed is None or excluded is None else col.assessed - excluded,
              col.included)
    if counts.is_update:
        equal("previous + new studies = total", _add(counts.previous_studies, counts.new_studies),
              counts.total_studies)
    else:
        equal("included (databases + other methods) = total", counts.new_studies, counts.total_studies)
    return problems


def previous_version_studies(previous: Sequence[PreviousStudy],
                             entries: Sequence[ScreeningEntry]) -> list[PreviousStudy]:
    """The rows of ``studies.csv`` that are not studies included through the log (by PMID or DOI)."""
    included = [e for e in entries if e.is_included]
    pmids = {e.pmid for e in included if e.pmid}
    dois = {normalise_doi(e.doi) for e in included if normalise_doi(e.doi)}
    return [p for p in previous
            if not ((p.pmid and p.pmid in pmids) or (p.doi and normalise_doi(p.doi) in dois))]


def review_prisma_counts(previous: Sequence[PreviousStudy], entries: Sequence[ScreeningEntry],
                         merges: Sequence[Merge], *, own_series: bool = False,
                         notes: Sequence[str] = (),
                         previous_version: Sequence[str] | None = None, released: str = "",
                         settled_records: Collection[str] = (),
                         settled_merges: Collection[str] = ()) -> PrismaCounts:
    """The review's PRISMA counts from what the command has read once (nothing is read here).

    *previous* are the rows of ``studies.csv``, *entries* and *merges* the
    screening and merge logs, *own_series* whether the authors' own case series
    has procedures. Previous version = the studies *previous_version* lists (the
    newest version of ``review.toml``); by default the published studies of
    ``studies.csv`` (rows with a reference number) that are not studies the log
    included (same PMID or DOI: in a project started with ``evsynth init`` the
    sheet holds the log's own inclusions, each counted once, as new); plus the
    authors' own case series when *own_series*. With no screening log (or an
    empty one) and no release since the seed, the diagram is the previous
    version's own flow: PubMed and manual cross-referencing as sources, every
    count it does not report shown as not reported, and the included studies as
    the total. Otherwise the updated-review form: previous version + new studies
    from the log. After a release (*released* names it), the log's records
    settled by then (*settled_records*: excluded, or included at full text) and
    its merges by then (*settled_merges*) belong to earlier versions and are left
    out: the flow is this update's. *notes* (the review's
    ``previous_version_notes``) go under the diagram.
    """
    # A row of studies.csv that is a study the log included (same PMID or DOI) is a new
    # study curated into the sheets, not one of the previous version: counted once, as new.
    previous = previous_version_studies(previous, entries)
    if previous_version is not None:
        published = len(previous_version)
    else:
        published = len({p.reference or p.study_id for p in previous if p.reference})
    has_previous = bool(previous) if previous_version is None else bool(previous_version)
    previous_studies = published + int(own_series) if has_previous else None
    what = f"studies of version {released}" if released else "published studies"
    as_printed = (f"{published} {what}" + (" + the authors' case series" if own_series else "")
                  if has_previous else "")
    detail = (as_printed,) if as_printed else ()
    settled, settled_m = set(settled_records), set(settled_merges)
    entries = [e for e in entries if e.record_id not in settled]
    merges = [m for m in merges if m.merge_id not in settled_m]
    if not entries and has_previous and not released:
        return PrismaCounts(
            databases=not_reported_column(["pubmed"]),
            other_methods=not_reported_column(["cross-referencing"]),
            is_update=False, total_studies=previous_studies, total_reports=previous_studies,
            notes=tuple(notes), total_detail=detail, previous_as_printed=as_printed,
        )
    counts = prisma_counts(entries, merges, previous_studies=previous_studies,
                           previous_reports=previous_studies, database_sources=["pubmed"],
                           other_sources=["citation chasing"],
                           notes=tuple(notes) if has_previous and not released else ())
    return replace(counts, previous_detail=detail, previous_as_printed=as_printed)


def counts_as_dict(counts: PrismaCounts) -> dict[str, object]:
    """A JSON-ready form (None stays None: not reported)."""
    data = asdict(counts)
    data["new_studies"] = counts.new_studies
    for key in ("databases", "other_methods"):
        col = getattr(counts, key)
        data[key]["identified_total"] = col.identified_total
        data[key]["excluded_assessment"] = col.excluded_assessment
    return data


def format_count(value: Count) -> str:
    """``n = 12`` or ``not reported``."""
    return "not reported" if value is None else f"n = {value}"
