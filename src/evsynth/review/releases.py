"""Released versions: the frozen state ``evsynth release`` writes to ``versions/NAME.json``.

A release freezes what the review said when it was published: the date, the
SHA-256 of the sheets, its studies (with their citations), the counts of
``counts.json``, the figures "What changed" compares (studies, counts, PRISMA,
pooled estimates, claims, searches) and which records of the screening log
and merges of the merge log were settled by then (so the next update's
PRISMA flow counts only its own records). ``review.toml`` names the version
and points to the file (``figures = "versions/NAME.json"``); the file is
written first and review.toml last, so a version exists once review.toml
names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evsynth.core import json_numbers
from evsynth.core.errors import EvsynthError
from evsynth.core.settings import SETTINGS_FILE, VersionSpec

#: The folder of the frozen versions, relative to the project.
RELEASE_DIR = "versions"
FORMAT = 1
MAX_BYTES = 50_000_000


@dataclass(frozen=True)
class ReleaseRecord:
    """The frozen figures of a released version (``versions/NAME.json``)."""

    name: str
    date: str
    sheet_sha256: str
    studies: dict[str, str]
    counts: dict[str, Any]
    figures: dict[str, dict[str, str]]
    settled_records: tuple[str, ...]
    settled_merges: tuple[str, ...]
    evsynth_version: str = ""
    citation: str = ""
    doi: str = ""
    #: Records of the screening log still open (at title/abstract or full text) when the version
    #: was released, and the note of the person who released it anyway (``--allow-unscreened``).
    unscreened: tuple[str, ...] = ()
    unscreened_note: str = ""

    def to_json(self) -> bytes:
        """The file's bytes (stable key order, UTF-8, trailing newline)."""
        data = {"format": FORMAT, "name": self.name, "date": self.date, "citation": self.citation,
                "doi": self.doi, "evsynth_version": self.evsynth_version, "sheet_sha256": self.sheet_sha256,
                "studies": self.studies, "counts": self.counts, "figures": self.figures,
                "screening": {"settled_records": list(self.settled_records),
                              "settled_merges": list(self.settled_merges),
                              **({"unscreened": list(self.unscreened), "unscreened_note": self.unscreened_note}
                                 if self.unscreened else {})}}
        return json_numbers.dumps(data, indent=1).encode("utf-8")


def release_path(name: str) -> str:
    """``versions/NAME.json`` (relative to the project)."""
    return f"{RELEASE_DIR}/{name}.json"


def _figures_ok(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(section, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in section.items())
        for section in value.values())


def read_release(root: Path, version: VersionSpec) -> ReleaseRecord:
    """The frozen figures of *version* (one-line errors when the file is missing or not one evsynth wrote)."""
    label = version.figures
    path = root / label
    where = f"{label} (version {version.name} of {SETTINGS_FILE})"
    try:
        if path.stat().st_size > MAX_BYTES:
            raise EvsynthError(f"{where}: larger than {MAX_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvsynthError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvsynthError(f"{where}: not a readable release file ({exc})") from None
    screening = data.get("screening") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or data.get("format") != FORMAT or data.get("name") != version.name
            or not isinstance(data.get("studies"), dict) or not isinstance(data.get("counts"), dict)
            or not _figures_ok(data.get("figures")) or not isinstance(screening, dict)):
        raise EvsynthError(f"{where}: not a release file of this evsynth (format {FORMAT}, name {version.name!r})")
    if sorted(data["studies"]) != sorted(version.studies):
        raise EvsynthError(f"{where}: its studies differ from those review.toml lists for the version")
    return ReleaseRecord(
        name=version.name, date=str(data.get("date", "")), sheet_sha256=str(data.get("sheet_sha256", "")),
        studies={str(k): str(v) for k, v in data["studies"].items()}, counts=data["counts"],
        figures=data["figures"], settled_records=tuple(str(r) for r in screening.get("settled_records", [])),
        settled_merges=tuple(str(m) for m in screening.get("settled_merges", [])),
        evsynth_version=str(data.get("evsynth_version", "")), citation=str(data.get("citation", "")),
        doi=str(data.get("doi", "")), unscreened=tuple(str(r) for r in screening.get("unscreened", [])),
        unscreened_note=str(screening.get("unscreened_note", "")))
