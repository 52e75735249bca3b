"""Living update: re-run every documented query for the window since its last run.

Rules:

* The window is by Entrez date (``edat``, the date a record entered PubMed),
  so a record published long ago but added to PubMed late is still caught. It
  starts :data:`OVERLAP_DAYS` days before the end of the previous window of
  the same query (records are dated by day and indexing lags, so windows
  overlap instead of touching) and ends today (UTC). A query with no history
  harvests its whole window: from the query's own ``mindate`` (if any) to today.
* A query whose ``version`` changed since its last run (its term was revised:
  new terms must reach older records too) is searched over its whole window
  again, as if it had never run; the summary says so, and the update log's
  ``version`` column shows it (:func:`window_reason`).
* Every record found is compared with every record ever seen — the screening
  log holds every record that any update, import or chase added, and the
  merge log every duplicate — by PMID, DOI and title + year + first author
  (:mod:`evsynth.screening.dedup`). New ones go into the log as ``pending``; records
  already there keep their decision and are not asked again; studies of the
  previous version (``extracted/studies.csv``, same PMID or DOI) are left out.
* The included studies with a PMID are fetched again and checked for
  retractions, expressions of concern and errata (:mod:`evsynth.screening.retraction_watch`):
  log rows are flagged, and every check is written to ``extracted/retraction-watch.csv``.
* A query never updated but already harvested (``evsynth harvest``: a finished
  run of the same term, without date limits beyond the query's own) is not
  searched again from the start: the records of its newest such run enter the
  log (no network), logged as that run, and the window starts from the day
  it searched.
* Each query's run is kept like a harvest (``queries/runs/<query>/<UTC time>/``)
  and one line per query and update goes to ``extracted/update-log.csv``.
"""

from __future__ import annotations

import json

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.lock import project_lock
from evsynth.screening.chase import included_pmids
from evsynth.core.csv_text import dataclass_csv
from evsynth.screening.dedup import merge_records
from evsynth.core.errors import EvsynthError
from evsynth.core.project import RUNS
from evsynth.search.eutils import EutilsClient
from evsynth.search.harvest import new_run_dir, run_query, spec_from_query
from evsynth.screening.known import (
    PreviousStudy,
    is_previous_study,
)
from evsynth.search.queries import Query, load_queries
from evsynth.search.records import Record
from evsynth.search.runs import finished_runs, load_run
from evsynth.screening.retraction_watch import (
    FlagChange,
    apply_flags,
    correction_flag,
    flag_new_rows,
)
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import ScreeningEntry, read_frame

#: Days each window reaches back into the previous one.
OVERLAP_DAYS = 7
#: The date type of update windows (Entrez date).
DATETYPE = "edat"
#: PubMed date format of esearch's mindate/maxdate.
PUBMED_DATE = "%Y/%m/%d"


@dataclass(frozen=True)
class UpdateRun:
    """One line of ``extracted/update-log.csv``: one query in one update."""

    query: str
    version: str
    searched_utc: str
    datetype: str
    mindate: str
    maxdate: str
    found: int
    new: int
    merged: int
    already_seen: int
    in_previous_version: int
    run_folder: str


RUN_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(UpdateRun))


def load_update_log(path: Path) -> list[UpdateRun]:
    """The update history (empty when absent)."""
    if not path.exists():
        return []
    frame = read_frame(path, RUN_COLUMNS)
    missing = [c for c in RUN_COLUMNS if c not in frame.columns]
    if missing:
        raise EvsynthError(f"{path}:1: missing column(s): {', '.join(missing)}")
    runs = []
    for number, row in zip(frame.index, frame.to_dict("records")):
        try:
            counts = {c: int(row[c]) for c in ("found", "new", "merged", "already_seen",
                                               "in_previous_version")}
            parse_pubmed_day(row["maxdate"])
        except ValueError as exc:
            raise EvsynthError(f"{path}:{number}: {exc}") from None
        runs.append(UpdateRun(**{c: row[c] for c in RUN_COLUMNS if c not in counts}, **counts))
    return runs


def render_update_log(runs: Sequence[UpdateRun]) -> str:
    """CSV text of the update history, oldest first."""
    return dataclass_csv(runs, RUN_COLUMNS)


def parse_pubmed_day(text: str) -> date:
    """``2025/03/12`` -> a date (one-line error otherwise)."""
    try:
        return datetime.strptime(text, PUBMED_DATE).date()
    except ValueError:
        raise ValueError(f"date {text!r} is not YYYY/MM/DD") from None


def update_window(query: Query, history: Sequence[UpdateRun], today: date,
                  overlap_days: int = OVERLAP_DAYS) -> tuple[str, str, bool]:
    """``(mindate, maxdate, whole)`` of the next update of *query* (PubMed dates).

    After a previous run of the same query *version*: from its ``maxdate`` minus
    *overlap_days* to *today*. First run, or first run of a new version (the
    term was revised): the whole window, from the query's own ``mindate``
    (empty = no lower limit) to *today*.
    """
    previous = [r for r in history if r.query == query.name and r.version == str(query.version)]
    maxdate = today.strftime(PUBMED_DATE)
    if not previous:
        return query.mindate, maxdate, True
    last_end = max(parse_pubmed_day(r.maxdate) for r in previous)
    start = min(last_end - timedelta(days=overlap_days), today)
    return start.strftime(PUBMED_DATE), maxdate, False


