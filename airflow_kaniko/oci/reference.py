"""Image references, checked against the OCI distribution reference grammar.

The grammar is the one in distribution/reference (regexp.go); it is small and
stable, so it is spelled out here rather than pulled in from a Docker SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
# ASCII only: Python's \w is Unicode, so "tåg٣" would pass here and fail in the registry.
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
_REPOSITORY_RE = re.compile(_NAME)
_REGISTRY_RE = re.compile(_DOMAIN)

NAME_MAX_LENGTH = 255


def is_reference(value: str) -> bool:
    """Whether ``value`` is a valid image reference (name, optional tag, optional digest)."""
    match = _REFERENCE_RE.fullmatch(value)
    return match is not None and len(match["name"]) <= NAME_MAX_LENGTH


def has_digest(value: str) -> bool:
    match = _REFERENCE_RE.fullmatch(value)
    return bool(match and match["digest"])


def is_repository(value: str) -> bool:
    """Whether ``value`` is a repository name: no tag, no digest."""
    return bool(_REPOSITORY_RE.fullmatch(value)) and len(value) <= NAME_MAX_LENGTH


def is_registry(value: str) -> bool:
    """Whether ``value`` is a registry host, with an optional port."""
    return bool(_REGISTRY_RE.fullmatch(value))


def registry_of(reference: str) -> str:
    """The registry a reference points at, ``docker.io`` when it names none."""
    first, sep, _ = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return first
    return "docker.io"


# Docker Hub answers to several names; docker and Kaniko treat them all as docker.io.
DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({DOCKER_HUB, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


@dataclass(frozen=True)
class ImageReference:
    """A reference split into its parts, Docker Hub normalised (``busybox`` is ``docker.io/library/busybox``)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None


def parse_reference(value: str) -> ImageReference:
    """Split a valid reference; raises ValueError for anything else."""
    match = _REFERENCE_RE.fullmatch(value) if isinstance(value, str) else None
    if not match or len(match["name"]) > NAME_MAX_LENGTH:
        raise ValueError(f"{value!r} is not a valid image reference")
    name = match["name"]
    registry = registry_of(name)
    repository = name[len(registry) + 1 :] if name.startswith(registry + "/") else name
    if registry.lower() in DOCKER_HUB_ALIASES:  # a host name is case-insensitive
        registry = DOCKER_HUB
        repository = repository if "/" in repository else f"library/{repository}"
    return ImageReference(registry, repository, match["tag"], match["digest"])


def split(value: str) -> tuple[str, str, str | None, str | None]:
    """``(registry, repository, tag, digest)`` of a reference, Docker Hub's defaults filled in.

    ``busybox`` is ``("docker.io", "library/busybox", "latest", None)``; a reference with a
    digest and no tag keeps ``tag=None``. Raises ``ValueError`` for an invalid reference.
    """
    ref = parse_reference(value)
    return ref.registry, ref.repository, ref.tag or (None if ref.digest else "latest"), ref.digest


def normalize(value: str) -> str:
    """One spelling per image: ``busybox`` and ``docker.io/library/busybox:latest`` are equal."""
    registry, repository, tag, digest = split(value)
    return f"{registry}/{repository}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
