"""The committed reports/ are what a build gives, byte for byte, on any machine.

The build runs in a temporary clone of ``HEAD`` with ``HEAD``'s own code (README
command 1 in a fresh checkout) and is compared with the committed files read by
``git show HEAD:PATH`` — never with the working tree, which an earlier command of
the same session may have rewritten. Uncommitted changes are not what this test
checks: it passes or fails on the commit, as CI's clean clone does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evsynth.core.json_numbers import DECIMALS, SIGNIFICANT, dumps, stable_float
from evsynth.report.svg_precision import DIGITS, fix_precision

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def _head() -> str:
    """HEAD's commit id; skip (saying why) when this is not a git checkout."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the committed reports/ cannot be read from HEAD")
    done = _git("rev-parse", "--verify", "HEAD")
    if done.returncode != 0 or not (REPO / ".git").exists():
        pytest.skip(f"{REPO.name} is not a git checkout with a commit: there are no committed reports/ "
                    "to compare with")
    return done.stdout.decode().strip()


def test_a_build_in_a_clean_clone_of_head_equals_the_committed_reports(tmp_path):
    """README command 1 in a fresh clone leaves `git status` clean, and every file equals `git show HEAD:…`."""
    head = _head()
    clone = tmp_path / "clone"
    for args in (("clone", "-q", "--no-checkout", "--shared", str(REPO), str(clone)),
                 ("-C", str(clone), "checkout", "-q", "--detach", head)):
        done = _git(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr.decode()
    env = {**os.environ, "PYTHONPATH": str(clone / "src")}
    env.pop("NCBI_API_KEY", None)
    build = subprocess.run([sys.executable, "-m", "evsynth", "build", "--root", str(clone)], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=900, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    status = _git("status", "--porcelain", "--untracked-files=all", cwd=clone).stdout.decode()
    assert status == "", f"a build in a clean clone of {head[:12]} changes:\n{status}run evsynth build and commit"
    committed = _git("ls-tree", "-r", "--name-only", head, "reports/").stdout.decode().split()
    assert "reports/analyses.json" in committed and "reports/review.html" in committed
    built = sorted(p.relative_to(clone).as_posix() for p in (clone / "reports").rglob("*") if p.is_file())
    assert built == sorted(committed)
    different = [name for name in committed
                 if (clone / name).read_bytes() != _git("show", f"{head}:{name}").stdout]
    assert different == [], f"rebuild differs from HEAD's {different}; run evsynth build and commit"


def test_json_floats_have_a_fixed_precision():
    """Seven significant digits, ten decimals at most, no signed zero; integers and text untouched."""
    assert (SIGNIFICANT, DECIMALS) == (7, 10)
    assert stable_float(0.8430116671494402) == 0.8430117
    assert stable_float(0.8430116664577555) == 0.8430117  # numpy 2.4 vs the committed build (1e-9 apart)
    assert stable_float(1.2345678e-5) == 1.23457e-05  # ten decimals are the coarser limit here
    assert stable_float(3.0e-17) == 0.0 and stable_float(-3.0e-17) == 0.0
    assert str(stable_float(-1e-12)) == "0.0"
    assert stable_float(123456789.123) == 123456800.0
    text = dumps({"a": [0.1 + 0.2, 3, True, "0.123456789"], "b": (2.0, None), "c": float("nan")})
    assert text == ('{\n  "a": [\n    0.3,\n    3,\n    true,\n    "0.123456789"\n  ],\n'
                    '  "b": [\n    2.0,\n    null\n  ],\n  "c": NaN\n}\n')
    with pytest.raises(ValueError):
        dumps({"c": float("nan")}, allow_nan=False)


def test_every_json_output_goes_through_the_one_helper():
    """No module writes a report's JSON with json.dumps directly (the helper rounds the floats)."""
    writers = ("report/build.py", "report/state.py", "review/releases.py", "cli/commands/pool.py")
    for name in writers:
        source = (REPO / "src" / "evsynth" / name).read_text(encoding="utf-8")
        assert "json.dumps(" not in source, name
        assert "json_numbers.dumps(" in source, name


def test_json_floats_off_in_the_tenth_digit_give_the_same_bytes():
    """What another numpy/scipy changes (≤ 5e-13 relative for the GLMM) does not reach the file."""
    from evsynth.meta.pooling import pool_proportions

    result = pool_proportions([5, 7, 1, 1, 1, 1, 1, 0], [12, 7, 1, 1, 1, 1, 1, 1], method="GLMM").to_dict()

    def nudge(obj, factor):
        if isinstance(obj, float):
            return obj * factor
        if isinstance(obj, dict):
            return {k: nudge(v, factor) for k, v in obj.items()}
        if isinstance(obj, list):
            return [nudge(v, factor) for v in obj]
        return obj

    text = dumps(result)
    assert dumps(nudge(result, 1 + 5e-13)) == text and dumps(nudge(result, 1 - 5e-13)) == text
    assert json.loads(text)["marginal"]["estimate"] == stable_float(result["marginal"]["estimate"])


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


def test_hashed_clip_and_marker_names_follow_the_rounded_geometry():
    """matplotlib names a clip path by a hash of its full-precision rectangle: two machines gave two names."""
    def figure(x: str, name: str) -> str:
        return (f'<svg><defs><clipPath id="{name}"><rect x="{x}" y="1" width="2" height="3"/></clipPath></defs>'
                f'<path d="M 0 0" clip-path="url(#{name})"/><use xlink:href="#{name}"/></svg>')
    one = fix_precision(figure("57.6000000001", "p7d2ab20f69"))
    other = fix_precision(figure("57.5999999999", "pab659dda24"))
    assert one == other and "p7d2ab20f69" not in one
    assert one.count(re.search(r'id="(p[0-9a-f]{10})"', one).group(1)) == 3
    assert fix_precision(one) == one
    moved = fix_precision(figure("57.7", "p7d2ab20f69"))  # other geometry, other name
    assert re.search(r'id="(p[0-9a-f]{10})"', moved).group(1) != re.search(r'id="(p[0-9a-f]{10})"', one).group(1)
