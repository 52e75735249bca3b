"""Small builders shared by the living-update tests."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from evsynth.review.load import review_sheets
from evsynth.screening.log import ScreeningEntry, record_id

FIXTURES = Path(__file__).parents[1] / "fixtures"
RIS = FIXTURES / "ris"


def declare_sheets(root: Path) -> None:
    """Give the project at *root* the bundled review's sheet declarations (``sheets.toml``)."""
    shutil.copy2(FIXTURES.parents[1] / "sheets.toml", root / "sheets.toml")


def studies_csv(*rows: tuple[str, str, str, str, str, str]) -> str:
    """``studies.csv`` text with the bundled review's header (from its ``sheets.toml``); each row is
    (study_id, reference, first_author, year, pmid, doi), cited as "<first_author> et al." and
    thyroid-specific, every other column empty."""
    columns = review_sheets(FIXTURES.parents[1]).get("studies").columns
    lines = [",".join(columns)]
    for study_id, reference, first_author, year, pmid, doi in rows:
        given = {"study_id": study_id, "reference": reference, "first_author": first_author,
                 "citation_as_printed": f"{first_author} et al.", "year": year, "pmid": pmid, "doi": doi,
                 "thyroid_specific": "yes"}
        lines.append(",".join(given.get(c, "") for c in columns))
    return "\n".join(lines) + "\n"


def entry(number: int, **values: str) -> ScreeningEntry:
    """A pending title/abstract row with record id ``R0000<number>`` and the given values."""
    base = dict(record_id=record_id(number), source="pubmed", title=f"Title {number}",
                year="2023", first_author=f"Author{number} A")
    base.update(values)
    return ScreeningEntry(**base)


def decided(number: int, decision: str, stage: str = "title/abstract", reason: str = "",
            **values: str) -> ScreeningEntry:
    """A row with a decision made by reviewer ``AB`` on 2025-01-10."""
    base = dict(stage=stage, decision=decision, reason=reason, reviewer="AB", date="2025-01-10")
    return entry(number, **(base | values))


def synthetic(pmid: int, title: str, *, edat: date | None = None, doi: str = "",
              comments: tuple[tuple[str, str, str], ...] = (), authors: tuple[str, ...] = ("Rossi M",)):
    """A record for the loopback E-utilities server (entrez date *edat*, default 2024-01-15)."""
    from datetime import date as _date

    from tests.support.eutils_server import SyntheticRecord

    day = edat or _date(2024, 1, 15)
    return SyntheticRecord(pmid=pmid, title=title, edat=day, pdat=day, mdat=day, doi=doi,
                           comments=comments, authors=authors)
