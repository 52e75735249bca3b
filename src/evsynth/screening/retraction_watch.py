"""Retraction watch: flags from PubMed's comments/corrections for records in the screening log.

PubMed links a notice to the record it concerns through ``CommentsCorrections``
(NLM, "MEDLINE/PubMed XML Element Descriptions", CommentsCorrections):
``RetractionIn`` (the record is retracted), ``ExpressionOfConcernIn`` and
``ErratumIn``; a retracted record also carries the publication type
"Retracted Publication". The strongest applies: retracted > expression of
concern > erratum. Flags are only ever added or strengthened here, never
removed (a person clears a flag by editing the CSV).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from evsynth.core.csv_read import iter_records
from evsynth.core.errors import EvsynthError
from evsynth.search.records import Record
from evsynth.screening.log import BLOCKING_FLAGS, FLAGS, ScreeningEntry

_REF_TYPES: dict[str, str] = {
    "RetractionIn": "retracted",
    "ExpressionOfConcernIn": "expression of concern",
    "ErratumIn": "erratum",
}
#: Strength of a flag: a lower index is stronger (FLAGS is ordered so).
_RANK = {flag: i for i, flag in enumerate(FLAGS)}


@dataclass(frozen=True)
class FlagChange:
    """A flag set or strengthened on one row."""

    record_id: str
    pmid: str
    old: str
    new: str
    detail: str


def correction_flag(record: Record) -> tuple[str, str]:
    """``(flag, detail)`` for *record*, or ``("", "")`` when PubMed links no notice."""
    notices: list[tuple[str, str]] = []
    for c in record.comments_corrections:
        flag = _REF_TYPES.get(c.ref_type)
        if flag:
            where = " ".join(c.ref_source.split())
            notices.append((flag, f"{c.ref_type}: {where}" + (f" (PMID {c.pmid})" if c.pmid else "")))
    if "Retracted Publication" in record.publication_types and not any(
            f == "retracted" for f, _ in notices):
        notices.append(("retracted", "publication type: Retracted Publication"))
    if not notices:
        return "", ""
    strongest = min(notices, key=lambda n: _RANK[n[0]])[0]
    return strongest, "; ".join(detail for _, detail in notices)


def stronger(new: str, old: str) -> bool:
    """True when flag *new* is stronger than *old* (any flag beats none)."""
    if not new:
        return False
    return not old or _RANK.get(new, 99) < _RANK.get(old, 99)


def apply_flags(entries: Sequence[ScreeningEntry], records: Iterable[Record]
                ) -> tuple[list[ScreeningEntry], list[FlagChange]]:
    """Rows with their flags updated from fresh PubMed *records* (matched by PMID)."""
    by_pmid: Mapping[str, Record] = {r.pmid: r for r in records}
    out: list[ScreeningEntry] = []
    changes: list[FlagChange] = []
    for e in entries:
        record = by_pmid.get(e.pmid) if e.pmid else None
        flag, detail = correction_flag(record) if record else ("", "")
        if stronger(flag, e.flag) or (flag and flag == e.flag and detail != e.flag_detail):
            changes.append(FlagChange(e.record_id, e.pmid, e.flag, flag, detail))
            e = replace(e, flag=flag, flag_detail=detail)
        out.append(e)
    return out, changes


def flag_new_rows(entries: Sequence[ScreeningEntry], records: Iterable[Record],
                  new_ids: Iterable[str]) -> list[ScreeningEntry]:
    """Flags for rows just added (a candidate that is already retracted says so at once)."""
    wanted = set(new_ids)
    subset = [e for e in entries if e.record_id in wanted]
    flagged, _ = apply_flags(subset, records)
    by_id = {e.record_id: e for e in flagged}
    return [by_id.get(e.record_id, e) for e in entries]


#: The retraction-watch table ``evsynth update`` writes into ``extracted/``.
WATCH_FILE = "retraction-watch.csv"


@dataclass(frozen=True)
class Flagged:
    """An included study PubMed flags as retracted or with an expression of concern."""

    study: str
    pmid: str
    flag: str
    detail: str
    checked: str = ""

    @property
    def note(self) -> str:
        """``RETRACTED: RetractionIn: ... (checked 2025-03-01)``: the mark's explanation."""
        when = f" (retraction watch, {self.checked})" if self.checked else ""
        return f"{self.flag.upper()}: {self.detail}{when}"


def flagged_included(extracted: Path, entries: Sequence[ScreeningEntry]) -> list[Flagged]:
    """Included studies flagged retracted or with an expression of concern.

    From the retraction-watch table (the previous version's studies, by study
    id and PMID, as the last ``evsynth update`` found them) and from the
    screening log (records included at full text that carry such a flag).
    An absent table is no flag; a damaged one is a one-line error.
    """
    out: list[Flagged] = []
    path = extracted / WATCH_FILE
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise EvsynthError(f"{path}: not a readable CSV file (not UTF-8 at byte {exc.start})") from None
        records = [r for r in iter_records(text, str(path)) if not r.blank]  # broken quote: FILE:LINE:COLUMN
        header = [c.strip() for c in records[0].cells] if records else []
        if not {"study", "pmid", "flag"} <= set(header):
            raise EvsynthError(f"{path}:1: needs columns study, pmid, flag, detail, checked")
        for record in records[1:]:
            row = dict(zip(header, record.cells))
            flag = (row.get("flag") or "").strip()
            if flag in BLOCKING_FLAGS:
                out.append(Flagged(row.get("study", "").strip(), row.get("pmid", "").strip(), flag,
                                   (row.get("detail") or "").strip(), (row.get("checked") or "").strip()))
    seen = {f.study for f in out}
    for e in entries:
        if e.is_included and e.flag in BLOCKING_FLAGS and e.record_id not in seen:
            out.append(Flagged(e.record_id, e.pmid, e.flag, e.flag_detail))
    return out
