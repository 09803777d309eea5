"""Images as OpenLineage datasets, named exactly as their Airflow Assets (``assets/convention.py``).

A dataset is a **repository**: namespace ``oci://<registry>`` (lowercase host, port kept, Docker Hub
as ``docker.io``), name ``<repository>`` (Docker Hub's one-word names under ``library/``), so
``<namespace>/<name>`` is the Asset URI ``oci://<registry>/<repository>``. Each image pushed to or
pulled from it is one **version** of that dataset: its digest, in OpenLineage's ``version`` facet
(``DatasetVersionDatasetFacet.datasetVersion``); an image known only by tag has no version. The tags
a reference names go in the ``tags`` facet (``key="tag"``). Two builds of one repository are then one
dataset with two versions, the same node as the Asset an Airflow schedule waits on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci.reference import is_registry, is_repository, parse_reference

SCHEME = "oci"


@dataclass(frozen=True)
class ImageDataset:
    """One dataset of a lineage event: a repository, at one image (``version``, the digest) if known."""

    namespace: str
    name: str
    version: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """The repository's Asset URI, ``oci://<registry>/<repository>``."""
        return f"{self.namespace}/{self.name}"


def image_datasets(references: Iterable[str]) -> list[ImageDataset]:
    """One dataset per distinct (registry, repository, digest), in first-seen order, with the tags named.

    A reference without tag or digest pulls ``latest``, so that is its tag.
    """
    order: list[tuple[str, str, str | None]] = []
    tags: dict[tuple[str, str, str | None], list[str]] = {}
    for reference in references:
        ref = parse_reference(reference)
        key = (f"{SCHEME}://{ref.registry.lower()}", ref.repository, ref.digest)
        if key not in tags:
            order.append(key)
            tags[key] = []
        tag = ref.tag or (None if ref.digest else "latest")
        if tag and tag not in tags[key]:
            tags[key].append(tag)
    return [ImageDataset(ns, name, version, tuple(tags[(ns, name, version)])) for ns, name, version in order]


def uri_dataset(uri: str) -> ImageDataset:
    """The dataset of an ``oci://<registry>/<repository>`` Asset URI (as Airflow normalized it), no version.

    Raises ``ValueError`` for any other URI, naming it.
    """
    parts = urlsplit(uri)
    repository = parts.path.lstrip("/")
    if parts.scheme != SCHEME or not is_registry(parts.netloc) or not is_repository(repository) or parts.query:
        raise ValueError(f"{uri!r} is not an image repository's Asset URI such as 'oci://registry.example.com/team/app'")
    return ImageDataset(f"{SCHEME}://{parts.netloc.lower()}", repository)


def pushed_images(result: object) -> list[str]:
    """The ``<destination>@<digest>`` references in a build's XCom result: one build's dict, or a multi-build's list."""
    builds = result if isinstance(result, list) else [result]
    images: list[str] = []
    for build in builds:
        if isinstance(build, dict) and not build.get("failed") and build.get("status", "succeeded") == "succeeded":
            images += [i for i in build.get("images") or [] if isinstance(i, str) and "@" in i]
    return images


def final_images(result: object) -> list[str]:
    """``pushed_images`` but a platform build's (a result with a ``"platform"`` key): those are staging
    pushes of a multi-arch image, whose index step reports the image, as for Asset events."""
    builds = result if isinstance(result, list) else [result]
    return [image for build in builds if not (isinstance(build, dict) and "platform" in build) for image in pushed_images(build)]


def check_base_images(value: object, field: str = "base_images") -> list[str]:
    """The base image references a build declares, for lineage: a list of image references."""
    if value is None or value == []:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise KanikoSpecError(field, value, "must be a list of image references such as 'docker.io/library/python:3.12@sha256:…'")
    for item in value:
        try:
            parse_reference(item)
        except ValueError:
            raise KanikoSpecError(
                field, item, "is not a valid image reference such as 'docker.io/library/python:3.12@sha256:…'"
            ) from None
    return list(value)
