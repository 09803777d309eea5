"""Registry hygiene after a maintenance run: the tags this package pushes for itself, trimmed (issue 18, item 6).

Every rebuild pushes ``fp-<hex>`` and a stamped ``fp-<hex>-<YYYYmmddHHMMSS>`` tag
(``decisions.stamp_tag``); a multi-arch build pushes one staging tag per platform
(``platforms.staging_destinations``) before its index goes under the final tags. Once the run knows
every image's result, :func:`clean_registry` deletes, for each image it rebuilt, the stamped tags of its
repository beyond the newest ``keep_stamped_tags``, and, once its index is pushed, its staging tags.

Only tags of exactly those shapes are candidates, and never one that the manifest names as a destination,
an ``fp-<hex>`` tag (what "built before?" asks), nor the newest stamp of a fingerprint an image of the plan
has now (what ``max_age`` reads). Deleting goes through ``RegistryHost.delete_tag``, which removes the
tag alone. A failure is a warning in the log and the report, never the run's failure; the work is bounded
in deletions and time, and what is left over goes at the next run.

Pure: the registry comes in as the protocol; no Airflow, no Kubernetes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from airflow_kaniko.errors import KanikoError, KanikoSpecError
from airflow_kaniko.maintenance.fingerprint import TAG_PREFIX
from airflow_kaniko.maintenance.plan_state import REBUILT, CleanupDict, ImageState, Plan
from airflow_kaniko.oci.platforms import parse_platform, staging_destinations
from airflow_kaniko.oci.reference import split
from airflow_kaniko.oci.registry_protocol import RegistryError, RegistryHosts

#: How many stamped tags per image a manifest that says nothing keeps.
DEFAULT_KEEP_STAMPED_TAGS = 3
#: The most ``keep_stamped_tags`` a manifest may ask for.
MAX_KEEP_STAMPED_TAGS = 1000
#: The most tags one run deletes, and the seconds it spends deleting; the rest go at the next run.
MAX_DELETIONS = 200
DEADLINE_SECONDS = 300.0
# decisions.stamp_tag: fp-, the 64 hex digits of a fingerprint, -, a UTC time to the second.
_STAMP_RE = re.compile(rf"{re.escape(TAG_PREFIX)}(?P<fingerprint>[0-9a-f]{{64}})-(?P<at>[0-9]{{14}})")
Log = Callable[[str], None]


@dataclass(frozen=True)
class RegistryCleanup:
    """The manifest's ``registry_cleanup``: what a run deletes of its own tags.

    :param keep_stamped_tags: stamped ``fp-<hex>-<time>`` tags kept per image, newest first.
    """

    keep_stamped_tags: int = DEFAULT_KEEP_STAMPED_TAGS

    def __post_init__(self) -> None:
        keep = self.keep_stamped_tags
        if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= MAX_KEEP_STAMPED_TAGS:
            raise KanikoSpecError(
                "registry_cleanup.keep_stamped_tags", keep, f"must be an integer from 1 to {MAX_KEEP_STAMPED_TAGS}"
            )

    @classmethod
    def from_manifest(cls, value: object) -> RegistryCleanup | None:
        """``registry_cleanup`` as the manifest writes it: absent or ``true`` (the defaults), ``false`` (off),
        or a mapping of settings; ``None`` means off."""
        if value is None or value is True:
            return cls()
        if value is False:
            return None
        if not isinstance(value, Mapping):
            raise KanikoSpecError("registry_cleanup", value, "must be true, false or a mapping such as {keep_stamped_tags: 3}")
        unknown = sorted(set(value) - {"keep_stamped_tags"})
        if unknown:
            raise KanikoSpecError("registry_cleanup", dict(value), f"unknown key {unknown[0]!r}; allowed: keep_stamped_tags")
        return cls(value.get("keep_stamped_tags", DEFAULT_KEEP_STAMPED_TAGS))

    def to_dict(self) -> dict[str, int]:
        """As the plan carries it (XCom)."""
        return {"keep_stamped_tags": self.keep_stamped_tags}


def stale_stamped_tags(
    tags: Iterable[str], *, keep: int, protected: Iterable[str] = (), current: Iterable[str] = ()
) -> list[str]:
    """The stamped tags to delete: all of them but the newest ``keep``, oldest last.

    :param tags: every tag of the repository; only ``fp-<64 hex>-<14 digits>`` ones are looked at.
    :param protected: tags never deleted (the manifest's destinations).
    :param current: fingerprints whose newest stamp is kept whatever its age (``max_age`` reads it).
    """
    stamps = sorted(
        ((m["at"], tag, m["fingerprint"]) for tag in tags if (m := _STAMP_RE.fullmatch(tag))),
        reverse=True,
    )
    keep_too, wanted = set(protected), set(current)
    newest_current: set[str] = set()
    for _, tag, fingerprint in stamps:
        if fingerprint in wanted and fingerprint not in newest_current:
            newest_current.add(fingerprint)
            keep_too.add(tag)
    return [tag for _, tag, _ in stamps[keep:] if tag not in keep_too]


def staging_tags(destinations: Sequence[str], platforms: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """``(host, repository, tag, platform)`` of every staging tag a multi-arch build of ``destinations`` pushed."""
    result = []
    for platform in platforms:
        for destination in staging_destinations(destinations, parse_platform(platform)):
            host, repository, tag, _ = split(destination)
            assert tag, "a staging destination is a tag"
            result.append((host, repository, tag, platform))
    return result


def clean_registry(
    plan: Plan,
    registries: RegistryHosts,
    *,
    log: Log = print,
    max_deletions: int = MAX_DELETIONS,
    deadline_seconds: float = DEADLINE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, CleanupDict]:
    """Delete the stale tags of the images this run rebuilt; record what was done on each image (``cleanup``).

    The setting is the plan's ``registry_cleanup`` (a plan without one: the defaults; ``None``: off). A dry
    run deletes nothing. Returns image name -> what was deleted and every warning.
    """
    setting = plan.get("registry_cleanup", RegistryCleanup().to_dict())
    if setting is None or plan["dry_run"]:
        return {}
    keep = RegistryCleanup(**setting).keep_stamped_tags
    images = plan["images"]
    protected = _protected(images.values())
    repositories: dict[tuple[str, str], list[ImageState]] = {}
    for state in images.values():
        host, repository, _, _ = split(state["kwargs"]["destinations"][0])
        repositories.setdefault((host, repository), []).append(state)
    budget = _Budget(max_deletions, clock() + deadline_seconds, clock)
    done: dict[str, CleanupDict] = {}
    seen: set[tuple[str, str]] = set()
    for state in images.values():
        if state["status"] != REBUILT or state["build"] is None:
            continue
        record: CleanupDict = {"deleted": [], "warnings": []}
        done[state["name"]] = state["cleanup"] = record
        build = state["build"]
        # Staging tags first: they exist only until the index is pushed, so the rebuilt status says they are done with.
        if build.get("platforms") and state.get("platform_digests"):
            try:
                staged = staging_tags(build["destinations"], build["platforms"])
            except KanikoError as err:
                staged = []
                _warn(record, log, state["name"], f"staging tags not cleaned: {err}")
            for host, repository, tag, platform in staged:
                expected = state["platform_digests"].get(platform)
                if (host, repository, tag) in protected or expected is None:
                    continue
                _delete(registries, host, repository, tag, expected, record, budget, log, state["name"])
        key = split(state["kwargs"]["destinations"][0])[:2]
        if key in seen or not state["fingerprint"]:
            continue
        seen.add(key)
        host, repository = key
        sharing = repositories[key]
        try:
            tags = registries.for_host(host).tags(repository)
        except RegistryError as err:
            _warn(record, log, state["name"], f"stamped tags not cleaned: {err}")
            continue
        stale = stale_stamped_tags(
            tags,
            keep=keep * len(sharing),  # a repository several images push to keeps each one's share
            protected=(t for h, r, t in protected if (h, r) == key),
            current=(s["fingerprint"] for s in sharing if s["fingerprint"]),
        )
        for tag in stale:
            _delete(registries, host, repository, tag, None, record, budget, log, state["name"])
    if budget.stopped:
        log(f"registry cleanup: {budget.stopped}; the rest is deleted at the next run")
    return done


@dataclass
class _Budget:
    deletions: int
    deadline: float
    clock: Callable[[], float]
    stopped: str | None = None

    def spend(self) -> bool:
        """Whether one more deletion may start."""
        if self.stopped is None and self.deletions <= 0:
            self.stopped = "stopped at the most deletions one run makes"
        elif self.stopped is None and self.clock() >= self.deadline:
            self.stopped = "stopped at the cleanup's deadline"
        if self.stopped:
            return False
        self.deletions -= 1
        return True


def _delete(
    registries: RegistryHosts,
    host: str,
    repository: str,
    tag: str,
    expected: str | None,
    record: CleanupDict,
    budget: _Budget,
    log: Log,
    name: str,
) -> None:
    if not budget.spend():
        return
    try:
        outcome = registries.for_host(host).delete_tag(repository, tag, expected=expected)
    except RegistryError as err:
        _warn(record, log, name, f"tag not deleted: {err}")
        return
    if outcome == "deleted":
        record["deleted"].append(f"{repository}:{tag}")
        log(f"{name}: deleted the tag {host}/{repository}:{tag}")
    elif outcome == "moved":
        log(f"{name}: left {host}/{repository}:{tag}: it points at another image than this run pushed")


def _warn(record: CleanupDict, log: Log, name: str, message: str) -> None:
    record["warnings"].append(message)
    log(f"WARNING {name}: registry cleanup: {message}")


def _protected(states: Iterable[ImageState]) -> set[tuple[str, str, str]]:
    """``(host, repository, tag)`` of every destination the manifest names, for every image of the plan."""
    result = set()
    for state in states:
        for destination in state["kwargs"]["destinations"]:
            host, repository, tag, _ = split(destination)
            if tag:
                result.add((host, repository, tag))
    return result
