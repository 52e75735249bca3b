"""TOML text read within limits: a size and a nesting depth, each refused in one line naming the file.

``tomllib`` parses nested arrays and tables by recursion: a value nested a few
thousand levels deep ends in a ``RecursionError`` with no file named. Every
project TOML file (``review.toml``, ``sheets.toml``, ``analysis.toml``, the
query files) is read through :func:`loads`, which refuses text over
:data:`MAX_CHARS` characters before parsing, turns the parser's recursion into
one line, and refuses a parsed value nested deeper than :data:`MAX_DEPTH`
levels (no evsynth file needs more than four).
"""

from __future__ import annotations

import tomllib
from typing import Any

from evsynth.core.errors import EvsynthError

#: The most characters a project TOML file may have (the bundled ones are a few kB).
MAX_CHARS = 1_000_000
#: The deepest nesting of tables and arrays a project TOML file may have.
MAX_DEPTH = 32


def loads(text: str, label: str, error: type[EvsynthError] = EvsynthError) -> dict[str, Any]:
    """``tomllib.loads(text)`` within the limits; *label* names the file in the message.

    ``tomllib.TOMLDecodeError`` is left to the caller (each reports its line its own way);
    a file over the limits raises *error* with ``LABEL: ...``.
    """
    if len(text) > MAX_CHARS:
        raise error(f"{label}: {len(text):,} characters, over the limit of {MAX_CHARS:,} for a "
                    "TOML file of the project; is it the right file?")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise error(f"{label}: values nested too deeply (over {MAX_DEPTH} levels of tables or "
                    "arrays)") from None
    if _depth(data) > MAX_DEPTH:
        raise error(f"{label}: values nested too deeply (over {MAX_DEPTH} levels of tables or "
                    "arrays)")
    return data


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in *value* (iteratively: no recursion to overflow)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest
