"""Provenance comes from the code: one percentage formatter, and a template that only places sources."""

from __future__ import annotations

import math
import re
from pathlib import Path

from evsynth.core.formats import percent, percent_ci
from evsynth.report import provenance

TEMPLATE = Path(__file__).resolve().parents[1] / "src" / "evsynth" / "report" / "templates" / "review.html.j2"


def test_percent_with_interval_in_every_style_the_outputs_use():
    assert percent(0.34567) == "34.6" and percent(math.nan) == "–" and percent(None, missing="n/a") == "n/a"
    assert percent_ci(0.34567, 0.2, 0.5123) == "34.6 (20.0–51.2)"  # tables
    assert percent_ci(0.34567, 0.2, 0.5123, level=0.95, unit=" %") == "34.6 % (95 % CI 20.0–51.2)"  # page
    assert percent_ci(0.34567, 0.2, 0.5123, between=", ", brackets="[]") == "34.6 [20.0, 51.2]"  # forest plot
    assert percent_ci(0.5, 0.1, math.nan, level=0.9, unit="%", limit_unit="%", between=" to ") == \
        "50.0% (90% CI 10.0% to –)"
    assert percent_ci(math.inf, 0.1, 0.2) == "–"


def test_the_template_spells_no_source_itself():
    """Every hover title and Source line of the page is a value the code computed."""
    text = TEMPLATE.read_text(encoding="utf-8")
    literal_titles = re.findall(r'title="Source: (?!\{\{)[^"]*"', text)
    assert literal_titles == []
    assert re.findall(r'class="source">Source: (?!\{\{)', text) == []
    titles = re.findall(r'title="Source: [^"]*"', text)
    assert titles and not [t for t in titles if re.search(r"extracted/|reports/|\.toml|manifest\.json", t)]
    assert '"%.1f"|format(100' not in text  # percentages come from evsynth.core.formats


def test_provenance_strings_follow_the_project_layout():
    assert provenance.sheet_row("claims", 7, "K3") == "extracted/claims.csv row 7 (K3)"
    assert provenance.sheet_ids("cohorts", ["C1", "C2"]) == "extracted/cohorts.csv (C1, C2)"
    assert provenance.run_manifest("queries/runs/q/r") == "queries/runs/q/r/manifest.json"
    assert provenance.pooled(["C1", "C2"], "GLMM", "PLO") == \
        "2 cohorts of extracted/cohorts.csv (C1, C2); method: evsynth.meta.pooling GLMM (PLO)"
