"""A reviewer's whole update, end to end, on the loopback E-utilities server.

update -> screen (title/abstract, full text) -> extract -> fill the rows -> build
-> release -> a second update. The records are synthetic: nothing here is a
real post-seed study.
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest

from evsynth.cli.main import main
from tests.support.living_helpers import synthetic

QUERY = '''name = "lrt-liver"
version = 1
database = "pubmed"
term = "thyroid[tiab] AND liver[tiab]"
datetype = "pdat"
mindate = "2021/01/01"
maxdate = ""
rationale = "test query"
'''


def text_of(html: str, section: str) -> str:
    """The visible text of a section of the page, whitespace collapsed."""
    start = html.index(f'<section id="{section}"')
    body = html[start:html.index("</section>", start)]
    return re.sub(r" ([;,:.)])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", body).split()))


def table_rows(html: str, table_id: str) -> list[list[str]]:
    start = html.index(f'id="{table_id}"')
    body = html[html.index("<tbody>", start):html.index("</tbody>", start)]
    return [[" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def built_prisma() -> dict[str, str]:
    """The PRISMA counts of the last build (as reports/build-state.json keeps them)."""
    return json.loads(Path("reports/build-state.json").read_text())["current"]["prisma"]


def fill(path: Path, key: str, values: dict[str, str]) -> None:
    """Set cells of the row whose first cell is *key* (as a reviewer does in a spreadsheet)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    for row in rows[1:]:
        if row[0] == key:
            for column, value in values.items():
                row[header.index(column)] = value
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


@pytest.fixture
def living(project, eutils_server, monkeypatch):
    server = eutils_server([
        synthetic(33000001, "Radioembolisation of liver metastases from medullary thyroid carcinoma: a synthetic series",
                  edat=date(2026, 3, 10), doi="10.1000/synth.33000001", authors=("Rossi M", "Bianchi L")),
        synthetic(33000002, "Thyroid nodules and liver enzymes", edat=date(2026, 4, 2), authors=("Chen W",)),
    ], rate_limit=None)
    monkeypatch.setenv("EVSYNTH_EUTILS_URL", server.url)
    monkeypatch.setenv("EVSYNTH_EUTILS_RATE", "100")
    (project / "queries").mkdir()
    (project / "queries" / "lrt-liver.toml").write_text(QUERY)
    monkeypatch.chdir(project)
    return server


