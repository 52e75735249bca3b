"""Included studies as a reference-manager file: RIS, BibTeX or CSL-JSON."""

from __future__ import annotations

from collections.abc import Iterable

from evsynth.core.errors import EvsynthError
from evsynth.screening.citations import Citation, dumps_bibtex, dumps_csl_json
from evsynth.screening.ris import dumps_ris

#: Export format -> file ending.
FORMATS: dict[str, str] = {"ris": ".ris", "bibtex": ".bib", "csl-json": ".json"}


def export_citations(citations: Iterable[Citation], fmt: str) -> str:
    """*citations* in format *fmt* (``ris``, ``bibtex`` or ``csl-json``)."""
    writers = {"ris": dumps_ris, "bibtex": dumps_bibtex, "csl-json": dumps_csl_json}
    if fmt not in writers:
        raise EvsynthError(f"unknown export format {fmt!r} (one of: {', '.join(writers)})")
    return writers[fmt](list(citations))
