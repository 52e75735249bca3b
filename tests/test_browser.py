"""The browser check itself: a real headless Chromium on pages made here with jinja2."""

import struct
from pathlib import Path

import jinja2
import pytest

from tests.support.browser import PageReport

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #999; padding: .25rem .6rem; text-align: left; }
tr { break-inside: avoid; }
.foot { font-size: 12px; }
</style></head>
<body data-review="{{ title }}">
<h1 title="{{ title }}">{{ title }}</h1>
<p class="lead" data-note='{{ note }}'>{{ note }}</p>
<table id="studies"><caption>{{ caption }}</caption>
<thead><tr>{% for c in columns %}<th scope="col" title="{{ c }}">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr>{% for cell in row %}<td title="{{ cell }}">{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table>
<p class="foot">{{ footnote }}</p>
<svg id="forest" role="img" width="420" height="{{ 30 * rows|length + 30 }}" viewBox="0 0 420 {{ 30 * rows|length + 30 }}">
<title>{{ caption }}</title>
{% for row in rows %}
<g><title>{{ row[0] }}</title>
<text x="4" y="{{ 30 * loop.index }}">{{ row[0] }}</text>
<line x1="220" x2="{{ 220 + 20 * loop.index }}" y1="{{ 30 * loop.index - 5 }}" y2="{{ 30 * loop.index - 5 }}" stroke="black"/>
<rect x="{{ 225 + 10 * loop.index }}" y="{{ 30 * loop.index - 10 }}" width="10" height="10" fill="#245"/></g>
{% endfor %}
<line x1="300" x2="300" y1="5" y2="{{ 30 * rows|length + 20 }}" stroke="#888" stroke-dasharray="4"/>
</svg>
<a href="#studies" title="{{ note }}">{{ note }}</a>
</body></html>
"""

# Payloads that execute if any text reaches the page unescaped, in element content,
# in a double-quoted attribute or in a single-quoted attribute.
PAYLOADS = (
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=1;alert('img')\">",
    "\"><svg onload=\"window.__xss=1;alert('svg')\">",
    "'><img src=x onerror=window.__xss=1>",
)


def render(path: Path, autoescape: bool, **fields) -> Path:
    env = jinja2.Environment(autoescape=autoescape, undefined=jinja2.StrictUndefined)
    path.write_text(env.from_string(PAGE).render(**fields), encoding="utf-8")
    return path


def ordinary_fields() -> dict:
    return dict(title="Liver-directed therapy: pooled response", note="Living review, 17 studies",
                caption="Table 2 Summary of studies", columns=["Study", "LRT", "n", "PR"],
                rows=[["Author A [7]", "TACE", 12, "5"], ["Author B [8]", "RFA", 6, "3"],
                      ["Author C [12]", "TAE+PEI", 4, "NR"]],
                footnote="NR not reported; NA* mixed cohort.")


def hostile_fields() -> dict:
    def bad(label: str) -> str:
        return f"{label} " + " ".join(PAYLOADS)
    return dict(title=bad("title"), note=bad("note"), caption=bad("caption"),
                columns=[bad(f"col{i}") for i in range(3)],
                rows=[[bad(f"r{r}c{c}") for c in range(3)] for r in range(2)],
                footnote=bad("footnote"))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", data[16:24])


def test_clean_page_loads_with_tables_and_svg_visible(chromium, tmp_path):
    page = render(tmp_path / "page.html", autoescape=True, **ordinary_fields())
    shot = tmp_path / "shots" / "page.png"
    report = chromium.open_page(page, selectors=("table#studies", "table#studies tbody tr",
                                                 "svg#forest", "svg#forest rect"),
                                screenshot=shot)
    report.assert_clean()
    assert report.loaded and report.title == "Liver-directed therapy: pooled response"
    assert report.elements["table#studies"].all_visible
    assert report.elements["table#studies tbody tr"].count == 3
    assert report.elements["table#studies tbody tr"].all_visible
    assert report.elements["svg#forest"].all_visible
    assert report.elements["svg#forest rect"].visible == 3
    assert "Author C [12]" in report.text and "TAE+PEI" in report.text
    width, height = png_size(shot)
    assert width == 1280 and height >= 400


def test_helper_reports_what_goes_wrong(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!doctype html><html><head><title>broken</title></head><body>"
        "<div id='shown'>here</div><div id='hidden' style='display:none'>gone</div>"
        "<img src='http://198.51.100.7/tracker.png' alt=''>"
        "<script>console.error('boom from console'); alert('hello');</script>"
        "<script>throw new Error('kaput');</script>"
        "</body></html>", encoding="utf-8")
    report = chromium.open_page(page, selectors=("#shown", "#hidden", "#absent"),
                                evaluate=("1 + 2", "typeof window.nothing"))
    assert report.loaded
    assert any("boom from console" in m for m in report.console_errors)
    assert any("kaput" in m for m in report.page_errors)
    assert report.dialogs == ("alert: hello",)
    assert report.blocked_requests == ("http://198.51.100.7/tracker.png",)
    assert report.elements["#shown"].all_visible
    assert report.elements["#hidden"].count == 1 and report.elements["#hidden"].visible == 0
    assert report.elements["#absent"].count == 0 and not report.elements["#absent"].all_visible
    assert report.values == {"1 + 2": 3, "typeof window.nothing": "undefined"}
    with pytest.raises(AssertionError, match="kaput"):
        report.assert_clean()


def test_missing_file_is_reported_not_loaded(chromium, tmp_path):
    report = chromium.open_page(tmp_path / "nowhere.html")
    assert not report.loaded
    assert report.problems and report.problems[0].startswith("page did not load")


def open_hostile(chromium, path: Path) -> PageReport:
    return chromium.open_page(path, selectors=("table#studies",),
                              evaluate=("typeof window.__xss", "document.scripts.length",
                                        "document.querySelectorAll('img').length"))


def test_escaped_payloads_do_not_execute(chromium, tmp_path):
    page = render(tmp_path / "escaped.html", autoescape=True, **hostile_fields())
    report = open_hostile(chromium, page)
    report.assert_clean()
    assert report.values["typeof window.__xss"] == "undefined"
    assert report.values["document.scripts.length"] == 0
    assert report.values["document.querySelectorAll('img').length"] == 0
    assert report.dialogs == ()
    # The payloads are shown to the reader as the text they are.
    assert f"r1c2 {' '.join(PAYLOADS)}" in report.text
    assert f"footnote {' '.join(PAYLOADS)}" in report.text
    assert report.elements["table#studies"].all_visible


def test_unescaped_payloads_would_execute(chromium, tmp_path):
    """Control: the same page without autoescaping runs the payloads, so the check above can fail."""
    page = render(tmp_path / "raw.html", autoescape=False, **hostile_fields())
    report = open_hostile(chromium, page)
    assert report.values["typeof window.__xss"] == "number"
    assert report.dialogs, "the alert() payloads should have fired"


def test_missing_browser_says_how_to_fix(tmp_path):
    from tests.support.browser import BrowserMissing, Chromium
    with pytest.raises(BrowserMissing, match=r"not found at .*nowhere/chromium: run `bash tests/setup.sh`"):
        Chromium(tmp_path / "profile", executable=tmp_path / "nowhere" / "chromium").start()


def test_print_media_applies_the_print_stylesheet(chromium, tmp_path):
    page = tmp_path / "print.html"
    page.write_text("<!doctype html><html><head><title>p</title><style>"
                    "@media print { nav { display: none } }</style></head>"
                    "<body><nav id='menu'>menu</nav><main id='text'>text</main></body></html>",
                    encoding="utf-8")
    screen = chromium.open_page(page, selectors=("#menu", "#text"))
    printed = chromium.open_page(page, selectors=("#menu", "#text"), media="print")
    assert screen.elements["#menu"].all_visible
    assert printed.elements["#menu"].visible == 0 and printed.elements["#text"].all_visible
