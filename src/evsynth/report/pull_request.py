"""What changed, as the text of a pull request: the living loop's report to a person.

The scheduled update (``.github/living-update.sh``) searches PubMed, rebuilds
the review and opens a pull request; its body is :func:`pull_request_body`:
the searches of the newest update (``extracted/update-log.csv``), the records
now waiting to be screened (``extracted/screening.csv``), and What changed
since the previous build (``reports/build-state.json``, :mod:`evsynth.report.changes`).
A person reads it before anything is merged or released. Pure: the caller reads the files.
"""

from __future__ import annotations

from collections.abc import Sequence

from evsynth.report.changes import FIGURE_SECTIONS, STUDIES, Changes
from evsynth.screening.log import ScreeningEntry
from evsynth.screening.queue import FULL_TEXT, decision_stage, is_waiting
from evsynth.screening.update import UpdateRun

#: Records listed by name in the body (the rest are counted).
LISTED = 30


def _cell(text: str) -> str:
    """A Markdown table cell: one line, pipes escaped, cut to a readable length."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= 160 else text[:159] + "…"


def searches_lines(runs: Sequence[UpdateRun]) -> list[str]:
    """One line per query of the newest update (the runs sharing its ``searched_utc``)."""
    if not runs:
        return ["No update has run yet (`evsynth update`)."]
    newest = max(r.searched_utc for r in runs)
    history: dict[str, list[UpdateRun]] = {}
    lines = []
    for r in runs:
        earlier = history.setdefault(r.query, [])
        if r.searched_utc == newest:
            revised = bool(earlier) and all(e.version != r.version for e in earlier)
            window = f"{r.mindate or 'no lower limit'} to {r.maxdate}"
            note = f" (query revised to version {r.version}: whole window)" if revised else ""
            lines.append(f"- `{r.query}` v{r.version}, {window} by {r.datetype or 'date'}{note}: "
                         f"{r.found} found, {r.new} new, {r.merged + r.already_seen} duplicates")
        earlier.append(r)
    return lines


def to_screen_lines(entries: Sequence[ScreeningEntry]) -> list[str]:
    """The records waiting for a decision, by stage, the first :data:`LISTED` as a table."""
    waiting = [e for e in entries if is_waiting(e)]
    if not waiting:
        return ["Nothing is waiting to be screened."]
    full = sum(1 for e in waiting if decision_stage(e) == FULL_TEXT)
    lines = [f"{len(waiting) - full} at title/abstract, {full} at full text: screen them with "
             "`evsynth screen --serve --reviewer INITIALS`.", "",
             "| record | stage | first author | year | title |", "|---|---|---|---|---|"]
    lines += [f"| {e.record_id} | {decision_stage(e)} | {_cell(e.first_author)} | {e.year or ''} | {_cell(e.title)} |"
              for e in waiting[:LISTED]]
    if len(waiting) > LISTED:
        lines.append(f"| … | | | | {len(waiting) - LISTED} more |")
    return lines


def changes_lines(changes: Changes | None) -> list[str]:
    """Studies added or removed and every figure that moved, by section."""
    if changes is None:
        return ["No earlier build to compare with (this is the first)."]
    if changes.empty:
        return ["No study and no figure of the review changed: the page is as it was."]
    lines = [f"- Study added: {sid} — {_cell(cite)}" for sid, cite in changes.studies_added]
    lines += [f"- Study removed: {sid} — {_cell(cite)}" for sid, cite in changes.studies_removed]
    for section, heading in FIGURE_SECTIONS.items():
        moved = changes.moved_in(section)
        if section == STUDIES or not moved:
            continue
        lines.append(f"- {heading}:")
        lines += [f"  - {_cell(c.key)}: {c.old if c.old is not None else 'new'} → "
                  f"{c.new if c.new is not None else 'gone'}" for c in moved]
    return lines


def pull_request_body(title: str, runs: Sequence[UpdateRun], entries: Sequence[ScreeningEntry],
                      changes: Changes | None) -> str:
    """The Markdown body: searches, records to screen, what changed (see the module docstring)."""
    parts = [f"# {title}", "", "## Searches", "", *searches_lines(runs), "",
             "## Records to screen", "", *to_screen_lines(entries), "",
             "## What changed since the previous build", "", *changes_lines(changes), "",
             "Nothing is published until a person screens the new records, curates any new study and "
             "merges this pull request; a new version of the review is made with `evsynth release`."]
    return "\n".join(parts) + "\n"
