"""A review project with records to screen, made the way a reviewer makes one.

``evsynth update`` runs against the loopback E-utilities server over the given
records, so the screening log, the run folder (``queries/runs/.../records.jsonl``
with abstracts and MeSH terms) and ``review.toml`` are those of a real project.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from evsynth.cli.main import main
from tests.support.eutils_server import FakeEutils, SyntheticRecord, make_corpus

QUERY = '''name = "lrt-liver"
version = 1
database = "pubmed"
term = '("thyroid carcinoma"[tiab] OR liver[tiab] OR metastases[tiab]) AND english[la]'
datetype = "pdat"
rationale = "test query"
'''

REVIEW_TOML = '''title = "A screening test review"
exclusion_reasons = ["wrong population", "wrong intervention", "wrong study design",
                     "review/editorial", "not English", "full text not retrieved"]
'''


def corpus(n: int, start_pmid: int = 32_000_001) -> list[SyntheticRecord]:
    """*n* synthetic PubMed records (abstracts, authors, MeSH) for screening."""
    return make_corpus(n, start_pmid=start_pmid, first=date(2020, 1, 1), last=date(2024, 5, 31))


def make_project(root: Path, records: Sequence[SyntheticRecord], today: str = "2024-06-30") -> Path:
    """Write queries/, review.toml and extracted/ in *root* and update from a loopback server."""
    (root / "queries").mkdir(parents=True, exist_ok=True)
    (root / "queries" / "lrt-liver.toml").write_text(QUERY, encoding="utf-8")
    (root / "extracted").mkdir(exist_ok=True)
    (root / "review.toml").write_text(REVIEW_TOML, encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("EVSYNTH_EUTILS_URL", "EVSYNTH_EUTILS_RATE")}
    here = Path.cwd()
    with FakeEutils(records, rate_limit=None) as server:
        os.environ["EVSYNTH_EUTILS_URL"] = server.url
        os.environ["EVSYNTH_EUTILS_RATE"] = "200"
        try:
            os.chdir(root)
            code = main(["update", "--today", today])
        finally:
            os.chdir(here)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    assert code == 0, "evsynth update failed while making the test project"
    return root
