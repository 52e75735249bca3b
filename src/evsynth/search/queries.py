"""Documented searches: one TOML file per query in ``queries/``.

A query file holds the exact string a reviewer submits to PubMed and why::

    name = "exercise-hypertension"         # must equal the file name without .toml
    version = 1                            # raise it whenever the term changes
    database = "pubmed"
    term = '("Hypertension"[mh] OR ...) AND ... AND english[la]'
    language = ["english"]                 # each must appear in term as <lang>[la]
    datetype = "pdat"                      # edat | pdat | mdat
    mindate = ""                           # YYYY, YYYY/MM or YYYY/MM/DD, or empty
    maxdate = ""
    rationale = "..."
    source = "..."                         # where the strategy is documented

Problems are reported as one line naming the file (and the TOML line when the
file does not parse).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from evsynth.core.errors import EvsynthError
from evsynth.core import toml_read
from evsynth.core.text import CONTROL_OR_BREAK

DATETYPES = ("edat", "pdat", "mdat")
DATABASES = ("pubmed",)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_DATE = re.compile(r"^(\d{4})(?:/(\d{1,2})(?:/(\d{1,2}))?)?$")
_KNOWN = {"name", "version", "database", "term", "language", "datetype", "mindate", "maxdate",
          "rationale", "source", "description"}


@dataclass(frozen=True)
class Query:
    """One documented search."""

    name: str
    term: str
    version: int = 1
    database: str = "pubmed"
    language: tuple[str, ...] = ()
    datetype: str = "pdat"
    mindate: str = ""
    maxdate: str = ""
    rationale: str = ""
    source: str = ""
    description: str = ""
    path: str = ""


def load_query(path: str | Path) -> Query:
    """Read and check one query file."""
    path = Path(path)
    where = str(path)
    try:
        data = toml_read.loads(path.read_text(encoding="utf-8"), where)
    except FileNotFoundError:
        raise EvsynthError(f"{where}: no such query file") from None
    except UnicodeDecodeError:
        raise EvsynthError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise EvsynthError(f"{where}: not valid TOML: {exc}") from None

    def fail(field: str, message: str) -> EvsynthError:
        return EvsynthError(f"{where}: field '{field}': {message}")

    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise fail(unknown[0], f"unknown field (known: {', '.join(sorted(_KNOWN))})")
    for field in ("name", "term"):
        if not isinstance(data.get(field), str) or not data[field].strip():
            raise fail(field, "required, a non-empty string")
    for field in ("database", "datetype", "mindate", "maxdate", "rationale", "source",
                  "description"):
        if field in data and not isinstance(data[field], str):
            raise fail(field, "must be a string")
    name = data["name"].strip()
    if not _NAME.match(name):
        raise fail("name", f"{name!r}: use lower-case letters, digits, '.', '_' or '-'")
    if name != path.stem:
        raise fail("name", f"{name!r} must equal the file name {path.stem!r}")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail("version", "must be a positive integer")
    database = data.get("database", "pubmed")
    if database not in DATABASES:
        raise fail("database", f"{database!r} is not supported (only {', '.join(DATABASES)})")
    datetype = data.get("datetype", "pdat")
    if datetype not in DATETYPES:
        raise fail("datetype", f"must be one of {', '.join(DATETYPES)}, not {datetype!r}")
    term = " ".join(data["term"].split())
    problem = term_problem(term)
    if problem:
        raise fail("term", problem)
    language = data.get("language", [])
    if isinstance(language, str):
        language = [language]
    if not isinstance(language, list) or not all(isinstance(x, str) for x in language):
        raise fail("language", "must be a list of strings")
    for lang in language:
        if not re.search(rf"\b{re.escape(lang)}\[(la|lang|language)\]", term, re.IGNORECASE):
            raise fail("language", f"{lang!r} is not in the term as {lang}[la]")
    mindate, maxdate = data.get("mindate", ""), data.get("maxdate", "")
    for field, value in (("mindate", mindate), ("maxdate", maxdate)):
        try:
            parse_pubmed_date(value, end=field == "maxdate")
        except ValueError as exc:
            raise fail(field, str(exc)) from None
    return Query(name=name, term=term, version=version, database=database,
                 language=tuple(language), datetype=datetype, mindate=mindate, maxdate=maxdate,
                 rationale=" ".join(str(data.get("rationale", "")).split()),
                 source=" ".join(str(data.get("source", "")).split()),
                 description=" ".join(str(data.get("description", "")).split()),
                 path=path.as_posix())


def load_queries(folder: str | Path) -> list[Query]:
    """Every ``*.toml`` query in *folder*, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvsynthError(f"{folder}: no queries folder")
    queries = [load_query(p) for p in sorted(folder.glob("*.toml"))]
    if not queries:
        raise EvsynthError(f"{folder}: no query files (*.toml)")
    return queries


