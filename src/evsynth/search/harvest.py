"""One harvest run: search PubMed, fetch every record in verified batches, write the run folder.

The run, step by step (NCBI's E-utilities guide, NBK25498 "Application 3" and
NBK25499):

1. ``esearch`` with ``usehistory=y`` and ``retmax=9999``: PubMed's count, its
   query translation, warnings, and (up to the cap) the ids, kept on the history
   server. A phrase PubMed does not know (``ErrorList/PhraseNotFound``) stops
   the run: PubMed would silently search without it. Only a phrase of the
   whole query counts: PubMed also answers PhraseNotFound for a phrase that
   matches nothing in a narrow date window (an empty week of a living
   update), so a dated search that reports one asks once more without the
   dates and stops only for the phrases PubMed does not know at all.
2. Over 9,999 records, the date range is split (:mod:`evsynth.search.date_windows`)
   until every window fits, and the union of the windows is checked against
   the count.
3. The plan (windows, their ids, the batches) is committed to ``plan.json``.
4. Each batch is fetched with ``efetch`` by ``WebEnv``/``query_key``/``retstart``
   (by POSTed id list when resuming: history sessions expire), verified (it
   parses and holds exactly its PMIDs) and committed atomically to
   ``batches/``. A run killed at any moment and started again reuses the
   committed batches and fetches only the others.
5. The records of all batches, each PMID once and sorted, go to
   ``records.jsonl``/``records.csv``; ``manifest.json`` is written last.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evsynth import __version__
from evsynth.core.atomic import write_json, write_text
from evsynth.search.date_windows import EARLIEST, Window, open_end, plan_windows
from evsynth.core.errors import EvsynthError
from evsynth.search.eutils import (PUBMED_RETRIEVAL_CAP, EutilsClient, EutilsError, MalformedResponse,
                            RequestStats, SearchResult, check_batch, public_url)
from evsynth.search.pubmed_xml import PubmedXmlError, parse_pubmed_xml
from evsynth.search.queries import Query, format_pubmed_date, parse_pubmed_date
from evsynth.search.records import Record
from evsynth.search.runs import (BATCHES, IDS, MANIFEST, PLAN, load_run, read_batch,
                                read_json, write_batch, write_records)

__all__ = ["DEFAULT_BATCH", "HarvestResult", "SearchSpec", "latest_unfinished_run", "load_run",
           "new_run_dir", "run_query", "search_pmids", "spec_from_query"]

PLAN_FORMAT = 1
#: Records per efetch. NCBI allows up to 10,000 per efetch (NBK25499); 500 keeps
#: each answer a few MB and a lost batch cheap to fetch again.
DEFAULT_BATCH = 500
MAX_BATCH = 10_000


@dataclass(frozen=True)
class SearchSpec:
    """What to search and how; a resumed run must have the same :meth:`key`."""

    term: str
    database: str = "pubmed"
    datetype: str = "pdat"
    mindate: str = ""
    maxdate: str = ""
    batch: int = DEFAULT_BATCH
    query_name: str = ""
    query_version: int | None = None
    query_file: str = ""

    def key(self) -> dict[str, Any]:
        """The fields that define the result set and its batches."""
        return {"term": self.term, "database": self.database, "datetype": self.datetype,
                "mindate": self.mindate, "maxdate": self.maxdate, "batch": self.batch}


@dataclass
class HarvestResult:
    """A finished run."""

    run_dir: Path
    manifest: dict[str, Any]
    records: list[Record] = field(default_factory=list)


def spec_from_query(query: Query, *, mindate: str | None = None, maxdate: str | None = None,
                    datetype: str | None = None, batch: int = DEFAULT_BATCH) -> SearchSpec:
    """The search of a query file, with command-line overrides."""
    return SearchSpec(term=query.term, database=query.database,
                      datetype=datetype or query.datetype,
                      mindate=query.mindate if mindate is None else mindate,
                      maxdate=query.maxdate if maxdate is None else maxdate,
                      batch=batch, query_name=query.name, query_version=query.version,
                      query_file=query.path)


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """``2026-11-25T13:30:00Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_dir(runs_root: str | Path, name: str, moment: datetime | None = None) -> Path:
    """``<runs_root>/<name>/<UTC timestamp>/`` (a suffix keeps two runs in one second apart)."""
    stamp = (moment or utc_now()).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = Path(runs_root) / name / stamp
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{stamp}-{n}")
    return path


def latest_unfinished_run(runs_root: str | Path, name: str) -> Path | None:
    """The newest run folder of *name* without a manifest (a run that did not finish)."""
    folder = Path(runs_root) / name
    if not folder.is_dir():
        return None
    unfinished = [p for p in sorted(folder.iterdir()) if p.is_dir() and not (p / MANIFEST).exists()]
    return unfinished[-1] if unfinished else None


