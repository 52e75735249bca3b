"""Text from the sheets (and from search manifests) is shown as text: hostile payloads in every
free-text cell of every sheet are built into the page, which is opened in Chromium."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from evsynth.review.load import review_sheets
from evsynth.sheets import engine as sheets
from evsynth.sheets.spec import SheetSpec
from evsynth.review.claims import verify_claims
from evsynth.cli.main import main
from evsynth.review.load import load_review
from evsynth.screening.log import ScreeningEntry, save_log
from tests.test_review_page import UNSOURCED_NUMBERS

PAYLOADS = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload="window.__xss=1">',
    "'><img src=x onerror=alert(1)>",
)
HOSTILE = " ".join(PAYLOADS)

#: Free-text columns that are keys the computations look up, not prose: left as they are.
LOOKUP_COLUMNS = {("footnotes", "marker"), ("claims", "metric"), ("claims", "expected"),
                  ("studies", "added_in"), ("claims", "version")}  # version names of review.toml
#: Columns that must stay empty where they are (a TKI is named only when one was given).
EMPTY_STAYS_EMPTY = {("case_procedures", "tki")}


ALL_SHEETS = review_sheets(Path(__file__).resolve().parents[1]).sheets


def hostile_columns(spec: SheetSpec) -> list[str]:
    """The free-text (``kind == "text"``) columns of *spec* except ids, references to ids and lookup keys."""
    return [f.name for f in spec.fields
            if f.kind == "text" and f.name != spec.id_column and not f.name.endswith("_id")
            and (spec.name, f.name) not in LOOKUP_COLUMNS]


def poison_sheets(root: Path) -> int:
    """Append the payloads to every hostile column of every sheet; return the cells changed."""
    changed = 0
    for spec in ALL_SHEETS:
        path = root / sheets.SHEETS_DIR / spec.filename
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header = rows[0]
        for column in hostile_columns(spec):
            if column not in header:  # an optional column the sheet leaves out
                continue
            index = header.index(column)
            for row in rows[1:]:
                if row[index] or (spec.name, column) not in EMPTY_STAYS_EMPTY:
                    row[index] = f"{row[index]} {HOSTILE}".strip()
                    changed += 1
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
    return changed


def reregister_claims(root: Path) -> None:
    """Claims that match adverse events by name no longer do: register what they now give."""
    results = {c.claim_id: c.status for c in verify_claims(load_review(root)) if c.regression}
    path = root / sheets.SHEETS_DIR / "claims.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    status = rows[0].index("expected_status")
    for row in rows[1:]:
        row[status] = results.get(row[0], row[status])
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def hostile_screening_log(root: Path) -> None:
    """A screening log whose free text (title, authors, journal, source, flag detail, notes...) is hostile;
    the first record is flagged as retracted, so the page's alert shows it."""
    text = {name: f"{name} {HOSTILE}" for name in ("title", "first_author", "authors", "journal", "flag_detail",
                                                    "notes", "reviewer")}
    save_log(root / "extracted" / "screening.csv", [
        ScreeningEntry(record_id="R00001", pmid="123", source=f"pubmed;{HOSTILE}", year="2020", stage="full text",
                       decision="include", date="2026-11-01", flag="retracted", **text),
        ScreeningEntry(record_id="R00002", pmid="124", source=HOSTILE, year="2021", decision="exclude",
                       reason="wrong population", date="2026-11-01", **text),
    ])


def hostile_manifest(root: Path) -> None:
    folder = root / "queries" / "runs" / "q1" / "20261120T080000Z"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({
        "query": {"name": f"lrt {HOSTILE}"}, "count": 3, "searched_utc": f"2026-11-20 {PAYLOADS[1]}",
        "finished_utc": "2026-11-20T08:00:09Z", "mindate": PAYLOADS[2], "maxdate": PAYLOADS[0]}))


