"""Invisible control characters: which ones evsynth refuses in text it reads, and how it names them.

Refused: the C0 controls except tab, line feed and carriage return; DEL and
the C1 controls; the noncharacters U+FFFE and U+FFFF. None of them is text a
person types; XML 1.0, the format inside the XLSX and DOCX files, cannot hold
the C0 ones or U+FFFE/U+FFFF (W3C XML 1.0, section 2.2 "Characters"), and HTML
counts all of them as parse errors (WHATWG HTML, "control" code points in the
input stream). Where a value names something (an id), tab and line breaks are
refused too.
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")

_NAMES = {0x00: "NUL", 0x09: "tab", 0x0A: "line feed", 0x0D: "carriage return",
          0x1B: "ESC", 0x7F: "DEL", 0xFFFE: "noncharacter", 0xFFFF: "noncharacter"}


def control_problem(text: str, *, breaks_allowed: bool = True) -> str | None:
    """What is wrong with *text* (the first refused character, named, with its position), or ``None``."""
    found = (CONTROL if breaks_allowed else CONTROL_OR_BREAK).search(text)
    if found is None:
        return None
    code = ord(found.group())
    name = _NAMES.get(code, "control character")
    where = "a cell" if breaks_allowed else "an id"
    allowed = " (only tab and line breaks are allowed)" if breaks_allowed else ""
    return (f"{where} holds the invisible character U+{code:04X} ({name}) at position "
            f"{found.start() + 1}; delete it{allowed}")


def without_controls(text: str) -> str:
    """*text* with every refused character (see the module text) removed; tab and line breaks kept."""
    return CONTROL.sub("", text)
