"""The review's own words (title, starting point, table titles) and its screening promise, from ``review.toml``.

Everything the page says about *this* review (rather than about the method)
lives in ``review.toml`` at the project root, so a new review made with
``evsynth init`` speaks of itself and not of the bundled one. A missing file
gives neutral defaults; a malformed one is a one-line error naming the file
and key. ``[screening]`` (:class:`ScreeningSettings`) sets the target recall and
confidence of the stopping criterion (default 95 % / 95 %) and the seed of the
random screening order.
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
class ScreeningSettings:
    """``[screening]``: the stopping criterion's promise and the seed of the random start.

    ``target_recall``: the share of the includes the review wants to have found
    when the stopping criterion says "met"; ``confidence``: how sure it wants
    to be of that (see :mod:`evsynth.screening.stopping`); ``seed``: orders the
    records at random (reproducibly) before the ranking can learn.
    """

    target_recall: float = 0.95
    confidence: float = 0.95
    seed: int = 0


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
    screening: ScreeningSettings = field(default_factory=ScreeningSettings)


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
        elif key == "screening":
            values[key] = _screening(value)
        elif not isinstance(value, str):
            raise EvsynthError(f"{SETTINGS_FILE}: {key} must be a string")
        else:
            values[key] = value
    return ReviewSettings(**values)  # type: ignore[arg-type]


def _screening(value: object) -> ScreeningSettings:
    """The ``[screening]`` table, each value checked (one-line errors naming the key)."""
    if not isinstance(value, dict):
        raise EvsynthError(f"{SETTINGS_FILE}: [screening] must be a table "
                           "(target_recall, confidence, seed)")
    known = {f.name for f in fields(ScreeningSettings)}
    out: dict[str, object] = {}
    for key, item in value.items():
        if key not in known:
            raise EvsynthError(f"{SETTINGS_FILE}: [screening] has unknown key {key!r} "
                               f"(known: {', '.join(sorted(known))})")
        if key == "seed":
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise EvsynthError(f"{SETTINGS_FILE}: [screening] seed must be a whole number ≥ 0")
            out[key] = item
            continue
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise EvsynthError(f"{SETTINGS_FILE}: [screening] {key} must be a number, e.g. 0.95")
        number = float(item)
        if key == "target_recall" and not 0.0 < number <= 1.0:
            raise EvsynthError(f"{SETTINGS_FILE}: [screening] target_recall must be above 0 and "
                               f"at most 1 (a share, e.g. 0.95), not {item}")
        if key == "confidence" and not 0.0 < number < 1.0:
            raise EvsynthError(f"{SETTINGS_FILE}: [screening] confidence must be above 0 and "
                               f"below 1 (e.g. 0.95), not {item}")
        out[key] = number
    return ScreeningSettings(**out)  # type: ignore[arg-type]