def find_query(folder: str | Path, name: str) -> Query:
    """The query called *name* in *folder*."""
    path = Path(folder) / f"{name}.toml"
    if not path.exists():
        names = sorted(p.stem for p in Path(folder).glob("*.toml"))
        raise EvsynthError(f"{path}: no such query (known: {', '.join(names) or 'none'})")
    return load_query(path)


#: The longest query term evsynth sends (PubMed's own search box stops far earlier; a longer
#: term is a file gone wrong, and its error lines would be unreadable).
MAX_TERM_CHARS = 20_000


def term_problem(term: str) -> str:
    """Why *term* cannot be a PubMed query (too long, an invisible control character,
    unbalanced quotes/parentheses/brackets), or ``""``."""
    if len(term) > MAX_TERM_CHARS:
        return f"{len(term):,} characters, over the limit of {MAX_TERM_CHARS:,} for a query term"
    control = CONTROL_OR_BREAK.search(term)
    if control:
        return (f"holds the invisible character U+{ord(control.group()):04X} at position "
                f"{control.start() + 1}; delete it")
    if term.count('"') % 2:
        return "unbalanced double quotes"
    depth = 0
    outside = re.sub(r'"[^"]*"', '""', term)
    for ch in outside:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return "a ')' closes nothing"
    if depth:
        return "unbalanced parentheses"
    if outside.count("[") != outside.count("]"):
        return "unbalanced field tags [..]"
    return ""


def parse_pubmed_date(text: str, *, end: bool) -> date | None:
    """PubMed's ``YYYY``, ``YYYY/MM`` or ``YYYY/MM/DD`` as a day (a range end takes its last day)."""
    text = (text or "").strip()
    if not text:
        return None
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a PubMed date (YYYY, YYYY/MM or YYYY/MM/DD)")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            if not end:
                return date(year, month, 1)
            first_next = date(year + (month == 12), month % 12 + 1, 1)
            return first_next - timedelta(days=1)
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


def format_pubmed_date(day: date) -> str:
    """``YYYY/MM/DD``, as esearch's mindate/maxdate take it."""
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


_FIELD_LIMIT = re.compile(r"\b\w+\[(?:la|lang|language|pt|dp|pdat|edat|mdat|sb)\]", re.IGNORECASE)


def highlight_terms(term: str) -> tuple[str, ...]:
    """The words and phrases of a PubMed query a screener wants highlighted, lower-case.

    Quoted phrases are kept whole (``"bone metastases"``), field tags (``[mh]``,
    ``[tiab]``) and the operators AND/OR/NOT are dropped, limits such as
    ``english[la]`` too; a truncation ``chemoemboli*`` becomes the prefix
    ``chemoemboli``; a MeSH subheading (``bone neoplasms/secondary``) keeps its
    heading. Words shorter than three letters are left out (they would light up
    everywhere).
    """
    text = _FIELD_LIMIT.sub(" ", term)
    found: list[str] = []
    for phrase in re.findall(r'"([^"]+)"', text):
        found.append(phrase.split("/")[0])
    text = re.sub(r'"[^"]*"', " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    for word in re.findall(r"[\w\-*]+", text):
        if word.upper() in {"AND", "OR", "NOT"}:
            continue
        found.append(word)
    out: list[str] = []
    for item in found:
        item = " ".join(item.replace("*", "").split()).lower()
        if len(item) >= 3 and item not in out:
            out.append(item)
    return tuple(out)


def query_terms(queries_dir: Path) -> tuple[str, ...]:
    """The highlight terms of every documented query in *queries_dir* (none when it is absent)."""
    if not queries_dir.is_dir():
        return ()
    terms: list[str] = []
    for query in load_queries(queries_dir):
        terms.extend(t for t in highlight_terms(query.term) if t not in terms)
    return tuple(terms)
