"""RIS exports of four databases, imported one after the other with duplicates across them."""

from evsynth.cli.main import main
from evsynth.screening.dedup import load_merges
from evsynth.screening.ris import read_ris
from evsynth.screening.log import load_log
from tests.support.living_helpers import RIS, declare_sheets, studies_csv


def test_fields_are_read_from_each_database_style():
    embase = read_ris(RIS / "embase.ris", "embase")
    assert [r.year for r in embase] == [2023, 2022, 2023, 2021]
    assert embase[0].authors[0] == "Rossi, Marco"
    assert embase[0].journal == "Journal of Vascular and Interventional Radiology"
    assert embase[0].abstract.startswith("Background: Liver metastases")
    assert embase[3].doi == "https://doi.org/10.1000/edrv.2021.9"
    scopus = read_ris(RIS / "scopus.ris", "scopus")
    assert scopus[0].pmid == "39000101"  # "PubMed ID: ..." inside N1
    assert scopus[1].pmid == ""
    central = read_ris(RIS / "central.ris", "central")
    assert [r.pmid for r in central] == ["39000101", "", "39000303"]  # "PM  - PUBMED ..."
    wos = read_ris(RIS / "wos.ris", "wos")
    assert wos[0].doi == "10.1000/JNM.2023.77" and wos[0].year == 2023
    assert all(r.source == "wos" for r in wos)


def _import(tmp_path, name, source, capsys):
    code = main(["import", str(RIS / name), "--source", source, "--root", str(tmp_path),
                 "--date", "2025-03-12"])
    assert code == 0
    first, prisma = capsys.readouterr().out.strip().splitlines()
    column = "other methods" if source in ("websites", "handsearch", "citation searching") else "databases and registers"
    assert prisma == f"PRISMA 2020: records first seen in {source!r} count under 'Identification of studies via {column}'"
    return first


def test_four_imports_report_new_and_matched_by_key(tmp_path, capsys):
    assert _import(tmp_path, "embase.ris", "embase", capsys) == "embase.ris: 4 records, 4 new, 0 matched"
    assert _import(tmp_path, "scopus.ris", "scopus", capsys) == (
        "scopus.ris: 4 records, 1 new, 3 matched (1 by doi, 2 by title+year+first_author)")
    assert _import(tmp_path, "wos.ris", "wos", capsys) == (
        "wos.ris: 3 records, 1 new, 2 matched (2 by doi)")
    assert _import(tmp_path, "central.ris", "central", capsys) == (
        "central.ris: 3 records, 1 new, 2 matched (1 by pmid, 1 by title+year+first_author)")
    log = load_log(tmp_path / "extracted" / "screening.csv")
    assert len(log) == 7 and all(e.decision == "pending" for e in log)
    rossi = log[0]
    assert rossi.source == "embase; scopus; central"
    assert rossi.pmid == "39000101" and rossi.doi == "10.1000/jvir.2023.0101"
    assert [e.source for e in log if e.first_author.startswith("O'Brien")] == ["wos; central"]
    merges = load_merges(tmp_path / "extracted" / "merge-log.csv")
    assert len(merges) == 7 and {m.key for m in merges} == {"pmid", "doi", "title+year+first_author"}
    # Importing the same file again adds nothing.
    assert _import(tmp_path, "wos.ris", "wos", capsys) == (
        "wos.ris: 3 records, 0 new, 3 matched (2 by doi, 1 by title+year+first_author); "
        "3 of them already imported from wos")
    assert len(load_log(tmp_path / "extracted" / "screening.csv")) == 7
    assert len(load_merges(tmp_path / "extracted" / "merge-log.csv")) == 7  # seen again: not a new duplicate


