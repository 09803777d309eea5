"""What the planner and the index merge need of a registry, as protocols; the adapter is ``registry_client``.

``maintenance`` and ``oci.index_push`` depend on these only, so they stay pure and a test can hand
them an in-memory registry. The plain types the two sides exchange live here too. No Airflow, no
Kubernetes, no HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from airflow_kaniko.errors import KanikoError
from airflow_kaniko.oci.reference import split


class RegistryError(KanikoError):
    """A registry request failed for good.

    :param registry: the registry host.
    :param reference: what was asked for (``repo:tag``).
    :param reason: why, e.g. ``unauthorised (HTTP 401)``.
    :param status: the HTTP status, when there was one.
    """

    def __init__(self, registry: str, reference: str, reason: str, status: int | None = None) -> None:
        self.registry, self.reference, self.reason, self.status = registry, reference, reason, status
        super().__init__(f"registry {registry}: {reference}: {reason}")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ServedManifest:
    """A manifest as the registry serves it: the exact bytes, their media type and digest.

    (Not the image manifest of ``airflow_kaniko.manifest``, which lists the images to build.)
    """

    body: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


#: What :meth:`RegistryHost.delete_tag` did: ``deleted`` the tag; found it ``absent``; left it because it had
#: ``moved`` to another digest than the one expected.
TagDeletion = Literal["deleted", "absent", "moved"]


class RegistryHost(Protocol):
    """One registry host; every call raises :class:`RegistryError` when the registry cannot answer."""

    def digest(self, repository: str, reference: str) -> str | None:
        """The manifest digest ``repository:reference`` points at; ``None`` if there is none."""

    def manifest(self, repository: str, reference: str) -> ServedManifest | None:
        """The manifest ``repository:reference``, exact bytes; ``None`` if there is none."""

    def config(self, repository: str, manifest: ServedManifest) -> dict[str, Any]:
        """The image config blob an image manifest names."""

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``; empty when the repository does not exist."""

    def put_manifest(self, repository: str, tag: str, manifest: ServedManifest) -> None:
        """Store ``manifest`` (its exact bytes) under ``tag``."""

    def retag(self, repository: str, source: str, tags: list[str]) -> str:
        """Give ``repository:source`` the extra ``tags``, registry side; returns its digest."""

    def delete_tag(self, repository: str, tag: str, *, expected: str | None = None) -> TagDeletion:
        """Remove the tag ``repository:tag`` and nothing else: the image it names keeps its other tags.

        :param expected: the digest the tag must point at; one it no longer points at is left (``moved``).
            ``None``: whatever it points at when first read, checked again just before the delete.
        """


class RegistryHosts(Protocol):
    """Registry clients by host, each with the credentials its host should get."""

    def for_host(self, host: str) -> RegistryHost:
        """The client of ``host`` (``host[:port]`` as image references spell it)."""

    def resolve(self, reference: str) -> str:
        """The manifest digest of an image reference; raises :class:`RegistryError` when there is none."""

    def passwords(self) -> list[str]:
        """The passwords it holds, for a redactor of text that leaves the task."""


def resolve_reference(hosts: RegistryHosts, reference: str) -> str:
    """What ``RegistryHosts.resolve`` answers: a reference's own digest, or its tag's (one HEAD), or RegistryError."""
    host, repository, tag, digest = split(reference)
    if digest:
        return digest
    found = hosts.for_host(host).digest(repository, tag or "latest")
    if found is None:
        raise RegistryError(host, f"{repository}:{tag}", "no such image (HTTP 404)", 404)
    return found
