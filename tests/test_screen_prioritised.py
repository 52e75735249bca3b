"""`evsynth screen` in ranked order with the stopping status; the API the screening views use."""

import json

from evsynth.cli.main import main
from evsynth.screening.log import save_log
from evsynth.prioritise.pending import (
    rank_pending, record_texts, screening_sequence, stopping_status,
)
from evsynth.search.records import MeshHeading, Record
from evsynth.search.runs import records_of_runs, write_records
from tests.support.living_helpers import decided, entry

LIVER = "Transarterial chemoembolization of liver metastases from thyroid cancer"
KNEE = "Arthroscopic knee surgery outcomes in athletes"


def project(tmp_path, pending_titles, decisions=True, toml=""):
    """A project whose log has 2 includes (liver) and 3 excludes (knee) if *decisions*, then
    pending records with *pending_titles* (ids R00010 …)."""
    rows = []
    if decisions:
        rows += [decided(1, "include", title=f"{LIVER} {i}", date=f"2025-01-0{i}") for i in (1,)]
        rows += [decided(2, "include", title=f"{LIVER} 2", date="2025-01-02")]
        rows += [decided(n, "exclude", reason="wrong population", title=f"{KNEE} {n}",
                         date="2025-01-03") for n in (3, 4, 5)]
    rows += [entry(10 + i, title=t) for i, t in enumerate(pending_titles)]
    (tmp_path / "extracted").mkdir(parents=True)
    save_log(tmp_path / "extracted" / "screening.csv", rows)
    if toml:
        (tmp_path / "review.toml").write_text(toml)
    return tmp_path


def listing(tmp_path, capsys):
    assert main(["screen", "--root", str(tmp_path)]) == 0
    return capsys.readouterr().out


def test_pending_records_come_most_likely_include_first(tmp_path, capsys):
    titles = [f"{KNEE} cohort {i}" if i % 2 == 0 else f"{LIVER} series {i}" for i in range(8)]
    out = listing(project(tmp_path, titles), capsys)
    assert "title/abstract: 8 to screen, most likely include first (ranked on the decisions so far)" in out
    shown = [line.split()[0] for line in out.splitlines() if line.startswith("R000")]
    liver = {f"R000{10 + i}" for i in range(8) if i % 2 == 1}
    assert set(shown[:4]) == liver, shown
    assert out.index("5 of 13 records screened at title/abstract, 2 includes found. "
                     "Stopping criterion not met for recall ≥ 95 % with 95 % confidence") < out.index("title/abstract: 8")
    assert "Heuristic only, no guarantee: the last record screened was an include." not in out
    assert "Heuristic only, no guarantee: the last 3 records screened were all excluded." in out


def test_random_order_before_both_kinds_of_decision_follows_the_project_seed(tmp_path, capsys):
    titles = [f"Study {i} of something" for i in range(10)]
    first = listing(project(tmp_path / "a", titles, decisions=False), capsys)
    again = listing(tmp_path / "a", capsys)
    other = listing(project(tmp_path / "b", titles, decisions=False,
                            toml="[screening]\nseed = 5\n"), capsys)
    assert "in a seeded random order (ranking starts once there is one include and one exclude)" in first
    assert first == again

    def ids(out):
        return [line.split()[0] for line in out.splitlines() if line.startswith("R000")]

    assert sorted(ids(first)) == sorted(ids(other)) and ids(first) != ids(other)
    assert "0 of 10 records screened at title/abstract, 0 includes found." in first


def test_target_from_review_toml_shows_in_the_status(tmp_path, capsys):
    out = listing(project(tmp_path, ["x"], toml="[screening]\ntarget_recall = 0.8\nconfidence = 0.9\n"),
                  capsys)
    assert "recall ≥ 80 % with 90 % confidence" in out


