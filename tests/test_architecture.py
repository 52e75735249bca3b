"""The package is shaped like its pipeline (see ARCHITECTURE.md).

Every ``evsynth`` import is read from the source with :mod:`ast` (no module is
imported), so the rules hold for imports inside functions and behind
``TYPE_CHECKING`` too:

* no ``evsynth`` import inside a function, a class or an ``if`` block;
* a stage imports only the stages ARCHITECTURE.md allows;
* no module imports a command module (only ``evsynth.cli.main`` names them, as strings);
* the module graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "evsynth"

#: stage -> the stages it may import (its own stage is always allowed).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "meta": {"core"},
    "search": {"core"},
    "screening": {"core", "search"},
    "prioritise": {"core", "search", "screening"},
    "workbench": {"core", "search", "screening", "prioritise"},
    "sheets": {"core"},
    "review": {"core", "meta", "search", "screening", "sheets"},
    "report": {"core", "meta", "search", "screening", "sheets", "review"},
    "cli": {"core", "meta", "search", "screening", "prioritise", "workbench", "sheets", "review", "report"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def resolve(name: str, known: set[str]) -> str:
    """The module an import names (``from evsynth.x import y`` may name module ``evsynth.x.y``)."""
    return name if name in known else name.rpartition(".")[0] if name.rpartition(".")[0] in known else name


def evsynth_imports(path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, at top level) for every ``evsynth`` import of *path*."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module else []
            names = [n if resolve(n, known) == n else node.module for n in names]
        for name in names:
            if name == "evsynth" or name.startswith("evsynth."):
                found.append((resolve(name, known), node.lineno, id(node) in top))
    return found


def graph() -> tuple[dict[str, set[str]], list[str]]:
    mods = modules()
    known = set(mods)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    problems: list[str] = []
    for name, path in mods.items():
        for target, line, top_level in evsynth_imports(path, known):
            where = f"{path.relative_to(SRC)}:{line}"
            if target == "evsynth":
                continue  # __version__
            if not top_level:
                problems.append(f"{where}: evsynth import inside a function or block ({target})")
            if target.startswith("evsynth.cli.commands") and not name.startswith("evsynth.cli.commands"):
                problems.append(f"{where}: imports a command module ({target})")
            if name.startswith("evsynth.cli.commands.") and target.startswith("evsynth.cli.commands."):
                problems.append(f"{where}: a command imports another command ({target})")
            src_stage, dst_stage = stage(name), stage(target)
            if src_stage in ALLOWED and dst_stage != src_stage and dst_stage not in ALLOWED[src_stage]:
                problems.append(f"{where}: stage {src_stage!r} may not import stage {dst_stage!r} ({target})")
            if target in known:
                edges[name].add(target)
    return edges, problems


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if state.get(node) is None:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_every_module_belongs_to_a_stage() -> None:
    strays = sorted(m for m in modules() if m.count(".") >= 1 and stage(m) not in ALLOWED)
    assert strays == ["evsynth.__main__"], "modules outside a stage: " + ", ".join(strays)


def test_imports_follow_the_architecture() -> None:
    _, problems = graph()
    assert problems == [], "\n".join(problems)


def test_no_import_cycle() -> None:
    edges, _ = graph()
    cycle = find_cycle(edges)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_checker_sees_a_cycle_and_an_inner_import(tmp_path: Path) -> None:
    """The checks above could fail: a constructed cycle is found."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from evsynth.core.errors import EvsynthError\n")
    assert evsynth_imports(source, {"evsynth.core.errors"}) == [("evsynth.core.errors", 2, False)]


@pytest.mark.parametrize("stage_name", sorted(ALLOWED))
def test_architecture_document_names_each_stage(stage_name: str) -> None:
    text = (SRC.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert f"`{stage_name}/`" in text
