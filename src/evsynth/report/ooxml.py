"""Reproducible Office Open XML packages (XLSX, DOCX): same tables in, same bytes out.

An ``.xlsx`` or ``.docx`` file is a zip archive (ECMA-376 Part 2, Open
Packaging Conventions). Two things in it change on every save even when the
content does not: the creation and modification dates in
``docProps/core.xml`` (openpyxl and python-docx set ``modified`` to the
current time) and each zip entry's date and time. :func:`reproducible_package`
rewrites an archive with both pinned to constants and with its entries in a
fixed order (``[Content_Types].xml`` first, as Office itself writes it, then
the rest sorted by name), so that two saves of the same content are
byte-identical. This follows the approach of reproducible-builds.org
("Archive metadata": normalise timestamps and file order).
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone

from lxml import etree

#: The creation and modification date written into every package's core properties.
FIXED_TIMESTAMP = datetime(2000, 1, 1, tzinfo=timezone.utc)

#: The date and time of every zip entry (the earliest a zip header can hold).
ZIP_ENTRY_DATE = (1980, 1, 1, 0, 0, 0)

CORE_PROPERTIES = "docProps/core.xml"
CONTENT_TYPES = "[Content_Types].xml"
_DCTERMS = "http://purl.org/dc/terms/"
_PINNED_DATES = ("created", "modified")

#: Characters XML 1.0 cannot hold at all (C0 controls other than tab, LF, CR; U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """*text* without the characters XML 1.0 forbids (stray control codes from PDF copy-paste).

    Spreadsheet and word-processor files are XML, and both openpyxl and
    python-docx refuse such characters; dropping them changes no visible text.
    """
    return _NOT_XML.sub("", text)


#: Most characters (UTF-16 code units) an Excel cell holds (Excel specifications and limits);
#: the DOCX tables use the same bound, far above any readable table cell.
MAX_CELL_CHARS = 32_767


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_cell(text: str, full_text_in: str) -> str:
    """*text* (XML-safe) cut to :data:`MAX_CELL_CHARS`, saying so and where the full text is.

    A longer cell is not silently truncated by the spreadsheet or refused by
    the reader (python-docx could not reopen a document with a 10 MB text
    node): it ends with "… [cut: N characters; the full text is in
    *full_text_in*]" and stays within the limit.
    """
    text = xml_text(text)
    if _utf16_length(text) <= MAX_CELL_CHARS:
        return text
    marker = f" … [cut: {len(text):,} characters; the full text is in {full_text_in}]"
    keep = MAX_CELL_CHARS - _utf16_length(marker)
    head = text[:keep]
    while _utf16_length(head) > keep:
        head = head[:-1]
    return head + marker


def entry_order(names: list[str]) -> list[str]:
    """Zip entry names in the fixed order: content types first, then by name."""
    return sorted(names, key=lambda name: (name != CONTENT_TYPES, name))


def pin_core_dates(xml: bytes, when: datetime = FIXED_TIMESTAMP) -> bytes:
    """``docProps/core.xml`` with ``dcterms:created`` and ``dcterms:modified`` set to *when*."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml, parser)
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for local in _PINNED_DATES:
        for element in root.iter(f"{{{_DCTERMS}}}{local}"):
            element.text = stamp
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def reproducible_package(data: bytes, when: datetime = FIXED_TIMESTAMP) -> bytes:
    """Rewrite the zip archive *data* so its bytes depend only on its content.

    Entries are written in :func:`entry_order`, each deflated with the same
    settings and dated :data:`ZIP_ENTRY_DATE`; the core properties' dates are
    set to *when*.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        contents = {info.filename: source.read(info) for info in source.infolist()
                    if not info.is_dir()}
    if CORE_PROPERTIES in contents:
        contents[CORE_PROPERTIES] = pin_core_dates(contents[CORE_PROPERTIES], when)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in entry_order(list(contents)):
            info = zipfile.ZipInfo(name, date_time=ZIP_ENTRY_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, contents[name], compresslevel=6)
    return buffer.getvalue()
