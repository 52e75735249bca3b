"""Forest plot SVG: deterministic, well-formed, escaped labels, one square per study."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from evsynth.report.forest import forest_svg
from evsynth.meta.pooling import pool_proportions, pool_subgroups

EVENTS = [5, 5, 7, 1, 1, 0]
TOTALS = [10, 12, 7, 1, 1, 1]
LABELS = ["Lorenz", "Fromigué", "Grozinsky-Glasberg", "Isozaki <b>&", "Hughes $5$", "Yasui"]


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_byte_identical_across_runs():
    r = pool_proportions(EVENTS, TOTALS, LABELS)
    assert forest_svg(r, title="Response") == forest_svg(r, title="Response")


def test_well_formed_with_escaped_labels_and_no_date():
    r = pool_proportions(EVENTS, TOTALS, LABELS)
    svg = forest_svg(r, title="Response <RECIST 1.1> & more")
    got = texts(svg)  # parsing fails if any label broke the XML
    assert "Isozaki <b>&" in got and "Hughes $5$" in got  # literal, not markup nor mathtext
    assert "Response <RECIST 1.1> & more" in got
    assert "<dc:date>" not in svg and "Date" not in svg
    assert "50.0 [18.7, 81.3]" in got  # Lorenz 5/10 with its Clopper-Pearson CI in percent


def test_one_square_per_study_sized_by_weight():
    r = pool_proportions(EVENTS, TOTALS, LABELS, method="DL")
    svg = forest_svg(r)
    assert len(re.findall(r'<g id="study-square-\d+">', svg)) == len(EVENTS)
    assert len(re.findall(r'<g id="study-ci-\d+">', svg)) == len(EVENTS)
    assert len(re.findall(r'<g id="pooled-diamond-\d+">', svg)) == 1
    assert len(re.findall(r'<g id="prediction-interval-\d+">', svg)) == 1
    # the heaviest and the lightest study get different square markers
    heavy = max(range(len(EVENTS)), key=lambda i: r.studies[i].weight)
    light = min(range(len(EVENTS)), key=lambda i: r.studies[i].weight)
    assert r.studies[heavy].weight > r.studies[light].weight
    href = {i: re.search(rf'<g id="study-square-{i}">\s*<defs>\s*<path id="(m[0-9a-f]+)" d="([^"]+)"|'
                         rf'<g id="study-square-{i}">\s*<g[^>]*>\s*<use xlink:href="#(m[0-9a-f]+)"', svg)
            for i in (heavy, light)}
    assert href[heavy] and href[light]
    assert href[heavy].group(0) != href[light].group(0)
    assert f"{r.studies[heavy].weight:.1f}%" in texts(svg)


def test_subgroups_and_glmm_draw():
    sub = pool_subgroups(EVENTS, TOTALS, ["series"] * 3 + ["report"] * 3, LABELS)
    got = texts(forest_svg(sub, title="By design"))
    assert "series" in got and "report" in got
    assert sum(t.startswith("Subtotal") for t in got) == 2
    assert any(t.startswith("Overall (k = 6)") for t in got)
    glmm = pool_proportions(EVENTS, TOTALS, LABELS, method="GLMM")
    got = texts(forest_svg(glmm))
    assert got.count("–") >= len(EVENTS)  # GLMM has no study weights: shown as a dash
