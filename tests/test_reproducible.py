"""The committed reports/ are what a build gives, byte for byte, on any machine."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from evsynth.cli.main import main
from evsynth.report.svg_precision import DIGITS, fix_precision

REPO = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_build_in_a_fresh_copy_equals_the_committed_reports(tmp_path):
    """README command 1 leaves `git status` clean: the bundled review rebuilt in a copy gives the same bytes."""
    for name in ("extracted", "queries", "reports"):
        shutil.copytree(REPO / name, tmp_path / name)
    for path in REPO.glob("*.toml"):  # review.toml, sheets.toml, analysis.toml (not pyproject.toml)
        if path.name != "pyproject.toml":
            shutil.copy2(path, tmp_path / path.name)
    committed = _files(REPO / "reports")
    assert main(["build", "--root", str(tmp_path)]) == 0
    rebuilt = _files(tmp_path / "reports")
    assert sorted(rebuilt) == sorted(committed)
    different = [name for name in committed if rebuilt[name] != committed[name]]
    assert different == [], f"rebuild differs from the committed reports/ in {different}; run evsynth build and commit"


_MARKUP_DECIMAL = re.compile(r'="[^"]*\d\.\d{%d,}' % (DIGITS + 1))


def test_svg_coordinates_have_a_fixed_precision_and_text_is_untouched():
    svg = ('<svg width="100.123456" height="20"><path d="M 1.234567 -2.345678e-05 L 3.999999 4.5"/>'
           '<text x="12.3456789" y="0.0049" style="font-size: 9.000001px">3.14159 [1.23456, 6.789]</text>'
           '<g id="pooled-diamond-1.123456"/></svg>')
    fixed = fix_precision(svg)
    assert fixed == ('<svg width="100.12" height="20"><path d="M 1.23 0 L 4 4.5"/>'
                     '<text x="12.35" y="0" style="font-size: 9px">3.14159 [1.23456, 6.789]</text>'
                     '<g id="pooled-diamond-1.123456"/></svg>')
    assert fix_precision(fixed) == fixed


def test_coordinates_off_in_the_sixth_decimal_give_the_same_bytes():
    """What another numpy/matplotlib changes (the last printed decimal) no longer reaches the file."""
    from evsynth.meta.pooling import pool_proportions
    from evsynth.report.forest import forest_svg

    svg = forest_svg(pool_proportions([2, 5, 0, 7], [10, 12, 4, 9], ["A", "B", "C", "D"]), title="t")
    assert not _MARKUP_DECIMAL.search(svg)
    # matplotlib's raw output, nudged by one unit in the sixth decimal where that does not
    # cross a rounding boundary of the kept precision, rounds to the same bytes
    raw = re.sub(r"(\d+\.\d{2})(\d*)", lambda m: m.group(1) + "4" + "0" * max(len(m.group(2)) - 2, 0) + "1"
                 if len(m.group(2)) >= 3 else m.group(0), svg)
    assert fix_precision(raw) == svg
