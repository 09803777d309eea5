"""The maintenance plan as it travels between the DAG's tasks: XCom JSON, typed.

The keys and values are exactly the JSON a running DAG's tasks exchange (``tests/unit/maintenance/
test_plan_state.py`` pins a real plan), so a plan made before an upgrade is read after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict

from airflow_kaniko.results import FailureDict

if TYPE_CHECKING:  # Python 3.11's typing.NotRequired; the annotations below are never evaluated
    from typing import NotRequired

Status = Literal["new", "pending", "build", "unchanged", "rebuilt", "failed", "parent_failed"]
#: Not decided yet (only while ``prepare_plan`` runs).
NEW: Final = "new"
#: Waits for a parent this run rebuilds; decided by ``plan_next_level``.
PENDING: Final = "pending"
#: To be built in this run (``build`` holds the operator kwargs).
BUILD: Final = "build"
#: Its fingerprint is in the registry: retagged, not built.
UNCHANGED: Final = "unchanged"
#: Built in this run (``digest`` is what it pushed).
REBUILT: Final = "rebuilt"
#: Its build failed, or returned nothing.
FAILED: Final = "failed"
#: Not built: a parent failed.
PARENT_FAILED: Final = "parent_failed"
#: The statuses that mean the image has no new digest yet.
WAITING: Final = (BUILD, PENDING)
FAILURES: Final = (FAILED, PARENT_FAILED)


class BaseRecord(TypedDict):
    """One image the build pulls (``dockerfile.BaseImage``, as the plan records it)."""

    reference: str  # the resolved reference, e.g. ``reg.io/library/busybox:latest``
    written: str  # as the Dockerfile spells it, e.g. ``${BASE}``
    line: int
    args: list[str]  # the ARGs the FROM goes through
    digest: NotRequired[str]  # resolved from the registry, for a base no image of the manifest produces


class CleanupDict(TypedDict):
    """What the registry cleanup did for one rebuilt image (``retention.clean_registry``)."""

    deleted: list[str]  # ``repository:tag``
    warnings: list[str]


class ImageState(TypedDict):
    """One image of the plan: what is known about it, the decision, and (once built) the result."""

    name: str
    kwargs: dict[str, Any]  # the manifest's operator kwargs, with the reproducible args added
    executor_image: str  # as the DAG gives it: a tag, or pinned ``<ref>@sha256:…``
    unknowable: str | None  # why the context cannot be known before the build (always rebuilt)
    bases: list[BaseRecord]
    context_digest: str | None
    status: Status
    reason: dict[str, Any] | None  # a ``Reason.to_dict()``; None while pending
    fingerprint: str | None
    digest: str | None
    previous_digest: str | None
    build: dict[str, Any] | None  # the operator kwargs of the rebuild
    images: list[str]  # ``<destination>@<digest>``
    level: int
    parents: list[str]
    final_base: NotRequired[str | None]  # the base the target stage is built on (local contexts only)
    remote_source: NotRequired[str]  # a remote ``ADD`` source of the Dockerfile, as shown (always rebuilt)
    unverified: NotRequired[str]  # the registry error that left a base unresolved (on_registry_error=build)
    failure: NotRequired[FailureDict | None]  # a failed build's classified failure
    platform_digests: NotRequired[dict[str, str]]  # a multi-arch image: platform -> digest
    cleanup: NotRequired[CleanupDict]  # its stale tags deleted after the run (rebuilt images only)


class Plan(TypedDict):
    now: str  # ISO 8601
    force: bool
    dry_run: bool
    reproducible: bool
    levels: list[list[str]]
    max_age: dict[str, float | None]  # image name -> seconds
    images: dict[str, ImageState]
    registry_connections: NotRequired[dict[str, str]]  # host -> Connection id, set by the task body
    # The manifest's registry_cleanup (RegistryCleanup.to_dict()), None when off; absent: the defaults.
    registry_cleanup: NotRequired[dict[str, int] | None]


class Stage(TypedDict):
    """What each planning step returns: the whole plan and the builds of its level."""

    plan: Plan
    builds: list[dict[str, Any]]