def run_query(client: EutilsClient, spec: SearchSpec, run_dir: str | Path, *,
              progress: bool = False, today: date | None = None) -> HarvestResult:
    """Harvest *spec* into *run_dir*, resuming from whatever a previous attempt committed there."""
    run_dir = Path(run_dir)
    if (run_dir / MANIFEST).exists():
        raise EvsynthError(f"{run_dir}: already holds a finished run ({MANIFEST}); "
                           "use a new folder")
    _check_spec(spec)
    started = utc_now()
    before = dataclasses.replace(client.stats)
    plan_path = run_dir / PLAN
    resumed = plan_path.exists()
    if resumed:
        _remove_stale_temporaries(run_dir)
        plan = read_json(plan_path)
        if plan.get("format") != PLAN_FORMAT or plan.get("search") != spec.key():
            raise EvsynthError(f"{plan_path}: this folder holds a different search "
                               f"({plan.get('search')}); use a new folder")
    else:
        # The folder is made only once the search answered: a search that fails (server
        # down, bad query) leaves no empty run folder behind.
        plan = _search(client, spec, today or started.date())
        plan["searched_utc"] = iso(started)
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(plan_path, plan)

    fresh: dict[str, tuple[Record, ...]] = {}
    fetched, reused = _fetch_batches(client, plan, run_dir, fresh, progress=progress,
                                     use_history=not resumed)
    records = _assemble(plan, run_dir, fresh)
    all_ids = sorted({i for w in plan["windows"] for i in w["ids"]}, key=int)
    write_text(run_dir / IDS, "".join(f"{i}\n" for i in all_ids))
    digests = write_records(run_dir, records)
    stats = _delta(before, client.stats)
    manifest = {
        "format": PLAN_FORMAT,
        "query": {"name": spec.query_name, "version": spec.query_version,
                  "file": spec.query_file, "term": spec.term, "database": spec.database},
        "query_translation": plan["query_translation"],
        "warnings": plan["warnings"],
        "count": plan["count"],
        "ids_retrieved": len(all_ids),
        "records": len(records),
        "datetype": spec.datetype,
        "mindate": spec.mindate,
        "maxdate": spec.maxdate,
        "date_windows": [{k: w[k] for k in ("mindate", "maxdate", "count")}
                         for w in plan["windows"]],
        "coverage": {"count": plan["count"], "windows_union": len(all_ids),
                     "equal": len(all_ids) == plan["count"]},
        "batches": {"size": spec.batch, "total": len(plan["batches"]),
                    "fetched": fetched, "reused": reused},
        "searched_utc": plan.get("searched_utc", ""),
        "started_utc": iso(started),
        "finished_utc": iso(utc_now()),
        "resumed": resumed,
        "base_url": public_url(client.base_url),
        "requests": stats.requests,
        "retries": stats.retries,
        "request_stats": stats.to_dict(),
        "evsynth_version": __version__,
        "biopython_version": _version("biopython"),
        "python_version": platform.python_version(),
        "files": digests,
    }
    write_json(run_dir / MANIFEST, manifest)
    return HarvestResult(run_dir=run_dir, manifest=manifest, records=records)


def search_pmids(client: EutilsClient, spec: SearchSpec, *, today: date | None = None) -> list[str]:
    """Every PMID the search finds (date windows past the 9,999 cap), ascending; no efetch.

    For a living update: compare with the PMIDs of an earlier run to see what is new.
    """
    _check_spec(spec)
    plan = _search(client, spec, today or utc_now().date())
    return sorted({i for w in plan["windows"] for i in w["ids"]}, key=int)


def _remove_stale_temporaries(run_dir: Path) -> None:
    """Delete temporary files a killed run left behind (:mod:`evsynth.core.atomic` names them ``.*.tmp``)."""
    for path in run_dir.rglob(".*.tmp"):
        path.unlink(missing_ok=True)


def _check_spec(spec: SearchSpec) -> None:
    """Batch size, datetype and dates, checked before any request or file."""
    if not 1 <= spec.batch <= MAX_BATCH:
        raise EvsynthError(f"--batch must be between 1 and {MAX_BATCH:,}, not {spec.batch}")
    if spec.datetype not in ("edat", "pdat", "mdat"):
        raise EvsynthError(f"--datetype must be edat, pdat or mdat, not {spec.datetype!r}")
    days = []
    for name, value, end in (("mindate", spec.mindate, False), ("maxdate", spec.maxdate, True)):
        try:
            days.append(parse_pubmed_date(value, end=end))
        except ValueError as exc:
            raise EvsynthError(f"--{name}: {exc}") from None
    if days[0] and days[1] and days[0] > days[1]:
        raise EvsynthError(f"mindate {spec.mindate} is after maxdate {spec.maxdate}")


