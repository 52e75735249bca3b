"""The review's own words (title, starting point, table titles, versions) and its screening promise, from ``review.toml``.

Everything the page says about *this* review (rather than about the method)
lives in ``review.toml`` at the project root, so a new review made with
``evsynth init`` speaks of itself and not of the bundled one. A missing file
gives neutral defaults; a malformed one is a one-line error naming the file
and key.

``[[versions]]`` tables name the published versions of the review, oldest
first: the seed's published version (its studies, date and citation, written
by a person), then every version frozen by ``evsynth release`` (which appends
its table here; its figures are in the file its ``figures`` key names).
``[[sections]]`` tables (:class:`PageSection`) are sections of the page written
in the review's own words (e.g. how a version's studies were found), shown after
the PRISMA flow. ``[screening]`` (:class:`ScreeningSettings`) sets the target recall and
confidence of the stopping criterion (default 95 % / 95 %) and the seed of the
random screening order.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.errors import EvsynthError
from evsynth.core import toml_read
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


@dataclass(frozen=True)
class PageTable:
    """A ``[[page.tables]]`` table of review.toml: rows of one declared sheet shown on the page.

    ``columns``: the sheet's columns in order (headings: their labels in
    sheets.toml; empty = every column); ``where``: a condition in the expression
    language on each row (empty = every row); ``footnotes`` printed under it.
    """

    sheet: str
    title: str
    columns: tuple[str, ...] = ()
    where: str = ""
    footnotes: tuple[str, ...] = ()
    #: Its position among review.toml's [[page.tables]] (1 = first), for messages.
    number: int = 0


@dataclass(frozen=True)
class HeadlineFigure:
    """A ``[[page.figures]]`` entry: a figure of the Summary, an expression over the sheets with its label."""

    label: str
    value: str
    number: int = 0


@dataclass(frozen=True)
class PageSettings:
    """``[page]``: the page as the project declares it (its tables, headline figures and wording)."""

    tables: tuple[PageTable, ...] = ()
    figures: tuple[HeadlineFigure, ...] = ()
    #: The question of the Summary-of-findings table (its caption), in the review's own words.
    summary_of_findings: str = "Summary of findings (GRADE)"
    #: What the case series' responses were assessed with (e.g. a response criteria version).
    case_series_response_criteria: str = ""
    #: A sentence under the Summary's figures; ``{EXPRESSION}`` is replaced by its value on the sheets.
    summary_note: str = ""
    #: The grading scale of the case series' adverse events (the grade column's heading).
    case_series_grading: str = ""
    #: Notes added under tables of the page, by table key (``table1_case_series = ["..."]``).
    table_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
    #: The published versions, oldest first (the seed's first).
    versions: tuple[VersionSpec, ...] = ()
    #: Sections of the page in the review's own words (``[[sections]]``), after the PRISMA flow.
    sections: tuple[PageSection, ...] = ()
    screening: ScreeningSettings = field(default_factory=ScreeningSettings)
    page: PageSettings = field(default_factory=PageSettings)

    @property
    def seed_version(self) -> VersionSpec | None:
        """The first version (the seed's published one), if any."""
        return self.versions[0] if self.versions else None

    @property
    def latest_version(self) -> VersionSpec | None:
        """The newest published version, if any."""
        return self.versions[-1] if self.versions else None

    def version(self, name: str) -> VersionSpec | None:
        """The version called *name*, if review.toml names it."""
        return next((v for v in self.versions if v.name == name), None)


@dataclass(frozen=True)
class PageSection:
    """A section of the page written in ``review.toml`` (a ``[[sections]]`` table).

    ``id``: the section's anchor on the page (lower-case letters, digits and '-');
    ``title``: its heading; ``paragraphs``: its text, one string a paragraph;
    ``items``: a list shown after the paragraphs. Text only: the page escapes it.
    """

    id: str
    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()


_SECTION_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


def _parse_sections(value: object) -> tuple[PageSection, ...]:
    """The ``[[sections]]`` tables, each checked (one-line errors naming the table)."""
    where = f"{SETTINGS_FILE}: [[sections]]"
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise EvsynthError(f"{where} must be tables ([[sections]] with id, title, paragraphs, items)")
    known = {f.name for f in fields(PageSection)}
    out: list[PageSection] = []
    for number, table in enumerate(value, 1):
        here = f"{where} #{number}"
        unknown = sorted(set(table) - known)
        if unknown:
            raise EvsynthError(f"{here}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        sid, title = table.get("id"), table.get("title")
        if not isinstance(sid, str) or not _SECTION_ID.match(sid):
            raise EvsynthError(f"{here}: id must be lower-case letters, digits and '-' (an anchor of the page)")
        if not isinstance(title, str) or not title.strip():
            raise EvsynthError(f"{here}: title must be a non-empty string")
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("paragraphs", "items"):
            items = table.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                raise EvsynthError(f"{here}: {key} must be a list of non-empty strings")
            lists[key] = tuple(" ".join(i.split()) for i in items)
        if any(s.id == sid for s in out):
            raise EvsynthError(f"{here}: id {sid!r} is used by an earlier section")
        out.append(PageSection(sid, " ".join(title.split()), lists["paragraphs"], lists["items"]))
    return tuple(out)


#: A version name: letters, digits, '.', '_' and '-' (it names a file in versions/).
VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_VERSION_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class VersionSpec:
    """One published version of the review (a ``[[versions]]`` table of review.toml)."""

    name: str
    #: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``: as precisely as the source gives it.
    date: str
    #: Every study of this version (cumulative), by study id.
    studies: tuple[str, ...]
    citation: str = ""
    doi: str = ""
    #: SHA-256 of the sheets when the version was released (empty for a version evsynth did not release).
    sheet_sha256: str = ""
    #: The file holding the version's frozen figures (``versions/NAME.json``), for released versions.
    figures: str = ""


def _parse_versions(value: object) -> tuple[VersionSpec, ...]:
    where = f"{SETTINGS_FILE}: [[versions]]"
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise EvsynthError(f"{where} must be tables ([[versions]] with name, date, studies)")
    known = {f.name for f in fields(VersionSpec)}
    out: list[VersionSpec] = []
    for number, table in enumerate(value, start=1):
        label = f"{SETTINGS_FILE}: versions[{number}]"
        unknown = sorted(set(table) - known)
        if unknown:
            raise EvsynthError(f"{label}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        for key in ("name", "date", "studies"):
            if key not in table:
                raise EvsynthError(f"{label}: missing {key}")
        for key in known - {"studies"}:
            if key in table and not isinstance(table[key], str):
                raise EvsynthError(f"{label}.{key} must be a string")
        name, date, studies = table["name"], table["date"], table["studies"]
        if not VERSION_NAME.match(name):
            raise EvsynthError(f"{label}.name {name!r}: use letters, digits, '.', '_' or '-' (e.g. 2026-12)")
        if any(v.name == name for v in out):
            raise EvsynthError(f"{label}.name {name!r} is already the name of an earlier version")
        if not _VERSION_DATE.match(date):
            raise EvsynthError(f"{label}.date {date!r} must be YYYY, YYYY-MM or YYYY-MM-DD")
        if out and date < out[-1].date[: len(date)]:
            raise EvsynthError(f"{label}.date {date} is earlier than the previous version's ({out[-1].date})")
        if not isinstance(studies, list) or not all(isinstance(s, str) and s.strip() for s in studies):
            raise EvsynthError(f"{label}.studies must be a list of study ids")
        if len(set(studies)) != len(studies):
            raise EvsynthError(f"{label}.studies lists a study twice")
        out.append(VersionSpec(studies=tuple(studies), **{k: v for k, v in table.items() if k != "studies"}))
    return tuple(out)


def version_table(version: VersionSpec) -> str:
    """The ``[[versions]]`` TOML table of *version* (what ``evsynth release`` appends)."""
    import json

    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    lines = ["[[versions]]", f"name = {text(version.name)}", f"date = {text(version.date)}"]
    for key in ("citation", "doi", "sheet_sha256", "figures"):
        value = getattr(version, key)
        if value:
            lines.append(f"{key} = {text(value)}")
    lines.append("studies = [" + ", ".join(text(s) for s in version.studies) + "]")
    return "\n".join(lines) + "\n"


def append_version(root: Path, version: VersionSpec) -> None:
    """Append *version*'s table to ``root/review.toml`` (atomically; the rest of the file is kept byte for byte)."""
    path = root / SETTINGS_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    text += ("\n" if text else "") + version_table(version)
    try:
        parsed = _parse_versions(tomllib.loads(text).get("versions", []))
    except tomllib.TOMLDecodeError as exc:  # e.g. a [table] open at the end of the file would swallow keys
        raise EvsynthError(f"{SETTINGS_FILE}: cannot append the version ({exc})") from None
    if not parsed or parsed[-1] != version:
        raise EvsynthError(f"{SETTINGS_FILE}: the appended [[versions]] table does not read back as written")
    write_text(path, text)


def load_settings(root: Path) -> ReviewSettings:
    """Read ``root/review.toml`` (defaults when absent)."""
    path = Project(root).settings_file
    if not path.is_file():
        return ReviewSettings()
    try:
        data = toml_read.loads(path.read_text(encoding="utf-8"), SETTINGS_FILE)
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
        elif key == "versions":
            values[key] = _parse_versions(value)
        elif key == "screening":
            values[key] = _screening(value)
        elif key == "page":
            values[key] = _page(value)
        elif key == "sections":
            values[key] = _parse_sections(value)
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


def _page(value: object) -> PageSettings:
    """The ``[page]`` table: ``[[page.tables]]``, ``[[page.figures]]`` and the page's wording."""
    where = f"{SETTINGS_FILE}: [page]"
    if not isinstance(value, dict):
        raise EvsynthError(f"{where} must be a table")
    known = ("tables", "figures", "summary_of_findings", "case_series_response_criteria", "summary_note",
             "case_series_grading", "table_notes")
    out: dict[str, object] = {}
    for key, item in value.items():
        if key not in known:
            raise EvsynthError(f"{where} has unknown key {key!r} (known: {', '.join(known)})")
        if key == "table_notes":
            if not isinstance(item, dict) or not all(
                    isinstance(v, list) and all(isinstance(n, str) for n in v) for v in item.values()):
                raise EvsynthError(f"{where}.table_notes maps a table key to a list of notes")
            out[key] = {k: tuple(v) for k, v in item.items()}
            continue
        if key in ("summary_of_findings", "case_series_response_criteria", "summary_note", "case_series_grading"):
            if not isinstance(item, str):
                raise EvsynthError(f"{where} {key} must be a string")
            out[key] = item
            continue
        if not isinstance(item, list) or not all(isinstance(t, dict) for t in item):
            raise EvsynthError(f"{where}: write [[page.{key}]] tables")
        if key == "figures":
            figures = []
            for number, table in enumerate(item, start=1):
                label = f"{SETTINGS_FILE}: page.figures[{number}]"
                unknown = sorted(set(table) - {"label", "value"})
                if unknown:
                    raise EvsynthError(f"{label}: unknown key {unknown[0]!r} (known: label, value)")
                if not all(isinstance(table.get(k), str) and table.get(k) for k in ("label", "value")):
                    raise EvsynthError(f"{label} needs label and value (an expression over the sheets), as strings")
                figures.append(HeadlineFigure(table["label"], table["value"], number))
            out[key] = tuple(figures)
            continue
        tables = []
        for number, table in enumerate(item, start=1):
            label = f"{SETTINGS_FILE}: page.tables[{number}]"
            allowed = ("sheet", "title", "columns", "where", "footnotes")
            unknown = sorted(set(table) - set(allowed))
            if unknown:
                raise EvsynthError(f"{label}: unknown key {unknown[0]!r} (known: {', '.join(allowed)})")
            for required in ("sheet", "title"):
                if not isinstance(table.get(required), str) or not table.get(required):
                    raise EvsynthError(f"{label} needs {required} (a string)")
            for listed in ("columns", "footnotes"):
                entry = table.get(listed, [])
                if not isinstance(entry, list) or not all(isinstance(v, str) and v for v in entry):
                    raise EvsynthError(f"{label}.{listed} must be a list of strings")
            if not isinstance(table.get("where", ""), str):
                raise EvsynthError(f"{label}.where must be a string (a condition on the sheet's rows)")
            tables.append(PageTable(table["sheet"], table["title"], tuple(table.get("columns", [])),
                                    table.get("where", ""), tuple(table.get("footnotes", [])), number))
        out[key] = tuple(tables)
    return PageSettings(**out)  # type: ignore[arg-type]
