"""The real review page in a real browser: the bundled review built, opened in headless Chromium.

One build per module (``built``); every test opens it in the session's one
browser. Screenshots are saved under the tests' temporary folders.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from evsynth.cli.main import main

REPO = Path(__file__).resolve().parents[1]

#: Text nodes holding a digit that are not inside an element with a title (headings, captions,
#: footnotes, the header, the methods note and the plots' own labels aside).
UNSOURCED_NUMBERS = """(() => {
  const skip = 'header, nav, .footnotes, p.source, caption, thead, .note, h1, h2, h3, dl, svg, style';
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (/\\d/.test(n.textContent) && !el.closest(skip) && !el.closest('[title]')) found.push(n.textContent.trim());
  }
  return found;
})()"""

#: Rows of the meta-analysis tables whose title names neither cohort ids nor the subgroup levels tested.
POOLED_ROWS_WITHOUT_IDS = """Array.from(document.querySelectorAll('table[id^="pooled_"] tbody tr'))
  .filter(r => !/extracted\\/cohorts\\.csv \\(C\\d+[,)]|extracted\\/cohorts\\.csv \\(no eligible cohort|^Source: levels .+test_between_subgroups/.test(r.title))
  .map(r => r.title)"""

TABLES = {"table1_case_series": 6, "table2_literature": 21, "table3_guidelines": 10}  # 18 seed rows + 3 of 2026-12
FORESTS = ("pr", "orr", "dcr", "ae_g3")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled review built into a temporary project; returns reports/review.html."""
    project = tmp_path_factory.mktemp("review")
    shutil.copytree(REPO / "extracted", project / "extracted")
    shutil.copy2(REPO / "review.toml", project / "review.toml")
    shutil.copy2(REPO / "sheets.toml", project / "sheets.toml")
    shutil.copy2(REPO / "analysis.toml", project / "analysis.toml")
    shutil.copytree(REPO / "versions", project / "versions")
    assert main(["build", "--root", str(project)]) == 0
    return project / "reports" / "review.html"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    return struct.unpack(">II", data[16:24])


def test_page_loads_clean_with_tables_and_forest_plots_visible(chromium, built, tmp_path):
    selectors = ([f"table#{key}" for key in TABLES] + [f"table#{key} > tbody > tr" for key in TABLES]
                 + ["figure.forest > svg", "section#changes", "header #search-dates", "section#sources"]
                 + [f"#outcome-{key} figure.forest > svg" for key in FORESTS])
    shot = tmp_path / "review.png"
    report = chromium.open_page(built, selectors=selectors, screenshot=shot, evaluate=(
        "document.scripts.length",
        "document.querySelectorAll('img, iframe, link, object, embed').length",
        "document.querySelectorAll('figure.forest svg text').length",
        "Array.from(document.querySelectorAll('figure.forest svg')).map(s => s.getBoundingClientRect().height)",
        "document.querySelectorAll('tbody tr:not([title])').length",
        "document.querySelectorAll('tbody tr[title^=\"Source: \"]').length",
        "document.documentElement.scrollWidth <= window.innerWidth",
        UNSOURCED_NUMBERS,
        POOLED_ROWS_WITHOUT_IDS,
    ))
    report.assert_clean()  # no console errors, page errors, dialogs or requests leaving the file
    assert report.title.startswith("Loco-regional treatments")
    for key, rows in TABLES.items():
        assert report.elements[f"table#{key}"].all_visible, key
        body = report.elements[f"table#{key} > tbody > tr"]
        assert (body.count, body.visible) == (rows, rows), key
    for key in FORESTS:
        assert report.elements[f"#outcome-{key} figure.forest > svg"].all_visible, key
    assert report.elements["figure.forest > svg"].count == 4
    for selector in ("section#changes", "header #search-dates", "section#sources"):
        assert report.elements[selector].all_visible, selector
    values = report.values
    assert values["document.scripts.length"] == 0
    assert values["document.querySelectorAll('img, iframe, link, object, embed').length"] == 0
    assert values["document.querySelectorAll('figure.forest svg text').length"] > 4 * 20  # labels drawn as text
    assert all(h > 150 for h in values[
        "Array.from(document.querySelectorAll('figure.forest svg')).map(s => s.getBoundingClientRect().height)"])
    # Provenance: every table row says where its numbers come from.
    assert values["document.querySelectorAll('tbody tr:not([title])').length"] == 0
    assert values["document.querySelectorAll('tbody tr[title^=\"Source: \"]').length"] > 100
    assert values["document.documentElement.scrollWidth <= window.innerWidth"] is True
    assert values[UNSOURCED_NUMBERS] == []  # every number shown has a hover title saying where it comes from
    assert values[POOLED_ROWS_WITHOUT_IDS] == []  # pooled figures name their cohorts (sheet row ids)
    assert "There is no earlier build" in report.text
    assert "Bergamini et al. [8]" in report.text and "Wertenbroek et al. [12]" in report.text
    width, height = png_size(shot)
    assert width == 1280 and height > 3000


def test_print_media_applies_the_print_stylesheet(chromium, built, tmp_path):
    checks = (
        "Array.from(document.querySelectorAll('tr')).every(r => getComputedStyle(r).breakInside === 'avoid')",
        "document.querySelectorAll('tr').length",
        "getComputedStyle(document.querySelector('nav')).display",
        "getComputedStyle(document.querySelector('thead')).display",
        "Array.from(document.querySelectorAll('figure.forest')).every(f => getComputedStyle(f).breakInside === 'avoid')",
    )
    screen = chromium.open_page(built, evaluate=checks[:1] + checks[2:3])
    printed = chromium.open_page(built, evaluate=checks, media="print", selectors=("table#table2_literature",),
                                 screenshot=tmp_path / "review-print.png")
    printed.assert_clean()
    # On screen rows may split (control: the check can fail); in print no row is split across pages.
    assert screen.values[checks[0]] is False and screen.values[checks[2]] != "none"
    assert printed.values[checks[0]] is True and printed.values[checks[1]] > 100
    assert printed.values[checks[2]] == "none"
    assert printed.values[checks[3]] == "table-header-group"
    assert printed.values[checks[4]] is True
    assert printed.elements["table#table2_literature"].all_visible
    assert png_size(tmp_path / "review-print.png")[0] == 1280


WRAPPER = """(() => {
    const box = document.querySelector('#table2_literature').parentElement;
    return {cls: box.className, overflow: getComputedStyle(box).overflowX,
            inner: box.scrollWidth, outer: box.clientWidth};
})()"""


def test_narrow_screen_scrolls_tables_instead_of_the_page(chromium, built, tmp_path):
    """On a 390 px phone screen the page keeps its width; wide tables scroll inside their own box."""
    shot = tmp_path / "review-390.png"
    report = chromium.open_page(built, viewport={"width": 390, "height": 844}, screenshot=shot,
                                selectors=("table#table2_literature", "figure.forest > svg"),
                                evaluate=("document.documentElement.scrollWidth", "window.innerWidth", WRAPPER))
    report.assert_clean()
    assert report.values["window.innerWidth"] == 390
    assert report.values["document.documentElement.scrollWidth"] <= 390  # no sideways scrolling of the page
    wrapper = report.values[WRAPPER]
    assert wrapper["cls"] == "table-scroll" and wrapper["overflow"] == "auto"
    assert wrapper["inner"] > wrapper["outer"]  # Table 2 is wider than the phone: it scrolls in its own box
    assert report.elements["table#table2_literature"].all_visible
    assert report.elements["figure.forest > svg"].count == 4
    assert png_size(shot)[0] == 390
