"""The documentation: the site builds with warnings as errors, and what it names is real.

* ``test_the_documentation_builds_with_warnings_as_errors`` (marker ``docs``) runs
  ``sphinx-build -W -b html docs OUT`` — the Markdown pages, the CLI reference generated
  from the argument parser and the API reference from the docstrings — and checks that the
  generated pages hold every command and every module.
* Every dotted name ``evsynth.x.y`` in the package's source (docstrings and comments), the
  pages of ``docs/``, ``README.md``, ``ARCHITECTURE.md`` and the project's TOML files names a
  real module or attribute, so a module that moves cannot leave its old name behind.
* ``evsynth.meta`` exports every public function and class of its modules, each public
  function has numpydoc Parameters / Returns / Notes / References, and the examples in
  them are run.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SRC = ROOT / "src"

DOTTED = re.compile(r"(?<![\w./-])evsynth(?:\.[A-Za-z_]\w*)+")


@pytest.mark.docs
def test_the_documentation_builds_with_warnings_as_errors(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(DOCS), str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    cli = (out / "reference" / "cli.html").read_text(encoding="utf-8")
    from evsynth.cli.main import COMMANDS
    for name, _, _ in COMMANDS:
        assert f'id="cli-{name}"' in cli, name
    assert "--measure" in cli and "--reviewer" in cli  # options of pool and screen, from their modules
    for stage in ("core", "meta", "search", "screening", "prioritise", "workbench", "sheets", "review",
                  "report", "cli"):
        page = (out / "api" / f"{stage}.html").read_text(encoding="utf-8")
        package = importlib.import_module(f"evsynth.{stage}")
        for info in pkgutil.walk_packages(package.__path__, prefix=f"evsynth.{stage}."):
            assert f'id="module-{info.name}"' in page, info.name
    meta = (out / "api" / "meta.html").read_text(encoding="utf-8")
    assert 'id="evsynth.meta.pooling.pool_proportions"' in meta and "DerSimonian" in meta
    for page in ("index", "tutorial/start-a-review", "tutorial/update-a-review", "reference/sheets-toml",
                 "reference/review-toml", "reference/analysis-toml", "expressions", "reference/outputs",
                 "methods/pooling", "methods/estimands", "methods/stopping", "data-dictionary", "development"):
        assert (out / f"{page}.html").is_file(), page


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _named_files() -> list[Path]:
    files = sorted(SRC.rglob("*.py")) + sorted(SRC.rglob("*.toml")) + sorted(SRC.rglob("*.j2"))
    files += sorted(DOCS.rglob("*.md")) + sorted(DOCS.rglob("*.rst")) + sorted(DOCS.rglob("*.py"))
    files += [ROOT / "README.md", ROOT / "ARCHITECTURE.md"] + sorted(ROOT.glob("*.toml"))
    return [f for f in files if "_build" not in f.parts]


def test_every_dotted_evsynth_name_in_docstrings_and_docs_resolves():
    stale = []
    for path in _named_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in DOTTED.finditer(line):
                name = match.group(0)
                if name.endswith((".py", ".md", ".toml", ".json", ".csv")) or _resolves(name):
                    continue
                stale.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert not stale, "names of no module or attribute:\n" + "\n".join(stale)


def test_every_repository_path_the_docs_name_exists():
    """A path such as `tests/golden/make_golden.R` in README.md or docs/ names a file of the repository."""
    path = re.compile(r"`((?:tests|benchmarks|src|docs)/[\w./-]+)`")
    missing = [f"{page.relative_to(ROOT)}: {name}"
               for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
               for name in path.findall(page.read_text(encoding="utf-8"))
               if not (ROOT / name).exists()]
    assert not missing, "\n".join(missing)


def test_the_name_check_finds_a_stale_name():
    assert _resolves("evsynth.search.ratelimit.RateLimiter")
    assert not _resolves("evsynth.ratelimit.RateLimiter")
    assert not _resolves("evsynth.meta.pooling.no_such_function")
    assert DOTTED.findall("see evsynth.screening.prioritise, not docs/evsynth.x") == ["evsynth.screening.prioritise"]


def _meta_modules():
    import evsynth.meta
    return [importlib.import_module(info.name)
            for info in pkgutil.iter_modules(evsynth.meta.__path__, prefix="evsynth.meta.")]


def test_evsynth_meta_exports_every_public_function_and_class():
    import evsynth.meta
    defined = {name for module in _meta_modules() for name, obj in vars(module).items()
               if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
               and obj.__module__ == module.__name__}
    exported = set(evsynth.meta.__all__)
    assert len(exported) == len(evsynth.meta.__all__), "a name is exported twice"
    assert defined - exported == set(), "public but not in evsynth.meta.__all__"
    for name in exported:
        assert getattr(evsynth.meta, name) is not None
    namespace: dict[str, object] = {}
    exec("from evsynth.meta import *", namespace)
    assert {"pool_proportions", "fit_glmm", "estimate_tau2", "escalc_proportions"} <= set(namespace)


def test_the_public_functions_of_meta_have_numpydoc_sections():
    from numpydoc.docscrape import FunctionDoc
    import evsynth.meta
    missing = []
    for name in evsynth.meta.__all__:
        obj = getattr(evsynth.meta, name)
        if not inspect.isfunction(obj):
            continue
        doc = FunctionDoc(obj)
        needed = ["Returns", "Notes", "References"]
        if inspect.signature(obj).parameters:
            needed.insert(0, "Parameters")
        missing += [f"{obj.__module__}.{name}: {section}" for section in needed if not doc[section]]
        if doc["Parameters"]:
            documented = {p for item in doc["Parameters"] for p in re.split(r",\s*", item.name.lstrip("*"))}
            for parameter in inspect.signature(obj).parameters:
                if parameter not in documented:
                    missing.append(f"{obj.__module__}.{name}: parameter {parameter}")
    assert not missing, "\n".join(missing)


def test_the_examples_in_the_meta_docstrings_run():
    failed = attempted = 0
    for module in _meta_modules():
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        failed += result.failed
        attempted += result.attempted
    assert failed == 0
    assert attempted >= 10
