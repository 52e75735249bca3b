"""``evsynth release NAME``: freeze the current state of the review as a named version.

A release is what a living review publishes as an update. It is made only
from a state a build accepts (valid sheets, no claim regressed) with no study
awaiting extraction, and it freezes, in ``versions/NAME.json``
(:class:`evsynth.review.releases.ReleaseRecord`): the date, the sheets'
SHA-256, the studies with their citations, the counts of ``counts.json``, the
figures "What changed" compares, and the screening records and merges settled
by then. Then ``review.toml`` gets the version's ``[[versions]]`` table
(name, date, studies, sheet hash, the file). Each file is written atomically,
the figures first: until review.toml names it, the version does not exist,
and a release stopped in between is simply made again. The whole release holds
the project's lock (:func:`evsynth.core.lock.project_lock`): the name is checked
against ``review.toml`` as it is under the lock, before anything is written, so
of two releases of one name at once one is made and the other refused, and
``review.toml`` and ``versions/NAME.json`` agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evsynth.core.project import Project
from evsynth import __version__
from evsynth.core.atomic import write_bytes
from evsynth.core.errors import EvsynthError
from evsynth.core.lock import project_lock
from evsynth.core.settings import VERSION_NAME, VersionSpec, append_version, load_settings
from evsynth.report.changes import snapshot, studies_section
from evsynth.report.compute import check_regressions, compute
from evsynth.review.load import load_review
from evsynth.review.releases import ReleaseRecord, release_path
from evsynth.screening.files import ReviewFiles, check_date
from evsynth.screening.log import ScreeningEntry
from evsynth.screening.queue import decision_stage, is_waiting


@dataclass(frozen=True)
class Released:
    """What a release wrote: the version, its frozen record, and the studies added since the previous version."""

    version: VersionSpec
    record: ReleaseRecord
    added: tuple[str, ...]
    previous: str


class UnscreenedRecords(EvsynthError):
    """Records of the screening log are still open; a release needs ``--allow-unscreened`` and a note."""


def unscreened_listing(entries: list[ScreeningEntry], shown: int = 10) -> tuple[list[ScreeningEntry], str]:
    """The open records and one line naming them by stage (the first *shown* by id)."""
    waiting = [e for e in entries if is_waiting(e)]
    by_stage: dict[str, list[str]] = {}
    for e in waiting:
        by_stage.setdefault(decision_stage(e), []).append(e.record_id)
    parts = [f"{len(ids)} at {stage} ({', '.join(ids[:shown])}{', …' if len(ids) > shown else ''})"
             for stage, ids in by_stage.items()]
    return waiting, "; ".join(parts)


def release(root: Path, name: str, *, date: str, citation: str = "", doi: str = "",
            allow_unscreened: bool = False, note: str = "") -> Released:
    """Freeze the review under *root* as version *name* of *date* (``YYYY-MM-DD``).

    Records still open in the screening log are listed, and the release is
    refused unless *allow_unscreened* is given with a *note* saying why (the
    note and the open records are frozen with the version, and the page shows them).
    """
    date = check_date(date, "--date")
    if allow_unscreened and not note.strip():
        raise EvsynthError("--allow-unscreened needs --note saying why the version is released with "
                           "records still to screen")
    if not VERSION_NAME.match(name):
        raise EvsynthError(f"version name {name!r}: use letters, digits, '.', '_' or '-' (e.g. 2026-12)")
    with project_lock(root):  # nothing is written before the name is checked under the lock
        settings = load_settings(root)
        if settings.version(name) is not None:
            raise EvsynthError(f"review.toml already names version {name}; a release gets a new name")
        latest = settings.latest_version
        if latest is not None and date < latest.date[: len(date)]:
            raise EvsynthError(f"--date {date} is earlier than version {latest.name} ({latest.date})")
        review = load_review(root, settings)
        if review.awaiting:
            listing = "; ".join(f"{a.study_id} (extracted/studies.csv row {a.row}, {len(a.to_curate)} to curate)"
                                for a in review.awaiting)
            raise EvsynthError(f"a release freezes curated studies only; awaiting extraction: {listing} "
                               "(finish them and set extraction = complete)")
        released = {sid for v in settings.versions for sid in v.studies}
        new = [(int(r["_row"]), str(r["study_id"]), str(r["added_in"])) for _, r in review.studies.iterrows()
               if r["study_id"] not in released]
        for row, sid, added_in in new:
            if added_in != name:
                raise EvsynthError(f"extracted/studies.csv:{row}:added_in: {sid} is added in {added_in!r}, "
                                   f"not in the version being released ({name!r})")
        entries, merges = ReviewFiles(Project(root).extracted).load()
        waiting, listing = unscreened_listing(entries)
        if waiting and not allow_unscreened:
            raise UnscreenedRecords(f"{len(waiting)} record(s) of extracted/screening.csv still to screen: {listing}; "
                                    "screen them (evsynth screen), or release anyway with --allow-unscreened "
                                    "--note 'why'")
        build = compute(root)
        check_regressions(build.claims)
        review = build.review
        studies = studies_section(review)
        record = ReleaseRecord(
            name=name, date=date, sheet_sha256=review.content_hash, studies=studies,
            counts=build.counts["current"], figures=snapshot(build),
            settled_records=tuple(e.record_id for e in entries if e.decision == "exclude" or e.is_included),
            settled_merges=tuple(m.merge_id for m in merges), evsynth_version=__version__,
            citation=citation, doi=doi, unscreened=tuple(e.record_id for e in waiting),
            unscreened_note=note.strip() if waiting else "")
        spec = VersionSpec(name=name, date=date, studies=tuple(studies), citation=citation, doi=doi,
                           sheet_sha256=review.content_hash, figures=release_path(name))
        write_bytes(root / spec.figures, record.to_json())
        append_version(root, spec)
        return Released(spec, record, tuple(sid for _, sid, _ in new), latest.name if latest else "")
