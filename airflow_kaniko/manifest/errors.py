"""The one error the manifest raises: the file, the line, the entry and field, and what is wrong."""

from __future__ import annotations

from pathlib import Path

from airflow_kaniko.errors import KanikoError


class ManifestError(KanikoError):
    """The manifest cannot be turned into builds.

    :param path: the manifest file.
    :param reason: what is wrong.
    :param line: 1-based line, when known.
    :param where: the entry and field, e.g. ``images[2] (api) field 'tags'``.
    """

    def __init__(self, path: Path | str, reason: str, *, line: int | None = None, where: str | None = None) -> None:
        self.path, self.reason, self.line, self.where = str(path), reason, line, where
        location = f"{path}:{line}" if line else str(path)
        super().__init__(f"{location}: {where + ': ' if where else ''}{reason}")
