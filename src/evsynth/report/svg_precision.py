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
"""

from __future__ import annotations

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


def fix_precision(svg: str) -> str:
    """*svg* with every decimal number in its attribute values rounded to :data:`DIGITS` decimals.

    Integers, text nodes and name-like attributes (``id``, ``class``, links)
    are kept as written; ``-0`` becomes ``0``; exponent forms are rounded as
    their value.
    """
    return _TAG.sub(lambda tag: _ATTRIBUTE.sub(_attribute, tag.group(0)), svg)
