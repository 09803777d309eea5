"""Multi-arch images: platform strings, where each platform builds, its staging tags, the OCI image index.

Kaniko builds one platform per run (``--custom-platform``). A multi-arch image is one build per
platform, each pushed under a staging tag, then an OCI image index that lists them, pushed under
the final tags. No Airflow, no Kubernetes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci import reference

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
#: The image manifest types an index may list (what Kaniko pushes: Docker v2 by default, OCI with --oci-layout-path).
IMAGE_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)
#: The node label Kubernetes sets from the kubelet's GOARCH.
ARCH_LABEL = "kubernetes.io/arch"
# GOOS/GOARCH-style names: lowercase letters and digits; a variant such as v7, v8 or v3.
_PART_RE = re.compile(r"[a-z0-9]{1,32}")
_VARIANT_RE = re.compile(r"v[0-9]{1,2}")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_MAX_TAG = 128


@dataclass(frozen=True, order=True)
class Platform:
    """``os/architecture[/variant]``, e.g. ``linux/arm64`` or ``linux/arm/v7``."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @property
    def slug(self) -> str:
        """The platform as a tag suffix: ``linux-arm64``, ``linux-arm-v7``."""
        return str(self).replace("/", "-")

    @property
    def node_arch(self) -> str:
        """The ``kubernetes.io/arch`` value of nodes that run it natively (Go's GOARCH, as the OCI spec names it)."""
        return self.architecture

    def descriptor(self) -> dict[str, str]:
        """The ``platform`` object of an index entry."""
        entry = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            entry["variant"] = self.variant
        return entry


def parse_platform(value: object, *, field: str = "platform") -> Platform:
    """A validated :class:`Platform`; :class:`KanikoSpecError` names ``field`` and the value otherwise."""
    if isinstance(value, Platform):
        return value
    if not isinstance(value, str):
        raise KanikoSpecError(field, value, "must be a string such as 'linux/amd64' or 'linux/arm64'")
    parts = value.split("/")
    if not 2 <= len(parts) <= 3 or not all(_PART_RE.fullmatch(p) for p in parts[:2]):
        raise KanikoSpecError(field, value, "must be 'os/arch' or 'os/arch/variant', e.g. 'linux/amd64' or 'linux/arm/v7'")
    if len(parts) == 3 and not _VARIANT_RE.fullmatch(parts[2]):
        raise KanikoSpecError(field, value, f"variant {parts[2]!r} must be 'v' and a number, e.g. 'v7' or 'v8'")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def parse_platforms(values: object, *, field: str = "platforms") -> tuple[Platform, ...]:
    """A non-empty list of distinct platforms, in the order given."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or isinstance(values, Mapping):
        raise KanikoSpecError(field, values, "must be a list of platforms such as ['linux/amd64', 'linux/arm64']")
    result = tuple(parse_platform(v, field=f"{field}[{i}]") for i, v in enumerate(values))
    if not result:
        raise KanikoSpecError(field, [], "needs at least one platform")
    seen: set[Platform] = set()
    for platform in result:
        if platform in seen:
            raise KanikoSpecError(field, [str(p) for p in result], f"lists {str(platform)!r} twice")
        seen.add(platform)
    return result


def node_selector(platform: Platform) -> dict[str, str]:
    """The default node selector of a platform's build pod: nodes of its architecture."""
    return {ARCH_LABEL: platform.node_arch}


def staging_tag(tag: str, platform: Platform) -> str:
    """The tag a platform's build is pushed under before the index exists: ``<tag>-<os>-<arch>[-<variant>]``.

    A tag too long for the suffix is shortened to a hash of itself, so two long tags never collide.
    """
    if not _TAG_RE.fullmatch(tag):
        raise KanikoSpecError("destinations", tag, "is not a valid tag")
    suffix = f"-{platform.slug}"
    if len(tag) + len(suffix) > _MAX_TAG:
        tag = "h" + hashlib.sha256(tag.encode()).hexdigest()[:32]
    return tag + suffix


def staging_destinations(destinations: Sequence[str], platform: Platform) -> list[str]:
    """One staging destination per repository of ``destinations``, named after that repository's first tag.

    The index must live in each repository it is pushed to, and it can only list manifests of that
    repository, so each repository gets the platform's manifest once.
    """
    result: dict[str, str] = {}
    for destination in destinations:
        try:
            host, repository, tag, digest = reference.split(destination)
        except ValueError:
            raise KanikoSpecError("destinations", destination, "is not a valid image reference") from None
        if digest or not tag:
            raise KanikoSpecError("destinations", destination, "must be a tag, not a digest, to build a platform for")
        # Keep the user's spelling of the repository; key it by its normalised form.
        name = destination[: -len(tag) - 1] if destination.endswith(f":{tag}") else destination
        result.setdefault(f"{host}/{repository}", f"{name}:{staging_tag(tag, platform)}")
    return list(result.values())


@dataclass(frozen=True)
class PlatformManifest:
    """One platform's image manifest in a repository, as the index lists it."""

    platform: Platform
    digest: str
    size: int
    media_type: str


def index_document(manifests: Sequence[PlatformManifest]) -> bytes:
    """The OCI image index document (canonical JSON bytes) listing ``manifests`` in the order given."""
    if not manifests:
        raise KanikoSpecError("platforms", [], "an image index needs at least one platform manifest")
    entries: list[dict[str, Any]] = []
    seen: set[Platform] = set()
    for m in manifests:
        if m.platform in seen:
            raise KanikoSpecError("platforms", str(m.platform), "appears twice in one index")
        seen.add(m.platform)
        if m.media_type not in IMAGE_MEDIA_TYPES:
            raise KanikoSpecError(f"manifest of {m.platform}", m.media_type, "is not an image manifest media type")
        if not (isinstance(m.digest, str) and _DIGEST_RE.fullmatch(m.digest)):
            raise KanikoSpecError(f"manifest of {m.platform}", m.digest, "is not a sha256 digest")
        if not isinstance(m.size, int) or isinstance(m.size, bool) or m.size <= 0:
            raise KanikoSpecError(f"manifest of {m.platform}", m.size, "size must be a positive integer")
        entries.append({"mediaType": m.media_type, "digest": m.digest, "size": m.size, "platform": m.platform.descriptor()})
    document = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": entries}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
