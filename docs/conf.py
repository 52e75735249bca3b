"""Sphinx configuration of evsynth's documentation (``sphinx-build -W -b html docs OUT``).

Pages are Markdown (MyST-Parser); the API reference is read from the package's docstrings
(autodoc + numpydoc) and the command-line reference from the ``evsynth`` argument parser,
both at build time by the small extension in ``_ext/evsynth_docs.py``. The build needs no
network: no intersphinx, no remote images, the theme's assets are in its package.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent / "src"))  # the package of this checkout, installed or not

import evsynth  # noqa: E402

project = "evsynth"
author = "the evsynth authors"
copyright = "the evsynth authors"
version = release = evsynth.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "evsynth_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# Not pages of the site: the screenshot script, the build output of a local run.
exclude_patterns = ["_build", "make_screening_screenshot.py", "README.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](#a-heading) links within and across pages

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": False}
autosummary_generate = False  # the API pages are built by evsynth_docs, nothing is written into docs/

numpydoc_show_class_members = False  # dataclass fields are documented as attributes by autodoc
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"evsynth {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "navbar_align": "left",
}
html_show_sourcelink = False
html_last_updated_fmt = None
