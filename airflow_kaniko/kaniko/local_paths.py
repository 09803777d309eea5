"""Keep a local path from a template, a param or a manifest inside the directories a DAG author allowed.

Someone who may trigger a DAG with a config is not a DAG author: a path they give must not reach
the worker's other files. Symlinks and '..' are resolved before the check.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from airflow_kaniko.errors import KanikoSpecError


def confine(
    field: str,
    path: str | os.PathLike[str],
    roots: Iterable[str | os.PathLike[str]],
    *,
    base: str | os.PathLike[str] | None = None,
) -> Path:
    """``path`` (relative to ``base``) resolved, if it lies inside one of ``roots``.

    :raises KanikoSpecError: naming ``field``, the path and the roots, when it lies outside all of them.
    """
    root_paths = [Path(root) for root in roots]
    if not root_paths:
        raise KanikoSpecError(field, str(path), "no allowed roots to check it against; the DAG author must name them")
    resolved = (Path(base) / path if base is not None else Path(path)).resolve()
    if any(resolved.is_relative_to(root.resolve()) for root in root_paths):
        return resolved
    names = ", ".join(str(root) for root in root_paths)
    raise KanikoSpecError(field, str(path), f"resolves to {str(resolved)!r}, outside the allowed roots ({names})")
