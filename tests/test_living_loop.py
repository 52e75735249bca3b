"""The living loop: the script the scheduled workflow calls, run against the loopback E-utilities server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from evsynth.cli.main import main
from evsynth.review.scaffold import LOOP_SCRIPT, LOOP_WORKFLOW, living_loop
from evsynth.screening.log import decide, load_log, save_log
from tests.support.living_helpers import synthetic

REPO = Path(__file__).resolve().parents[1]
KEY = "k3y-never-written-0123456789"
QUERY = '''name = "sample"
version = 1
database = "pubmed"
term = "thyroid[tiab] AND liver[tiab]"
rationale = "test query"
'''


def _loop(root: Path, server_url: str, body: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVSYNTH_EUTILS_URL": server_url, "EVSYNTH_EUTILS_RATE": "100",
           "NCBI_API_KEY": KEY, "EVSYNTH": f"{sys.executable} -m evsynth",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(["bash", str(root / LOOP_SCRIPT), str(body)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_loop_updates_builds_and_writes_what_changed(tmp_path, eutils_server):
    """Weekly run one finds three records; the reviewer screens; run two finds one more. Each run leaves
    the new records pending in the log, a rebuilt page, and a pull request text naming them — and the
    NCBI key in no file."""
    server = eutils_server([
        synthetic(31000001, "TACE for liver metastases of thyroid carcinoma", edat=date(2024, 1, 10)),
        synthetic(31000002, "A review of thyroid liver disease", edat=date(2024, 3, 1), authors=("Garcia L",)),
        synthetic(31000003, "RFA of a hepatic metastasis", edat=date(2024, 6, 25), authors=("Chen W",)),
    ], rate_limit=None)
    root = tmp_path / "review"
    assert main(["init", str(root)]) == 0
    (root / "queries" / "sample.toml").write_text(QUERY)
    assert os.access(root / LOOP_SCRIPT, os.X_OK) and (root / LOOP_WORKFLOW).is_file()

    first = _loop(root, server.url, tmp_path / "body1.md")
    assert first.returncode == 0, first.stderr
    body = (tmp_path / "body1.md").read_text()
    assert body.startswith("# Living update ")
    assert "- `sample` v1, no lower limit to " in body and ": 3 found, 3 new, 0 duplicates" in body
    assert "3 at title/abstract, 0 at full text" in body and "| R00003 | title/abstract | Chen W |" in body
    assert "No earlier build to compare with" in body
    assert (root / "reports" / "review.html").is_file()
    assert [e.decision for e in load_log(root / "extracted" / "screening.csv")] == ["pending"] * 3

    log = load_log(root / "extracted" / "screening.csv")
    for e in log:
        log = decide(log, e.pmid, "exclude", reason="wrong population", reviewer="AB", date="2024-07-02")
    save_log(root / "extracted" / "screening.csv", log)
    server.add_records([synthetic(31000004, "Microwave ablation of thyroid cancer liver metastases",
                                  edat=date.today())])
    second = _loop(root, server.url, tmp_path / "body2.md")
    assert second.returncode == 0, second.stderr
    body = (tmp_path / "body2.md").read_text()
    assert ": 1 found, 1 new" in body or ": 2 found, 1 new" in body
    assert "1 at title/abstract, 0 at full text" in body and "| R00004 |" in body
    assert "## What changed since the previous build" in body
    assert "PRISMA flow (records and studies):" in body  # the new record moved the flow's counts

    files = [p for p in root.rglob("*") if p.is_file()] + [tmp_path / "body1.md", tmp_path / "body2.md"]
    assert not [p for p in files if KEY.encode() in p.read_bytes()]
    assert KEY not in first.stdout + first.stderr + second.stdout + second.stderr
    requests = [r for r in server.log if r.utility == "esearch"]
    assert requests and all(r.has_api_key for r in requests)  # the key was used, not stored


def test_the_bundled_review_carries_the_same_loop_installing_itself():
    """The bundled project's workflow and script are the ones `evsynth init` writes, except that it
    installs evsynth from its own checkout."""
    for relative, text in living_loop(install="pip install -e .").items():
        assert (REPO / relative).read_text(encoding="utf-8") == text, relative
    assert os.access(REPO / LOOP_SCRIPT, os.X_OK)
    workflow = (REPO / LOOP_WORKFLOW).read_text(encoding="utf-8")
    for needed in ("schedule:", "workflow_dispatch:", "secrets.NCBI_API_KEY", "bash .github/living-update.sh",
                   "body-path:"):
        assert needed in workflow


@pytest.mark.parametrize("template", ["blank", "case-series"])
def test_init_writes_the_loop_for_a_new_project(tmp_path, template):
    root = tmp_path / "r"
    assert main(["init", str(root), "--template", template]) == 0
    workflow = (root / LOOP_WORKFLOW).read_text(encoding="utf-8")
    assert "vars.EVSYNTH_PACKAGE" in workflow and "{install}" not in workflow
    assert "evsynth changes" in (root / LOOP_SCRIPT).read_text(encoding="utf-8")
