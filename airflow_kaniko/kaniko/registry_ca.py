"""A registry's CA bundle, from a ConfigMap of the build's namespace: parsed and checked, and where it is mounted.

Pure: the ConfigMap volume itself is ``utils.pod_spec.registry_ca_volume``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.spec import RegistryCertificate

REGISTRY_CA_DIR = "/kaniko/registry-ca"
#: Kubernetes' rule for object names (a DNS subdomain) and for ConfigMap keys (IsConfigMapKey).
OBJECT_NAME_RE = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?")
_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+")


@dataclass(frozen=True)
class RegistryCA:
    """A CA bundle for one registry, read from a ConfigMap in the build's namespace.

    ConfigMaps only: a CA bundle is public, and whatever is mounted into the executor a ``RUN`` step can
    read, so a Secret here would hand any Secret of the namespace to the Dockerfile.
    """

    registry: str
    config_map: str
    key: str = "ca.crt"

    @classmethod
    def parse_all(cls, value: object) -> list[RegistryCA]:
        if value is None:
            return []
        items = [value] if isinstance(value, Mapping) or isinstance(value, RegistryCA) else value
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise KanikoSpecError("registry_ca", value, "must be a mapping or a list of mappings")
        return [item if isinstance(item, RegistryCA) else cls._parse(item) for item in items]

    @classmethod
    def _parse(cls, item: object) -> RegistryCA:
        if isinstance(item, Mapping) and "secret" in item:
            raise KanikoSpecError(
                "registry_ca.secret",
                item["secret"],
                "is refused: a CA bundle is not a secret, and a RUN step could read a mounted Secret; use config_map",
            )
        if not isinstance(item, Mapping) or set(item) - {"registry", "config_map", "key"}:
            raise KanikoSpecError("registry_ca", item, "takes the keys registry, config_map and key")
        source = item.get("config_map")
        if not isinstance(source, str) or not OBJECT_NAME_RE.fullmatch(source):
            raise KanikoSpecError("registry_ca.config_map", source, "is not a valid ConfigMap name")
        key = item.get("key", "ca.crt")
        # Kubernetes' own rule for keys (IsConfigMapKey); '..' would name the mount directory itself.
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key) or len(key) > 253 or key == "." or key.startswith(".."):
            raise KanikoSpecError("registry_ca.key", key, "is not a valid ConfigMap key (a file name, not '.' or '..')")
        return cls(registry=item.get("registry", ""), config_map=source, key=key)

    def certificate(self, index: int) -> RegistryCertificate:
        return RegistryCertificate(registry=self.registry, path=f"{self.mount_dir(index)}/{self.key}")

    def mount_dir(self, index: int) -> str:
        """Where the ``index``-th CA's ConfigMap is mounted in the executor."""
        return f"{REGISTRY_CA_DIR}/{index}"
