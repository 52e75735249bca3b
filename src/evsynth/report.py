"""The build: validate the sheets, verify the claims, and render ``reports/``.

Everything is computed first, in memory; only then are the files written, each
atomically, so an invalid sheet or a claim that stopped reproducing leaves the
previous report exactly as it was. The outputs carry no timestamps: two
builds of the same sheets are byte-identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from evsynth import __version__, atomic, vocab
from evsynth.claims import ClaimResult, claims_summary, verify_claims
from evsynth.counts import review_counts
from evsynth.errors import EvsynthError
from evsynth.published_tables import (SourcedTable, case_adverse_events_table, claims_table, counts_table,
                                      table1, table2, table3)
from evsynth.review import Review, load_review
from evsynth.tables import Table

REPORTS_DIR = "reports"


class ClaimsRegressed(EvsynthError):
    """A claim registered as reproduced no longer reproduces from the sheets."""


@dataclass(frozen=True)
class Build:
    """Everything the build renders, computed before anything is written."""

    review: Review
    counts: dict[str, Any]
    claims: list[ClaimResult]
    tables: dict[str, SourcedTable]
    files: dict[str, bytes] = field(default_factory=dict)


def _environment() -> Environment:
    return Environment(loader=PackageLoader("evsynth", "templates"),
                       autoescape=select_autoescape(["html", "svg", "j2"], default=True),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def review_tables(root: Path) -> list[Table]:
    """Every table of the review, in page order (for ``evsynth tables`` and the supplementary files)."""
    return [t.table for t in compute(root).tables.values()]


def compute(root: Path) -> Build:
    """Load and validate the sheets, verify the claims and build every table (nothing written)."""
    review = load_review(root)
    claims = verify_claims(review)
    tables = {t.table.key: t for t in (
        table1(review), case_adverse_events_table(review), table2(review), counts_table(review),
        table3(review), claims_table(claims))}
    return Build(review=review, counts=review_counts(review), claims=claims, tables=tables)


def render_html(build: Build) -> str:
    """The self-contained review page (inline CSS, no scripts, no network)."""
    template = _environment().get_template("review.html.j2")
    return template.render(
        version=__version__, content_hash=build.review.content_hash, counts=build.counts,
        tables=build.tables, claims=build.claims, claims_summary=claims_summary(build.claims),
        lrt_names=vocab.LRT_NAMES, histology_names=vocab.HISTOLOGY_NAMES,
    )


def render_files(build: Build) -> dict[str, bytes]:
    """Every output file of the build, by path relative to ``reports/``."""
    return {
        "review.html": render_html(build).encode("utf-8"),
        "counts.json": (json.dumps(build.counts, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }


def check_regressions(claims: list[ClaimResult]) -> None:
    """Raise :class:`ClaimsRegressed` when a registered-as-reproduced claim no longer is."""
    regressed = [c for c in claims if c.regression]
    if regressed:
        listing = "; ".join(f"{c.claim_id} (claims.csv row {c.row}: paper {c.expected}, sheets {c.computed or '?'})"
                            for c in regressed)
        raise ClaimsRegressed(f"{len(regressed)} claim(s) no longer reproduced: {listing}")


def build(root: Path, out_dir: Path | None = None) -> dict[str, Path]:
    """Validate, verify and render; write each output atomically. Returns the files written."""
    result = compute(root)
    check_regressions(result.claims)
    files = render_files(result)
    out = out_dir if out_dir is not None else root / REPORTS_DIR
    written: dict[str, Path] = {}
    for relative, data in sorted(files.items()):
        target = out / relative
        atomic.write_bytes(target, data)
        written[relative] = target
    return written
