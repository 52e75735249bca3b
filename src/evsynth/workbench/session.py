"""A screening session: one reviewer deciding records one at a time, each decision saved at once.

The screening page (``evsynth screen --serve``) is a thin layer over this
class; everything it shows and does is here, so it is tested without a
browser. A session works on the main log, or, for a second reviewer
(``--as NAME``), on ``extracted/screening-NAME.csv`` brought up to date with
the main log as blind copies (:func:`evsynth.screening.dual.sync_second_log`);
a second reviewer's session never reads the main log's decisions.

Every decision is written to the log atomically before the call returns
(reviewer and date filled in), so closing the page loses nothing. Each decision
takes the project's lock (:func:`evsynth.core.lock.project_lock`), re-reads the
log under it and writes it before letting go, so decisions made at the same time
by another page, the terminal or an update are all kept. Undo
restores the row as it was before this session's last decision, unless the
row was changed elsewhere since.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evsynth.core.project import Project
from evsynth.core.errors import EvsynthError
from evsynth.core.lock import project_lock
from evsynth.core.settings import load_settings
from evsynth.screening.dual import agreement_pairs, cohens_kappa, find_conflicts, sync_second_log
from evsynth.screening.files import ReviewFiles, today
from evsynth.core.atomic import write_text
from evsynth.screening.log import (
    ScreeningEntry, decide, find_entry, is_blocked, render_log, save_log,
)
from evsynth.prioritise.pending import is_to_screen, rank_pending, record_texts, stopping_status
from evsynth.screening.queue import decision_stage, order_pending, progress
from evsynth.prioritise.sample import in_sample_order, read_sample, sample_status
from evsynth.prioritise.stopping import StoppingStatus
from evsynth.search.queries import query_terms
from evsynth.search.records import Record
from evsynth.search.runs import records_of_runs

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
DOI_URL = "https://doi.org/{doi}"


def record_card(entry: ScreeningEntry, record: Record | None) -> dict[str, Any]:
    """What the page shows of one record (JSON-ready; the page inserts every value as text)."""
    authors = list(record.authors) if record and record.authors else [
        a for a in entry.authors.split("; ") if a] or ([entry.first_author] if entry.first_author else [])
    mesh = [("*" if m.major else "") + m.descriptor for m in record.mesh] if record else []
    keywords = [str(k) for k in (record.extra.get("keywords") or [])] if record else []
    return {
        "record_id": entry.record_id, "pmid": entry.pmid, "doi": entry.doi,
        "title": (record.title if record and record.title else entry.title),
        "abstract": record.abstract if record else "",
        "has_record": record is not None,
        "authors": authors, "journal": (record.journal if record and record.journal else entry.journal),
        "year": entry.year or (str(record.year) if record and record.year else ""),
        "mesh": mesh, "keywords": keywords,
        "publication_types": list(record.publication_types) if record else [],
        "source": entry.source, "stage": decision_stage(entry), "decision": entry.decision,
        "flag": entry.flag, "flag_detail": entry.flag_detail, "blocked": is_blocked(entry),
        "pubmed_url": PUBMED_URL.format(pmid=entry.pmid) if entry.pmid else "",
        "doi_url": DOI_URL.format(doi=entry.doi) if entry.doi else "",
    }


def stopping_card(status: StoppingStatus | None) -> dict[str, Any] | None:
    """Where the review stands, for the page (JSON-ready; inserted as text): the counts,
    whether the stopping criterion is met and how many more records it needs at least,
    its one-line summary and the heuristic's line (which says it is no guarantee)."""
    if status is None:
        return None
    return {
        "screened": status.screened, "total": status.total,
        "includes_found": status.includes_found, "met": status.met,
        "more_needed": status.more_needed, "target_recall": status.target_recall,
        "confidence": status.confidence, "p_value": status.p_value,
        "irrelevant_streak": status.irrelevant_streak,
        "summary": status.describe(), "heuristic": status.heuristic(),
    }


