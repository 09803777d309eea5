"""Images as lineage datasets: our naming, since no public convention for container images exists.

namespace ``oci://<registry>`` (Docker Hub is ``oci://docker.io``), name ``<repository>@<digest>``;
an image known only by tag is ``<repository>:<tag>``. The tags an image was pushed or pulled under
are kept as aliases (``<repository>:<tag>``), since a tag is a mutable second name of the same image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci.reference import parse_reference


@dataclass(frozen=True)
class ImageDataset:
    namespace: str
    name: str
    aliases: tuple[str, ...] = ()


def image_datasets(references: Iterable[str]) -> list[ImageDataset]:
    """One dataset per distinct image (registry, repository, digest), in first-seen order, tags as aliases."""
    order: list[tuple[str, str]] = []
    aliases: dict[tuple[str, str], list[str]] = {}
    for reference in references:
        ref = parse_reference(reference)
        if ref.digest:
            key = (f"oci://{ref.registry}", f"{ref.repository}@{ref.digest}")
        else:
            key = (f"oci://{ref.registry}", f"{ref.repository}:{ref.tag or 'latest'}")
        if key not in aliases:
            order.append(key)
            aliases[key] = []
        alias = f"{ref.repository}:{ref.tag}" if ref.tag and ref.digest else None
        if alias and alias not in aliases[key]:
            aliases[key].append(alias)
    return [ImageDataset(ns, name, tuple(aliases[(ns, name)])) for ns, name in order]


def pushed_images(result: object) -> list[str]:
    """The ``<destination>@<digest>`` references in a build's XCom result: one build's dict, or a multi-build's list."""
    builds = result if isinstance(result, list) else [result]
    images: list[str] = []
    for build in builds:
        if isinstance(build, dict) and not build.get("failed") and build.get("status", "succeeded") == "succeeded":
            images += [i for i in build.get("images") or [] if isinstance(i, str) and "@" in i]
    return images


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
