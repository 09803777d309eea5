"""Airflow Assets for pushed images: the events a build emits, and the Asset a downstream DAG schedules on.

The convention and the extra are in ``kaniko/image_assets.py``; this is the Airflow side. Images
are known only when the build has pushed them, so a task names an ``AssetAlias`` in its ``outlets``
and each pushed repository becomes ``outlet_events[alias].add(Asset(uri), extra=...)``. A concrete
``Asset`` outlet with the same URI gets the extra instead (one event per repository, not two).

Contract with a step that pushes an image itself (e.g. a multi-platform merge): the operators emit
nothing for a result with a ``"platform"`` key (a per-platform staging push); the step that pushes
the final image calls :func:`emit_image_events` with the ``<destination>@<digest>`` it pushed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from airflow.sdk import Asset, AssetAlias
from airflow_kaniko.assets.convention import ImageEvent, image_events, image_uri, sanitize_uri

if TYPE_CHECKING:
    from urllib.parse import SplitResult

__all__ = ["emit_image_events", "image_asset"]


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def image_asset(reference: str) -> Asset:
    """The Asset of an image's repository, for ``schedule=[...]`` or ``outlets=[...]``.

    ``image_asset("registry.example.com/team/app")`` is ``Asset(uri="oci://registry.example.com/team/app")``,
    named by its URI, exactly the Asset the build emits; a tag or digest in ``reference`` is dropped.
    """
    return Asset(uri=image_uri(reference))


def create_asset(*, reference: str, extra: dict[str, Any] | None = None) -> Asset:
    """The ``factory`` of the ``oci`` scheme (``asset-uris`` in ``get_provider_info``): ``image_asset``
    with an extra, as hook lineage calls it (``create_asset(scheme="oci", asset_kwargs={"reference": …})``)."""
    return Asset(uri=image_uri(reference), extra=extra or {})


def emit_image_events(
    context: Mapping[str, Any],
    outlets: Iterable[object],
    images: Iterable[str],
    *,
    fingerprint: str | None = None,
    reason: Mapping[str, Any] | None = None,
    redact: Callable[[str], str] | None = None,
    log: _Log | None = None,
) -> list[ImageEvent]:
    """Emit one Asset event per repository among ``images`` (``<destination>@<digest>`` references).

    Through every ``AssetAlias`` in ``outlets``, or into a concrete ``Asset`` outlet of the same URI.
    Call it only for images really pushed, when the task is about to succeed: Airflow records the
    events with the task's success. Returns the events emitted (none without a matching outlet).

    :param context: the task's context (its ``outlet_events``).
    :param outlets: the task's ``outlets``.
    :param fingerprint: the build's fingerprint (maintenance), in the extra.
    :param reason: why it was built (``Reason.to_dict()``), in the extra.
    :param redact: applied to the reason's strings (the operator's credential redactor).
    """
    outlets = list(outlets)
    declared = {uri: o for o in outlets if isinstance(o, Asset) and (uri := _canonical(o.uri))}
    aliases = [o for o in outlets if isinstance(o, AssetAlias)]
    if not declared and not aliases:
        return []
    accessors = context["outlet_events"]
    emitted = []
    for event in image_events(images, fingerprint=fingerprint, reason=reason, redact=redact):
        if event.uri in declared:
            accessors[declared[event.uri]].extra.update(event.extra)
        elif aliases:
            for alias in aliases:
                accessors[alias].add(Asset(uri=event.uri), extra=dict(event.extra))
        else:
            continue
        emitted.append(event)
        if log is not None:
            log.info("Asset event for %s: %s", event.uri, event.extra["image"])
    return emitted


def _canonical(uri: str) -> str | None:
    """A declared outlet's URI in our normal form, whether or not Airflow ran our handler on it."""
    from urllib.parse import urlsplit

    parts: SplitResult = urlsplit(uri)
    if parts.scheme != "oci":
        return None
    try:
        return sanitize_uri(parts).geturl()
    except ValueError:
        return None
