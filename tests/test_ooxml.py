"""Reproducible OOXML packages: zip dates, entry order and core-property dates pinned."""

import io
import zipfile

from evsynth.report.ooxml import ZIP_ENTRY_DATE, pin_core_dates, reproducible_package, xml_text

CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:title>T</dc:title><dcterms:created>{0}</dcterms:created>'
        '<dcterms:modified>{0}</dcterms:modified></cp:coreProperties>')


def make_zip(entries: list[tuple[str, str]], date: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, text in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=date), text)
    return buffer.getvalue()


def test_packages_differing_only_in_dates_and_order_become_identical():
    a = make_zip([("docProps/core.xml", CORE.format("2024-05-01T10:00:00Z")),
                  ("[Content_Types].xml", "<Types/>"), ("b.xml", "<b/>"), ("a.xml", "<a/>")],
                 (2024, 5, 1, 10, 0, 0))
    b = make_zip([("a.xml", "<a/>"), ("b.xml", "<b/>"), ("[Content_Types].xml", "<Types/>"),
                  ("docProps/core.xml", CORE.format("2025-12-31T23:59:58Z"))],
                 (2025, 12, 31, 23, 59, 58))
    assert a != b
    fixed_a, fixed_b = reproducible_package(a), reproducible_package(b)
    assert fixed_a == fixed_b
    with zipfile.ZipFile(io.BytesIO(fixed_a)) as archive:
        assert archive.namelist() == ["[Content_Types].xml", "a.xml", "b.xml", "docProps/core.xml"]
        assert all(info.date_time == ZIP_ENTRY_DATE for info in archive.infolist())
        assert archive.read("a.xml") == b"<a/>"
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2 and "<dc:title>T</dc:title>" in core


def test_content_change_still_shows():
    date = (2024, 1, 1, 0, 0, 0)
    assert (reproducible_package(make_zip([("a.xml", "<a/>")], date))
            != reproducible_package(make_zip([("a.xml", "<a>x</a>")], date)))


def test_pin_core_dates_keeps_other_properties():
    pinned = pin_core_dates(CORE.format("2024-05-01T10:00:00Z").encode()).decode()
    assert "2024" not in pinned
    assert "<dc:title>T</dc:title>" in pinned


def test_xml_text_drops_only_forbidden_characters():
    assert xml_text("PR\x0b 3\x00 (n = 5)\tok\nnext ≥") == "PR 3 (n = 5)\tok\nnext ≥"