def test_bad_ris_files_give_one_line_errors(tmp_path, capsys):
    empty = tmp_path / "empty.ris"
    empty.write_text("this is not RIS\n")
    assert main(["import", str(empty), "--source", "embase", "--root", str(tmp_path)]) == 1
    assert "empty.ris: no RIS references found" in capsys.readouterr().err
    latin = tmp_path / "latin1.ris"
    latin.write_bytes("TY  - JOUR\nTI  - M\xfcller\nER  - \n".encode("latin-1"))
    assert main(["import", str(latin), "--source", "embase", "--root", str(tmp_path)]) == 1
    assert "latin1.ris: not UTF-8 text" in capsys.readouterr().err
    untitled = tmp_path / "untitled.ris"
    untitled.write_text("TY  - JOUR\nAU  - Smith, J\nER  - \n")
    assert main(["import", str(untitled), "--source", "embase", "--root", str(tmp_path)]) == 1
    assert "reference 1 has no title" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "gone.ris"), "--source", "x", "--root", str(tmp_path)]) == 1
    assert "gone.ris: no such file" in capsys.readouterr().err
    assert main(["import", str(RIS / "wos.ris"), "--source", "W o S!", "--root", str(tmp_path)]) == 1
    assert "--source" in capsys.readouterr().err
    assert not (tmp_path / "extracted" / "screening.csv").exists()


def test_studies_of_the_previous_version_are_not_screened_again(tmp_path, capsys):
    (tmp_path / "extracted").mkdir()
    declare_sheets(tmp_path)
    (tmp_path / "extracted" / "studies.csv").write_text(studies_csv(("S20", "20", "Chen", "2023", "", "10.1000/JNM.2023.77")))
    assert _import(tmp_path, "wos.ris", "wos", capsys) == (
        "wos.ris: 3 records, 2 new, 0 matched; 1 already included in the previous version")
    assert not any("jnm" in e.doi for e in load_log(tmp_path / "extracted" / "screening.csv"))


def test_windows_line_ends_and_byte_order_mark(tmp_path):
    path = tmp_path / "export.ris"
    path.write_bytes(b"\xef\xbb\xbfTY  - JOUR\r\nTI  - CRLF title\r\nAU  - Smith, J\r\nPY  - 2020\r\nER  - \r\n\r\n")
    (record,) = read_ris(path, "embase")
    assert (record.title, record.authors, record.year) == ("CRLF title", ("Smith, J",), 2020)


def test_studies_are_read_by_the_sheet_engine_rule(tmp_path, capsys):
    """studies.csv is read strictly, as validate reads it: a bad cell is one file:row:column line,
    and a studies.csv without the sheets' declaration is not silently ignored."""
    (tmp_path / "extracted").mkdir()
    (tmp_path / "extracted" / "studies.csv").write_text(studies_csv(("S20", "20", "Chen", "2023", "", "")))
    assert main(["import", str(RIS / "wos.ris"), "--source", "wos", "--root", str(tmp_path)]) == 1
    assert "sheets.toml" in capsys.readouterr().err
    declare_sheets(tmp_path)
    (tmp_path / "extracted" / "studies.csv").write_text(studies_csv(("S20", "20", "Chen", "20x3", "", "")))
    assert main(["import", str(RIS / "wos.ris"), "--source", "wos", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("evsynth: error: extracted/studies.csv:2:year:") and err.count("\n") == 1
    assert not (tmp_path / "extracted" / "screening.csv").exists()


def test_handsearch_and_websites_count_under_other_methods(tmp_path, capsys):
    """PRISMA 2020: records found on websites or by hand searching are not 'databases and registers'."""
    from evsynth.screening.prisma import prisma_counts

    _import(tmp_path, "embase.ris", "embase", capsys)
    _import(tmp_path, "central.ris", "handsearch", capsys)
    _import(tmp_path, "wos.ris", "websites", capsys)
    entries = load_log(tmp_path / "extracted" / "screening.csv")
    merges = load_merges(tmp_path / "extracted" / "merge-log.csv")
    counts = prisma_counts(entries, merges, database_sources=["pubmed"])
    assert set(counts.databases.identified) == {"pubmed", "embase"}
    assert set(counts.other_methods.identified) == {"handsearch", "websites"}
    assert counts.databases.identified["embase"] == 4
    assert sum(counts.other_methods.identified.values()) == 6
