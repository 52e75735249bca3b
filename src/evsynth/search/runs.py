"""A harvest run's folder: its files, how they are written, and reading a finished run back.

Layout (``queries/runs/<query>/<UTC timestamp>/`` or ``--out DIR``)::

    plan.json          the search: query, date windows and their PMIDs, the batches
    batches/*.xml.gz   each efetch answer as received, committed atomically
    ids.txt            every PMID the search returned, ascending
    records.jsonl      one record per line, sorted by PMID, each once (snake_case keys)
    records.csv        the same records as a table
    manifest.json      provenance; written last, so its presence marks a finished run

Every file is written atomically (:mod:`evsynth.core.atomic`), so a run killed at any
moment leaves whole files only. Replaying a run (:func:`load_run`) needs no
network.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from evsynth.core.atomic import atomic_open, write_bytes, write_text
from evsynth.core.csv_text import neutralise
from evsynth.core.errors import EvsynthError
from evsynth.search.records import Record

PLAN = "plan.json"
MANIFEST = "manifest.json"
RECORDS_JSONL = "records.jsonl"
RECORDS_CSV = "records.csv"
IDS = "ids.txt"
BATCHES = "batches"

CSV_COLUMNS = ("pmid", "title", "authors", "journal", "year", "pub_date", "doi", "pmcid",
               "publication_types", "language", "mesh", "retracted", "corrections",
               "article_type", "abstract")


def record_json(record: Record) -> dict[str, Any]:
    """Same as :meth:`Record.to_dict` (field names as keys, tuples as lists), built directly:
    ``dataclasses.asdict`` deep-copies and is several times slower on 10,000 records."""
    return {
        "pmid": record.pmid, "title": record.title, "abstract": record.abstract,
        "authors": list(record.authors), "journal": record.journal, "year": record.year,
        "pub_date": record.pub_date, "doi": record.doi, "pmcid": record.pmcid,
        "mesh": [{"descriptor": m.descriptor, "ui": m.ui, "major": m.major,
                  "qualifiers": [{"name": q.name, "ui": q.ui, "major": q.major}
                                 for q in m.qualifiers]} for m in record.mesh],
        "publication_types": list(record.publication_types),
        "language": list(record.language),
        "comments_corrections": [{"ref_type": c.ref_type, "ref_source": c.ref_source,
                                  "pmid": c.pmid} for c in record.comments_corrections],
        "article_type": record.article_type, "source": record.source,
        "extra": dict(record.extra),
    }


def records_jsonl(records: list[Record]) -> str:
    """One JSON object per record (stable key order), newline-terminated."""
    return "".join(json.dumps(record_json(r), sort_keys=True, ensure_ascii=False) + "\n"
                   for r in records)


def csv_row(record: Record) -> dict[str, str]:
    """The record flattened for a spreadsheet: lists joined by ``"; "``; major MeSH starred."""
    mesh = "; ".join(
        ("*" if m.major else "") + m.descriptor
        + "".join(f"/{'*' if q.major else ''}{q.name}" for q in m.qualifiers) for m in record.mesh)
    corrections = "; ".join(f"{c.ref_type}: {c.pmid or c.ref_source}"
                            for c in record.comments_corrections if c.ref_type != "Cites")
    return {"pmid": record.pmid, "title": record.title, "authors": "; ".join(record.authors),
            "journal": record.journal, "year": "" if record.year is None else str(record.year),
            "pub_date": record.pub_date, "doi": record.doi, "pmcid": record.pmcid,
            "publication_types": "; ".join(record.publication_types),
            "language": "; ".join(record.language), "mesh": mesh,
            "retracted": "yes" if record.is_retracted else "no", "corrections": corrections,
            "article_type": record.article_type, "abstract": record.abstract}


def write_records(folder: Path, records: list[Record]) -> dict[str, str]:
    """Write ``records.jsonl`` and ``records.csv``; return their SHA-256 digests."""
    write_text(folder / RECORDS_JSONL, records_jsonl(records))
    with atomic_open(folder / RECORDS_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({key: neutralise(value) for key, value in csv_row(record).items()})
    return {name: sha256(folder / name) for name in (RECORDS_JSONL, RECORDS_CSV)}


def write_batch(path: Path, xml: bytes) -> None:
    """Commit one efetch answer (gzip without a timestamp, so identical input gives identical bytes)."""
    import gzip  # here, not at the top: reading records never needs it (start-up, issue 23)
    write_bytes(path, gzip.compress(xml, mtime=0))


def read_batch(path: Path) -> bytes:
    """The efetch answer stored at *path*."""
    import gzip
    return gzip.decompress(path.read_bytes())


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    import hashlib  # here, not at the top (start-up, issue 23)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_json(path: Path) -> Any:
    """A JSON file, or a one-line error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvsynthError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvsynthError(f"{path}: not valid JSON ({exc})") from None


def load_run(path: str | Path) -> tuple[dict[str, Any], list[Record]]:
    """Re-read a finished run offline: ``(manifest, records)``.

    Checks that the records file is the one the manifest describes (SHA-256 and
    count); problems are one-line errors naming the file and line.
    """
    folder = Path(path)
    if not (folder / MANIFEST).exists():
        hint = " (an unfinished run: harvest it again with --resume)" if (folder / PLAN).exists() \
            else ""
        raise EvsynthError(f"{folder}: not a finished harvest run, no {MANIFEST}{hint}")
    manifest = read_json(folder / MANIFEST)
    jsonl = folder / RECORDS_JSONL
    if not jsonl.exists():
        raise EvsynthError(f"{jsonl}: missing")
    expected = manifest.get("files", {}).get(RECORDS_JSONL)
    if expected and sha256(jsonl) != expected:
        raise EvsynthError(f"{jsonl}: changed since the run (SHA-256 differs from {MANIFEST})")
    records = []
    with open(jsonl, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                records.append(Record.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise EvsynthError(f"{jsonl}:{number}: not a record ({exc})") from None
    if len(records) != manifest.get("records", len(records)):
        raise EvsynthError(f"{jsonl}: {len(records)} records, manifest says "
                           f"{manifest.get('records')}")
    return manifest, records


def finished_runs(runs_root: str | Path, query: str = "*") -> list[Path]:
    """Every finished run folder (``<runs_root>/<query>/<stamp>/`` with a manifest), oldest first.

    *query* limits them to one query's folder.
    """
    root = Path(runs_root)
    if not root.is_dir():
        return []
    runs = [m.parent for m in root.glob(f"{query}/*/{MANIFEST}")]
    return sorted(runs, key=lambda p: (p.name, p.parent.name))


def records_of_runs(runs_root: str | Path) -> dict[str, Record]:
    """The records of every finished run under *runs_root*, by PMID (a newer run's copy wins).

    This is where the screening tools find abstracts, authors and MeSH terms: the
    screening log keeps only what identifies a record. A damaged run is a one-line
    error naming its file (see :func:`load_run`).
    """
    out: dict[str, Record] = {}
    for folder in finished_runs(runs_root):
        for record in load_run(folder)[1]:
            if record.pmid:
                out[record.pmid] = record
    return out
