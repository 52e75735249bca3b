"""The review's own words: title, starting point and table titles, from ``review.toml``.

Everything the page says about *this* review (rather than about the method)
lives in ``review.toml`` at the project root, so a new review made with
``evsynth init`` speaks of itself and not of the bundled one. A missing file
gives neutral defaults; a malformed one is a one-line error naming the file
and key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from evsynth.core.errors import EvsynthError

SETTINGS_FILE = "review.toml"

#: Exclusion reasons when ``review.toml`` names none: the list ``evsynth init`` writes into a
#: new project's ``review.toml`` (edit it there; the screening log is checked against the
#: project's list). PRISMA 2020 item 16b asks for the reasons of full-text exclusions.
DEFAULT_EXCLUSION_REASONS: tuple[str, ...] = (
    "wrong population",
    "wrong intervention",
    "no liver-specific outcome",
    "wrong study design",
    "review/editorial",
    "conference abstract only",
    "not English",
    "duplicate",
    "retracted",
    "full text not retrieved",
)

DEFAULT_TABLE_TITLES: dict[str, str] = {
    "table1": "Table 1. Case series",
    "table2": "Table 2. Studies of the literature review",
    "table3": "Table 3. Guideline recommendations",
}


@dataclass(frozen=True)
class ReviewSettings:
    """What ``review.toml`` may say (every key optional)."""

    title: str = "A living, reproducible systematic review"
    #: One sentence on the review's starting point (a published review, a protocol), shown in the header.
    seed: str = ""
    #: Notes printed under the PRISMA diagram about the previous version's flow.
    previous_version_notes: tuple[str, ...] = ()
    #: Shown in the Sources appendix under "Identifiers".
    identifiers_note: str = ""
    #: The full citation of the review's starting point (first in the References list).
    seed_citation: str = ""
    #: Its DOI (a link in the References list).
    seed_doi: str = ""
    #: The controlled list of exclusion reasons (required at full text, optional at title/abstract).
    exclusion_reasons: tuple[str, ...] = DEFAULT_EXCLUSION_REASONS
    table_titles: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TABLE_TITLES))
    #: Abbreviations the page lists after those of the sheets' vocabularies (``sheets.toml``).
    abbreviations: str = ""


def load_settings(root: Path) -> ReviewSettings:
    """Read ``root/review.toml`` (defaults when absent)."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        return ReviewSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EvsynthError(f"{SETTINGS_FILE}: not valid TOML ({exc})") from None
    known = {f.name for f in fields(ReviewSettings)}
    values: dict[str, object] = {}
    for key, value in data.items():
        if key not in known:
            raise EvsynthError(f"{SETTINGS_FILE}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        if key == "previous_version_notes":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise EvsynthError(f"{SETTINGS_FILE}: {key} must be a list of strings")
            values[key] = tuple(value)
        elif key == "exclusion_reasons":
            if (not isinstance(value, list) or not value
                    or not all(isinstance(v, str) and v.strip() for v in value)):
                raise EvsynthError(f"{SETTINGS_FILE}: {key} must be a non-empty list of strings")
            reasons = tuple(" ".join(v.split()) for v in value)
            if len(set(reasons)) != len(reasons):
                raise EvsynthError(f"{SETTINGS_FILE}: {key} names a reason twice")
            values[key] = reasons
        elif key == "table_titles":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise EvsynthError(f"{SETTINGS_FILE}: [table_titles] must map table1/table2/table3 to strings")
            unknown = set(value) - set(DEFAULT_TABLE_TITLES)
            if unknown:
                raise EvsynthError(f"{SETTINGS_FILE}: [table_titles] has unknown table {sorted(unknown)[0]!r}")
            values[key] = {**DEFAULT_TABLE_TITLES, **value}
        elif not isinstance(value, str):
            raise EvsynthError(f"{SETTINGS_FILE}: {key} must be a string")
        else:
            values[key] = value
    return ReviewSettings(**values)  # type: ignore[arg-type]
