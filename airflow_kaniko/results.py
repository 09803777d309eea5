"""What a build task returns, typed: the contract between the operators, the planner, the report and the links.

Each type renders the exact XCom JSON the operators have always pushed (``to_xcom``), and
:func:`parse_result` reads it back, so DAG runs started before a change keep working. Pure: no
Airflow, no Kubernetes.

=================  =====================================================================================
type               XCom JSON
=================  =====================================================================================
``BuildResult``    ``{"digest", "images"}``; a platform build adds ``"platform"`` and the final ``"destinations"``
``FailedBuild``    ``{"failed": true, "failure": {"kind", "retryable", "detail"} | null, "destinations"}``
                   (a platform build adds ``"platform"``)
``RenderedBuild``  ``{"dry_run": true, "pod", "destinations"}`` (a platform build adds ``"platform"``)
``IndexResult``    ``{"digest", "images", "platforms": {platform: digest}, "destinations"}``
``RenderedIndex``  ``{"dry_run": true, "platforms": [platform, ...], "destinations"}``
=================  =====================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict


class FailureDict(TypedDict):
    kind: str
    retryable: bool
    detail: str


@dataclass(frozen=True)
class BuildFailure:
    """Why a build failed, and whether running it again can help.

    :param kind: ``dockerfile`` (a step of the Dockerfile failed: deterministic), ``push``, ``pull``,
        ``registry`` (a 5xx or network error), ``out-of-memory``, ``deadline``, ``evicted``,
        ``executor-image`` (the executor never started), ``platform`` (a multi-arch merge), ``context`` (the
        local context is not the one the plan fingerprinted: no pod ran) or ``unknown``.
    :param retryable: False for ``dockerfile``: the same inputs fail the same way.
    :param detail: the lines that say so, Kaniko's own or the pod's.
    """

    kind: str
    retryable: bool
    detail: str

    def to_dict(self) -> FailureDict:
        return {"kind": self.kind, "retryable": self.retryable, "detail": self.detail}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None) -> BuildFailure | None:
        if not value:
            return None
        return cls(str(value.get("kind", "unknown")), bool(value.get("retryable", True)), str(value.get("detail", "")))


def _platform_keys(platform: str | None, destinations: Sequence[str]) -> dict[str, Any]:
    return {"platform": platform, "destinations": list(destinations)} if platform else {}


@dataclass(frozen=True)
class BuildResult:
    """A pushed image: its digest and ``<destination>@<digest>`` references (tags kept).

    :param platform: set for one platform of a multi-arch image, pushed under staging tags only.
    :param destinations: with ``platform``, the image's final destinations, which its index goes to.
    """

    digest: str
    images: tuple[str, ...]
    platform: str | None = None
    destinations: tuple[str, ...] = ()

    def to_xcom(self) -> dict[str, Any]:
        return {"digest": self.digest, "images": list(self.images), **_platform_keys(self.platform, self.destinations)}


@dataclass(frozen=True)
class FailedBuild:
    """A build that failed, as far as it could say why (``failure`` is None when it could not)."""

    failure: BuildFailure | None
    destinations: tuple[str, ...]
    platform: str | None = None

    def to_xcom(self) -> dict[str, Any]:
        failure = self.failure.to_dict() if self.failure else None
        return {"failed": True, "failure": failure, **_platform_keys(self.platform, ()), "destinations": list(self.destinations)}


@dataclass(frozen=True)
class RenderedBuild:
    """``render_only``: the pod was rendered and logged; nothing ran, nothing was pushed."""

    pod: str
    #: The image's final destinations (for a platform build too, whose pod would push staging tags).
    destinations: tuple[str, ...]
    platform: str | None = None

    def to_xcom(self) -> dict[str, Any]:
        rendered = {"dry_run": True, "pod": self.pod, "destinations": list(self.destinations)}
        return {**rendered, **_platform_keys(self.platform, self.destinations)}


@dataclass(frozen=True)
class IndexResult:
    """A multi-arch image: the OCI index pushed under every destination, and each platform's digest."""

    digest: str
    images: tuple[str, ...]
    platforms: Mapping[str, str]
    destinations: tuple[str, ...]

    def to_xcom(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "images": list(self.images),
            "platforms": dict(self.platforms),
            "destinations": list(self.destinations),
        }


@dataclass(frozen=True)
class RenderedIndex:
    """Every platform build only rendered its pod: no index was pushed."""

    platforms: tuple[str, ...]
    destinations: tuple[str, ...]

    def to_xcom(self) -> dict[str, Any]:
        return {"dry_run": True, "platforms": list(self.platforms), "destinations": list(self.destinations)}


Result = BuildResult | FailedBuild | RenderedBuild | IndexResult | RenderedIndex
PUSHED = (BuildResult, IndexResult)


def parse_result(value: object) -> Result | None:
    """The typed form of one build task's XCom value; None for no value or one that is none of the above."""
    if not isinstance(value, Mapping):
        return None
    destinations = tuple(value.get("destinations") or ())
    platform = value.get("platform") or None
    if value.get("failed"):
        return FailedBuild(BuildFailure.from_dict(value.get("failure")), destinations, platform)
    if value.get("dry_run"):
        if "pod" in value:
            return RenderedBuild(str(value["pod"]), destinations, platform)
        return RenderedIndex(tuple(value.get("platforms") or ()), destinations)
    digest, images = value.get("digest"), value.get("images")
    if not isinstance(digest, str) or not isinstance(images, (list, tuple)):
        return None
    if isinstance(value.get("platforms"), Mapping):
        return IndexResult(digest, tuple(images), dict(value["platforms"]), destinations)
    return BuildResult(digest, tuple(images), platform, destinations if platform else ())


def parse_results(values: Iterable[object]) -> list[Result]:
    """Every readable result of ``values`` (mapped tasks' XComs), in their order; unreadable ones dropped."""
    return [r for r in map(parse_result, values) if r is not None]


def final_destinations(result: Result) -> tuple[str, ...]:
    """The references the result is for: its final destinations, or its images without the digest."""
    if result.destinations:
        return result.destinations
    if isinstance(result, PUSHED):
        return tuple(image.split("@", 1)[0] for image in result.images)
    return ()


def pushed_images(value: object) -> list[str]:
    """The ``<destination>@<digest>`` references an XCom value says were pushed; none for anything else."""
    result = parse_result(value)
    return list(result.images) if isinstance(result, PUSHED) else []


@dataclass
class Matched:
    """The results of one image: what its own build (or index) returned, and its platform builds'."""

    result: Result | None = None
    platforms: dict[str, Result] = field(default_factory=dict)


def match_results(destinations: Sequence[str], results: Iterable[Result]) -> Matched:
    """The results that belong to the image pushed to ``destinations``: one destination in common is enough.

    The one place results are matched to builds. A platform build's result goes under
    ``platforms`` (keyed by platform); anything else is the image's own result. When several
    match, the last one wins, as a retried task's newer XCom replaces the older.
    """
    mine = set(destinations)
    matched = Matched()
    for result in results:
        if not mine & set(final_destinations(result)):
            continue
        platform = getattr(result, "platform", None)
        if platform:
            matched.platforms[platform] = result
        else:
            matched.result = result
    return matched
