"""Many writers on one project at once lose nothing (issue 20; evsynth.core.lock).

The stress test runs, at the same time, on one project: two ``screen --from`` of
200 rows (reviewers FA and FB), two real ``screen --serve`` processes taking 100
decisions each over HTTP (reviewers AA and BB, four client threads per page), a
loop of ``screen --decide`` commands (TT), one ``update`` against the loopback
E-utilities server (40 new records) and one ``import`` (20 new records).
Afterwards every acknowledged decision is in the log exactly once and every new
record is there exactly once. It is not a timed test: the figures are printed
(run with ``-s``) and asserted as counts only.

Two ``release`` of one name at once: one is made, the other refused, and
``review.toml`` and ``versions/NAME.json`` agree. Three ``extract`` at once:
three distinct studies with one cohort row each.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

from evsynth.screening.log import load_log, save_log
from tests.support.eutils_server import FakeEutils, make_corpus
from tests.support.living_helpers import decided
from tests.support.screening_project import corpus, make_project

REPO = Path(__file__).resolve().parents[1]
BASE = 640          # records in the log before the stress
NEW_UPDATE = 40     # new records the update finds
NEW_IMPORT = 20     # new records in the RIS file
DECIDE_LOOP = 20    # screen --decide commands, one after the other


def evsynth(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "evsynth", *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rid(n: int) -> str:
    return f"R{n:05d}"


def decisions_csv(path: Path, numbers: range) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["record_id", "decision"])
        for n in numbers:
            w.writerow([rid(n), "exclude"])
    return path


def ris_file(path: Path, n: int) -> Path:
    lines = []
    for i in range(n):
        lines += ["TY  - JOUR", f"TI  - Imported stress record number {i} on hepatic lesions",
                  f"AU  - Importer{i}, Q", "PY  - 2023", f"DO  - 10.9999/stress.{i}", "ER  - ", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Page:
    """A real ``evsynth screen --serve`` process and its address."""

    def __init__(self, root: Path, reviewer: str) -> None:
        self.process = evsynth("screen", "--serve", "--reviewer", reviewer, "--root", str(root))
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.process.stderr.read() if not self.url else self.url
        self.acknowledged: list[str] = []
        self.refused: list[tuple[str, int]] = []
        self._guard = threading.Lock()

    def decide(self, record_id: str) -> None:
        body = json.dumps({"record_id": record_id, "decision": "exclude"}).encode()
        request = urllib.request.Request(self.url + "api/decide", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                status = answer.status
                json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            status = exc.code
        with self._guard:
            (self.acknowledged.append(record_id) if status == 200
             else self.refused.append((record_id, status)))

    def post_all(self, numbers: range, threads: int = 4) -> list[threading.Thread]:
        ids = [rid(n) for n in numbers]
        chunks = [ids[i::threads] for i in range(threads)]
        workers = [threading.Thread(target=lambda c=c: [self.decide(x) for x in c]) for c in chunks]
        for w in workers:
            w.start()
        return workers

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def test_writers_at_once_lose_no_acknowledged_decision(tmp_path: Path) -> None:
    root = make_project(tmp_path / "review", corpus(BASE))
    before = load_log(root / "extracted" / "screening.csv")
    assert len(before) == BASE and [e.record_id for e in before[:2]] == [rid(1), rid(2)]
    fa = decisions_csv(tmp_path / "fa.csv", range(1, 201))
    fb = decisions_csv(tmp_path / "fb.csv", range(201, 401))
    ris = ris_file(tmp_path / "other.ris", NEW_IMPORT)
    new_records = make_corpus(NEW_UPDATE, start_pmid=39_000_001, first=date(2024, 7, 5),
                              last=date(2024, 7, 25), seed=7)
    loop = ("for n in $(seq 601 %d); do %s -m evsynth screen --decide $(printf 'R%%05d' $n) exclude "
            "--reviewer TT --root %s >/dev/null || echo FAILED $n; done" % (600 + DECIDE_LOOP, sys.executable, root))
    started = time.monotonic()
    with FakeEutils([*corpus(BASE), *new_records], rate_limit=None) as server:
        env = os.environ | {"EVSYNTH_EUTILS_URL": server.url, "EVSYNTH_EUTILS_RATE": "200"}
        pages = [Page(root, "AA"), Page(root, "BB")]
        try:
            procs = {
                "from FA": evsynth("screen", "--from", str(fa), "--reviewer", "FA", "--root", str(root)),
                "from FB": evsynth("screen", "--from", str(fb), "--reviewer", "FB", "--root", str(root)),
                "update": evsynth("update", "--today", "2024-07-30", "--root", str(root), env=env),
                "import": evsynth("import", str(ris), "--source", "embase", "--root", str(root)),
                "decide loop": subprocess.Popen(["bash", "-c", loop], cwd=REPO, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE, text=True),
            }
            workers = pages[0].post_all(range(401, 501)) + pages[1].post_all(range(501, 601))
            results = {name: (p.wait(timeout=600), *p.communicate()) for name, p in procs.items()}
            for w in workers:
                w.join(timeout=600)
        finally:
            for page in pages:
                page.stop()
    elapsed = time.monotonic() - started

    for name, (code, out, err) in results.items():
        assert code == 0, f"{name}: exit {code}: {err}"
    assert "FAILED" not in results["decide loop"][1], results["decide loop"]
    assert "40 new" in results["update"][1], results["update"][1]
    assert "20 records, 20 new" in results["import"][1], results["import"][1]

    log = load_log(root / "extracted" / "screening.csv")
    ids = Counter(e.record_id for e in log)
    assert max(ids.values()) == 1, [k for k, v in ids.items() if v > 1]
    assert len(log) == BASE + NEW_UPDATE + NEW_IMPORT
    pmids = Counter(e.pmid for e in log if e.pmid)
    assert all(pmids[str(r.pmid)] == 1 for r in new_records)
    dois = Counter(e.doi for e in log if e.doi.startswith("10.9999/stress."))
    assert len(dois) == NEW_IMPORT and set(dois.values()) == {1}

    by_id = {e.record_id: e for e in log}
    expected = {rid(n): "FA" for n in range(1, 201)} | {rid(n): "FB" for n in range(201, 401)}
    expected |= {rid(n): "TT" for n in range(601, 601 + DECIDE_LOOP)}
    for page, reviewer in zip(pages, ("AA", "BB")):
        expected |= {r: reviewer for r in page.acknowledged}
    present = [r for r, who in expected.items()
               if by_id[r].reviewer == who and by_id[r].decision == "exclude"]
    posted = 400 + 200 + DECIDE_LOOP
    acknowledged = 400 + len(pages[0].acknowledged) + len(pages[1].acknowledged) + DECIDE_LOOP
    print(f"\nstress: {posted} decisions posted ({len(pages[0].acknowledged)}+{len(pages[1].acknowledged)} "
          f"page, 2x200 --from, {DECIDE_LOOP} --decide), {acknowledged} acknowledged, {len(present)} present "
          f"once in the log of {len(log)} rows ({NEW_UPDATE} from update, {NEW_IMPORT} from import); "
          f"refused {pages[0].refused + pages[1].refused}; {elapsed:.1f} s")
    assert sorted(present) == sorted(expected)
    assert len(pages[0].acknowledged) == len(pages[1].acknowledged) == 100, (pages[0].refused, pages[1].refused)
    decided_rows = [e for e in log if e.decision != "pending"]
    assert len(decided_rows) == len(expected)  # nothing decided twice nor by anyone else


def bundled_with_new_study(project: Path) -> None:
    with open(project / "extracted" / "studies.csv", "a", encoding="utf-8") as f:
        f.write("S29,,Newauthor,Newauthor et al.,2024,,,,,,yes,,,2026-12,complete,,\n")
    path = project / "extracted" / "cohorts.csv"
    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    values = {"cohort_id": "C29", "study_id": "S29", "printed_order": "19", "lrt": "RFA", "lrt_assignment": "assigned",
              "approach": "percutaneous", "histology": "MTC", "n_patients": "2", "n_mtc": "2",
              "lesion_pattern": "single", "size_kind": "value", "size_mm": "20", "symptomatic_response": "not reported",
              "structural_response": "reported", "recist": "yes", "resp_cr": "0", "resp_pr": "1", "resp_sd": "1",
              "resp_pd": "0", "resp_not_assessed": "0", "resp_uncategorised": "0", "ae_status": "none",
              "ae_grading": "not stated", "mixed_cohort": "no"}
    values.update({h: "0" for h in header if h.startswith("n_") and h not in values})
    with open(path, "a", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow([values.get(h, "") for h in header])


def test_two_releases_of_one_name_at_once(project: Path) -> None:
    bundled_with_new_study(project)
    save_log(project / "extracted" / "screening.csv", [decided(1, "include", stage="full text")])
    runs = [evsynth("release", "2026-12", "--date", day, "--citation", cite, "--root", str(project))
            for day, cite in (("2026-12-15", "Journal A"), ("2026-12-20", "Journal B"))]
    results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    refused = next(err for code, _, err in results if code == 1)
    assert refused == "evsynth: error: review.toml already names version 2026-12; a release gets a new name\n"
    versions = tomllib.loads((project / "review.toml").read_text())["versions"]
    named = [v for v in versions if v["name"] == "2026-12"]
    assert len(named) == 1
    frozen = json.loads((project / "versions" / "2026-12.json").read_text())
    assert (frozen["date"], frozen["citation"]) == (named[0]["date"], named[0]["citation"])


def test_three_extracts_at_once_make_three_studies(project: Path) -> None:
    save_log(project / "extracted" / "screening.csv",
             [decided(n, "include", stage="full text", first_author=f"Writer{n} A", pmid=str(900 + n))
              for n in (1, 2, 3)])
    runs = [evsynth("extract", rid(n), "--version", "2026-12", "--root", str(project)) for n in (1, 2, 3)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    studies = list(csv.DictReader(open(project / "extracted" / "studies.csv", encoding="utf-8")))
    made = {r["record_id"]: r["study_id"] for r in studies if r["record_id"]}
    assert sorted(made) == [rid(1), rid(2), rid(3)]
    assert len(set(made.values())) == 3
    assert Counter(r["study_id"] for r in studies)[made[rid(1)]] == 1
    cohorts = list(csv.DictReader(open(project / "extracted" / "cohorts.csv", encoding="utf-8")))
    hanging = Counter(r["study_id"] for r in cohorts if r["study_id"] in made.values())
    assert hanging == Counter(made.values())
