"""The part of ``review.toml`` that screening reads: ``[screening]`` and ``exclusion_reasons``.

:func:`evsynth.core.settings.load_settings` reads the whole file (the page, the
versions, the sections) into :class:`~evsynth.core.settings.ReviewSettings`, whose
``screening`` and ``exclusion_reasons`` are parsed here. The ``evsynth screen``
listing and the screening log need only these two, so they read them with
:func:`load_screening_settings` and :func:`load_exclusion_reasons` without
defining the page's settings classes at start-up (issue 23); ``evsynth validate``
and ``evsynth build`` check the rest of the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from evsynth.core import toml_read
from evsynth.core.errors import EvsynthError
from evsynth.core.project import SETTINGS_FILE, Project


#: Exclusion reasons when ``review.toml`` names none: the list ``evsynth init`` writes into a
#: new project's ``review.toml`` (edit it there; the screening log is checked against the
#: project's list). PRISMA 2020 item 16b asks for the reasons of full-text exclusions.
DEFAULT_EXCLUSION_REASONS: tuple[str, ...] = (
    "wrong population",
    "wrong intervention",
    "wrong outcome",
    "wrong study design",
    "review/editorial",
    "conference abstract only",
    "not English",
    "duplicate",
    "retracted",
    "full text not retrieved",
)


@dataclass(frozen=True)
class ScreeningSettings:
    """``[screening]``: the stopping criterion's promise and the seed of the random start.

    ``target_recall``: the share of the includes the review wants to have found
    when the stopping criterion says "met"; ``confidence``: how sure it wants
    to be of that (see :mod:`evsynth.prioritise.stopping`); ``seed``: orders the
    records at random (reproducibly) before the ranking can learn; ``order``:
    ``ranked`` (default: most likely include first, retrained as decisions come
    in) or ``log`` (the log's own order, e.g. for a second pass in a fixed order).
    """

    target_recall: float = 0.95
    confidence: float = 0.95
    seed: int = 0
    order: str = "ranked"
    #: ``hypergeometric`` (default: Callaghan & Müller-Bloch, :mod:`evsynth.prioritise.stopping`)
    #: or ``rate`` (experimental: the ranked-rate rule, :mod:`evsynth.prioritise.rate_rule`,
    #: which stopped below its target on two of nine held-out sets; docs/methods/stopping.md).
    #: In ``log`` order the hypergeometric criterion is used whatever this says.
    stopping_rule: str = "hypergeometric"


def read_review_toml(root: Path) -> dict[str, Any] | None:
    """The parsed ``root/review.toml``, ``None`` when there is none (a one-line error if not valid TOML)."""
    text = _review_text(root)
    return None if text is None else _parse(text)


def _review_text(root: Path) -> str | None:
    path = Project(root).settings_file
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvsynthError(f"{SETTINGS_FILE}: not valid TOML ({exc})") from None


def _parse(text: str) -> dict[str, Any]:
    try:
        return toml_read.loads(text, SETTINGS_FILE)
    except tomllib.TOMLDecodeError as exc:
        raise EvsynthError(f"{SETTINGS_FILE}: not valid TOML ({exc})") from None


#: The text of the ``review.toml`` read last, with its screening settings and exclusion reasons.
#: A command asks for them several times (the log's check, the stopping status, the ranking) and
#: parsing the file's 10 kB in pure Python costs more than importing the command's modules
#: (issue 23); the file is read each time, and parsed again when its text has changed.
_LAST: dict[str, tuple[ScreeningSettings, tuple[str, ...]]] = {}


def _screening_part(root: Path) -> tuple[ScreeningSettings, tuple[str, ...]]:
    """``[screening]`` and ``exclusion_reasons`` of ``root/review.toml`` (the defaults when absent)."""
    text = _review_text(root)
    if text is None:
        return ScreeningSettings(), DEFAULT_EXCLUSION_REASONS
    if text not in _LAST:
        data = _parse(text)
        part = (parse_screening(data["screening"]) if "screening" in data else ScreeningSettings(),
                parse_exclusion_reasons(data["exclusion_reasons"]) if "exclusion_reasons" in data
                else DEFAULT_EXCLUSION_REASONS)
        _LAST.clear()
        _LAST[text] = part
    return _LAST[text]


def load_screening_settings(root: Path) -> ScreeningSettings:
    """``[screening]`` of ``root/review.toml`` (the defaults when the file or the table is absent)."""
    return _screening_part(root)[0]


def load_exclusion_reasons(root: Path) -> tuple[str, ...]:
    """``exclusion_reasons`` of ``root/review.toml`` (:data:`DEFAULT_EXCLUSION_REASONS` when absent)."""
    return _screening_part(root)[1]


def parse_exclusion_reasons(value: object) -> tuple[str, ...]:
    """The ``exclusion_reasons`` list: non-empty strings, spaces normalised, none twice."""
    key = "exclusion_reasons"
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v.strip() for v in value)):
        raise EvsynthError(f"{SETTINGS_FILE}: {key} must be a non-empty list of strings")
    reasons = tuple(" ".join(v.split()) for v in value)
    if len(set(reasons)) != len(reasons):
        raise EvsynthError(f"{SETTINGS_FILE}: {key} names a reason twice")
    return reasons


def parse_screening(value: object) -> ScreeningSettings:
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
        if key == "order":
            if item not in ("ranked", "log"):
                raise EvsynthError(f"{SETTINGS_FILE}: [screening] order must be \"ranked\" or \"log\", not {item!r}")
            out[key] = item
            continue
        if key == "stopping_rule":
            if item not in ("rate", "hypergeometric"):
                raise EvsynthError(f"{SETTINGS_FILE}: [screening] stopping_rule must be \"rate\" or "
                                   f"\"hypergeometric\", not {item!r}")
            out[key] = item
            continue
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
