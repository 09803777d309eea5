"""The merge step of a multi-arch build: the platforms' results in, one OCI image index under the final tags out.

Runs in the worker through the registry adapter (no pod). All or nothing: unless every platform
was built and its manifest in the registry is an image for that platform, nothing is pushed under
the final tags. No Airflow, no Kubernetes.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from airflow_kaniko.errors import KanikoError
from airflow_kaniko.oci import reference
from airflow_kaniko.oci.platforms import INDEX_MEDIA_TYPE, Platform, PlatformManifest, index_document, parse_platforms
from airflow_kaniko.oci.registry_protocol import RegistryError, RegistryHosts, ServedManifest
from airflow_kaniko.results import (
    BuildFailure,
    BuildResult,
    FailedBuild,
    IndexResult,
    RenderedBuild,
    RenderedIndex,
    Result,
    match_results,
)


class MergeError(KanikoError):
    """The index was not pushed; the message names the image, the platform and what failed.

    :param failure: why, for the report, as a failed build's result carries it.
    """

    def __init__(self, message: str, failure: BuildFailure) -> None:
        super().__init__(message)
        self.failure = failure


def platform_digests(
    destinations: Sequence[str], platforms: Sequence[str | Platform], results: Iterable[Result]
) -> dict[str, str]:
    """Each platform's digest, from the per-platform build results of the image pushed to ``destinations``.

    Raises :class:`MergeError` naming every platform that failed or has no result.
    """
    by_platform = match_results(destinations, results).platforms
    digests: dict[str, str] = {}
    problems: list[str] = []
    failures: list[BuildFailure] = []
    for platform in map(str, parse_platforms(platforms)):
        result = by_platform.get(platform)
        if result is None:
            problems.append(f"{platform}: no result (the build task failed before reporting; see its log)")
        elif isinstance(result, FailedBuild):
            if result.failure:
                failures.append(result.failure)
            kind, detail = (result.failure.kind, result.failure.detail) if result.failure else ("failed", "see its log")
            problems.append(f"{platform}: {kind}: {detail}")
        elif isinstance(result, BuildResult):
            digests[platform] = result.digest
        else:
            problems.append(f"{platform}: rendered only (render_only); nothing to merge")
    if problems:
        detail = "; ".join(problems)
        raise MergeError(
            f"image {destinations[0]}: not merged, nothing pushed under its tags: {detail}",
            BuildFailure("platform", all(f.retryable for f in failures), detail),
        )
    return digests


def push_index(
    registries: RegistryHosts,
    destinations: Sequence[str],
    digests: Mapping[str, str],
    log: Any = print,
    *,
    last: Collection[str] = (),
    rounds: int = 3,
    pause: float = 1.0,
) -> str:
    """Push one OCI image index of the platforms' manifests under every destination tag; returns its digest.

    Each platform's manifest is read back from each destination repository (its staging push put it
    there) and its config checked to be for that platform, before any tag is written. Each tag is one PUT
    of the whole document, so no tag ever names part of an index; a PUT that fails (after the adapter's own
    retries) is tried again, up to ``rounds`` times in all, ``pause`` seconds doubling in between. The
    destinations in ``last`` (the fingerprint tag, which says "built") are written after every other: when
    the registry fails part-way, they still name the previous build, so the next run builds again.
    """
    platforms = parse_platforms(list(digests))
    by_repository: dict[tuple[str, str], list[str]] = {}
    for destination in destinations:
        host, repository, tag, digest = reference.split(destination)
        if digest or not tag:
            message = f"destination {destination!r} must be a tag"
            raise MergeError(message, BuildFailure("spec", False, message))
        by_repository.setdefault((host, repository), []).append(tag)
    indexes: dict[tuple[str, str], ServedManifest] = {}
    for (host, repository), _tags in by_repository.items():
        registry = registries.for_host(host)
        entries = []
        for platform in platforms:
            digest = digests[str(platform)]
            manifest = registry.manifest(repository, digest)
            if manifest is None:
                raise _failure(host, repository, platform, f"manifest {digest} is not in the repository")
            config = registry.config(repository, manifest)
            built = (config.get("os"), config.get("architecture"), config.get("variant"))
            if built[:2] != (platform.os, platform.architecture) or (platform.variant and built[2] != platform.variant):
                got = "/".join(p for p in built if p)
                raise _failure(host, repository, platform, f"manifest {digest} is an image for {got}, not {platform}")
            entries.append(PlatformManifest(platform, manifest.digest, len(manifest.body), manifest.media_type))
        body = index_document(entries)
        indexes[host, repository] = ServedManifest(body, INDEX_MEDIA_TYPE, _sha256(body))
    # Every check passed: now the tags, those in `last` after all the others.
    commit = {reference.split(d)[:3] for d in last}
    writes = [(host, repository, tag) for (host, repository), tags in by_repository.items() for tag in tags]
    writes = [w for w in writes if w not in commit] + [w for w in writes if w in commit]
    written: list[str] = []
    for host, repository, tag in writes:
        _put(registries, host, repository, tag, indexes[host, repository], written, rounds, pause)
        written.append(f"{host}/{repository}:{tag}")
    names = ", ".join(map(str, platforms))
    for (host, repository), tags in by_repository.items():
        log(f"pushed image index {indexes[host, repository].digest} ({names}) to {host}/{repository}: {', '.join(tags)}")
    return next(iter(indexes.values())).digest


def _put(
    registries: RegistryHosts,
    host: str,
    repository: str,
    tag: str,
    index: ServedManifest,
    written: Sequence[str],
    rounds: int,
    pause: float,
) -> None:
    """One tag's PUT, tried ``rounds`` times; the last failure says which tags were written before it."""
    for attempt in range(1, max(1, rounds) + 1):
        try:
            registries.for_host(host).put_manifest(repository, tag, index)
            return
        except RegistryError as err:
            if attempt >= rounds:
                before = ", ".join(written) if written else "none"
                raise RegistryError(
                    err.registry,
                    err.reference,
                    f"{err.reason}; tried {attempt} times; tags written before it: {before}",
                    err.status,
                ) from None
            time.sleep(pause * 2 ** (attempt - 1))