def _search(client: EutilsClient, spec: SearchSpec, today: date) -> dict[str, Any]:
    """Steps 1-2: search, split past the cap, and lay out the batches (the plan)."""
    lo = parse_pubmed_date(spec.mindate, end=False)
    hi = parse_pubmed_date(spec.maxdate, end=True)
    if lo or hi:
        lo = lo or EARLIEST
        hi = hi or max(open_end(today), date(lo.year, 12, 31))

    def search(mindate: str | None, maxdate: str | None) -> SearchResult:
        return client.esearch(spec.term, db=spec.database, usehistory=True,
                              retmax=PUBMED_RETRIEVAL_CAP, mindate=mindate, maxdate=maxdate,
                              datetype=spec.datetype)

    first = search(format_pubmed_date(lo) if lo else None, format_pubmed_date(hi) if hi else None)
    unknown = first.phrases_not_found
    if unknown and (lo or hi):
        # the whole query, without dates: what PubMed does not know at all
        unknown = client.esearch(spec.term, db=spec.database, retmax=0).phrases_not_found
    if unknown:
        phrases = ", ".join(f'"{p}"' for p in unknown)
        raise EvsynthError(f"PubMed did not find {phrases} (ErrorList/PhraseNotFound) and would "
                           "search without it; correct the query")
    windows: list[Window] = plan_windows(search, first, lo, hi, today)
    warnings = list(first.warnings)
    if first.count == 0:
        warnings.append("PubMed found no records for this search")
    if first.count > PUBMED_RETRIEVAL_CAP:
        warnings = [w for w in warnings if not w.startswith("Restrictions achieved")]
        warnings.append(f"{first.count:,} records exceed PubMed's {PUBMED_RETRIEVAL_CAP:,} cap: "
                        f"searched in {len(windows)} date windows ({spec.datetype})")
    batches = []
    for wi, window in enumerate(windows):
        for start in range(0, len(window.ids), spec.batch):
            batches.append({"file": f"{BATCHES}/{wi:04d}-{start:06d}.xml.gz", "window": wi,
                            "retstart": start, "pmids": list(window.ids[start:start + spec.batch])})
    return {
        "format": PLAN_FORMAT,
        "search": spec.key(),
        "count": first.count,
        "query_translation": first.query_translation,
        "warnings": warnings,
        "windows": [{"mindate": w.mindate, "maxdate": w.maxdate, "count": w.count,
                     "webenv": w.webenv, "query_key": w.query_key, "ids": list(w.ids)}
                    for w in windows],
        "batches": batches,
    }


def _batch_is_whole(path: Path, pmids: list[str]) -> bool:
    """True when a committed batch file holds exactly *pmids*."""
    if not path.exists():
        return False
    try:
        check_batch(pmids, parse_pubmed_xml(read_batch(path), str(path)))
    except (OSError, EOFError, PubmedXmlError, MalformedResponse):
        return False
    return True


def _fetch_batches(client: EutilsClient, plan: dict[str, Any], run_dir: Path,
                   fresh: dict[str, tuple[Record, ...]], *, progress: bool,
                   use_history: bool) -> tuple[int, int]:
    """Fetch every batch not yet committed; *fresh* receives the records fetched now."""
    todo, reused = [], 0
    for batch in plan["batches"]:
        if _batch_is_whole(run_dir / batch["file"], batch["pmids"]):
            reused += 1
        else:
            todo.append(batch)
    total = sum(len(b["pmids"]) for b in plan["batches"])
    done = total - sum(len(b["pmids"]) for b in todo)
    with tqdm(total=total, initial=done, unit="rec", disable=not progress,
              desc="efetch", leave=False) as bar:
        for batch in todo:
            window = plan["windows"][batch["window"]]
            result = None
            if use_history and window.get("webenv"):
                try:
                    result = client.fetch_batch(batch["pmids"], webenv=window["webenv"],
                                                query_key=window["query_key"],
                                                retstart=batch["retstart"])
                except EutilsError:
                    use_history = False  # history lost or refused: fall back to id lists
            if result is None:
                result = client.fetch_batch(batch["pmids"])
            write_batch(run_dir / batch["file"], result.xml)
            fresh[batch["file"]] = result.records
            bar.update(len(batch["pmids"]))
    return len(todo), reused


def _assemble(plan: dict[str, Any], run_dir: Path,
              fresh: dict[str, tuple[Record, ...]]) -> list[Record]:
    """All records of the committed batches (parsed from file unless fetched just now)."""
    by_pmid: dict[str, Record] = {}
    for batch in plan["batches"]:
        path = run_dir / batch["file"]
        records = fresh.get(batch["file"])
        if records is None:
            records = tuple(parse_pubmed_xml(read_batch(path), str(path)))
        for record in records:
            by_pmid.setdefault(record.pmid, record)
    wanted = {i for w in plan["windows"] for i in w["ids"]}
    if set(by_pmid) != wanted:
        missing = sorted(wanted - set(by_pmid), key=int)
        raise EvsynthError(f"{run_dir}: batches hold {len(by_pmid)} of {len(wanted)} records"
                           + (f"; missing e.g. PMID {missing[0]}" if missing else ""))
    return [by_pmid[p] for p in sorted(by_pmid, key=int)]


def _delta(before: RequestStats, after: RequestStats) -> RequestStats:
    return RequestStats(**{k: getattr(after, k) - getattr(before, k)
                           for k in before.to_dict()})


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""