def window_reason(query: Query, history: Sequence[UpdateRun]) -> str:
    """Why the next update of *query* searches the window it does, after *history*.

    ``whole (first run)`` for a query never run, ``whole (version A → B)`` for a
    query whose version changed since its last run, ``since last run`` otherwise.
    """
    runs = [r for r in history if r.query == query.name]
    if not runs:
        return WHOLE_FIRST
    if any(r.version == str(query.version) for r in runs):
        return SINCE_LAST
    return f"whole (version {runs[-1].version} → {query.version})"


#: What :func:`window_reason` says besides ``whole (version A → B)``.
WHOLE_FIRST = "whole (first run)"
SINCE_LAST = "since last run"


@dataclass(frozen=True)
class WatchLine:
    """One included study checked for notices."""

    study: str
    pmid: str
    flag: str
    detail: str
    checked: str


def watch_included(records: Sequence[Record], entries: Sequence[ScreeningEntry],
                   previous: Sequence[PreviousStudy], checked: str) -> list[WatchLine]:
    """The retraction-watch table: every included study with a PMID and what PubMed says now."""
    by_pmid = {r.pmid: r for r in records}
    names: dict[str, str] = {}
    for p in previous:
        if p.pmid:
            names.setdefault(p.pmid, p.study_id)
    for e in entries:
        if e.is_included and e.pmid:
            names.setdefault(e.pmid, e.record_id)
    lines = []
    for pmid in sorted(names, key=int):
        record = by_pmid.get(pmid)
        flag, detail = correction_flag(record) if record else ("", "not returned by PubMed")
        lines.append(WatchLine(names[pmid], pmid, flag, detail, checked))
    return lines


def render_watch(lines: Sequence[WatchLine]) -> str:
    """CSV text of the retraction-watch table."""
    return dataclass_csv(lines, [f.name for f in fields(WatchLine)])


@dataclass
class QueryOutcome:
    """What one query's update found."""

    run: UpdateRun
    first_run: bool
    matched: dict[str, int] = field(default_factory=dict)
    #: True for the records of an earlier harvest brought into the log (no search).
    from_harvest: bool = False
    #: Why this window (:func:`window_reason`).
    window: str = ""


def latest_harvest(runs_root: Path, query: Query) -> Path | None:
    """The newest finished harvest run of *query* that covers its whole window up to the day it ran.

    Same term, the query's own ``mindate`` and no ``maxdate`` (a run limited to an
    earlier end would leave a gap).
    """
    found = None
    for folder in finished_runs(runs_root, query.name):
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        info = manifest.get("query") if isinstance(manifest, dict) else None
        if not isinstance(info, dict) or info.get("term") != query.term:
            continue
        if manifest.get("maxdate") or manifest.get("mindate", "") != query.mindate:
            continue
        if not str(manifest.get("searched_utc", ""))[:10]:
            continue
        found = folder
    return found