def test_update_screen_extract_build_release_and_update_again(living, project, capsys):
    ok = lambda *argv: main(list(argv)) == 0  # noqa: E731

    # 1. The update brings two records into the screening log.
    assert ok("update", "--today", "2026-06-30")
    assert "2 found, 2 new" in capsys.readouterr().out

    # 2. Screening: R00001 in at title/abstract and at full text; R00002 out.
    decide = ("screen", "--reviewer", "AB", "--date", "2026-07-01", "--decide")
    assert ok(*decide, "R00001", "include")
    assert ok(*decide, "R00001", "include", "--stage", "full text")
    assert ok(*decide, "R00002", "exclude", "--reason", "wrong population")
    capsys.readouterr()

    # 3. Extraction: the study row (identifiers and bibliography from the log) and a cohort row to fill.
    assert main(["extract", "R00002"]) == 1
    assert "R00002 is not included at full text (stage title/abstract, decision exclude)" in capsys.readouterr().err
    assert ok("extract", "R00001", "--version", "2026-12")
    out = capsys.readouterr().out
    assert "S29 added to extracted/studies.csv (row 19) from R00001, PMID 33000001, doi 10.1000/synth.33000001: " \
           "added in 2026-12, extraction = incomplete" in out
    assert "C29 added to extracted/cohorts.csv (row 20)" in out
    study = next(r for r in csv.DictReader(open("extracted/studies.csv", encoding="utf-8")) if r["study_id"] == "S29")
    assert study | {"title": ""} == {
        "study_id": "S29", "reference": "", "first_author": "Rossi", "citation_as_printed": "Rossi et al.",
        "year": "2026", "pmid": "33000001", "doi": "10.1000/synth.33000001", "thyroid_specific": "", "design": "",
        "note": "",
        "added_in": "2026-12", "extraction": "incomplete", "record_id": "R00001", "authors": "Rossi M; Bianchi L",
        "title": "", "journal": "Journal of Synthetic Oncology",
        "identified_by": "screening-log record R00001 (pubmed), included at full text by AB on 2026-07-01 (evsynth extract)"}
    assert study["title"].startswith("Radioembolisation of liver metastases")
    assert main(["extract", "R00001"]) == 0  # again: nothing duplicated, the rows are there
    assert "S29 already in extracted/studies.csv" in capsys.readouterr().out
    assert sum(1 for line in open("extracted/cohorts.csv", encoding="utf-8") if line.startswith("C29,")) == 1

    # 4. validate lists what is still to curate; build shows the study as awaiting extraction.
    assert ok("validate")
    out = capsys.readouterr().out
    assert "extracted/cohorts.csv:20:n_patients: to curate for S29 (added in 2026-12)" in out.splitlines()
    assert "extracted/studies.csv:19:thyroid_specific: to curate for S29 (added in 2026-12)" in out.splitlines()
    assert "extracted/: all sheets valid; analysis.toml: plan valid; awaiting extraction: S29 (19 to curate)" in out
    assert ok("build")
    html = Path("reports/review.html").read_text(encoding="utf-8")
    assert table_rows(html, "awaiting_extraction")[0][:4] == ["S29", "Rossi et al.", "2026-12", "R00001 (PMID 33000001)"]
    assert json.loads(Path("reports/counts.json").read_text())["current"]["literature"]["patients"] == 75
    capsys.readouterr()

    # 5. The reviewer fills the rows and marks the study complete.
    fill(Path("extracted/studies.csv"), "S29", {"thyroid_specific": "yes", "extraction": "complete"})
    fill(Path("extracted/cohorts.csv"), "C29", {
        "lrt": "TARE", "lrt_assignment": "assigned", "approach": "percutaneous", "histology": "MTC",
        "n_patients": "8", "n_mtc": "8", "n_ptc": "0", "n_ftc": "0", "n_htc": "0", "n_pdtc": "0",
        "lesion_pattern": "multiple",
        "size_kind": "not known", "symptomatic_response": "not reported", "structural_response": "reported",
        "recist": "yes", "resp_cr": "0", "resp_pr": "3", "resp_sd": "4", "resp_pd": "1", "resp_not_assessed": "0",
        "resp_uncategorised": "0", "ae_status": "none", "mixed_cohort": "no"})
    assert ok("validate")
    assert capsys.readouterr().out == "extracted/: all sheets valid; analysis.toml: plan valid\n"

    # 6. build passes; the page shows the current figures beside the 2021 version's; What changed names the study.
    assert ok("build")
    html = Path("reports/review.html").read_text(encoding="utf-8")
    summary = text_of(html, "summary")
    assert "18 studies; 17 in the 2021 version" in summary  # review.toml's [[page.figures]]
    assert "19 printed cohort rows (Table 2); 18 in the 2021 version" in summary
    assert "83 patients in the literature; 75 in the 2021 version" in summary
    changes = text_of(html, "changes")
    assert "Since the 2021 version: 1 study added (Rossi et al. 2026)" in changes
    assert table_rows(html, "version_added") == [["S29", "Rossi et al. 2026"]]
    moved = {(r[0], r[1]): (r[2], r[3]) for r in table_rows(html, "version_moved")}
    assert moved[("Counts (reports/counts.json)", "literature › patients")] == ("75", "83")
    before, after = moved[("Pooled estimates (with their CIs)", "Partial response — primary, crude proportion (below the small-k rule)")]
    assert before.endswith("k = 2") and after.endswith("k = 3")  # the plan pools case series: the 8-patient one joins
    assert table_rows(html, "changes_added") == [["S29", "Rossi et al. 2026"]]  # and since the previous build
    counts = json.loads(Path("reports/counts.json").read_text())
    assert counts["current"]["literature"]["patients"] == 83 and counts["versions"]["2021"]["literature"]["patients"] == 75

    # 7. The seed's claims still reproduce, on the seed's studies.
    assert ok("verify", "--all")
    out = capsys.readouterr().out
    assert "L02  reproduced    75 patients" in out and "(paper 75, sheets 75)" in out
    assert "0 differ" in out
    prisma = built_prisma()
    assert (prisma["previous_studies"], prisma["new_studies"], prisma["total_studies"]) == ("18", "1", "19")

    # 8. release makes the next version; the page then compares with it.
    assert main(["release", "2026-12", "--date", "2026-12-15"]) == 0
    out = capsys.readouterr().out
    assert "version 2026-12 released (2026-12-15): 18 studies (1 added since 2021: S29)" in out
    frozen = json.loads(Path("versions/2026-12.json").read_text())
    assert frozen["counts"]["literature"]["patients"] == 83 and "S29" in frozen["studies"]
    assert frozen["screening"]["settled_records"] == ["R00001", "R00002"]
    settings = tomllib.loads(Path("review.toml").read_text())
    assert [v["name"] for v in settings["versions"]] == ["2021", "2026-12"]
    assert settings["versions"][1]["figures"] == "versions/2026-12.json" and len(settings["versions"][1]["studies"]) == 18
    assert main(["release", "2026-12"]) == 1
    assert "already names version 2026-12" in capsys.readouterr().err
    assert ok("build")
    html = Path("reports/review.html").read_text(encoding="utf-8")
    # the sheets are exactly the release's: the page is version 2026-12, told against the version before it
    assert "83 patients in the literature; 75 in the 2021 version" in text_of(html, "summary")
    assert "1 study added (Rossi et al. 2026)" in text_of(html, "changes")
    assert list(json.loads(Path("reports/counts.json").read_text())["versions"]) == ["2021", "2026-12"]

    # 9. A second update continues from there: its window, its own PRISMA flow after the new version.
    living.add_records([synthetic(33000003, "Microwave ablation of thyroid cancer liver metastases",
                                  edat=date(2027, 1, 10), authors=("Ito K",))])
    assert ok("update", "--today", "2027-01-31")
    out = capsys.readouterr().out
    assert "lrt-liver: 2026/06/23 to 2027/01/31 by Entrez date: 1 found, 1 new" in out
    assert ok("build")
    prisma = built_prisma()
    assert (prisma["previous_studies"], prisma["new_studies"], prisma["total_studies"]) == ("19", "0", "19")
    assert prisma["databases › identified › pubmed"] == "1" and prisma["databases › awaiting_screening"] == "1"
    svg_text = " ".join(re.sub(r"<[^>]+>", " ", Path("reports/prisma.svg").read_text()).split())
    assert "18 studies of version 2026-12 + the authors&#39; case series" in svg_text.replace("'", "&#39;")
    assert main(["extract", "R00003"]) == 1
    assert "R00003 is not included at full text" in capsys.readouterr().err
