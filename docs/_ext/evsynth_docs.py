"""Two directives that read evsynth itself when the documentation is built.

``.. evsynth-cli::``
    The command-line reference, from the parser :func:`evsynth.cli.main.build_parser`
    builds (every command's module imported and registered): per command its one-line
    help, usage, and every option with its metavar, choices and default. The page cannot
    fall behind ``evsynth COMMAND --help`` because it is made from the same parser.

``.. evsynth-modules:: PACKAGE``
    The API reference of one stage: the package's docstring, a table of the names it
    exports (``__all__``) when it has one, then every module of the package, found by
    walking it, each as a section with ``automodule`` and its members. A module added to
    a stage appears in the reference without editing a page, and nothing is written into
    the documentation's source folder (unlike ``autosummary_generate``).

Both build docutils nodes (or nested reStructuredText) at build time; neither needs
anything but the installed package.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import pkgutil
import types
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


# --------------------------------------------------------------------------- the CLI

def _expanded_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """*action*'s help with ``%(default)s`` and the like filled in, as ``--help`` prints it."""
    if not action.help:
        return ""
    formatter = parser._get_formatter()  # the formatter --help uses, so the words are the same
    return " ".join(formatter._expand_help(action).split())


def _invocation(action: argparse.Action) -> str:
    """``--level LEVEL``, ``-o, --out DIR`` or ``FILE`` for a positional argument."""
    if not action.option_strings:
        metavar = action.metavar or action.dest
        return metavar if isinstance(metavar, str) else " ".join(metavar)
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    metavar = action.metavar or action.dest.upper()
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    if action.nargs in ("*", "+") or (isinstance(action.nargs, int) and action.nargs > 1):
        metavar = f"{metavar} [{metavar} ...]" if action.nargs != "*" else f"[{metavar} ...]"
    elif action.nargs == "?":
        metavar = f"[{metavar}]"
    return ", ".join(f"{option} {metavar}" for option in action.option_strings)


def _action_item(parser: argparse.ArgumentParser, action: argparse.Action) -> nodes.definition_list_item:
    item = nodes.definition_list_item()
    term = nodes.term()
    term += nodes.literal(text=_invocation(action))
    item += term
    definition = nodes.definition()
    text = _expanded_help(parser, action)
    extras = []
    if action.choices is not None and not isinstance(action.choices, dict):
        extras.append("choices: " + ", ".join(str(c) for c in action.choices))
    shows_default = "%(default)" in (action.help or "")
    if (action.option_strings and action.nargs != 0 and action.default not in (None, argparse.SUPPRESS, [], "")
            and not shows_default):
        extras.append(f"default: {action.default}")
    if action.required and action.option_strings:
        extras.append("required")
    paragraph = nodes.paragraph(text=text or "")
    if extras:
        if text:
            paragraph += nodes.Text(" ")
        paragraph += nodes.emphasis(text="(" + "; ".join(extras) + ")")
    definition += paragraph
    item += definition
    return item


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """The sub-commands of *parser*, in the order they were added, with their one-line help."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, sub, helps.get(name, "") or ""))
    return out


class EvsynthCli(SphinxDirective):
    """``.. evsynth-cli::`` — one section per command of ``evsynth``, from its parser."""

    has_content = False

    def _section(self, ident: str, title: str) -> nodes.section:
        section = nodes.section(ids=[ident], names=[ident])
        section += nodes.title(text=title)
        self.state.document.note_explicit_target(section)  # a label: {ref}`cli-pool`
        return section

    def run(self) -> list[nodes.Node]:
        from evsynth.cli.main import build_parser

        parser = build_parser()  # argv=None: every command registered with its options
        out: list[nodes.Node] = []
        top = self._section("cli-evsynth", "evsynth")
        top += nodes.literal_block(text=parser.format_usage().strip(), language="text")
        top += nodes.literal_block(text=parser.description.strip(), language="text")
        options = nodes.definition_list()
        for action in parser._actions:
            if action.option_strings:
                options += _action_item(parser, action)
        top += options
        out.append(top)
        for name, sub, help_text in _subparsers(parser):
            section = self._section(f"cli-{name}", f"evsynth {name}")
            section += nodes.paragraph(text=help_text[:1].upper() + help_text[1:] + ".")
            section += nodes.literal_block(text=" ".join(sub.format_usage().split()), language="text")
            positionals = [a for a in sub._actions if not a.option_strings]
            optionals = [a for a in sub._actions
                         if a.option_strings and not isinstance(a, argparse._HelpAction)]
            for heading, actions in (("Arguments", positionals), ("Options", optionals)):
                if actions:
                    section += nodes.rubric(text=heading)
                    items = nodes.definition_list()
                    for action in actions:
                        items += _action_item(sub, action)
                    section += items
            out.append(section)
        return out


# --------------------------------------------------------------------------- the API

def _modules(package: str) -> list[str]:
    """Every module below *package* (sub-packages included), in file-name order."""
    pkg = importlib.import_module(package)
    names = [info.name for info in pkgutil.walk_packages(pkg.__path__, prefix=package + ".")]
    return sorted(names)


def _defined_in(package: str, name: str) -> str:
    """The module of *package* that defines *name* (a class, a function, or a top-level assignment)."""
    obj = getattr(importlib.import_module(package), name)
    module = getattr(obj, "__module__", None)
    if isinstance(obj, type | types.FunctionType) and module:
        return module
    for candidate in _modules(package):
        spec = importlib.util.find_spec(candidate)
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return candidate
    raise ValueError(f"{package}.__all__ names {name!r}, which no module of {package} defines")


class EvsynthModules(SphinxDirective):
    """``.. evsynth-modules:: evsynth.meta`` — the package's docstring, exports, and every module."""

    required_arguments = 1
    option_spec: dict[str, Any] = {"exclude": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        excluded = set((self.options.get("exclude") or "").split())
        pkg = importlib.import_module(package)
        lines = [f".. automodule:: {package}", "   :no-members:", ""]
        exported = getattr(pkg, "__all__", None)
        if exported:
            lines += [".. rubric:: Exported names", "",
                      f"``from {package} import NAME`` for each of these; each is documented with its module below.", "",
                      ".. autosummary::", ""]
            for name in exported:
                module = _defined_in(package, name)
                lines.append(f"   ~{module[len(package) + 1:]}.{name}")  # relative to the package
            lines.append("")
        for module in _modules(package):
            if module in excluded:
                continue
            lines += [module, "-" * len(module), "", f".. automodule:: {module}", ""]
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source=f"<evsynth-modules {package}>"), container)
        return container.children


