"""A new, empty review project: the folders and starter files ``evsynth init`` lays down.

::

    DIR/
      README.md                  what to do next
      review.toml                what the page says about the review (title, ...)
      sheets.toml                the sheets: columns, types, allowed values (the template's)
      extracted/<sheet>.csv      one empty sheet per declared sheet, header row only
      queries/sample.toml        a documented PubMed query to edit
      reports/                   where ``evsynth build`` writes (empty)
      .github/living-update.sh   the living loop: update, build, write what changed
      .github/workflows/living-update.yml   runs it weekly and opens a pull request

The files come from a named, versioned template shipped with evsynth
(``evsynth/review/templates/<name>/``, described by its ``template.toml``):
``blank`` (one sheet of studies) or ``case-series`` (the bundled review's nine
sheets). The sheets' header rows are generated from the template's
``sheets.toml``, so every column is declared once. The project is assembled in
a temporary sibling folder and moved into place at the end, so a failure
leaves no half-made project behind.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from evsynth.core.atomic import write_text
from evsynth.core.errors import EvsynthError
from evsynth.core.project import QUERIES, SETTINGS_FILE, Project
from evsynth.sheets.spec import SPEC_FILE, SheetSet, parse_sheet_set

#: The templates ``evsynth init`` offers, in the order ``--help`` lists them.
TEMPLATES: tuple[str, ...] = ("blank", "case-series")
#: A new review rarely has the bundled review's structure: start from one sheet of studies.
DEFAULT_TEMPLATE = "blank"
#: Files of a template copied into the project (``{name}`` in review.toml becomes the project's name).
TEMPLATE_FILES: tuple[str, ...] = (SETTINGS_FILE, SPEC_FILE, f"{QUERIES}/sample.toml")
SAMPLE_QUERY_NAME = "sample.toml"
#: The living loop (shared by every template): the script and the workflow that runs it.
LOOP_SCRIPT = ".github/living-update.sh"
LOOP_WORKFLOW = ".github/workflows/living-update.yml"
#: How the workflow of a new project installs evsynth (a repository variable may name another source).
NEW_PROJECT_INSTALL = 'pip install "${{ vars.EVSYNTH_PACKAGE || \'evsynth\' }}"'


def living_loop(install: str = NEW_PROJECT_INSTALL) -> dict[str, str]:
    """The living loop's files (path in the project -> text); *install* is the workflow's install command."""
    folder = resources.files("evsynth.review").joinpath("templates", "living")
    return {LOOP_SCRIPT: folder.joinpath("living-update.sh").read_text(encoding="utf-8"),
            LOOP_WORKFLOW: folder.joinpath("living-update.yml").read_text(encoding="utf-8")
            .replace("{install}", install)}


@dataclass(frozen=True)
class Template:
    """A project template: its name, version, one-line description and files."""

    name: str
    version: int
    description: str
    files: dict[str, str]

    @property
    def sheets(self) -> SheetSet:
        return parse_sheet_set(self.files[SPEC_FILE], f"{self.name}/{SPEC_FILE}")


def load_template(name: str) -> Template:
    """The template *name* shipped with evsynth (:class:`EvsynthError` for an unknown one)."""
    if name not in TEMPLATES:
        raise EvsynthError(f"unknown template {name!r} (known: {', '.join(TEMPLATES)})")
    folder = resources.files("evsynth.review").joinpath("templates", name)
    about = tomllib.loads(folder.joinpath("template.toml").read_text(encoding="utf-8"))
    files = {relative: folder.joinpath(*relative.split("/")).read_text(encoding="utf-8")
             for relative in TEMPLATE_FILES}
    return Template(str(about["name"]), int(about["version"]), str(about["description"]), files)


def sheet_headers(template: Template) -> dict[str, tuple[str, ...]]:
    """Every sheet of *template* (file name in ``extracted/``) and its columns, in order."""
    return {spec.filename: spec.columns for spec in template.sheets.sheets}


README = """\
# {name}

A systematic review kept with evsynth (template `{template}`, version {version}). Next steps:

1. **Search.** Edit `queries/sample.toml` (name, database, exact PubMed query, rationale),
   or add one TOML file per search, then run `evsynth harvest` to fetch the records.
2. **Extract.** Fill in the sheets in `extracted/` (CSV, UTF-8; open them in any
   spreadsheet). Each file already has its header row; add one row per {rows}.
   `evsynth sheets` lists every column, its type and allowed values; `sheets.toml`
   declares them (add columns or sheets there). Leave identifiers (PMID, DOI) empty until
   a person has confirmed them.
3. **Check.** `evsynth validate` lists every problem as `file:row:column: message`.
4. **Build.** `evsynth build` writes the review to `reports/` (`review.html` and the
   supplementary tables); `evsynth tables --format xlsx --out DIR` writes just the tables.

Run every command from this folder. Keep the folder under version control: the sheets,
their specification and the queries are the review; `reports/` can always be rebuilt from them.

**Keep it living.** `.github/living-update.sh` runs `evsynth update`, `evsynth build` and
`evsynth changes` (what changed, as a pull request's text); on GitHub,
`.github/workflows/living-update.yml` runs it every week and opens a pull request for a person
to read. Add NCBI's key as the repository secret `NCBI_API_KEY`, and set the repository variable
`EVSYNTH_PACKAGE` to where your evsynth is installed from if it is not the package `evsynth`.
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


def _lay_out(root: Path, name: str, template: Template) -> None:
    """Write the project's files under *root* (an empty folder)."""
    project = Project(root)
    for sheet, columns in sheet_headers(template).items():
        write_text(project.extracted / sheet, header_line(columns))
    for relative, text in template.files.items():
        write_text(root / relative, text.replace("{name}", name) if relative == SETTINGS_FILE else text)
    project.reports.mkdir()
    for relative, text in living_loop().items():
        write_text(root / relative, text)
    os.chmod(root / LOOP_SCRIPT, 0o755 & ~_umask())
    rows = "study" if template.name == "blank" else "study, cohort, patient, procedure or event"
    write_text(root / "README.md", README.format(name=name, template=template.name,
                                                 version=template.version, rows=rows))


def create_project(target: str | Path, template: str = DEFAULT_TEMPLATE) -> list[Path]:
    """Scaffold an empty review project in *target* from *template*; return the files and folders made.

    *target* may be missing (it is created, with its parents) or an empty
    folder (a lone ``.git`` is allowed). Anything else is refused with
    :class:`EvsynthError` and nothing is written.
    """
    chosen = load_template(template)
    target = Path(target).absolute()
    _check_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".init",
                                        dir=target.parent))
    except OSError as exc:
        raise EvsynthError(f"cannot create {target}: {exc.strerror or exc}") from exc
    try:
        _lay_out(staging, target.resolve().name or "review", chosen)
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
