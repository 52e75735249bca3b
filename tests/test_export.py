"""Included studies exported to RIS, BibTeX and CSL-JSON; nothing invented."""

import json

import rispy

from evsynth.cli.main import main
from evsynth.screening.citations import bibtex_escape, dumps_bibtex, Citation, split_name
from evsynth.screening.log import save_log
from tests.support.living_helpers import decided, entry, declare_sheets, studies_csv


def _review(tmp_path):
    ext = tmp_path / "extracted"
    ext.mkdir()
    declare_sheets(tmp_path)
    (ext / "studies.csv").write_text(studies_csv(("S16", "16", "Fromigue", "", "", ""),
                                                 ("S17", "17", "Wertenbroek", "", "", "")))
    save_log(ext / "screening.csv", [
        decided(1, "include", stage="full text", pmid="39000101", doi="10.1000/jvir.2023.0101",
                title="TACE for liver metastases: 50% & more_{x}", authors="Rossi, Marco; Bianchi L",
                first_author="Rossi, Marco", journal="J Vasc Interv Radiol", year="2023"),
        decided(2, "exclude", reason="wrong population"),
        entry(3),
    ])
    return ext


def test_ris_export_round_trips_with_rispy(tmp_path, capsys):
    ext = _review(tmp_path)
    out = tmp_path / "inc.ris"
    assert main(["export", "--root", str(ext.parent), "--format", "ris", "--out", str(out)]) == 0
    assert "3 included studies (ris)" in capsys.readouterr().out
    refs = rispy.loads(out.read_text())
    assert [r.get("id") for r in refs] == ["S16", "S17", "R00001"]
    assert refs[0]["authors"] == ["Fromigue"] and "year" not in refs[0] and "doi" not in refs[0]
    assert refs[2]["doi"] == "10.1000/jvir.2023.0101" and refs[2]["authors"] == ["Rossi, Marco", "Bianchi L"]


def test_csl_json_and_bibtex(tmp_path, capsys):
    ext = _review(tmp_path)
    assert main(["export", "--root", str(ext.parent), "--format", "csl-json", "--out", "-"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert items[2]["author"] == [{"family": "Rossi", "given": "Marco"}, {"family": "Bianchi", "given": "L"}]
    assert items[2]["issued"] == {"date-parts": [[2023]]} and items[2]["PMID"] == "39000101"
    assert "issued" not in items[0] and "DOI" not in items[0] and items[0]["note"] == "Reference [16] of the source review"
    assert main(["export", "--root", str(ext.parent), "--format", "bibtex", "--out", "-"]) == 0
    bib = capsys.readouterr().out
    assert bib.count("@article{") == 3
    assert "@article{rossi2023," in bib
    assert r"title = {TACE for liver metastases: 50\% \& more\_\{x\}}" in bib
    assert "author = {Rossi, Marco and Bianchi, L}" in bib


def test_bibtex_helpers():
    assert bibtex_escape("a_b#c$d{e}~^\\") == r"a\_b\#c\$d\{e\}\textasciitilde{}\textasciicircum{}\textbackslash{}"
    assert split_name("World Health Organization") == {"literal": "World Health Organization"}
    keys = dumps_bibtex([Citation("a", ("Smith J",), year="2020"), Citation("b", ("Smith, K",), year="2020")])
    assert "@article{smith2020a," in keys and "@article{smith2020b," in keys