def _skip_type_aliases(app: Sphinx, what: str, name: str, obj: object, skip: bool, options: Any) -> bool | None:
    """Leave out module-level type aliases (``Snapshot = dict[str, dict[str, str]]``).

    Their ``__doc__`` is the builtin class's (``dict``'s docstring), not the project's, and
    numpydoc cannot format their signature; they are names for type hints, not API.
    """
    if isinstance(obj, types.GenericAlias | types.UnionType):
        return True
    return None


def _numpydoc_with_one_template(app: Sphinx) -> None:
    """Let numpydoc compile its docstring template once per build instead of once per docstring.

    ``numpydoc.docscrape_sphinx.get_doc_object`` builds a Jinja environment and compiles
    ``numpydoc_docstring.rst`` for every object it renders (about 1,800 here), which was
    the largest single cost of the build. numpydoc's ``setup`` takes a replacement
    ``get_doc_object`` for this purpose; this one is the same function with the compiled
    template kept. Without numpydoc's internals (another version), the build runs as is.
    """
    try:
        import numpydoc.numpydoc as numpydoc_ext
        from numpydoc.docscrape import get_doc_object as plain_doc_object
        from numpydoc.docscrape_sphinx import (SphinxClassDoc, SphinxFunctionDoc, SphinxObjDoc,
                                               get_doc_object as sphinx_doc_object)
    except ImportError:
        return
    if getattr(numpydoc_ext, "get_doc_object", None) is not sphinx_doc_object:
        return
    templates: dict[int, Any] = {}

    def get_doc_object(obj: Any, what: str | None = None, doc: str | None = None,
                       config: dict[str, Any] | None = None, builder: Any = None) -> Any:
        config = {} if config is None else config
        if id(builder) not in templates:
            sphinx_doc_object(None, what="object", doc="", config=config, builder=builder)
            templates[id(builder)] = config["template"]
        config["template"] = templates[id(builder)]
        return plain_doc_object(obj, what=what, doc=doc, config=config, class_doc=SphinxClassDoc,
                                func_doc=SphinxFunctionDoc, obj_doc=SphinxObjDoc)

    numpydoc_ext.get_doc_object = get_doc_object


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("numpydoc")
    _numpydoc_with_one_template(app)
    app.connect("autodoc-skip-member", _skip_type_aliases)
    app.add_directive("evsynth-cli", EvsynthCli)
    app.add_directive("evsynth-modules", EvsynthModules)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
