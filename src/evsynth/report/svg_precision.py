"""SVG coordinates at a fixed precision, so a figure's bytes do not depend on the numeric libraries.

matplotlib writes coordinates with six decimals; numpy, FreeType and
matplotlib releases differ in the last of them (a transform composed in
another order, a glyph metric rounded differently), so the same forest plot
drawn on two machines differed in its bytes and a committed ``reports/`` was
never clean after a rebuild elsewhere. :func:`fix_precision` rounds every
decimal number inside the SVG's *markup* (attribute values: path data,
positions, transforms, style lengths) to :data:`DIGITS` decimals — a
hundredth of a point, far below what a screen or printer shows — and leaves
text content (labels such as "12.3 [4.5, 6.7]" or a study called "3.14159")
untouched.

matplotlib names clip paths and markers by a hash of their full-precision
geometry (``clip-path="url(#p7d2ab20f69)"``): numpy 1.26 and 2.4 give the same
figure coordinates to 10⁻¹³ but not the same hash. :func:`fix_precision`
renames each such definition by a hash of its rounded text
(:func:`_stable_ids`), so the names, like the coordinates, no longer depend on
the last bits.
"""

from __future__ import annotations

import hashlib
import re

#: Decimals kept in SVG coordinates (1/100 pt).
DIGITS = 2

_TAG = re.compile(r"<[^<>!?][^<>]*>")  # element tags (not comments, doctype or the XML declaration)
_ATTRIBUTE = re.compile(r'(\s[\w:.-]+=)("[^"]*"|\'[^\']*\')')
_DECIMAL = re.compile(r"(?<![\w#.])(-?\d+\.\d+)(?:[eE][-+]?\d+)?(?![\d.])")
#: Attributes whose values are names or text, never coordinates.
_TEXT_ATTRIBUTES = frozenset({"id", "class", "href", "xlink:href", "title", "aria-label", "font-family",
                              "data-name"})


def _round(match: re.Match[str]) -> str:
    value = round(float(match.group(0)), DIGITS)
    text = f"{value:.{DIGITS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attribute(match: re.Match[str]) -> str:
    name = match.group(1).strip().rstrip("=")
    if name in _TEXT_ATTRIBUTES:
        return match.group(0)
    return match.group(1) + _DECIMAL.sub(_round, match.group(2))


#: A definition matplotlib names by a hash: a clip path (``p`` + 10 hex digits) or a marker (``m`` + 10).
_HASHED_DEFINITION = re.compile(r'<(clipPath|path)\b[^<>]*?\bid="([pm][0-9a-f]{10})"[^<>]*?(/>|>.*?</\1>)', re.S)


def _stable_ids(svg: str) -> str:
    """Each hashed clip-path/marker id renamed to its prefix + the first 10 hex digits of SHA-256 of its
    (rounded) definition without the id; every reference (``#id``) follows. Same geometry, same name —
    as matplotlib's own names, so identical definitions in two figures stay interchangeable."""
    names: dict[str, str] = {}
    for match in _HASHED_DEFINITION.finditer(svg):
        old = match.group(2)
        body = match.group(0).replace(f'id="{old}"', "")
        names.setdefault(old, old[0] + hashlib.sha256(body.encode("utf-8")).hexdigest()[:10])
    if not names:
        return svg
    pattern = re.compile(r'(?<=["#])(' + "|".join(map(re.escape, names)) + r')(?=[")])')
    return pattern.sub(lambda m: names[m.group(1)], svg)


def fix_precision(svg: str) -> str:
    """*svg* with every decimal number in its attribute values rounded to :data:`DIGITS` decimals.

    Integers, text nodes and name-like attributes (``id``, ``class``, links)
    are kept as written; ``-0`` becomes ``0``; exponent forms are rounded as
    their value. matplotlib's hashed clip-path and marker names are then
    renamed from the rounded definitions (:func:`_stable_ids`).
    """
    return _stable_ids(_TAG.sub(lambda tag: _ATTRIBUTE.sub(_attribute, tag.group(0)), svg))