@dataclass
class ScreeningSession:
    """One reviewer's screening session on the main log, or blind on a second reviewer's file."""

    files: ReviewFiles
    reviewer: str
    second: str | None = None
    clock: Callable[[], str] = today
    records: dict[str, Record] = field(default_factory=dict)
    terms: tuple[str, ...] = ()
    skipped: list[str] = field(default_factory=list)
    history: list[tuple[ScreeningEntry, ScreeningEntry]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _cache: tuple[tuple[int, int, int], list[ScreeningEntry]] | None = field(default=None, repr=False)
    _digest: bytes = field(default=b"", repr=False)
    _ranking: tuple[tuple[object, ...], list[str]] | None = field(default=None, repr=False)
    _status: tuple[tuple[object, ...], StoppingStatus | None] | None = field(default=None,
                                                                             repr=False)

    @classmethod
    def open(cls, files: ReviewFiles, reviewer: str, second: str | None = None,
             clock: Callable[[], str] = today) -> "ScreeningSession":
        """A session with the records of the run folders and the queries' terms loaded."""
        if not reviewer.strip():
            raise EvsynthError("screening needs a reviewer name (--reviewer NAME, or --as NAME)")
        session = cls(files=files, reviewer=reviewer.strip(), second=second, clock=clock,
                      records=records_of_runs(files.runs),
                      terms=query_terms(Project(files.root).queries))
        if second:
            with project_lock(files.root):
                own, added = sync_second_log(files.load_log(), files.load_log(session.path))
                if added or not session.path.exists():
                    save_log(session.path, own)
        return session

    @property
    def path(self) -> Path:
        """The log this session writes: the main log, or ``screening-NAME.csv``."""
        if self.second:
            return self.files.extracted / f"screening-{self.second}.csv"
        return self.files.screening

    @property
    def blind(self) -> bool:
        """True for a second reviewer (never shown the main log's decisions)."""
        return bool(self.second)

    def entries(self, *, fresh: bool = False) -> list[ScreeningEntry]:
        """The log as it is on disk now (re-read only when the file changed).

        With *fresh* (a decision, under the project's lock) the file's bytes are
        compared with those of the copy held, whatever its time stamp says, and
        parsed again unless they are the same.
        """
        with self._lock:
            try:
                stat = os.stat(self.path)
                key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            except FileNotFoundError:
                key = (0, 0, 0)
            if not fresh:
                if self._cache is None or self._cache[0] != key:
                    self._cache = (key, self.files.load_log(self.path))
                    self._digest = b""
                return self._cache[1]
            try:
                digest = hashlib.sha256(self.path.read_bytes()).digest()
            except FileNotFoundError:
                digest = b""
            if self._cache is None or not self._digest or digest != self._digest:
                self._cache = (key, self.files.load_log(self.path))
                self._digest = digest
            else:
                self._cache = (key, self._cache[1])
            return self._cache[1]

    def _save(self, entries: list[ScreeningEntry]) -> None:
        """Write the log atomically; what was written is the cache (no need to read it back)."""
        text = render_log(entries)
        write_text(self.path, text)
        stat = os.stat(self.path)
        self._digest = hashlib.sha256(text.encode("utf-8")).digest()
        self._cache = ((stat.st_mtime_ns, stat.st_size, stat.st_ino),
                       sorted(entries, key=lambda e: (len(e.record_id), e.record_id)))

    def ranking(self, entries: list[ScreeningEntry]) -> list[str]:
        """Pending record ids, most likely include first (retrained when the log changed)."""
        with self._lock:
            key = self._order_key()
            if self._ranking is None or self._ranking[0] != key:
                ranked: list[str] = []
                settings = load_settings(self.files.root).screening
                if settings.order == "ranked" and any(is_to_screen(e) for e in entries):
                    ranked = rank_pending(entries, record_texts(self.records.values()), settings.seed)
                sample = self.sample(entries)
                if sample:
                    ranked = in_sample_order(ranked, sample, entries)
                self._ranking = (key, ranked)
            return self._ranking[1]

    def _order_key(self) -> tuple[object, ...]:
        """What the ranking and the status depend on: the log's state and the sample file's
        (a sample drawn from the terminal while the page is open is picked up at once)."""
        log = self._cache[0] if self._cache is not None else (0, 0, 0)
        try:
            stat = self.files.sample.stat()
        except FileNotFoundError:
            return (log, None)
        return (log, (stat.st_mtime_ns, stat.st_size))

    def sample(self, entries: list[ScreeningEntry]) -> list[str]:
        """The random-sample order of the main log (:mod:`evsynth.prioritise.sample`); a
        second reviewer's blind session has none."""
        if self.second:
            return []
        return read_sample(self.files.sample, {e.record_id for e in entries})

    def stopping(self, entries: list[ScreeningEntry]) -> StoppingStatus | None:
        """The stopping status of this session's log for the project's ``[screening]``
        target and confidence (recomputed when the log changed; ``None`` for an empty log).

        A second reviewer's status counts their own blind decisions only.
        """
        with self._lock:
            key = self._order_key()
            if self._status is None or self._status[0] != key:
                status = None
                if entries:
                    settings = load_settings(self.files.root).screening
                    sample = self.sample(entries)
                    status = (sample_status(entries, sample, target_recall=settings.target_recall,
                                            confidence=settings.confidence) if sample else
                              stopping_status(entries, target_recall=settings.target_recall,
                                              confidence=settings.confidence,
                                              order=settings.order,
                                              rule=settings.stopping_rule))
                self._status = (key, status)
            return self._status[1]

    def queue(self) -> list[ScreeningEntry]:
        """The open records in order, those skipped in this session last."""
        entries = self.entries()
        ordered = order_pending(entries, self.ranking(entries))
        skipped = [e for e in ordered if e.record_id in self.skipped]
        skipped.sort(key=lambda e: self.skipped.index(e.record_id))
        return [e for e in ordered if e.record_id not in self.skipped] + skipped

    def current(self) -> ScreeningEntry | None:
        """The record to decide next."""
        queue = self.queue()
        return queue[0] if queue else None

    def decide(self, record_id: str, decision: str, *, reason: str = "", note: str = "",
               allow_retracted: bool = False) -> ScreeningEntry:
        """Record a decision on *record_id* at the stage it waits at, and save the log at once."""
        with self._lock, project_lock(self.files.root):
            entries = self.entries(fresh=True)
            old = entries[find_entry(entries, record_id)]
            if old.record_id != record_id:
                raise EvsynthError(f"no record {record_id!r} in the screening log")
            updated = decide(entries, record_id, decision, reviewer=self.reviewer,
                             date=self.clock(), reason=reason, stage=decision_stage(old),
                             reasons=self.files.reasons, allow_retracted=allow_retracted,
                             note=note)
            self._save(updated)
            new = updated[find_entry(updated, record_id)]
            self.history.append((old, new))
            if record_id in self.skipped:
                self.skipped.remove(record_id)
            return new

    def skip(self, record_id: str) -> None:
        """Put *record_id* at the end of this session's queue (nothing is written)."""
        with self._lock:
            if record_id in self.skipped:
                self.skipped.remove(record_id)
            self.skipped.append(record_id)

    def undo(self) -> ScreeningEntry | None:
        """Restore the row of the last decision of this session; ``None`` when there is none."""
        with self._lock, project_lock(self.files.root):
            if not self.history:
                return None
            before, written = self.history[-1]
            entries = self.entries(fresh=True)
            index = find_entry(entries, before.record_id)
            if entries[index] != written:
                raise EvsynthError(f"{before.record_id} was changed elsewhere since; not undone")
            self.history.pop()
            restored = list(entries)
            restored[index] = before
            self._save(restored)
            if before.record_id in self.skipped:
                self.skipped.remove(before.record_id)
            return before

    def state(self) -> dict[str, Any]:
        """Everything the page needs now: the record, progress, where the review stands
        against the stopping criterion (:func:`stopping_card`), reasons, mode."""
        with self._lock:
            entries = self.entries()
            now = self.current()
            counts = progress(entries)
            return {
                "stopping": stopping_card(self.stopping(entries)),
                "record": record_card(now, self.records.get(now.pmid) if now and now.pmid else None)
                if now else None,
                "progress": {"total": counts.total, "decided": counts.decided,
                             "title_abstract_open": counts.title_abstract_open,
                             "full_text_open": counts.full_text_open},
                "reasons": list(self.files.reasons),
                "terms": list(self.terms),
                "reviewer": self.reviewer,
                "second": self.second or "",
                "log": self.path.name,
                "can_undo": bool(self.history),
                "last": self.history[-1][0].record_id if self.history else "",
            }

    def conflicts(self) -> list[dict[str, Any]]:
        """Per second reviewer: the disagreements and Cohen's kappa at title/abstract.

        Not available to a second reviewer's blind session.
        """
        if self.blind:
            raise EvsynthError("a second reviewer's session does not show the other decisions")
        main = self.entries()
        out = []
        for path in self.files.second_reviewers():
            name = path.stem.removeprefix("screening-")
            other = self.files.load_log(path, missing_ok=False)
            pairs = agreement_pairs(main, other)
            out.append({"reviewer": name, "file": path.name, "pairs": len(pairs),
                        "agreed": sum(1 for a, b in pairs if a == b),
                        "kappa": cohens_kappa(pairs),
                        "conflicts": find_conflicts(main, other, name)})
        return out
