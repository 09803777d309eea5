"""The decision per image, from what is known about it; and the build kwargs of a rebuild.

Pure: the registry's answers come in as arguments (see ``planner`` for who asks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.base_pins import BasePin
from airflow_kaniko.maintenance.fingerprint import (
    BASE_DIGEST_LABEL,
    BASE_NAME_LABEL,
    FINGERPRINT_LABEL,
    INPUTS_LABEL,
    TAG_PREFIX,
    fingerprint_tag,
)
from airflow_kaniko.maintenance.reasons import Reason
from airflow_kaniko.oci.reference import split

_DURATION_RE = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
_STAMP_FORMAT = "%Y%m%d%H%M%S"
#: Executor flags that make the same inputs give the same digest (timestamps out of layers and config).
REPRODUCIBLE_ARGS = ("--reproducible",)


def parse_max_age(value: object, *, field: str = "max_age") -> timedelta | None:
    """``"7d"``, ``"12h"``, ``"1w2d"``, ``"90m"`` (or empty/None: no limit) as a timedelta."""
    if value in (None, "", 0):
        return None
    if isinstance(value, timedelta):
        return value
    match = _DURATION_RE.fullmatch(value) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise KanikoSpecError(field, value, "must be a duration such as '7d', '12h', '1w' or '90m'")
    weeks, days, hours, minutes = (int(g or 0) for g in match.groups())
    age = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    if age <= timedelta(0):
        raise KanikoSpecError(field, value, "must be positive")
    return age


def stamp_tag(fingerprint: str, built_at: datetime) -> str:
    """The tag that records when the build of ``fingerprint`` ran: ``fp-<hex>-<YYYYmmddHHMMSS>`` (UTC)."""
    return f"{fingerprint_tag(fingerprint)}-{built_at.strftime(_STAMP_FORMAT)}"


def last_built(fingerprint: str, tags: Sequence[str]) -> datetime | None:
    """The newest build time among ``tags`` for ``fingerprint`` (see :func:`stamp_tag`)."""
    prefix = f"{TAG_PREFIX}{fingerprint}-"
    stamps = []
    for tag in tags:
        if tag.startswith(prefix):
            try:
                stamps.append(datetime.strptime(tag[len(prefix) :], _STAMP_FORMAT).replace(tzinfo=_utc()))
            except ValueError:
                continue
    return max(stamps, default=None)


def decide(
    *,
    unknowable: str | None,
    force: bool,
    fingerprint: str | None,
    found: str | None,
    built_at: datetime | None,
    max_age: timedelta | None,
    now: datetime,
    rebuilt_parents: Sequence[str] = (),
    remote_source: str | None = None,
    tag_mismatch: bool = False,
) -> Reason | None:
    """The reason for one image, or ``None``: its fingerprint is new and the caller must say why.

    :param unknowable: why the context cannot be known before the build (always rebuilt).
    :param force: rebuild whatever the registry says.
    :param found: the digest the fingerprint tag points at, ``None`` when there is none (or it did not match).
    :param built_at: when that fingerprint was last built, when known.
    :param max_age: rebuild a build older than this (unknown age counts as older).
    :param rebuilt_parents: parents that this run rebuilt.
    :param remote_source: a remote ``ADD`` source of the Dockerfile, as shown (always rebuilt).
    :param tag_mismatch: the fingerprint tag points at an image whose fingerprint label is not that fingerprint.
    """
    if unknowable:
        return Reason("unknowable", detail=unknowable)
    if remote_source:
        return Reason("remote_source", detail=remote_source)
    if force:
        return Reason("forced")
    if tag_mismatch:
        return Reason("tag_mismatch")
    if found is None:
        return Reason("parent", parents=tuple(rebuilt_parents)) if rebuilt_parents else None
    if max_age is not None and (built_at is None or now - built_at >= max_age):
        return Reason("max_age")
    return Reason("unchanged", fingerprint=fingerprint, digest=found)


def pinned(reference: str, digest: str) -> str:
    """``registry/repo@digest`` for ``registry/repo:tag``."""
    registry, repository, _, _ = split(reference)
    return f"{registry}/{repository}@{digest}"


def by_digest(reference: str, digest: str) -> str:
    """``registry/repo:tag@digest``: the tag kept as a name, the digest as the identity."""
    registry, repository, tag, pinned_digest = split(reference)
    return f"{registry}/{repository}" + (f":{tag}" if tag else "") + f"@{pinned_digest or digest}"


def rebuild_kwargs(
    kwargs: Mapping[str, Any],
    *,
    reason: Reason,
    fingerprint: str | None,
    summary: Mapping[str, Any] | None,
    base: tuple[str, str] | None,
    build_args: Mapping[str, str],
    built_at: datetime,
    reproducible: bool,
    bases: Mapping[str, str] | None = None,
    executor_image: str | None = None,
    context_digest: str | None = None,
    base_pins: Sequence[BasePin] = (),
) -> dict[str, Any]:
    """The operator kwargs of a rebuild: fingerprint tags and labels, pinned args, no cache for max_age or
    a remote ADD; the fingerprint and reason for the Asset event, the resolved bases by digest for lineage.

    :param kwargs: the manifest's kwargs for the image.
    :param base: ``(reference, digest)`` of the image the target stage is built on, for the OCI labels.
    :param bases: every resolved image the build pulls, reference -> digest.
    :param executor_image: an executor the DAG pinned, ``<ref>@<digest>`` (``None``: the operator's default).
    :param context_digest: the tar digest of the local context the fingerprint covers; the operator refuses
        to build another (``None``: no check).
    :param base_pins: the bases to pull by digest, where the Dockerfile names them; the operator pins them
        in the Dockerfile it packs (none: the Dockerfile as written).
    """
    result = {**kwargs, "build_args": dict(build_args)}
    if executor_image is not None:
        result["executor_image"] = executor_image
    if context_digest is not None:
        result["context_digest"] = context_digest
    if base_pins:
        result["base_pins"] = [BasePin(line=p["line"], written=p["written"], pinned=p["pinned"]) for p in base_pins]
    result["fingerprint"] = fingerprint
    result["build_reason"] = reason.to_dict()
    result["base_images"] = [by_digest(reference, digest) for reference, digest in (bases or {}).items()]
    labels = dict(kwargs.get("image_labels", {}))
    if base is not None:
        labels[BASE_NAME_LABEL], labels[BASE_DIGEST_LABEL] = base
    if fingerprint is not None:
        labels[FINGERPRINT_LABEL] = fingerprint
        labels[INPUTS_LABEL] = json.dumps(summary, sort_keys=True, separators=(",", ":"))
        repository = kwargs["destinations"][0].rsplit(":", 1)[0]
        result["destinations"] = [
            *kwargs["destinations"],
            f"{repository}:{fingerprint_tag(fingerprint)}",
            f"{repository}:{stamp_tag(fingerprint, built_at)}",
        ]
    result["image_labels"] = labels
    if reproducible:
        result["extra_args"] = [
            *kwargs.get("extra_args", []),
            *(a for a in REPRODUCIBLE_ARGS if a not in kwargs.get("extra_args", [])),
        ]
    if reason.kind in ("max_age", "remote_source"):
        # A cached `RUN apt-get upgrade` would hide exactly the fixes max_age is for; the executor's cache key
        # leaves out a remote ADD's content, so a cached RUN after it would be the old file's.
        for key in ("cache", "cache_repo", "cache_ttl"):
            result.pop(key, None)
    return result


def _utc() -> tzinfo:

    return UTC
