"""`evsynth simulate`: the JSON it prints, the files it writes, and its one-line errors."""

import csv
import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from evsynth.cli.main import main
from evsynth.prioritise.simulate import wss
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "drug_class_review"
NSAIDS = DATA / "NSAIDS.csv"


def run(capsys, *args):
    code = main(["simulate", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_schema_and_files(tmp_path, capsys):
    out_dir = tmp_path / "sim"
    code, out, err = run(capsys, NSAIDS, "--label", "label2", "--relevant", "I", "--seeds", "2",
                         "--out", out_dir, "--root", tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert list(result) == ["records", "relevant", "target_recall", "confidence",
                            "stopping_rule", "stopping_correction", "sample_after", "runs",
                            "summary"]
    assert result["stopping_correction"] == "bonferroni" and result["sample_after"] is None
    assert result["stopping_rule"] == "hypergeometric"  # review.toml's default
    assert (result["records"], result["relevant"]) == (393, 41)
    assert (result["target_recall"], result["confidence"]) == (0.95, 0.95)
    assert [r["seed"] for r in result["runs"]] == [0, 1]
    for r in result["runs"]:
        assert list(r) == ["seed", "wss95", "wss100", "stopped_at", "recall_at_stop"]
        assert isinstance(r["wss95"], float) and isinstance(r["wss100"], float)
        assert 0.3 < r["wss95"] < 0.95 and -0.05 < r["wss100"] <= r["wss95"] + 0.05
        assert isinstance(r["stopped_at"], int) and 1 <= r["stopped_at"] <= 393
        assert r["recall_at_stop"] >= 0.95
        # the CSV curve agrees with the JSON
        lines = (out_dir / f"recall-seed{r['seed']}.csv").read_text().splitlines()
        assert lines[:2] == ["screened,includes_found", "0,0"] and len(lines) == 393 + 2
        assert lines[-1] == "393,41"
        rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
        found = [int(row["includes_found"]) for row in rows]
        assert all(b - a in (0, 1) for a, b in zip(found, found[1:]))
        assert found[r["stopped_at"]] / 41 == pytest.approx(r["recall_at_stop"], abs=1e-6)
        labels_in_order = np.diff(found)
        assert wss(labels_in_order, 0.95) == pytest.approx(r["wss95"], abs=1e-6)
    summary = result["summary"]
    assert summary["seeds"] == 2 and summary["stopped_runs"] == 2
    assert summary["wss95"]["mean"] == pytest.approx(np.mean([r["wss95"] for r in result["runs"]]), abs=1e-6)
    assert summary["share_of_runs_reaching_target"] == 1.0
    assert summary["records_saved"]["min"] == pytest.approx(
        1 - max(r["stopped_at"] for r in result["runs"]) / 393, abs=1e-6)
    svg = ET.fromstring((out_dir / "recall-curves.svg").read_text())
    assert svg.tag.endswith("svg")
    assert "includes found" in (out_dir / "recall-curves.svg").read_text()
    assert json.loads((out_dir / "simulation.json").read_text()) == result
    assert "seed 1: WSS@95" in err


def test_same_seed_same_result_and_settings_from_review_toml(tmp_path, capsys):
    (tmp_path / "review.toml").write_text("[screening]\ntarget_recall = 0.9\nconfidence = 0.8\n")
    args = (NSAIDS, "--label", "label2", "--relevant", "I", "--seeds", "1", "--root", tmp_path)
    first = json.loads(run(capsys, *args)[1])
    second = json.loads(run(capsys, *args)[1])
    assert first == second
    assert (first["target_recall"], first["confidence"]) == (0.9, 0.8)
    stricter = json.loads(run(capsys, *args, "--target-recall", "0.99", "--confidence", "0.99")[1])
    assert stricter["runs"][0]["wss95"] == first["runs"][0]["wss95"]  # same order
    assert stricter["runs"][0]["stopped_at"] > first["runs"][0]["stopped_at"]
    # the published rule without the correction stops no later, on the same order
    plain = json.loads(run(capsys, *args, "--stopping-correction", "none")[1])
    assert plain["stopping_correction"] == "none"
    assert plain["runs"][0]["wss95"] == first["runs"][0]["wss95"]
    assert plain["runs"][0]["stopped_at"] <= first["runs"][0]["stopped_at"]


def test_the_random_sample_check_replayed(tmp_path, capsys):
    """--sample-after N: ranked until N excludes in a row, then the rest in a random order;
    the sample check decides the stop, and the curve is the order actually followed."""
    from evsynth.prioritise.ranking import build_features
    from evsynth.prioritise.simulate import parse_labelled_csv, replay, switch_to_sample
    from evsynth.prioritise.stopping import first_sample_stop

    out_dir = tmp_path / "sim"
    code, out, err = run(capsys, NSAIDS, "--label", "label2", "--relevant", "I", "--seeds", "1",
                         "--sample-after", "40", "--out", out_dir, "--root", tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert result["sample_after"] == 40
    one = result["runs"][0]
    # the same replay by hand
    data = parse_labelled_csv(NSAIDS.read_text(encoding="utf-8"), "NSAIDS.csv", "label2", "I")
    ranked = replay(build_features(data.titles, data.abstracts, data.keywords), data.labels, 0)
    followed, switch = switch_to_sample(ranked, data.labels, 40, 0)
    assert switch is not None and 40 <= switch < 393
    labels = data.labels[ranked]
    assert labels[switch - 40:switch].sum() == 0 and (followed[:switch] == ranked[:switch]).all()
    assert sorted(followed[switch:]) == sorted(ranked[switch:])
    assert not (followed[switch:] == ranked[switch:]).all()  # the rest is reshuffled
    drawn = first_sample_stop(data.labels[followed][switch:],
                              int(data.labels[followed][:switch].sum()))
    assert one["stopped_at"] == switch + drawn
    assert one["recall_at_stop"] == pytest.approx(
        data.labels[followed][:one["stopped_at"]].sum() / 41, abs=1e-6)
    found = [int(line.split(",")[1]) for line in
             (out_dir / "recall-seed0.csv").read_text().splitlines()[2:]]
    assert found == np.cumsum(data.labels[followed]).tolist()
    code, _, err = run(capsys, NSAIDS, "--label", "label2", "--relevant", "I", "--sample-after", "0")
    assert code == 1 and "--sample-after must be at least 1" in err


def write(path, rows, header=("title", "abstract", "label")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def small_rows(n=60, abstracts=True):
    rows = []
    for i in range(n):
        include = i % 10 == 0
        title = (f"Transarterial chemoembolization for liver metastases, series {i}" if include
                 else f"Knee replacement outcomes in cohort {i}")
        rows.append((title, f"We report patients {i}." if abstracts else "", "yes" if include else "no"))
    return rows


def test_no_abstracts_ranks_on_titles(tmp_path, capsys):
    path = write(tmp_path / "titles.csv", small_rows(abstracts=False))
    code, out, err = run(capsys, path, "--label", "label", "--seeds", "1", "--root", tmp_path)
    assert code == 0
    assert "no abstracts; ranking on titles only" in err
    result = json.loads(out)
    assert (result["records"], result["relevant"]) == (60, 6)
    assert result["runs"][0]["wss95"] > 0.5  # the titles alone separate these


@pytest.mark.parametrize("rows, extra, message", [
    ([("a", "b", "no")] * 5, (), "column label: all 5 records are excludes; a simulation needs "
                                 "at least one include and one exclude"),
    ([("a", "b", "include")] * 3, (), "all 3 records are includes"),
    ([("a", "b", "1"), ("c", "d", "maybe")], (),
     "line 3, column label: 'maybe' is not a screening label (1/0, yes/no, I/E or include/exclude)"),
    ([("a", "b", "1"), ("c", "d", "")], (), "line 3, column label: an empty value is not a screening label"),
    ([("a", "b", "I"), ("c", "d", "E")], ("--relevant", "X"), "no label equals --relevant 'X'"),
    ([], (), "no records below the header"),
    ([("a", "b", "1"), ("c", "d")], (), "line 3: 2 fields, the header has 3"),
    ([("", "", "1"), ("", "", "0")], (), "every title, abstract and keyword is empty"),
    ([("a", "b", "1")], ("--seeds", "0"), "--seeds must be at least 1"),
    ([("a", "b", "1")], ("--target-recall", "1.5"), "target recall must be above 0 and at most 1"),
])
def test_bad_data_is_one_line_and_exit_1(tmp_path, capsys, rows, extra, message):
    path = write(tmp_path / "set.csv", rows)
    code, out, err = run(capsys, path, "--label", "label", *extra, "--root", tmp_path)
    assert code == 1 and out == ""
    assert message in err
    assert err.count("\n") == 1 and err.startswith("evsynth: error: ")


def test_a_quoted_abstract_over_several_lines_keeps_line_numbers_right(tmp_path, capsys):
    path = write(tmp_path / "set.csv", [("a", "line one\nline two\nline three", "1"),
                                        ("b", "c", "0"), ("d", "e", "?")])
    code, _, err = run(capsys, path, "--label", "label", "--root", tmp_path)
    assert code == 1 and "set.csv: line 6, column label: '?'" in err


@pytest.mark.parametrize("header, args, message", [
    (("name", "abstract", "label"), ("--label", "label"), "line 1: no column 'title'"),
    (("title", "summary", "label"), ("--label", "label"), "no column 'abstract' or 'abstracts'"),
    (("title", "abstract", "label"), ("--label", "decision"), "no column 'decision' (given by --label"),
])
def test_missing_columns(tmp_path, capsys, header, args, message):
    path = write(tmp_path / "set.csv", [("a", "b", "1")], header=header)
    code, _, err = run(capsys, path, *args, "--root", tmp_path)
    assert code == 1 and message in err


def test_cohen_labels_need_relevant(capsys):
    code, _, err = run(capsys, NSAIDS, "--label", "label2")
    assert code == 1
    assert "NSAIDS.csv: line " in err and "column label2" in err and "use --relevant VALUE" in err


def test_missing_file_and_empty_file(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "nope.csv", "--label", "x", "--root", tmp_path)
    assert code == 1 and "nope.csv: no such file" in err
    (tmp_path / "empty.csv").write_text("")
    code, _, err = run(capsys, tmp_path / "empty.csv", "--label", "x", "--root", tmp_path)
    assert code == 1 and "empty.csv: empty file, no header line" in err


def test_replay_stops_retraining_once_every_include_is_found():
    # after the last include the replay keeps the ranking of that moment; every score depends
    # on the decisions in order only, and those are all excludes there: the same as retraining
    # to the end (the reference loop below), for the scores and the stopping rules
    from evsynth.prioritise.ranking import batch_size, build_features, order_rows, random_keys
    from evsynth.prioritise.simulate import judge, parse_labelled_csv, random_start, replay

    data = parse_labelled_csv(NSAIDS.read_text(encoding="utf-8"), NSAIDS.name, "label2", "I")
    features = build_features(data.titles, data.abstracts, data.keywords)
    labels, total, seed = data.labels, data.records, 3
    tiebreak = random_keys([str(i) for i in range(total)], seed)
    reference = random_start(labels, seed, tiebreak)
    state = np.full(total, -1, dtype=np.int64)
    state[reference] = labels[reference]
    trainings = 0
    while len(reference) < total:
        trainings += 1
        for row in order_rows(features, state, tiebreak, seed)[:batch_size(len(reference), total)]:
            reference.append(int(row))
            state[row] = labels[row]
    reference = np.array(reference)
    calls = []

    def counting(*args):
        from evsynth.prioritise.ranking import scores
        calls.append(1)
        return scores(*args)

    order = replay(features, labels, seed, counting)
    assert sorted(order.tolist()) == list(range(total))
    assert np.array_equal(labels[order], labels[reference])
    last = int(np.flatnonzero(labels[order])[-1])
    assert np.array_equal(order[:last + 1], reference[:last + 1])
    assert len(calls) < trainings  # the retrainings after the last include were skipped
    for after in (None, 20, 60):
        got = judge(order, labels, seed, 0.95, 0.95, sample_after=after)
        expected = judge(reference, labels, seed, 0.95, 0.95, sample_after=after)
        assert got.to_json() == expected.to_json()
        assert np.array_equal(got.curve, expected.curve)


def test_the_summary_names_the_retraining_schedule_of_the_set_size():
    from evsynth.prioritise.simulate import LabelledSet, SimulationRun, summary

    run = SimulationRun(seed=0, wss95=0.5, wss100=0.2, stopped_at=None, recall_at_stop=None,
                        curve=np.zeros(1))
    said = {}
    for n in (393, 10_000, 50_000):
        data = LabelledSet(name="x", titles=("t",) * n, abstracts=("a",) * n, keywords=("",) * n,
                           labels=np.zeros(n, dtype=np.int64))
        said[n] = summary(data, [run], 0.95)["retrain"]
    assert said[393] == ("after every decision for the first 100 records, then after every 1 % "
                         "of the records screened so far")
    assert said[10_000] == ("after every decision for the first 50 records, then after every 2 % "
                            "of the records screened so far")
    assert said[50_000] == ("after every decision for the first 10 records, then after every 10 % "
                            "of the records screened so far")
