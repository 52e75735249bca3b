"""A new, empty review project: the folders and starter files ``evsynth init`` lays down.

::

    DIR/
      README.md                  what to do next
      extracted/<sheet>.csv      one empty sheet per kind of record, header row only
      queries/sample.toml        a documented PubMed query to edit
      reports/                   where ``evsynth build`` writes (empty)

The project is assembled in a temporary sibling folder and moved into place
at the end, so a failure leaves no half-made project behind.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.errors import EvsynthError
from evsynth.review.sheet_specs import SHEET_COLUMNS

#: Every curated sheet (file name in ``extracted/``) and its columns, in order,
#: as declared in :mod:`evsynth.sheets.engine`.
SHEET_HEADERS: dict[str, tuple[str, ...]] = dict(SHEET_COLUMNS)

#: ``review.toml``: what the review page says about this review (see :mod:`evsynth.core.settings`).
SETTINGS_TEMPLATE = """\
# What the review page says about this review (every key optional).
title = "{name}: a living systematic review"
# seed = "one sentence on the starting point, e.g. the published review this one updates"
# identifiers_note = "how PMIDs and DOIs of the studies were confirmed"
# previous_version_notes = ["how the previous version found its studies"]

[table_titles]
table1 = "Table 1. Case series"
table2 = "Table 2. Studies of the literature review"
table3 = "Table 3. Guideline recommendations"
"""

SAMPLE_QUERY_NAME = "sample.toml"
SAMPLE_QUERY = '''\
# One documented literature search. Copy this file for each search of the review;
# `evsynth harvest NAME` runs the query whose name is NAME.
name = "sample"
database = "pubmed"
# The exact string you would paste into PubMed: MeSH terms as [mh], free text as [tiab],
# blocks combined with AND / OR, limits written into the query.
term = """\\
("thyroid neoplasms"[mh] OR "thyroid cancer"[tiab] OR "thyroid carcinoma"[tiab]) \\
AND ("liver neoplasms/secondary"[mh] OR "liver metastases"[tiab] OR "hepatic metastases"[tiab]) \\
AND ("loco-regional treatment"[tiab] OR "locoregional therapy"[tiab] OR TACE[tiab] \\
OR chemoembolization[tiab] OR "radiofrequency ablation"[tiab]) \\
AND english[la]"""
rationale = """\\
Example only: replace with your review's question. Thyroid cancer with liver metastases \\
treated with loco-regional therapies, English-language articles."""
'''

README = """\
# {name}

A systematic review kept with evsynth. Next steps:

1. **Search.** Edit `queries/sample.toml` (name, database, exact PubMed query, rationale),
   or add one TOML file per search, then run `evsynth harvest` to fetch the records.
2. **Extract.** Fill in the sheets in `extracted/` (CSV, UTF-8; open them in any
   spreadsheet). Each file already has its header row; add one row per study,
   cohort, patient, procedure or event. Leave identifiers (PMID, DOI) empty until
   a person has confirmed them.
3. **Check.** `evsynth validate` lists every problem as `file:row:column: message`.
4. **Build.** `evsynth build` writes the review to `reports/` (`review.html` and the
   supplementary tables); `evsynth tables --format xlsx --out DIR` writes just the tables.

Run every command from this folder. Keep the folder under version control: the sheets
and queries are the review; `reports/` can always be rebuilt from them.
"""

#: Entries an otherwise empty target folder may already hold (a fresh ``git init``).
ALLOWED_EXISTING = frozenset({".git"})


def header_line(columns: tuple[str, ...]) -> str:
    """The CSV header row for *columns* (quoted where CSV needs it), with a newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    return buffer.getvalue()


def _check_target(target: Path) -> None:
    """Refuse a target that is a file or a folder that already holds something."""
    if target.exists() and not target.is_dir():
        raise EvsynthError(f"{target} exists and is not a folder")
    if target.is_dir():
        present = sorted(p.name for p in target.iterdir() if p.name not in ALLOWED_EXISTING)
        if present:
            raise EvsynthError(f"{target} is not empty (it holds {present[0]!r}"
                               f"{f' and {len(present) - 1} more' if len(present) > 1 else ''}); "
                               "choose a new or empty folder")


def _lay_out(root: Path, name: str) -> None:
    """Write the project's files under *root* (an empty folder)."""
    for sheet, columns in SHEET_HEADERS.items():
        write_text(root / "extracted" / sheet, header_line(columns))
    write_text(root / "queries" / SAMPLE_QUERY_NAME, SAMPLE_QUERY)
    write_text(root / "review.toml", SETTINGS_TEMPLATE.format(name=name))
    (root / "reports").mkdir()
    write_text(root / "README.md", README.format(name=name))


def create_project(target: str | Path) -> list[Path]:
    """Scaffold an empty review project in *target*; return the files and folders made.

    *target* may be missing (it is created, with its parents) or an empty
    folder (a lone ``.git`` is allowed). Anything else is refused with
    :class:`EvsynthError` and nothing is written.
    """
    target = Path(target).absolute()
    _check_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".init",
                                        dir=target.parent))
    except OSError as exc:
        raise EvsynthError(f"cannot create {target}: {exc.strerror or exc}") from exc
    try:
        _lay_out(staging, target.resolve().name or "review")
        made = sorted(p.relative_to(staging) for p in staging.rglob("*"))
        if target.exists():
            for entry in sorted(staging.iterdir()):
                os.rename(entry, target / entry.name)
            staging.rmdir()
        else:
            os.rename(staging, target)
            os.chmod(target, 0o777 & ~_umask())
    except OSError as exc:
        raise EvsynthError(f"cannot create {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [target / p for p in made]


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