def merge(
    registries: RegistryHosts,
    destinations: Sequence[str],
    platforms: Sequence[str | Platform],
    results: Iterable[Result],
    log: Any = print,
    *,
    last: Collection[str] = (),
) -> IndexResult | RenderedIndex:
    """The merge step: check every platform built, push the index; the result the index operator returns.

    When every platform build only rendered its pod (``render_only``), a :class:`RenderedIndex`, and nothing is pushed.

    :param last: destinations written after every other (see :func:`push_index`).
    """
    results = list(results)
    wanted = [str(p) for p in parse_platforms(platforms)]
    matched = match_results(destinations, results).platforms
    if {p for p, r in matched.items() if isinstance(r, RenderedBuild)} >= set(wanted):
        log(f"render_only: would push an image index of {', '.join(wanted)} to {', '.join(destinations)}")
        return RenderedIndex(tuple(wanted), tuple(destinations))
    digests = platform_digests(destinations, platforms, results)
    try:
        digest = push_index(registries, destinations, digests, log, last=last)
    except RegistryError as err:
        raise MergeError(f"image {destinations[0]}: index not pushed: {err}", BuildFailure("push", True, str(err))) from None
    return IndexResult(digest, tuple(f"{d}@{digest}" for d in destinations), digests, tuple(destinations))


def _failure(host: str, repository: str, platform: Platform, what: str) -> MergeError:
    detail = f"{platform}: {what}"
    return MergeError(
        f"image {host}/{repository}: not merged, nothing pushed under its tags: {detail}", BuildFailure("platform", False, detail)
    )


def _sha256(body: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(body).hexdigest()
