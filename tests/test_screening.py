"""The screening log: schema errors as file:row:column, atomic stable writes, decisions."""

import pytest

from evsynth.core.errors import EvsynthError
from evsynth.screening.log import (
    COLUMNS, decide, load_log, render_log, save_log, split_sources, join_sources,
)
from tests.support.living_helpers import decided, entry


def test_round_trip_keeps_every_value_and_sorts_by_record_id(tmp_path):
    rows = [entry(12, title='Comma, "quotes" and\nnewline'), entry(3, pmid="123", doi="10.1/x"),
            decided(7, "exclude", reason="not English")]
    path = tmp_path / "screening.csv"
    save_log(path, rows)
    loaded = load_log(path)
    assert [e.record_id for e in loaded] == ["R00003", "R00007", "R00012"]
    assert sorted(loaded, key=lambda e: e.record_id) == sorted(rows, key=lambda e: e.record_id)
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    # Writing again gives byte-identical output: diffs stay small.
    assert render_log(loaded) == path.read_text()


def test_absent_log_is_empty_unless_required(tmp_path):
    assert load_log(tmp_path / "nope.csv") == []
    with pytest.raises(EvsynthError, match="no such file"):
        load_log(tmp_path / "nope.csv", missing_ok=False)


def _write(tmp_path, rows, mutate):
    path = tmp_path / "screening.csv"
    save_log(path, rows)
    lines = path.read_text().splitlines()
    lines = mutate(lines)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("old,new,expected", [
    (",title/abstract,pending,", ",abstract,pending,", "screening.csv:3:stage: stage must be one of"),
    (",title/abstract,pending,", ",title/abstract,yes,", "screening.csv:3:decision: decision must be one of"),
    (",title/abstract,pending,,,", ",full text,exclude,,AB,2025-01-01",
     "screening.csv:3:reason: an exclude at full text needs a reason"),
    (",title/abstract,pending,,,", ",title/abstract,exclude,too old,AB,2025-01-01",
     "screening.csv:3:reason: reason must be empty or one of"),
    (",title/abstract,pending,,,", ",title/abstract,include,,,2025-01-01",
     "screening.csv:3:reviewer: a decision 'include' needs a reviewer"),
    (",title/abstract,pending,,,", ",title/abstract,include,,AB,10/01/2025",
     "screening.csv:3:date: date must be YYYY-MM-DD"),
    (",title/abstract,pending,,,", ",title/abstract,exclude,full text not retrieved,AB,2025-01-01",
     "screening.csv:3:stage: reason 'full text not retrieved' needs stage 'full text'"),
    ("R00002,", "R00001,", "screening.csv:3:record_id: duplicate record id R00001"),
    ("R00002,", "R00002,12x3", None),
])
def test_bad_rows_name_file_row_and_column(tmp_path, old, new, expected):
    rows = [entry(1), entry(2)]
    def mutate(lines):
        lines[2] = lines[2].replace(old, new, 1)
        return lines
    if expected is None:  # PMID column, checked by the schema
        mutate_pmid = lambda lines: [lines[0], lines[1], lines[2].replace("R00002,,", "R00002,12x3,")]
        path = _write(tmp_path, rows, mutate_pmid)
        expected = "screening.csv:3:pmid: PMID must be digits"
    else:
        path = _write(tmp_path, rows, mutate)
    with pytest.raises(EvsynthError) as info:
        load_log(path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_column_is_reported(tmp_path):
    path = _write(tmp_path, [entry(1)], lambda lines: [l.replace(",decision,", ",verdict,") for l in lines])
    with pytest.raises(EvsynthError, match=r"screening.csv:1: missing column\(s\): decision"):
        load_log(path)


def test_unknown_column_is_refused_rather_than_lost(tmp_path):
    path = _write(tmp_path, [entry(1)], lambda lines: [lines[0] + ",my remark", lines[1] + ",keep me"])
    with pytest.raises(EvsynthError, match=r"screening.csv:1:my remark: unknown column \(put remarks in 'notes'\)"):
        load_log(path)


def test_validate_log_lists_every_problem(tmp_path):
    from evsynth.screening.log import validate_log
    assert validate_log(tmp_path / "absent.csv") == []
    path = _write(tmp_path, [entry(1), entry(2)],
                  lambda lines: [lines[0]] + [l.replace("pending", "maybe?") for l in lines[1:]])
    problems = validate_log(path)
    assert [p.split(": ")[0].rsplit("/", 1)[-1] for p in problems] == [
        "screening.csv:2:decision", "screening.csv:3:decision"]


def test_many_problems_report_the_first_and_a_count(tmp_path):
    path = _write(tmp_path, [entry(1), entry(2)],
                  lambda lines: [lines[0]] + [l.replace("pending", "maybe?") for l in lines[1:]])
    with pytest.raises(EvsynthError, match=r":2:decision: .* \(and 1 more\)"):
        load_log(path)


def test_decide_records_a_valid_decision_and_rejects_bad_ones():
    rows = [entry(1), entry(2, pmid="555")]
    out = decide(rows, "555", "exclude", reviewer="AB", date="2025-02-01", reason="wrong population")
    assert out[1].decision == "exclude" and out[1].reason == "wrong population"
    assert out[1].reviewer == "AB" and out[1].date == "2025-02-01"
    assert rows[1].decision == "pending"  # input unchanged
    moved = decide(out, "R00001", "include", reviewer="CD", date="2025-02-02", stage="full text")
    assert moved[0].is_included
    for kwargs, message in [
        (dict(decision="exclude", stage="full text"), "at full text needs --reason"),
        (dict(decision="exclude", reason="boring"), "not in the controlled list"),
        (dict(decision="include", reviewer=""), "needs --reviewer"),
        (dict(decision="include", reason="duplicate"), "only given with decision 'exclude'"),
        (dict(decision="accept"), "decision must be one of"),
        (dict(decision="exclude", reason="full text not retrieved"), "needs --stage 'full text'"),
    ]:
        args = dict(reviewer="AB", date="2025-02-01") | kwargs
        decision = args.pop("decision")
        with pytest.raises(EvsynthError, match=message):
            decide(rows, "R00001", decision, **args)
    with pytest.raises(EvsynthError, match="no record 'R09999'"):
        decide(rows, "R09999", "include", reviewer="AB", date="2025-02-01")
    # At title/abstract a reason is optional (PRISMA 2020 item 16b asks for it at full text).
    assert decide(rows, "R00001", "exclude", reviewer="AB", date="2025-02-01")[0].decision == "exclude"


def test_reasons_are_the_projects(tmp_path):
    from evsynth.screening.files import ReviewFiles
    (tmp_path / "extracted").mkdir()
    (tmp_path / "review.toml").write_text('exclusion_reasons = ["no comparator", "animal study"]\n')
    files = ReviewFiles(tmp_path / "extracted")
    assert files.reasons == ("no comparator", "animal study")
    save_log(files.screening, [entry(1, stage="full text", decision="exclude", reason="animal study",
                                     reviewer="AB", date="2025-01-01")])
    assert files.load_log()[0].reason == "animal study"
    with pytest.raises(EvsynthError, match="reason must be empty or one of: wrong population"):
        load_log(files.screening)  # the default list does not know the project's reason
    with pytest.raises(EvsynthError, match="not in the controlled list: no comparator, animal study"):
        decide(files.load_log(), "R00001", "exclude", reviewer="AB", date="2025-01-02",
               reason="wrong population", reasons=files.reasons)
    (tmp_path / "review.toml").write_text('exclusion_reasons = ["a", "a"]\n')
    with pytest.raises(EvsynthError, match="review.toml: exclusion_reasons names a reason twice"):
        files.reasons


def test_a_flagged_record_is_included_only_with_a_note():
    rows = [entry(1, flag="retracted", flag_detail="RetractionIn: J X. 2024 (PMID 9)"),
            entry(2, flag="expression of concern"), entry(3, flag="erratum")]
    for key in ("R00001", "R00002"):
        with pytest.raises(EvsynthError, match=rf"{key} is flagged .*--allow-retracted --note TEXT"):
            decide(rows, key, "include", reviewer="AB", date="2025-01-02")
        with pytest.raises(EvsynthError, match="needs --note"):
            decide(rows, key, "include", reviewer="AB", date="2025-01-02", allow_retracted=True)
    out = decide(rows, "R00001", "include", reviewer="AB", date="2025-01-02", allow_retracted=True,
                 note="data checked against the correction")
    assert out[0].decision == "include" and out[0].notes == (
        "included although retracted: data checked against the correction (AB, 2025-01-02)")
    assert decide(rows, "R00003", "include", reviewer="AB", date="2025-01-02")[2].decision == "include"
    assert decide(rows, "R00001", "exclude", reviewer="AB", date="2025-01-02",
                  reason="retracted")[0].decision == "exclude"


def test_sources_keep_arrival_order_without_repeats():
    assert split_sources(" pubmed ;embase;; scopus ") == ("pubmed", "embase", "scopus")
    assert join_sources(["embase", "pubmed", "embase"]) == "embase; pubmed"
