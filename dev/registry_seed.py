"""Seeding the local registry for benches and end-to-end tests: blob pushes and cross-repository copies.

The provider never needs either (it only reads, retags and pushes indexes), so they live here, on python-dxf's
public API, with the registry adapter for the manifests.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow_kaniko.oci.registry_client import Credentials, Registry
from airflow_kaniko.oci.registry_protocol import ServedManifest


class Seeder:
    """Blob pushes and copies on one registry, as ``credentials``."""

    def __init__(self, host: str, credentials: Credentials, ca_file: str | None = None) -> None:
        self.host, self._credentials, self._ca_file = host, credentials, ca_file

    def _dxf(self, repository: str) -> Any:
        from dxf import DXF

        def authenticate(dxf: Any, response: Any) -> None:
            dxf.authenticate(self._credentials.username, self._credentials.password, response=response)

        return DXF(self.host, repository, auth=authenticate, tlsverify=self._ca_file or True, timeout=30)

    def push_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob (a layer or a config) unless it is there; returns its digest."""
        return self._dxf(repository).push_blob(data=iter([data]), digest="sha256:" + hashlib.sha256(data).hexdigest())

    def pull_blob(self, repository: str, digest: str) -> bytes:
        """A blob's bytes (python-dxf checks they hash to ``digest``)."""
        return b"".join(self._dxf(repository).pull_blob(digest))

    def copy_labelled(self, source: str, reference: str, target: str, tags: list[str], labels: dict[str, str]) -> str:
        """Copy the image ``source:reference`` to ``target`` under ``tags`` with ``labels`` added to its config.

        A new config blob is pushed (so the image is a new one, with its own digest); the layers are mounted.
        Returns the new manifest's digest.
        """
        with Registry(self.host, credentials=self._credentials, ca_file=self._ca_file) as registry:
            manifest = registry.manifest(source, reference)
            if manifest is None:
                raise LookupError(f"{self.host}/{source}:{reference} does not exist")
            body = manifest.json()
            if "config" not in body:
                raise ValueError(f"{self.host}/{source}:{reference} is an index, not an image")
            config = registry.config(source, manifest)
            config.setdefault("config", {})
            config["config"]["Labels"] = {**(config["config"].get("Labels") or {}), **labels}
            config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
            blobs = self._dxf(target)
            for descriptor in body.get("layers", []):
                blobs.mount_blob(source, descriptor["digest"])
            body["config"] = {
                **body["config"],
                "digest": self.push_blob(target, config_bytes),
                "size": len(config_bytes),
            }
            data = json.dumps(body, separators=(",", ":")).encode()
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            labelled = ServedManifest(body=data, media_type=manifest.media_type, digest=digest)
            for tag in tags:
                registry.put_manifest(target, tag, labelled)
        return labelled.digest

    def copy(self, source: str, reference: str, target: str, tags: list[str]) -> str:
        """Copy the image manifest ``source:reference`` to ``target`` under ``tags``; its blobs are mounted, not moved."""
        with Registry(self.host, credentials=self._credentials, ca_file=self._ca_file) as registry:
            manifest = registry.manifest(source, reference)
            if manifest is None:
                raise LookupError(f"{self.host}/{source}:{reference} does not exist")
            body = manifest.json()
            blobs = self._dxf(target)
            for descriptor in [body.get("config"), *body.get("layers", [])]:
                if descriptor:
                    blobs.mount_blob(source, descriptor["digest"])
            for tag in tags:
                registry.put_manifest(target, tag, manifest)
        return manifest.digest