@dataclass
class UpdateOutcome:
    """What a whole update did."""

    queries: list[QueryOutcome]
    flags: list[FlagChange]
    watch: list[WatchLine]
    entries: list[ScreeningEntry]
    unchecked: int = 0


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def run_update(client: EutilsClient, queries_dir: Path, files: ReviewFiles,
               previous: Sequence[PreviousStudy], *, today: date | None = None, overlap_days: int = OVERLAP_DAYS,
               now: datetime | None = None, progress: bool = False) -> UpdateOutcome:
    """Update every query in *queries_dir*, then check the included studies; writes the logs.

    *previous* are the previous version's studies (``studies.csv``, read by the
    caller through the sheet engine). The screening log, merge log and update
    log are written after each query
    (atomically), so an update stopped half-way keeps what it finished. The
    searches run without the project's lock; each query's records are merged
    into the logs re-read under it (:func:`evsynth.core.lock.project_lock`), so
    decisions made meanwhile on the page or in a terminal are kept.
    """
    moment = now or datetime.now(timezone.utc)
    day = today or moment.date()
    stamp = day.isoformat()
    queries = load_queries(queries_dir)
    update_log = files.extracted / "update-log.csv"
    outcomes: list[QueryOutcome] = []
    project = queries_dir.parent
    root = files.root
    for query in queries:
        with project_lock(root):  # the logs as they are now, changed and written as one step
            history = load_update_log(update_log)
            harvest_dir = (latest_harvest(queries_dir / RUNS, query)
                           if not any(r.query == query.name for r in history) else None)
            if harvest_dir is not None:
                entries, merges = files.load()
                manifest, found = load_run(harvest_dir)
                searched = datetime.strptime(manifest["searched_utc"][:10], "%Y-%m-%d")
                records = [r for r in found if not is_previous_study(r, previous)]
                result = merge_records(entries, merges, records, query.database, stamp)
                entries = flag_new_rows(result.entries, records, result.new_ids)
                merges = result.merges
                run = UpdateRun(query=query.name, version=str(query.version),
                                searched_utc=manifest["searched_utc"], datetype=manifest.get("datetype", ""),
                                mindate=manifest.get("mindate", ""), maxdate=searched.strftime(PUBMED_DATE),
                                found=len(found), new=len(result.new_ids), merged=result.merged,
                                already_seen=sum(result.seen.values()),
                                in_previous_version=len(found) - len(records),
                                run_folder=_relative(harvest_dir, project))
                history.append(run)
                files.save(entries, merges)
                write_text(update_log, render_update_log(history))
                outcomes.append(QueryOutcome(run, False, dict(result.matched), from_harvest=True))
        reason = window_reason(query, history)
        mindate, maxdate, first = update_window(query, history, day, overlap_days)
        spec = spec_from_query(query, mindate=mindate, maxdate=maxdate, datetype=DATETYPE)
        run_dir = new_run_dir(queries_dir / RUNS, query.name, moment)
        # the search runs without the lock (it may take minutes; pages and terminals go on)
        harvest = run_query(client, spec, run_dir, progress=progress, today=day)
        found = list(harvest.records)
        records = [r for r in found if not is_previous_study(r, previous)]
        with project_lock(root):  # merged into the log as it is now, not as it was at the start
            entries, merges = files.load()
            history = load_update_log(update_log)
            result = merge_records(entries, merges, records, query.database, stamp)
            entries = flag_new_rows(result.entries, records, result.new_ids)
            merges = result.merges
            run = UpdateRun(query=query.name, version=str(query.version), searched_utc=moment.strftime(
                "%Y-%m-%dT%H:%M:%SZ"), datetype=DATETYPE, mindate=mindate, maxdate=maxdate,
                found=len(found), new=len(result.new_ids), merged=result.merged,
                already_seen=sum(result.seen.values()), in_previous_version=len(found) - len(records),
                run_folder=_relative(run_dir, project))
            history.append(run)
            files.save(entries, merges)
            write_text(update_log, render_update_log(history))
        outcomes.append(QueryOutcome(run, first, dict(result.matched), window=reason))
    pmids = included_pmids(files.load_log(), previous)
    checked = client.efetch_records(pmids, require_all=False) if pmids else []
    with project_lock(root):
        entries, merges = files.load()
        entries, changes = apply_flags(entries, checked)
        watch = watch_included(checked, entries, previous, stamp)
        files.save(entries, merges)
        if watch or (files.extracted / "retraction-watch.csv").exists():
            write_text(files.extracted / "retraction-watch.csv", render_watch(watch))
    unchecked = sum(1 for p in previous if not p.pmid) + sum(
        1 for e in entries if e.is_included and not e.pmid)
    return UpdateOutcome(outcomes, changes, watch, entries, unchecked)


def summary(outcome: UpdateOutcome) -> str:
    """The short report printed after an update."""
    lines = []
    for q in outcome.queries:
        r = q.run
        if q.from_harvest:
            lines.append(f"{r.query}: the harvest of {r.searched_utc[:10]} ({r.run_folder}) into the "
                         f"log: {r.found} records, {r.new} new, {r.merged + r.already_seen} duplicates; "
                         "the update searches from that day")
            continue
        window = f"{r.mindate or 'no lower limit'} to {r.maxdate} by Entrez date"
        if q.first_run:
            window += (" (first run: whole window)" if q.window in ("", WHOLE_FIRST) else
                       f" (query revised, {q.window.removeprefix('whole ').strip('()')}: whole window)")
        keys = ", ".join(f"{n} by {k}" for k, n in sorted(q.matched.items()) if n)
        lines.append(f"{r.query}: {window}: {r.found} found, {r.new} new, "
                     f"{r.merged + r.already_seen} duplicates"
                     + (f" ({keys})" if keys else "")
                     + (f", of which {r.already_seen} seen in earlier runs" if r.already_seen else "")
                     + (f"; {r.in_previous_version} already included in the previous version"
                        if r.in_previous_version else ""))
    flagged = [w for w in outcome.watch if w.flag]
    lines.append(f"retraction watch: {len(outcome.watch)} included studies with a PMID checked, "
                 f"{len(flagged)} flagged"
                 + (f" ({outcome.unchecked} without PMID not checked)" if outcome.unchecked else ""))
    for w in flagged:
        lines.append(f"  ! {w.study} (PMID {w.pmid}) {w.flag.upper()}: {w.detail}")
    title = sum(1 for e in outcome.entries if e.is_open and e.stage == "title/abstract")
    full = sum(1 for e in outcome.entries if (e.is_open and e.stage == "full text") or e.awaits_full_text)
    if title or full:
        lines.append(f"to screen next: {title} at title/abstract, {full} at full text: evsynth screen")
    else:
        lines.append("to screen next: nothing pending")
    return "\n".join(lines) + "\n"

