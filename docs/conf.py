"""Sphinx configuration of the lossbridge documentation site.

Build (warnings are errors):  python -m sphinx -W --keep-going -b html docs docs/_build/html
The loss pages, the matrix, the diagnostics and the CLI outputs are generated at build time by
docs/_ext/lossbridge_pages.py into docs/generated/ (not tracked).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
os.environ.setdefault("MPLBACKEND", "Agg")

project = "lossbridge"
author = "lossbridge developers"
copyright = "lossbridge developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 from the pip package, copied into _static
    "lossbridge_pages",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.in"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = "lossbridge"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"  # a browser asks for /favicon.ico otherwise (a 404 in the console)
# No request to any other host when a page is viewed (checked by docs/check_site.py).
html_theme_options = {"footer_icons": []}
