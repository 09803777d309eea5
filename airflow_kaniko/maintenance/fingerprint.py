"""What a build's output depends on, hashed: equal fingerprints mean a rebuild can be skipped.

The fingerprint is the sha256 of a canonical JSON document of:

- the manifest digest of every external image the build pulls (``FROM`` and
  ``COPY --from``, after ARG substitution), keyed by the reference;
- the context: the sha256 of the uncompressed tar the operator packs for a local
  directory (after ``.dockerignore``; it holds the Dockerfile), not of its gzip bytes,
  which another zlib or compression level would change;
- the Dockerfile path, build args, target, labels, extra executor flags and the
  executor image by digest (``<ref>:<tag>@<digest>``: the planner resolves a tag, so a
  re-pushed executor tag is a changed input);
- for a multi-arch image, its platform list (absent for a single-platform image, so
  fingerprints made before platforms existed still match).

Destinations and cache settings are left out: they change where the image goes and
how fast it builds, not what it contains. A context whose content cannot be known
on the worker before the build (``s3://``, ``gs://``, Azure, ``dir://``, ``tar://``,
``git://``) has no fingerprint; see :func:`unknowable_context`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Bumped when the document changes shape, so old fingerprints never match new ones.
#: 2: the context is the uncompressed tar's digest, no longer the gzip bytes'.
VERSION = 2
#: The image label that carries the fingerprint, and the one that carries its inputs' hashes.
FINGERPRINT_LABEL = "dev.airflow-kaniko.fingerprint"
INPUTS_LABEL = "dev.airflow-kaniko.inputs"
BASE_NAME_LABEL = "org.opencontainers.image.base.name"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"
#: The tag that marks a build's fingerprint in its repository: one HEAD answers "built before?".
TAG_PREFIX = "fp-"

_COMMIT_RE = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class BuildInputs:
    """Everything the fingerprint covers.

    :param bases: manifest digest per external image reference the build pulls.
    :param context: ``sha256:<hex>`` of the packed local context's uncompressed tar
        (``ContextArchive.tar_digest``).
    :param executor_image: the executor's reference, by digest as the planner resolved it (``<ref>@sha256:…``).
    """

    bases: Mapping[str, str]
    context: str
    dockerfile: str = "Dockerfile"
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    extra_args: tuple[str, ...] = ()
    executor_image: str = ""
    platforms: tuple[str, ...] = ()

    def settings(self) -> dict[str, Any]:
        """The inputs that are neither bases nor context, as plain data."""
        settings = {
            "dockerfile": self.dockerfile,
            "build_args": dict(sorted(self.build_args.items())),
            "target": self.target,
            "labels": dict(sorted(self.labels.items())),
            "extra_args": list(self.extra_args),
            "executor_image": self.executor_image,
        }
        if self.platforms:  # only when set: single-platform fingerprints stay as they were
            settings["platforms"] = list(self.platforms)
        return settings

    def document(self) -> str:
        """The canonical document the fingerprint hashes (sorted keys, no whitespace)."""
        doc = {"version": VERSION, "bases": dict(sorted(self.bases.items())), "context": self.context, **self.settings()}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def fingerprint(self) -> str:
        """64 hex digits."""
        return hashlib.sha256(self.document().encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        """The inputs as an image label carries them, so the next run can say which one changed.

        ``version`` is absent from the labels of version 1, which had no such key.
        """
        return {
            "bases": dict(sorted(self.bases.items())),
            "context": _short(self.context),
            "settings": self.settings(),
            "version": VERSION,
        }


def fingerprint_tag(fingerprint: str) -> str:
    return f"{TAG_PREFIX}{fingerprint}"


def unknowable_context(context: str) -> str | None:
    """Why the content of ``context`` cannot be known before the build, or ``None`` if it can.

    The answer reads as ``always rebuilt (<answer>)``: ``s3:// context``, ``git:// context
    at a branch or tag``. Only a local directory is knowable: even a ``git://`` URL pinned to a
    commit (``#<ref>#<commit>``, or ``#<commit>``) names a Dockerfile that only the build reads,
    so its base images, and with them the image, cannot be known here.
    """
    scheme, sep, rest = context.partition("://")
    if not sep:
        return None
    if scheme == "git":
        parts = rest.split("#")
        if len(parts) == 3 and _COMMIT_RE.fullmatch(parts[2]) or len(parts) == 2 and _COMMIT_RE.fullmatch(parts[1]):
            return "git:// context: its Dockerfile is read only by the build"
        return "git:// context at a branch or tag"
    if scheme == "https":
        return "Azure blob context"
    return f"{scheme}:// context"


def _short(value: str) -> str:
    return value if len(value) <= 200 else "sha256:" + hashlib.sha256(value.encode()).hexdigest()
