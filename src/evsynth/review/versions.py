"""The versions of the review, checked against the sheets.

``review.toml`` names the published versions (:class:`evsynth.core.settings.VersionSpec`),
each with its studies; ``studies.csv`` says which version added each study
(``added_in``) and ``claims.csv`` which version each claim is computed on
(``version``, empty = the first, the seed's). The rules:

* with versions declared, every study names the version that added it:
  a declared version (and then it is among that version's studies), or the
  next version, not yet released (one name for all such studies);
* a version lists only studies that ``studies.csv`` has, added in it or earlier,
  and none of them awaits extraction;
* a claim's version is a declared one.
"""

from __future__ import annotations

from collections.abc import Iterator

from evsynth.core.settings import SETTINGS_FILE, ReviewSettings
from evsynth.review import vocab
from evsynth.sheets.engine import Problem, SheetRead


def _records(read: SheetRead) -> Iterator[tuple[int, dict[str, str | None]]]:
    yield from zip(read.rows, read.records)


def next_version(studies: SheetRead, settings: ReviewSettings) -> str:
    """The name of the version in preparation (the ``added_in`` of studies no declared version has), or ""."""
    declared = {v.name for v in settings.versions}
    for _, r in _records(studies):
        if r.get("added_in") and r["added_in"] not in declared:
            return str(r["added_in"])
    return ""


def version_problems(reads: dict[str, SheetRead], settings: ReviewSettings) -> list[Problem]:
    """Every disagreement between review.toml's versions, studies.csv's ``added_in`` and claims.csv's ``version``."""
    if "studies" not in reads:
        return []
    studies, claims = reads["studies"], reads.get("claims")
    order = {v.name: i for i, v in enumerate(settings.versions)}
    names = ", ".join(order) or "none"
    problems: list[Problem] = []
    upcoming = next_version(studies, settings)
    added: dict[str, str] = {}
    status: dict[str, str | None] = {}
    for row, r in _records(studies):
        sid, version = str(r["study_id"]), r.get("added_in")
        status[sid] = r.get("extraction")
        if version is None:
            if settings.versions:
                problems.append(Problem(studies.path, row, "added_in",
                                        f"name the version that added {sid} (review.toml names: {names}; "
                                        "or the name of the next version)"))
            continue
        added[sid] = version
        if version in order:
            if sid not in settings.versions[order[version]].studies:
                problems.append(Problem(studies.path, row, "added_in",
                                        f"{sid} is not among the studies of version {version} in {SETTINGS_FILE}; "
                                        "a study added since then names the next version"))
        elif version != upcoming:
            problems.append(Problem(studies.path, row, "added_in",
                                    f"{version!r} is not a version of {SETTINGS_FILE} ({names}), and the next "
                                    f"version is already called {upcoming!r}: one version is prepared at a time"))
    for version in settings.versions:
        for sid in version.studies:
            where = f"versions.{version.name}"
            if sid not in added and sid not in status:
                problems.append(Problem(SETTINGS_FILE, 0, where, f"lists {sid}, which studies.csv does not have"))
            elif sid in added and order.get(added[sid], len(order)) > order[version.name]:
                problems.append(Problem(SETTINGS_FILE, 0, where,
                                        f"lists {sid}, which studies.csv says was added later (in {added[sid]})"))
            elif status.get(sid) == vocab.INCOMPLETE:
                problems.append(Problem(SETTINGS_FILE, 0, where,
                                        f"lists {sid}, which awaits extraction in studies.csv"))
    for row, r in (_records(claims) if claims is not None else ()):
        version = r.get("version")
        if version is not None and version not in order:
            problems.append(Problem(claims.path, row, "version",
                                    f"{version!r} is not a version of {SETTINGS_FILE} (it names: {names})"))
    return problems
