"""Sphinx configuration of the user documentation (`make docs`: warnings are errors, references checked)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# autodoc imports Airflow; its home is the build's, so building the docs reads or writes nothing in ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", str(DOCS / "_build" / "airflow-home"))
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

import airflow_kaniko  # noqa: E402  (after the path: the checkout's package, even when not installed)

project = "airflow-provider-kaniko"
author = "airflow-provider-kaniko developers"
copyright = "airflow-provider-kaniko developers, Apache-2.0"
release = airflow_kaniko.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "kaniko_config",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Markdown: headings get anchors (`page.md#a-heading`), and ::: fences for directives.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

html_theme = "furo"
html_title = f"airflow-provider-kaniko {release}"

# The operators' parameters are their docstrings' :param: fields; the signatures stay readable without types.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": True}
napoleon_google_docstring = False
napoleon_numpy_docstring = False

# `-n`: every cross-reference must resolve. The upstream classes the operators and hooks derive from are
# Airflow's and cncf-kubernetes' (documented there, not linked: the build stays offline), and the private
# mixins in between are implementation, not API.
nitpick_ignore_regex = [
    ("py:class", r"airflow\..*"),
    ("py:class", r"airflow_kaniko\.compat\..*"),
    ("py:class", r"airflow_kaniko\.openlineage\.lineage\.ImageLineageMixin"),
    ("py:class", r"airflow_kaniko\.operators\.outcome\.KanikoPodOutcome"),
]