CHECKS = (
    "typeof window.__xss",
    "document.scripts.length",
    "document.querySelectorAll('img, iframe, object, embed, [onload], [onerror]').length",
    "Array.from(document.querySelectorAll('svg')).filter(s => !s.parentElement.matches('figure.forest, figure.prisma')).length",
    "document.querySelectorAll('figure.forest > svg').length",
    "document.querySelectorAll('figure.forest svg script, figure.forest svg foreignObject').length",
    "Array.from(document.querySelectorAll('figure.forest svg text'))"
    ".filter(t => t.textContent.includes('<script>window.__xss=1</script>')).length",
    UNSOURCED_NUMBERS,
    "Array.from(document.querySelectorAll('figure.prisma svg text'))"
    ".some(t => t.textContent.includes('<script>window.__xss=1</script>'))",
)


def test_payloads_in_every_free_text_field_stay_text(project, chromium, tmp_path):
    assert main(["build", "--root", str(project)]) == 0  # a clean build first, so "what changed" shows them too
    changed = poison_sheets(project)
    assert changed > 200
    reregister_claims(project)
    hostile_manifest(project)
    hostile_screening_log(project)
    assert main(["build", "--root", str(project)]) == 0
    page = project / "reports" / "review.html"
    html = page.read_text(encoding="utf-8")
    assert "<script>window" not in html and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html

    report = chromium.open_page(page, evaluate=CHECKS, selectors=("table#table2_literature", "#changes_moved"),
                                screenshot=tmp_path / "hostile.png")
    report.assert_clean()  # also: no dialog fired, no request for "x"
    values = report.values
    assert values["typeof window.__xss"] == "undefined"
    assert report.dialogs == ()
    assert values["document.scripts.length"] == 0
    assert values["document.querySelectorAll('img, iframe, object, embed, [onload], [onerror]').length"] == 0
    assert values[CHECKS[3]] == 0  # every <svg> is one of the page's figures: none injected
    assert values["document.querySelectorAll('figure.forest > svg').length"] == 4
    assert values["document.querySelectorAll('figure.forest svg script, figure.forest svg foreignObject').length"] == 0
    # Study labels of the forest plots come from the sheets: drawn as text, every study of every plot.
    analyses = json.loads((project / "reports" / "analyses.json").read_text(encoding="utf-8"))
    assert values[CHECKS[-3]] >= sum(len(o["eligible"]) for o in analyses["outcomes"]) >= 4 * 2
    assert values[CHECKS[-1]] is True  # the screening log's source names reach the PRISMA diagram, as text
    assert values[UNSOURCED_NUMBERS] == []  # with a "what changed" section too, every number has provenance
    # The reader sees the payloads as the text they are: in tables, the header, the changes and the claims.
    # (forest plots, pooled tables and exclusions label a row by its study's citation, issue 19)
    for text in (f"Siperstein et al. {HOSTILE} [16]", f"lrt {HOSTILE}",
                 f"title {HOSTILE}", f"first_author {HOSTILE}", f"flag_detail {HOSTILE}"):
        assert text in report.text, text
    assert report.text.count(HOSTILE) > 100
    assert report.elements["table#table2_literature"].all_visible
    assert report.elements["#changes_moved"].all_visible


def test_hostile_columns_cover_every_free_text_column_but_ids_and_lookups():
    covered = {(s.name, c) for s in ALL_SHEETS for c in hostile_columns(s)}
    text_columns = {(s.name, f.name) for s in ALL_SHEETS for f in s.fields if f.kind == "text"}
    left = text_columns - covered
    assert left == LOOKUP_COLUMNS | {(s.name, f.name) for s in ALL_SHEETS for f in s.fields
                                     if f.kind == "text" and (f.name == s.id_column or f.name.endswith("_id"))}
    assert ("studies", "first_author") in covered and ("guidelines", "recommendation") in covered
    assert ("claims", "statement") in covered and ("case_patients", "other_metastatic_sites") in covered
