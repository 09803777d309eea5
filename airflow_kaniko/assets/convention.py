"""Pushed images as Airflow Assets: our URI convention and the event's extra. No Airflow import.

An image's Asset is its **repository**, ``oci://<registry>/<repository>``, without tag or digest:
each push is an event of that stream, and the event's extra says which image it was. The registry
is spelled lowercase, port kept, Docker Hub as ``docker.io``, its one-word names under ``library/``.
The OpenLineage dataset of the same repository (``openlineage/naming.py``) is this URI split in two:
namespace ``oci://<registry>``, name ``<repository>``, each image a version of it. The same ``oci://``
form names repositories in Helm and ORAS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, is_registry, is_repository, parse_reference

SCHEME = "oci"
#: The keys of every event's extra, always all present (``None`` where unknown).
EXTRA_KEYS = ("image", "digest", "tags", "fingerprint", "reason")

_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_FINGERPRINT_RE = re.compile(r"[0-9a-f]{64}")
_MAX_TEXT = 2000  # one reason string; a registry's error text is not a document
_REASON_KEYS = frozenset({"kind", "bases", "parents", "fingerprint", "digest", "detail"})


@dataclass(frozen=True)
class ImageEvent:
    """One Asset event: the repository's URI and what was pushed to it."""

    uri: str
    extra: dict[str, Any]


def image_uri(reference: str) -> str:
    """``oci://<registry>/<repository>`` of an image reference; tag and digest dropped.

    ``busybox:1.36`` is ``oci://docker.io/library/busybox``. Raises ``KanikoSpecError`` for anything
    that is not an image reference.
    """
    try:
        ref = parse_reference(reference)
    except ValueError:
        example = "'registry.example.com/team/app'"
        raise KanikoSpecError("image", reference, f"is not a valid image reference such as {example}") from None
    return f"{SCHEME}://{ref.registry.lower()}/{ref.repository}"


def sanitize_uri(parts: SplitResult) -> SplitResult:
    """Airflow's URI handler for the ``oci`` scheme (``asset-uris`` in ``get_provider_info``).

    Airflow has already lowercased the scheme, dropped the fragment and trailing slashes. This makes
    ``oci://Index.Docker.IO/busybox`` and ``oci://docker.io/library/busybox`` one Asset, and refuses
    what is not a repository: a tag or digest, user info, a query. Raises ``ValueError``.
    """
    uri = parts.geturl()
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{uri!r}: an image Asset URI carries no user or password: oci://<registry>/<repository>")
    if parts.query:
        raise ValueError(f"{uri!r}: an image Asset URI has no query: oci://<registry>/<repository>")
    host = parts.netloc.lower()
    repository = parts.path.lstrip("/")
    if not host or not is_registry(host):
        raise ValueError(f"{uri!r}: {host!r} is not a registry host: oci://<registry>/<repository>")
    if ":" in repository or "@" in repository:
        raise ValueError(
            f"{uri!r}: an image Asset is a repository, without tag or digest (the event's extra has them): "
            f"oci://{host}/{repository.split('@')[0].rsplit(':', 1)[0]}"
        )
    if not is_repository(repository):
        raise ValueError(f"{uri!r}: {repository!r} is not a repository name such as 'team/app' (lowercase)")
    if host in DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
        repository = repository if "/" in repository else f"library/{repository}"
    return parts._replace(netloc=host, path=f"/{repository}")


def image_events(
    images: Iterable[str],
    *,
    fingerprint: str | None = None,
    reason: Mapping[str, Any] | None = None,
    redact: Callable[[str], str] | None = None,
) -> list[ImageEvent]:
    """One event per repository among ``<destination>@<digest>`` references (a build's XCom ``images``).

    The extra: ``image`` (``<registry>/<repository>@<digest>``, pullable), ``digest``, ``tags`` (the tags
    this push wrote in that repository, in destination order), ``fingerprint`` and ``reason`` (both
    ``None`` unless given). Every value is checked; ``redact`` is applied to the reason's strings.
    """
    fingerprint = check_fingerprint(fingerprint)
    reason = check_reason(reason, redact=redact)
    order: list[str] = []
    found: dict[str, dict[str, Any]] = {}
    for item in images:
        try:
            ref = parse_reference(item)
        except ValueError:
            raise KanikoSpecError("images", item, "is not an image reference") from None
        if not ref.digest or not _DIGEST_RE.fullmatch(ref.digest):
            raise KanikoSpecError("images", item, "has no 'sha256:<64 hex>' digest")
        uri = image_uri(item)
        if uri not in found:
            order.append(uri)
            image = f"{ref.registry.lower()}/{ref.repository}@{ref.digest}"
            found[uri] = {"image": image, "digest": ref.digest, "tags": [], "fingerprint": fingerprint, "reason": reason}
        elif found[uri]["digest"] != ref.digest:
            raise KanikoSpecError("images", item, f"has another digest than {found[uri]['digest']} for the same repository")
        if ref.tag and ref.tag not in found[uri]["tags"]:
            found[uri]["tags"].append(ref.tag)
    return [ImageEvent(uri, found[uri]) for uri in order]


def check_fingerprint(value: object, field: str = "fingerprint") -> str | None:
    """A build's fingerprint (``maintenance.fingerprint``): 64 lowercase hex digits, or ``None``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _FINGERPRINT_RE.fullmatch(value):
        raise KanikoSpecError(field, value, "must be a fingerprint of 64 lowercase hex digits")
    return value


def check_reason(
    value: object, field: str = "build_reason", *, redact: Callable[[str], str] | None = None
) -> dict[str, Any] | None:
    """Why a build runs, as the maintenance planner's ``Reason.to_dict()``; rebuilt from its fields, so
    nothing else passes: a known rebuild kind, strings of bounded length."""
    if value is None or value == {}:
        return None
    from airflow_kaniko.maintenance.reasons import Reason

    try:
        if not isinstance(value, Mapping):
            raise TypeError("not a mapping")
        reason = Reason.from_dict(value)
        data = reason.to_dict()
    except (KeyError, TypeError, ValueError) as err:
        raise KanikoSpecError(field, value, f"must be a rebuild reason such as {{'kind': 'forced'}} ({err})") from None
    if not reason.rebuild:
        raise KanikoSpecError(field, value, f"kind {reason.kind!r} is not a reason to build")
    unknown = sorted(str(key) for key in set(value) - _REASON_KEYS)
    if unknown:
        raise KanikoSpecError(field, value, f"has unknown key {unknown[0]!r}")
    redact = redact or (lambda text: text)

    def text(item: object) -> str | None:
        if item is None:
            return None
        if not isinstance(item, str) or len(item) > _MAX_TEXT:
            raise KanikoSpecError(field, value, f"holds {item!r}, not a string of at most {_MAX_TEXT} characters")
        return redact(item)

    out: dict[str, Any] = {key: text(data[key]) for key in ("kind", "fingerprint", "digest", "detail") if key in data}
    if "parents" in data:
        out["parents"] = [text(parent) for parent in data["parents"]]
    if "bases" in data:
        out["bases"] = [{key: text(change[key]) for key in ("reference", "old", "new")} for change in data["bases"]]
    return out