def test_abstracts_and_mesh_of_harvested_records_are_used(tmp_path):
    # titles say nothing; the harvested abstracts carry the signal
    records = [Record(pmid=str(100 + i), title=f"Study {i}",
                      abstract=(LIVER if i % 2 else KNEE) + f" number {i}.",
                      mesh=(MeshHeading("Liver Neoplasms"),) if i % 2 else ())
               for i in range(12)]
    run = tmp_path / "queries" / "runs" / "q1" / "20250101T000000Z"
    write_records(run, records)
    (run / "manifest.json").write_text(json.dumps({"records": len(records)}))
    (tmp_path / "queries" / "runs" / "q1" / "20250102T000000Z").mkdir()  # unfinished: skipped
    loaded = list(records_of_runs(tmp_path / "queries" / "runs").values())
    assert sorted(r.pmid for r in loaded) == sorted(r.pmid for r in records)
    texts = record_texts(loaded)
    assert texts["101"].keywords == "Liver Neoplasms" and LIVER in texts["101"].abstract
    entries = [decided(1, "include", pmid="101", title="Study 1"),
               decided(2, "exclude", reason="wrong population", pmid="100", title="Study 0")]
    entries += [entry(10 + i, pmid=str(100 + i), title=f"Study {i}") for i in range(2, 12)]
    order = rank_pending(entries, texts, seed=0)
    odd = {f"R000{10 + i}" for i in range(2, 12) if i % 2}
    assert set(order[:5]) == odd
    assert rank_pending(entries, texts, seed=0) == order


def test_decisions_in_order_cautiously_and_the_status():
    entries = [
        decided(1, "include", date="2025-01-05"),
        decided(2, "exclude", reason="wrong population", date="2025-01-05"),
        decided(3, "exclude", reason="wrong population", date="2025-01-01"),
        decided(4, "exclude", stage="full text", reason="wrong population", date="2025-01-02"),
        decided(5, "include", date=""),
        decided(6, "exclude", reason="wrong population", date=""),
        entry(7), decided(8, "maybe"),
    ]
    # by date; within a day excludes first; undated excludes earliest, undated includes latest;
    # a full-text row passed title/abstract (an include there); pending and maybe are not screened
    assert screening_sequence(entries) == [0, 0, 1, 0, 1, 1]
    status = stopping_status(entries)
    assert (status.screened, status.total, status.includes_found) == (6, 8, 3)
    assert status.irrelevant_streak == 0 and not status.met


def test_a_fully_screened_log_has_the_status_the_hypergeometric_test_gives():
    """With nothing left to screen the status is found without numpy/scipy (the listing answers at
    once); it must equal what the test of evsynth.prioritise.stopping computes."""
    import random
    import subprocess
    import sys

    from evsynth.prioritise.pending import all_screened
    from evsynth.prioritise.stopping import stopping_status as hypergeometric_status

    rng = random.Random(7)
    cases = [[], [0], [1], [1, 0, 0], [0, 0, 0, 0], [1, 1, 1]]
    cases += [[int(rng.random() < share) for _ in range(rng.randint(1, 400))]
              for share in (0.01, 0.05, 0.3, 0.9) for _ in range(5)]
    for labels in cases:
        for target, confidence in ((0.95, 0.95), (0.8, 0.9), (1.0, 0.99)):
            expected = hypergeometric_status(labels, len(labels), target_recall=target, confidence=confidence)
            assert all_screened(labels, target_recall=target, confidence=confidence) == expected
    entries = [decided(1, "include"), decided(2, "exclude", reason="wrong population"),
               decided(3, "exclude", stage="full text", reason="wrong population")]
    assert stopping_status(entries) == hypergeometric_status(screening_sequence(entries), 3)
    assert stopping_status(entries).describe().startswith("3 of 3 records screened")
    code = ("import sys; from evsynth.prioritise.pending import all_screened; all_screened([0, 1, 0]); "
            "print(sorted(m for m in ('numpy', 'scipy', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_review_toml_can_choose_the_experimental_ranked_rate_rule(tmp_path, capsys):
    titles = [f"{KNEE} cohort {i}" if i % 2 == 0 else f"{LIVER} series {i}" for i in range(8)]
    out = listing(project(tmp_path, titles, toml='[screening]\nstopping_rule = "rate"\n'), capsys)
    assert ("5 of 13 records screened at title/abstract, 2 includes found. "
            "Stopping rule (ranked rate) not met for recall ≥ 95 % with 95 % confidence") in out
    assert "Stopping criterion" not in out
    assert "Experimental rule: on two of nine benchmark sets it was not designed on" in out
