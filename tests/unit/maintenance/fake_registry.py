"""An in-memory registry that speaks the registry protocol, and records every call the planner makes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow_kaniko.oci.registry_protocol import (
    RegistryError,
    RegistryHost,
    RegistryHosts,
    ServedManifest,
    TagDeletion,
    resolve_reference,
)

IMAGE = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def served(document: dict[str, Any], media_type: str = IMAGE) -> ServedManifest:
    body = json.dumps(document, sort_keys=True).encode()
    return ServedManifest(body, media_type, "sha256:" + hashlib.sha256(body).hexdigest())


class FakeRegistry(RegistryHost):
    """One host: repository -> tag -> manifest, manifests and configs by digest; ``calls`` in order."""

    def __init__(self, host: str, calls: list[tuple[Any, ...]]) -> None:
        self.host = host
        self.calls = calls
        self.tagged: dict[str, dict[str, ServedManifest]] = {}
        self.by_digest: dict[str, ServedManifest] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.failing: set[str] = set()  # repositories whose every request fails
        self.undeletable: set[str] = set()  # tags whose delete_tag fails, as a registry without deletes does

    # -- what a test sets up ------------------------------------------------------------------

    def push_image(self, repository: str, tags: list[str], labels: dict[str, str] | None = None, seed: str = "") -> str:
        """An image whose config carries ``labels``, under ``tags``; returns its digest."""
        config = {"os": "linux", "architecture": "amd64", "config": {"Labels": dict(labels or {})}, "seed": seed}
        config_digest = "sha256:" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
        manifest = served({"schemaVersion": 2, "config": {"digest": config_digest}, "layers": []})
        self.configs[config_digest] = config
        return self._store(repository, tags, manifest)

    def push_index(self, repository: str, tags: list[str], platform_digests: list[str]) -> str:
        manifest = served({"schemaVersion": 2, "manifests": [{"digest": d} for d in platform_digests]}, INDEX)
        return self._store(repository, tags, manifest)

    def _store(self, repository: str, tags: list[str], manifest: ServedManifest) -> str:
        self.by_digest[manifest.digest] = manifest
        for tag in tags:
            self.tagged.setdefault(repository, {})[tag] = manifest
        return manifest.digest

    # -- the protocol ------------------------------------------------------------------------

    def _lookup(self, repository: str, reference: str) -> ServedManifest | None:
        if repository in self.failing:
            raise RegistryError(self.host, f"{repository}:{reference}", "unreachable after 3 attempt(s)")
        if reference.startswith("sha256:"):
            return self.by_digest.get(reference)
        return self.tagged.get(repository, {}).get(reference)

    def digest(self, repository: str, reference: str) -> str | None:
        self.calls.append(("digest", self.host, repository, reference))
        manifest = self._lookup(repository, reference)
        return manifest.digest if manifest else None

    def manifest(self, repository: str, reference: str) -> ServedManifest | None:
        self.calls.append(("manifest", self.host, repository, reference))
        return self._lookup(repository, reference)

    def config(self, repository: str, manifest: ServedManifest) -> dict[str, Any]:
        self.calls.append(("config", self.host, repository, manifest.digest))
        digest = manifest.json()["config"]["digest"]
        if digest not in self.configs:  # as the adapter says it: the manifest names a blob that is not there
            raise RegistryError(self.host, f"{repository}@{digest}", "HTTP 404 after 1 attempt(s)", 404)
        return self.configs[digest]

    def tags(self, repository: str) -> list[str]:
        self.calls.append(("tags", self.host, repository))
        return list(self.tagged.get(repository, {}))

    def put_manifest(self, repository: str, tag: str, manifest: ServedManifest) -> None:
        self.calls.append(("put_manifest", self.host, repository, tag, manifest.digest))
        self._store(repository, [tag], manifest)

    def retag(self, repository: str, source: str, tags: list[str]) -> str:
        self.calls.append(("retag", self.host, repository, source, tuple(tags)))
        manifest = self._lookup(repository, source)
        assert manifest is not None, f"retag of {repository}:{source}, which does not exist"
        self._store(repository, tags, manifest)
        return manifest.digest

    def delete_tag(self, repository: str, tag: str, *, expected: str | None = None) -> TagDeletion:
        """The tag alone goes (what the adapter's tombstone achieves): its image keeps its other tags."""
        self.calls.append(("delete_tag", self.host, repository, tag, expected))
        current = self._lookup(repository, tag)
        if tag in self.undeletable:
            raise RegistryError(self.host, f"{repository}:{tag}", "not deleted: the registry refuses DELETE (HTTP 405)", 405)
        if current is None:
            return "absent"
        if expected is not None and current.digest != expected:
            return "moved"
        del self.tagged[repository][tag]
        return "deleted"


class FakeRegistries(RegistryHosts):
    """Registries by host, sharing one call log."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.hosts: dict[str, FakeRegistry] = {}

    def for_host(self, host: str) -> FakeRegistry:
        return self.hosts.setdefault(host, FakeRegistry(host, self.calls))

    def resolve(self, reference: str) -> str:
        return resolve_reference(self, reference)

    def passwords(self) -> list[str]:
        return []
