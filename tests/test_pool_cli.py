"""``evsynth pool``: JSON structure, readable output, exit codes and one-line errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from evsynth.core.json_numbers import stable
from evsynth.cli.main import build_parser, main
from evsynth.meta.pooling import pool_proportions

FIXTURE = Path(__file__).parent / "fixtures" / "review_response.csv"
TOP_KEYS = ["measure", "method", "test", "level", "k", "pooled", "transformed", "heterogeneity",
            "studies"]
POOLED = ["estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper"]
TRANSFORMED = ["estimate", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper"]
HETEROGENEITY = ["tau2", "tau2_ci_lower", "tau2_ci_upper", "i2", "h2", "q", "q_df", "q_pvalue"]
STUDY = ["study", "events", "total", "proportion", "ci_lower", "ci_upper", "weight"]
EXTRA_KEYS = ["basis", "basis_reason", "estimand", "crude", "marginal", "notes"]


def run_json(capsys, *argv):
    assert main(["pool", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def check_structure(d):
    assert list(d)[:len(TOP_KEYS)] == TOP_KEYS
    assert list(d["pooled"]) == POOLED
    assert list(d["transformed"]) == TRANSFORMED
    assert list(d["heterogeneity"]) == HETEROGENEITY
    for s in d["studies"]:
        assert list(s) == STUDY


def test_json_structure_and_values(capsys):
    d = run_json(capsys, FIXTURE)
    check_structure(d)
    assert list(d) == TOP_KEYS + EXTRA_KEYS  # no subgroups without --by
    assert (d["measure"], d["method"], d["test"], d["level"], d["k"]) == ("PLO", "REML", "z", 0.95, 9)
    assert [s["study"] for s in d["studies"]][:2] == ["Lorenz", "Fromigué"]
    # equals the library call at the JSON outputs' precision (evsynth.core.json_numbers), and the
    # library is checked against metafor in test_pooling_metafor
    lib = stable(pool_proportions([5, 5, 7, 1, 1, 1, 1, 1, 0], [10, 12, 7, 1, 1, 1, 1, 1, 1]).to_dict())
    assert d["pooled"] == lib["pooled"] and d["heterogeneity"] == lib["heterogeneity"]
    assert 0 < d["pooled"]["ci_lower"] < d["pooled"]["estimate"] < d["pooled"]["ci_upper"] < 1
    assert abs(sum(s["weight"] for s in d["studies"]) - 100) < 1e-5
    assert d["studies"][0]["proportion"] == 0.5


def test_json_with_by_has_subgroups_and_test_between(capsys):
    d = run_json(capsys, FIXTURE, "--by", "design", "--method", "DL", "--measure", "PFT",
                 "--test", "knha", "--level", "90")
    check_structure(d)
    assert list(d)[-2:] == ["subgroups", "test_between"]
    assert list(d["subgroups"]) == ["series", "case report"]
    for sub in d["subgroups"].values():
        check_structure(sub)
        assert sub["level"] == 0.9 and sub["method"] == "DL" and sub["test"] == "knha"
    assert d["subgroups"]["series"]["k"] == 3 and d["subgroups"]["case report"]["k"] == 6
    assert list(d["test_between"]) == ["q", "df", "pvalue", "model", "measure", "method", "subgroups",
                                       "excluded", "note"]
    # the case reports are all 1/1 or 0/1: described by their crude proportion, not tested
    assert d["subgroups"]["case report"]["basis"] == "crude"
    assert d["test_between"]["q"] is None and d["test_between"]["model"] == "DL"
    assert d["test_between"]["subgroups"] == ["series"]
    assert [e["subgroup"] for e in d["test_between"]["excluded"]] == ["case report"]
    assert "left out: case report" in d["test_between"]["note"]
    # with metafor's continuity correction both are pooled and compared
    d = run_json(capsys, FIXTURE, "--by", "design", "--method", "DL", "--measure", "PFT",
                 "--test", "knha", "--level", "90", "--fallback", "none")
    assert d["test_between"]["df"] == 1 and d["test_between"]["q"] >= 0
    assert d["test_between"]["subgroups"] == ["series", "case report"]


def test_json_nulls_not_nan(capsys, tmp_path):
    f = tmp_path / "one.csv"
    f.write_text("study,events,total\nOnly,3,14\n")
    d = run_json(capsys, f, "--method", "EE")
    assert d["k"] == 1
    assert d["pooled"]["pi_lower"] is None and d["heterogeneity"]["tau2_ci_lower"] is None
    assert d["heterogeneity"]["q"] == 0 and d["heterogeneity"]["q_pvalue"] == 1
    d = run_json(capsys, FIXTURE, "--method", "GLMM")
    assert all(s["weight"] is None for s in d["studies"])
    assert d["heterogeneity"]["tau2"] > 0


def test_readable_output_reads_like_results(capsys):
    assert main(["pool", str(FIXTURE), "--by", "design"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Pooled proportion ")
    assert "95% CI" in out and "I^2 =" in out and "Q = " in out and "tau^2 =" in out
    assert "Grozinsky-Glasberg" in out and "Test for subgroup differences" in out
    assert "nan" not in out.lower()


def test_registered_in_cli_and_help():
    help_text = build_parser().format_help()
    assert "pool" in help_text
    out = subprocess.run([sys.executable, "-m", "evsynth", "pool", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "--measure" in out.stdout and "GLMM" in out.stdout


@pytest.mark.parametrize("content,expected", [
    ("", ":1: empty file"),
    ("study,events\nA,1\n", ":1:total: missing column 'total'"),
    ("study,events,total\n", ":2: no studies"),
    ("study,events,total\nA,5,3\n", ":2:events: events (5) larger than total (3)"),
    ("study,events,total\nA,1,3\nB,-1,3\n", ":3:events: negative count: -1"),
    ("study,events,total\nA,1.5,3\n", ":2:events: not a whole number: '1.5'"),
    ("study,events,total\nA,1,ten\n", ":2:total: not a whole number: 'ten'"),
    ("study,events,total\nA,1,\n", ":2:total: empty cell"),
    ("study,events,total\nA,0,0\n", ":2:total: total must be at least 1"),
    ("study,events,total\n,1,2\n", ":2:study: empty study label"),
])
def test_bad_input_one_line_error(tmp_path, content, expected, capsys):
    f = tmp_path / "counts.csv"
    f.write_text(content)
    assert main(["pool", str(f)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"evsynth: error: {f}{expected}"), lines[0]
    assert captured.out == ""


def test_bad_input_from_the_shell_has_no_traceback(tmp_path):
    f = tmp_path / "counts.csv"
    f.write_text("study,events,total\nA,5,3\n")
    out = subprocess.run([sys.executable, "-m", "evsynth", "pool", str(f)], capture_output=True,
                         text=True)
    assert out.returncode == 1
    assert out.stderr == f"evsynth: error: {f}:2:events: events (5) larger than total (3)\n"


@pytest.mark.parametrize("argv,expected", [
    (["--by", "region"], ":1:region: missing column 'region'"),
    (["--method", "GLMM", "--measure", "PFT"], "GLMM pools on the logit scale"),
    (["--level", "150"], "--level must be between 0 and 100"),
])
def test_bad_options_one_line_error(argv, expected, capsys):
    assert main(["pool", str(FIXTURE), *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]


def test_unreadable_and_missing_file(tmp_path, capsys):
    assert main(["pool", str(tmp_path / "nope.csv")]) == 1
    assert "nope.csv: no such file" in capsys.readouterr().err
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("study,events,total\nFromigu\xe9,1,2\n".encode("latin-1"))
    assert main(["pool", str(bad)]) == 1
    assert "not UTF-8 text" in capsys.readouterr().err
    assert main(["pool", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_all_zero_reports_the_crude_proportion(tmp_path, capsys):
    f = tmp_path / "zero.csv"
    f.write_text("study,events,total\nA,0,10\nB,0,12\n")
    for method in ("GLMM", "REML"):
        assert main(["pool", str(f), "--method", method]) == 0
        out = capsys.readouterr().out
        assert out.startswith("Crude proportion 0.0% (95% CI 0.0% to 15.4%")  # binom.test(0, 22)
        assert f"Not pooled ({method}): every study has 0% events" in out and "nan" not in out.lower()
    # metafor's behaviour on request: the GLMM stops with one line, REML uses the 1/2 correction
    assert main(["pool", str(f), "--method", "GLMM", "--fallback", "none"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no study has an event" in err
    assert main(["pool", str(f), "--fallback", "none"]) == 0
    out = capsys.readouterr().out
    assert "continuity correction" in out and "nan" not in out.lower()


def test_json_never_has_nan_for_edge_sets(tmp_path, capsys):
    for content in ("study,events,total\nA,0,10\nB,0,12\nC,0,3\n",
                    "study,events,total\nA,10,10\nB,12,12\n",
                    "study,events,total\nA,3,14\n"):
        f = tmp_path / "edge.csv"
        f.write_text(content)
        for method in ("REML", "DL", "PM", "ML", "HE", "SJ", "EE"):
            for measure in ("PLO", "PFT", "PAS", "PR"):
                d = run_json(capsys, f, "--method", method, "--measure", measure, "--test", "knha")
                text = json.dumps(d, allow_nan=False)  # raises on NaN/inf
                assert "NaN" not in text
                assert d["pooled"]["estimate"] is not None and math.isfinite(d["pooled"]["estimate"])


def text_notes(out: str) -> list[str]:
    if "\nNotes:\n" not in out:
        return []
    return [line[2:] for line in out.split("\nNotes:\n", 1)[1].splitlines()]


@pytest.mark.parametrize("argv", [
    ["--method", "GLMM", "--by", "design"],  # LRT note, conditional vs marginal, crude subgroup
    ["--measure", "PR", "--by", "design", "--fallback", "none"],  # PR limits outside 0-1
    ["--method", "REML"],
])
def test_json_notes_are_the_text_notes(capsys, tmp_path, argv):
    assert main(["pool", str(FIXTURE), *argv]) == 0
    expected = text_notes(capsys.readouterr().out)
    d = run_json(capsys, FIXTURE, *argv)
    assert d["notes"] == expected
    if "GLMM" in argv:
        assert any("likelihood-ratio test" in n for n in expected)
        assert any("population-averaged" in n for n in expected)
        assert any(n.startswith("case report: Not pooled (GLMM)") for n in expected)
    if "PR" in argv:
        assert any("outside 0-1" in n for n in expected)


def test_json_notes_carry_the_step_size_retry_and_the_truncated_tau2_ci(capsys, tmp_path):
    f = tmp_path / "stepadj.csv"  # metafor's Fisher scoring needs stepadj = 0.5 (test_pooling_edges)
    rows = zip([13, 13, 4, 14, 7, 19, 14, 12, 8, 2, 15, 6], [13, 14, 4, 14, 7, 19, 14, 12, 9, 2, 15, 9])
    f.write_text("study,events,total\n" + "".join(f"S{i},{x},{n}\n" for i, (x, n) in enumerate(rows)))
    d = run_json(capsys, f)
    assert any("stepadj = 0.5" in n for n in d["notes"])
    g = tmp_path / "series.csv"
    g.write_text("study,events,total\nLorenz,5,10\nFromigue,5,12\nGrozinsky,7,7\n")
    d = run_json(capsys, g)
    assert any("search limit" in n for n in d["notes"])
    assert main(["pool", str(g)]) == 0
    assert text_notes(capsys.readouterr().out) == d["notes"]


def test_glmm_json_names_the_estimands(capsys):
    d = run_json(capsys, FIXTURE, "--method", "GLMM")
    assert d["estimand"] == "conditional (median-study) proportion" and d["basis"] == "model"
    m, c = d["marginal"], d["crude"]
    assert 0 < m["ci_lower"] < m["estimate"] < m["ci_upper"] < 1
    assert (c["events"], c["total"]) == (22, 35) and c["estimate"] == pytest.approx(22 / 35)
    # tau^2 > 0 and a conditional proportion above 1/2: the population average lies between it and 1/2
    assert 0.5 < m["estimate"] < d["pooled"]["estimate"]
    d = run_json(capsys, FIXTURE, "--method", "REML")
    assert d["marginal"] is None and "logit" in d["estimand"] and d["crude"]["total"] == 35
