"""`evsynth screen`: pending list, decisions from the command line, dual-screening conflicts."""

from evsynth.cli.main import main
from evsynth.screening.log import load_log, save_log
from tests.support.living_helpers import decided, entry


def _log(tmp_path):
    save_log(tmp_path / "extracted" / "screening.csv", [
        entry(1, pmid="39000101", title="Transarterial chemoembolization of liver metastases", journal="J Vasc Interv Radiol"),
        decided(2, "exclude", reason="review/editorial"),
        entry(3, stage="full text", decision="maybe", reviewer="AB", date="2025-01-02"),
        decided(5, "include"),
        decided(4, "include", stage="full text", flag="retracted",
                flag_detail="RetractionIn PMID 39009999 (J Vasc Interv Radiol 2025)"),
    ])


def test_pending_list_is_readable_and_shows_flags_first(tmp_path, capsys):
    _log(tmp_path)
    assert main(["screen", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("FLAGGED (retraction watch):\n  ! R00004 RETRACTED:")
    assert "title/abstract: 1 to screen" in out and "full text: 1 to decide" in out
    assert "full text: 1 to assess (included on title/abstract)\nR00005  [title/abstract: include]" in out
    assert "R00001  [title/abstract: pending]  Author1 A · 2023 · J Vasc Interv Radiol · PMID 39000101" in out
    assert "    Transarterial chemoembolization of liver metastases" in out
    assert "R00002" not in out  # decided records are not asked again


def test_decide_from_the_command_line(tmp_path, capsys):
    _log(tmp_path)
    assert main(["screen", "--root", str(tmp_path), "--decide", "39000101", "exclude",
                 "--reason", "wrong population", "--reviewer", "CD", "--date", "2025-02-03"]) == 0
    assert capsys.readouterr().out.strip() == "R00001: title/abstract: exclude (wrong population) by CD"
    row = load_log(tmp_path / "extracted" / "screening.csv")[0]
    assert (row.decision, row.reason, row.reviewer, row.date) == ("exclude", "wrong population", "CD", "2025-02-03")
    assert main(["screen", "--root", str(tmp_path), "--decide", "R00003", "exclude",
                 "--reason", "because", "--reviewer", "CD"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("evsynth: error: reason 'because' is not in the controlled list") and err.count("\n") == 1
    assert main(["screen", "--root", str(tmp_path), "--decide", "R00003", "include",
                 "--reviewer", "CD", "--date", "3 Feb"]) == 1
    assert "expected a date YYYY-MM-DD" in capsys.readouterr().err


def test_conflicts_with_a_second_reviewer(tmp_path, capsys):
    _log(tmp_path)
    save_log(tmp_path / "extracted" / "screening-cd.csv", [
        decided(1, "include", reviewer="CD"),                         # main still pending
        decided(2, "include", reviewer="CD"),                         # main excluded
        decided(4, "exclude", stage="full text", reason="wrong population"),  # main included
        decided(9, "exclude", reason="not English"),                  # unknown to main log
        entry(3, stage="full text"),                                  # CD has not decided
    ])
    assert main(["screen", "--root", str(tmp_path), "--conflicts"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("screening-cd.csv: 4 to reconcile; title/abstract agreement ")
    kinds = [line.split("] ")[1].split(":")[0] for line in out[1:] if line.startswith("  R")]
    assert kinds == ["unreconciled", "decision", "decision", "unknown record"]
    assert "  R00002 [title/abstract] decision: main log exclude (review/editorial) by AB; cd: include by CD" in out


def test_bad_log_is_one_line_error(tmp_path, capsys):
    (tmp_path / "extracted").mkdir()
    (tmp_path / "extracted" / "screening.csv").write_text("record_id,pmid\nR00001,1\n")
    assert main(["screen", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "screening.csv:1: missing column(s): doi" in err and err.count("\n") == 1
    assert main(["screen", "--root", str(tmp_path / "none"), "--conflicts"]) == 1
    assert "none: no such project folder" in capsys.readouterr().err
    (tmp_path / "empty" / "extracted").mkdir(parents=True)
    assert main(["screen", "--root", str(tmp_path / "empty"), "--conflicts"]) == 1
    assert "no second reviewer's file" in capsys.readouterr().err


def test_explain_and_unmerge_from_the_command_line(tmp_path, capsys):
    from tests.support.living_helpers import RIS
    for name, source in [("embase.ris", "embase"), ("scopus.ris", "scopus")]:
        main(["import", str(RIS / name), "--source", source, "--root", str(tmp_path), "--date", "2025-03-12"])
    capsys.readouterr()
    assert main(["screen", "--root", str(tmp_path), "--explain", "R00002"]) == 0
    out = capsys.readouterr().out
    assert "first seen in embase on 2025-03-12; sources: embase; scopus" in out
    assert "M00002 2025-03-12 from scopus: matched by title+year+first_author = " in out
    assert "| 2022/2023 | muller" in out
    assert main(["screen", "--root", str(tmp_path), "--unmerge", "M00002", "--date", "2025-03-13"]) == 0
    assert capsys.readouterr().out.strip() == "M00002 undone: R00006 is a record of its own again (scopus, pending)"
    log = load_log(tmp_path / "extracted" / "screening.csv")
    assert log[1].source == "embase" and log[-1].first_author == "Muller, A."
    assert main(["screen", "--root", str(tmp_path), "--explain", "R00002"]) == 0
    assert "(reverted 2025-03-13)" in capsys.readouterr().out
    assert main(["screen", "--root", str(tmp_path), "--unmerge", "M00002"]) == 1
    assert "already reverted on 2025-03-13" in capsys.readouterr().err


def test_second_reviewer_screens_blind_and_conflicts_follow(tmp_path, capsys):
    _log(tmp_path)
    assert main(["screen", "--root", str(tmp_path), "--as", "cd", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("screening-cd.csv: 5 records (5 new from the main log)")
    second = load_log(tmp_path / "extracted" / "screening-cd.csv")
    assert all(e.decision == "pending" and not e.reviewer for e in second)  # blind to the main log
    assert second[3].flag == "retracted"  # flags are facts, not decisions: kept
    assert main(["screen", "--root", str(tmp_path), "--as", "cd", "--decide", "R00002", "include",
                 "--date", "2025-02-05"]) == 0
    assert capsys.readouterr().out.strip() == "screening-cd.csv: R00002: title/abstract: include by cd"
    assert load_log(tmp_path / "extracted" / "screening.csv")[1].decision == "exclude"  # main log untouched
    assert main(["screen", "--root", str(tmp_path), "--conflicts"]) == 0
    out = capsys.readouterr().out
    assert "screening-cd.csv: 1 to reconcile" in out
    assert "R00002 [title/abstract] decision: main log exclude (review/editorial) by AB; cd: include by cd" in out
    assert main(["screen", "--root", str(tmp_path), "--as", "C D"]) == 1
    assert "--as 'C D'" in capsys.readouterr().err
