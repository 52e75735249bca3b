"""``evsynth build``: the rendered page, byte-identical rebuilds, and nothing written on bad input."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from evsynth.cli.main import main


class _Rows(HTMLParser):
    """Counts body rows per table id, and collects text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, int] = {}
        self._table: str | None = None
        self._in_body = False
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = 0
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table:
            self.rows[self._table] += 1
        elif tag in ("script", "link", "img", "iframe"):
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below *folder*, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _build(project: Path, capsys=None) -> int:
    return main(["build", "--root", str(project)])


def test_build_renders_tables_and_counts(project):
    assert _build(project) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    parser = _Rows()
    parser.feed(html)
    assert parser.rows["table1_case_series"] == 6
    assert parser.rows["table2_literature"] == 18
    assert parser.rows["table3_guidelines"] == 10
    assert parser.scripts == 0  # self-contained: no scripts, stylesheets, images or frames to fetch
    # The only links out are the References list's PubMed and DOI links (anchors: nothing is fetched).
    outside = re.sub(r'<a href="https://(pubmed\.ncbi\.nlm\.nih\.gov/\d+/|doi\.org/10\.[^"<>\s]+)" '
                     r'rel="noreferrer">', "", html)
    assert outside != html
    assert 'href="http' not in outside and "url(http" not in outside and "@import" not in outside
    assert html.count('<figure class="forest"') == 4  # one forest plot per pooled outcome, inline
    assert html.count('<figure class="prisma"') == 1
    assert (project / "reports" / "prisma.svg").read_text(encoding="utf-8").startswith("<svg")
    assert "RFA¹˒²" in html and "PR³ (n = 5)" in html and "infarction⁴" in html
    counts = json.loads((project / "reports" / "counts.json").read_text())
    assert counts["current"]["literature"]["patients"] == 75
    assert counts["current"]["case_series"]["procedures_by_response"] == {"PR": 2, "SD": 3, "PD": 1}
    assert list(counts["versions"]) == ["2021"] and counts["versions"]["2021"] == counts["current"]


def test_two_builds_are_byte_identical(project):
    assert _build(project) == 0
    first = _snapshot(project / "reports")
    assert _build(project) == 0
    second = _snapshot(project / "reports")
    assert first == second
    assert {"review.html", "counts.json", "supplementary/supplementary_tables.xlsx",
            "supplementary/supplementary_tables.docx", "supplementary/table2_literature.csv"} <= set(first)


def test_corrupted_sheet_leaves_the_previous_report_intact(project, capsys):
    assert _build(project) == 0
    before = _snapshot(project / "reports")
    (project / "extracted" / "cohorts.csv").write_text("cohort_id,study_id\nC1\n")
    assert _build(project) == 1
    out = capsys.readouterr()
    assert "extracted/cohorts.csv:1:" in out.out
    assert "Traceback" not in out.err
    after = _snapshot(project / "reports")
    assert after == before


def test_invalid_sheets_write_nothing_on_a_first_build(project):
    (project / "extracted" / "guidelines.csv").write_text("")
    assert _build(project) == 1
    assert not (project / "reports").exists()


def test_a_regressed_claim_fails_the_build(project, capsys):
    path = project / "extracted" / "case_procedures.csv"
    path.write_text(path.read_text().replace("P4-1,P4,1,yes,lenvatinib,TACE,4,32,SD",
                                             "P4-1,P4,1,yes,lenvatinib,TACE,4,32,PR"))
    assert _build(project) == 1
    err = capsys.readouterr().err
    assert "no longer reproduced" in err and "C16" in err
    assert not (project / "reports").exists()


def test_text_from_sheets_is_escaped(project):
    path = project / "extracted" / "guidelines.csv"
    path.write_text(path.read_text().replace("If both surgery and RFA are contraindicated",
                                             "<script>alert(1)</script> If both"))
    assert _build(project) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_retracted_included_study_is_shown_prominently(project):
    from evsynth.screening.log import ScreeningEntry, save_log

    entry = ScreeningEntry(record_id="R00001", pmid="123", source="pubmed", title="A retracted TACE series",
                           year="2020", first_author="Doe", stage="full text", decision="include", reviewer="AB", date="2026-11-01",
                           flag="retracted", flag_detail="RetractionIn: J Test 2024 (PMID 999)")
    save_log(project / "extracted" / "screening.csv", [entry])
    assert _build(project) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    alert = html[html.index('<section id="flags"'):html.index("</section>")]
    assert "retracted" in alert and "A retracted TACE series" in alert and "PMID 123" in alert
    assert html.index('id="flags"') < html.index('id="summary"')  # before everything else
    assert "full text: include" in html  # the screening summary


def test_an_invalid_screening_log_fails_the_build_and_writes_nothing(project, capsys):
    (project / "extracted" / "screening.csv").write_text("record_id,decision\nR1,perhaps\n")
    assert _build(project) == 1
    assert "screening.csv" in capsys.readouterr().err
    assert not (project / "reports").exists()
