"""Run the pure modules against the disk and a registry: the plan of a maintenance run, level by level.

``prepare_plan`` reads every image's context and Dockerfile, orders the images by the
graph, resolves base digests, looks each fingerprint up (one request per image), checks
that the image found carries that fingerprint (its config's label) and retags what is
unchanged; it starts no pod. Images with a parent that is being rebuilt wait:
``plan_next_level`` decides them once their parents' new digests are known. A multi-arch
image is one build per platform (staging tags), then ``push_level_indexes`` pushes its image index
under the final and fingerprint tags. The plan is plain data (it travels as XCom between the DAG's tasks); no Airflow import here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow_kaniko.errors import KanikoError
from airflow_kaniko.kaniko.base_pins import BasePin
from airflow_kaniko.maintenance import graph
from airflow_kaniko.maintenance.decisions import REPRODUCIBLE_ARGS, by_digest, decide, last_built, pinned, rebuild_kwargs
from airflow_kaniko.maintenance.fingerprint import FINGERPRINT_LABEL, BuildInputs, fingerprint_tag, unknowable_context
from airflow_kaniko.maintenance.plan_state import (
    BUILD,
    FAILED,
    FAILURES,
    NEW,
    PARENT_FAILED,
    PENDING,
    REBUILT,
    UNCHANGED,
    WAITING,
    BaseRecord,
    ImageState,
    Plan,
    Stage,
)
from airflow_kaniko.maintenance.reasons import Reason, explain_change
from airflow_kaniko.oci.reference import normalize, split
from airflow_kaniko.oci.registry_protocol import RegistryError, RegistryHost, RegistryHosts, ServedManifest
from airflow_kaniko.results import PUSHED, FailedBuild, IndexResult, Result, match_results, parse_results

_WHOLE_ARG_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
Log = Callable[[str], None]


class PlanError(KanikoError):
    """The plan cannot be made; nothing was built. The message names the image and what failed."""


def prepare_plan(
    builds: Sequence[Mapping[str, Any]],
    *,
    registries: RegistryHosts,
    executor_image: str,
    now: datetime,
    force: bool = False,
    max_age: Mapping[str, timedelta | None] | None = None,
    dry_run: bool = False,
    reproducible: bool = True,
    on_registry_error: str = "fail",
    max_depth: int = graph.MAX_DEPTH,
    log: Log = print,
) -> Stage:
    """The plan: every image's decision where it can be made now, and the kwargs of level 0's builds.

    :param builds: the manifest's operator kwargs, one per image.
    :param executor_image: the executor every build uses. A tag is resolved here, like a base; the
        fingerprint covers ``<ref>:<tag>@<digest>`` and every build runs on that digest, so a re-pushed
        executor tag is a changed input. One given with its digest is used as it is.
    :param now: this run's time (max_age, the build-time tag).
    :param force: rebuild everything.
    :param max_age: image name -> rebuild when the last build is older (``None``: never).
    :param dry_run: decide, but neither retag nor build.
    :param reproducible: add :data:`REPRODUCIBLE_ARGS` to every build.
    :param on_registry_error: ``"fail"``: a base that cannot be resolved fails the plan;
        ``"build"``: the image is rebuilt anyway and the report says so.
    :param max_depth: the most levels of images built on each other.
    """
    if on_registry_error not in ("fail", "build"):
        raise PlanError(f"on_registry_error={on_registry_error!r}: must be 'fail' or 'build'")
    images = {b["image_name"]: _analyse(b, executor_image, reproducible) for b in builds}
    parents = graph.find_parents(
        {n: [b["reference"] for b in s["bases"]] for n, s in images.items()},
        {n: s["kwargs"]["destinations"] for n, s in images.items()},
    )
    try:
        levels = graph.levels(parents, max_depth=max_depth)
    except graph.GraphError as err:
        raise PlanError(str(err)) from None
    for depth, names in enumerate(levels):
        for name in names:
            images[name]["level"], images[name]["parents"] = depth, list(parents[name])
    plan: Plan = {
        "now": now.isoformat(),
        "force": force,
        "dry_run": dry_run,
        "reproducible": reproducible,
        "levels": levels,
        "max_age": {n: (a.total_seconds() if a else None) for n, a in (max_age or {}).items()},
        "images": images,
    }
    _resolve_external_bases(plan, registries, on_registry_error, log)
    # After the bases: a registry that refuses both is named for the image's base first.
    executor, executor_error = _resolve_executor(executor_image, registries, on_registry_error, log)
    for state in images.values():
        state["executor_image"] = executor
        if executor_error:
            state.setdefault("unverified", f"image {state['name']}: {executor_error}")
    for name in (n for level in levels for n in level):
        state = images[name]
        waiting_for = [p for p in state["parents"] if images[p]["status"] in WAITING]
        if waiting_for:
            state["status"] = PENDING
            log(f"{name}: waits for {', '.join(waiting_for)}")
            continue
        _decide(plan, name, registries, {p: _digest(images[p]) for p in state["parents"]}, [], log)
    return {"plan": plan, "builds": level_builds(plan, 0)}


def plan_next_level(
    plan: Plan, level: int, results: Iterable[Mapping[str, Any] | None], *, registries: RegistryHosts, log: Log = print
) -> Stage:
    """Record the previous levels' build results, then decide the images of ``level`` that waited."""
    absorb(plan, results, through_level=level - 1)
    images = plan["images"]
    for name in plan["levels"][level] if level < len(plan["levels"]) else []:
        state = images[name]
        if state["status"] != PENDING:
            continue
        failed = [p for p in state["parents"] if images[p]["status"] in FAILURES]
        if failed:
            state["status"] = PARENT_FAILED
            state["reason"] = Reason("parent_failed", parents=tuple(failed)).to_dict()
            log(f"{name}: not built, parent {', '.join(failed)} failed")
            continue
        if plan["dry_run"]:
            state["status"], state["build"] = BUILD, dict(state["kwargs"])
            state["reason"] = Reason("parent", parents=tuple(state["parents"])).to_dict()
            continue
        rebuilt = [
            p for p in state["parents"] if images[p]["status"] == REBUILT and images[p]["digest"] != images[p]["previous_digest"]
        ]
        _decide(plan, name, registries, {p: _digest(images[p]) for p in state["parents"]}, rebuilt, log)
    return {"plan": plan, "builds": level_builds(plan, level)}


def level_builds(plan: Plan, level: int) -> list[dict[str, Any]]:
    """The operator kwargs of the builds at ``level``, in manifest order; a multi-arch image gives one per platform."""
    if level >= len(plan["levels"]):
        return []
    builds = []
    for name in plan["levels"][level]:
        state = plan["images"][name]
        if state["status"] != BUILD or state["build"] is None:
            continue
        build = {k: v for k, v in state["build"].items() if k != "platforms"}
        if "platforms" in state["build"]:
            builds += [{**build, "platform": platform} for platform in state["build"]["platforms"]]
        else:
            build.pop("platform_node_selector", None)  # a per-platform setting; no platform, no selector
            builds.append(build)
    return builds


def push_level_indexes(
    plan: Plan, level: int, results: Iterable[Mapping[str, Any] | None], *, registries: RegistryHosts, log: Log = print
) -> list[dict[str, Any]]:
    """Push the image index of every multi-arch image built at ``level``; one result (XCom) per image, as a build's.

    An image with a failed platform gets a :class:`~airflow_kaniko.results.FailedBuild` and no index:
    nothing is pushed under its final or fingerprint tags, so the next run builds it again.
    """
    from airflow_kaniko.oci.index_push import MergeError, merge

    typed = parse_results(results)
    merged: list[dict[str, Any]] = []
    for name in multi_arch_builds(plan, level):
        build = _build(plan["images"][name])
        destinations = build["destinations"]
        # The fingerprint tag says "built": written last, so a registry failing part-way leaves it on the previous build.
        last = [d for d in destinations if build.get("fingerprint") and split(d)[2] == fingerprint_tag(build["fingerprint"])]
        try:
            merged.append(merge(registries, destinations, build["platforms"], typed, log=log, last=last).to_xcom())
        except MergeError as err:
            log(f"{name}: {err}")
            merged.append(FailedBuild(err.failure, tuple(destinations)).to_xcom())
    return merged


def multi_arch_builds(plan: Plan, level: int) -> list[str]:
    """The images of ``level`` built per platform in this run, whose index the merge step pushes."""
    if plan["dry_run"] or level >= len(plan["levels"]):
        return []
    images = plan["images"]
    return [n for n in plan["levels"][level] if images[n]["status"] == BUILD and "platforms" in _build(images[n])]


def absorb(plan: Plan, results: Iterable[Mapping[str, Any] | None], *, through_level: int) -> None:
    """Mark each image up to ``through_level`` that was to be built ``rebuilt`` (with its digest) or ``failed``.

    :param results: the build tasks' XComs (see :mod:`airflow_kaniko.results`); a failed build has none,
        or a :class:`~airflow_kaniko.results.FailedBuild` when it could say why. A platform's build is not
        its image: the merge step's result stands for a multi-arch image.
    """
    if plan["dry_run"]:
        return
    typed = parse_results(results)
    for state in plan["images"].values():
        if state["status"] != BUILD or state["level"] > through_level:
            continue
        _record(state, match_results(_build(state)["destinations"], typed).result)


def finish(plan: Plan, results: Iterable[Mapping[str, Any] | None]) -> Plan:
    """After the last level: record every result; a build without one failed."""
    absorb(plan, results, through_level=len(plan["levels"]))
    return plan


def _record(state: ImageState, result: Result | None) -> None:
    if not isinstance(result, PUSHED):
        failure = result.failure if isinstance(result, FailedBuild) else None
        state["status"], state["failure"] = FAILED, failure.to_dict() if failure else None
        return
    state["status"], state["digest"], state["images"] = REBUILT, result.digest, list(result.images)
    if isinstance(result, IndexResult):
        state["platform_digests"] = dict(result.platforms)


def _build(state: ImageState) -> dict[str, Any]:
    assert state["build"] is not None, f"image {state['name']} is {state['status']}, not to be built"
    return state["build"]


def _digest(state: ImageState) -> str:
    assert state["digest"] is not None, f"image {state['name']} is {state['status']}: no digest to build on"
    return state["digest"]


# -- one image ---------------------------------------------------------------------------------


def _analyse(kwargs: Mapping[str, Any], executor_image: str, reproducible: bool) -> ImageState:
    """What can be known about an image without a registry: its context digest and base references."""
    from airflow_kaniko.errors import KanikoSpecError
    from airflow_kaniko.kaniko.context_archive import pack_context
    from airflow_kaniko.maintenance.dockerfile import DockerfileError, build_bases

    name = kwargs["image_name"]
    context = kwargs["context"]
    dockerfile = kwargs.get("dockerfile", "Dockerfile")
    extra_args = list(kwargs.get("extra_args", []))
    if reproducible:
        extra_args += [a for a in REPRODUCIBLE_ARGS if a not in extra_args]
    state: ImageState = {
        "name": name,
        "kwargs": {**kwargs, "extra_args": extra_args},
        "executor_image": executor_image,
        "unknowable": unknowable_context(context),
        "bases": [],
        "context_digest": None,
        "status": NEW,
        "reason": None,
        "fingerprint": None,
        "digest": None,
        "previous_digest": None,
        "build": None,
        "images": [],
        "level": 0,
        "parents": [],
    }
    if state["unknowable"]:  # not a local directory: nothing to pack or parse here
        return state
    try:
        archive = pack_context(context, dockerfile)
        text = (Path(context) / dockerfile).read_text()
        bases = build_bases(text, kwargs.get("build_args", {}), target=kwargs.get("target"), path=dockerfile)
    except (KanikoSpecError, DockerfileError, OSError, UnicodeDecodeError) as err:
        raise PlanError(f"image {name}: {err}") from None
    state["context_digest"] = archive.tar_digest
    if bases.remote_sources:
        first, more = bases.remote_sources[0].shown(), len(bases.remote_sources) - 1
        state["remote_source"] = first + (f" and {more} more" if more else "")
    state["bases"] = [BaseRecord(reference=b.reference, written=b.written, line=b.line, args=list(b.args)) for b in bases.images]
    state["final_base"] = bases.final_base.reference if bases.final_base else None
    return state


def _resolve_external_bases(plan: Plan, registries: RegistryHosts, on_error: str, log: Log) -> None:
    """Resolve every base that no image of the manifest produces: one HEAD per distinct reference."""
    produced = {normalize(d) for s in plan["images"].values() for d in s["kwargs"]["destinations"]}
    resolved: dict[str, str | RegistryError] = {}
    for state in plan["images"].values():
        for base in state["bases"]:
            reference = base["reference"]
            if normalize(reference) in produced and _producer(plan, reference) in state["parents"]:
                continue
            if reference not in resolved:
                try:
                    resolved[reference] = registries.resolve(reference)
                except RegistryError as err:
                    resolved[reference] = err
            outcome = resolved[reference]
            if isinstance(outcome, RegistryError):
                message = (
                    f"image {state['name']}: base image {base['written']!r} = {reference} (Dockerfile line {base['line']}) "
                    f"cannot be resolved: registry {outcome.registry}: {outcome.reason}"
                )
                if on_error == "fail":
                    raise PlanError(message)
                log(f"WARNING {message}; building it anyway (on_registry_error=build)")
                state["unverified"] = message
            else:
                base["digest"] = outcome


def _resolve_executor(reference: str, registries: RegistryHosts, on_error: str, log: Log) -> tuple[str, str | None]:
    """The executor by digest, ``<ref>:<tag>@<digest>``; one HEAD for a tag. With ``on_error="build"`` an
    executor that cannot be resolved stays a tag, and the message makes every image unverified."""
    if split(reference)[3]:
        return reference, None
    try:
        return by_digest(reference, registries.resolve(reference)), None
    except RegistryError as err:
        message = f"executor image {reference} cannot be resolved: registry {err.registry}: {err.reason}"
        if on_error == "fail":
            raise PlanError(message) from None
        log(f"WARNING {message}; building every image anyway (on_registry_error=build)")
        return reference, message


def _producer(plan: Plan, reference: str) -> str | None:
    key = normalize(reference)
    for name, state in plan["images"].items():
        if key in map(normalize, state["kwargs"]["destinations"]):
            return name
    return None


@dataclass(frozen=True)
class _Bases:
    """The bases of one build as this run pins them."""

    build_args: dict[str, str]  # the manifest's, with ``FROM ${ARG}`` of a parent set to its new digest
    digests: dict[str, str]  # reference -> digest, of every base whose digest is known
    final: tuple[str, str] | None  # (reference, digest) of the target stage's base, for the OCI labels
    pins: tuple[BasePin, ...] = ()  # every base by its digest, where the Dockerfile names it, for the packed Dockerfile


@dataclass(frozen=True)
class _Lookup:
    """What the registry says about this build's fingerprint."""

    inputs: BuildInputs | None  # None: the inputs cannot be known (unknowable context, unverified base)
    fingerprint: str | None
    found: str | None  # the digest under the fingerprint tag, once its image is seen to carry that fingerprint
    built_at: datetime | None  # when that fingerprint was last built, read only for max_age
    mismatched: str | None = None  # the digest under the fingerprint tag, when its image does not carry it


def _decide(
    plan: Plan,
    name: str,
    registries: RegistryHosts,
    parent_digests: Mapping[str, str],
    rebuilt_parents: Sequence[str],
    log: Log,
) -> None:
    """Fingerprint, look up, decide, and retag or prepare the build of one image."""
    state = plan["images"][name]
    destinations = state["kwargs"]["destinations"]
    now = datetime.fromisoformat(plan["now"])
    max_age_seconds = plan["max_age"].get(name)
    max_age = timedelta(seconds=max_age_seconds) if max_age_seconds else None
    host, repository, _, _ = split(destinations[0])
    registry = registries.for_host(host)

    bases = _pin_bases(plan, state, parent_digests)
    lookup = _look_up(registry, repository, state, bases, check_age=max_age is not None and not plan["force"])
    if lookup.mismatched:
        log(f"{name}: fp-{lookup.fingerprint} points at {lookup.mismatched}, which does not carry that fingerprint")
    reason = decide(
        unknowable=state["unknowable"],
        force=plan["force"],
        fingerprint=lookup.fingerprint,
        found=lookup.found,
        built_at=lookup.built_at,
        max_age=max_age,
        now=now,
        rebuilt_parents=rebuilt_parents,
        remote_source=state.get("remote_source"),
        tag_mismatch=lookup.mismatched is not None,
    )
    if state.get("unverified"):
        reason = Reason("unverified", detail=state["unverified"].split(": ", 1)[1])
    previous = lookup.found
    if reason is None or (lookup.found is None and reason.rebuild and reason.kind != "unverified"):
        previous, summary = _last_build(registry, repository, destinations)
        if reason is None:  # a new fingerprint: its inputs are known, or decide() would have said why
            assert lookup.inputs is not None
            reason = explain_change(summary, lookup.inputs.summary(), last_digest=previous)
    state["fingerprint"], state["reason"], state["previous_digest"] = lookup.fingerprint, reason.to_dict(), previous
    if reason.kind == "unchanged":
        _retag(plan, state, registry, repository, lookup, reason, log)
    else:
        _plan_build(state, reason, lookup, bases, now, log)


def _pin_bases(plan: Plan, state: ImageState, parent_digests: Mapping[str, str]) -> _Bases:
    """Each base's digest: a parent's as this run decided it, or the registry's; ``FROM ${ARG}`` pinned to a parent's."""
    build_args = dict(state["kwargs"].get("build_args", {}))
    digests: dict[str, str] = {}
    pins: list[BasePin] = []
    final = None
    for base in state["bases"]:
        parent = _producer(plan, base["reference"])
        if parent is not None and parent in parent_digests:
            digest: str | None = parent_digests[parent]
            whole = _WHOLE_ARG_RE.fullmatch(base["written"])
            reference = pinned(base["reference"], parent_digests[parent])
            if whole:  # FROM ${BASE}: build exactly the parent digest this run decided on
                build_args[whole[1] or whole[2]] = reference
            else:
                reference = base["reference"]
        else:
            digest, reference = base.get("digest"), base["reference"]
        if digest:
            digests[reference] = digest
            if not split(base["reference"])[3]:  # a reference written with its digest is exact already
                pins.append(BasePin(line=base["line"], written=base["written"], pinned=by_digest(base["reference"], digest)))
        if base["reference"] == state.get("final_base"):
            final = (reference, digest) if digest else None
    return _Bases(build_args, digests, final, tuple(pins))


def _look_up(registry: RegistryHost, repository: str, state: ImageState, bases: _Bases, *, check_age: bool) -> _Lookup:
    """The fingerprint of the build and the registry's digest under its tag; the last build time when max_age needs it."""
    if state["unknowable"] or state.get("remote_source") or state.get("unverified"):
        return _Lookup(None, None, None, None)
    kwargs = state["kwargs"]
    assert state["context_digest"] is not None, "a context without ://, packed by _analyse"
    inputs = BuildInputs(
        bases=bases.digests,
        context=state["context_digest"],
        dockerfile=kwargs.get("dockerfile", "Dockerfile"),
        build_args=bases.build_args,
        target=kwargs.get("target"),
        labels=kwargs.get("image_labels", {}),
        extra_args=tuple(kwargs.get("extra_args", [])),
        executor_image=state["executor_image"],
        platforms=tuple(kwargs.get("platforms", ())),
    )
    fingerprint = inputs.fingerprint()
    manifest = registry.manifest(repository, fingerprint_tag(fingerprint))
    if manifest is None:
        return _Lookup(inputs, fingerprint, None, None)
    if not _carries(registry, repository, manifest, fingerprint, len(inputs.platforms)):
        return _Lookup(inputs, fingerprint, None, None, mismatched=manifest.digest)
    built_at = last_built(fingerprint, registry.tags(repository)) if check_age else None
    return _Lookup(inputs, fingerprint, manifest.digest, built_at)


def _carries(registry: RegistryHost, repository: str, manifest: ServedManifest, fingerprint: str, platforms: int) -> bool:
    """Whether the image under a fingerprint tag has that fingerprint label (a pushed tag is not proof).

    A single-platform build must be an image; a multi-arch one an index of exactly one image per
    platform, each of which carries the label (each platform's build set it). A config or platform
    manifest the registry does not have, or a document of the wrong shape, is a mismatch; a registry
    that cannot answer raises :class:`RegistryError`, as the fingerprint lookup itself does.
    """
    try:
        document = manifest.json()
        if not platforms:
            return "manifests" not in document and _labelled(registry, repository, manifest, fingerprint)
        entries = document.get("manifests")
        if not isinstance(entries, list) or len(entries) != platforms:
            return False
        digests = [entry.get("digest") for entry in entries]
        if not all(isinstance(d, str) and _DIGEST_RE.fullmatch(d) for d in digests):
            return False
        for digest in digests:  # one platform at a time: the first that does not carry it ends the reading
            image = registry.manifest(repository, digest)
            if image is None or "manifests" in image.json() or not _labelled(registry, repository, image, fingerprint):
                return False
        return True
    except RegistryError as err:
        if err.status == 404:  # a manifest names a blob the registry does not have
            return False
        raise
    except (ValueError, KeyError, TypeError, AttributeError):  # not the JSON an image or index is
        return False


def _labelled(registry: RegistryHost, repository: str, image: ServedManifest, fingerprint: str) -> bool:
    descriptor = image.json().get("config")
    if not isinstance(descriptor, dict) or not _DIGEST_RE.fullmatch(str(descriptor.get("digest"))):
        return False  # not an image manifest: the adapter would refuse it as a registry error
    labels = (registry.config(repository, image).get("config") or {}).get("Labels") or {}
    return bool(labels.get(FINGERPRINT_LABEL) == fingerprint)


def _retag(
    plan: Plan, state: ImageState, registry: RegistryHost, repository: str, lookup: _Lookup, reason: Reason, log: Log
) -> None:
    """An unchanged image: its destination tags moved to the digest its fingerprint tag names, registry side."""
    assert lookup.found is not None, "unchanged is only decided from a fingerprint tag found in the registry"
    destinations = state["kwargs"]["destinations"]
    tags = [tag for _, _, tag, _ in map(split, destinations) if tag]
    if plan["dry_run"]:
        log(f"{state['name']}: {reason.text()}; would retag {', '.join(tags)}")
    else:
        registry.retag(repository, lookup.found, tags)  # by digest: exactly the image whose label was read
        log(f"{state['name']}: {reason.text()}; retagged {', '.join(tags)} in the registry")
    state["status"], state["digest"] = UNCHANGED, lookup.found
    state["images"] = [f"{d}@{lookup.found}" for d in destinations]


def _plan_build(state: ImageState, reason: Reason, lookup: _Lookup, bases: _Bases, now: datetime, log: Log) -> None:
    state["status"] = BUILD
    state["build"] = rebuild_kwargs(
        state["kwargs"],
        reason=reason,
        fingerprint=lookup.fingerprint,
        summary=lookup.inputs.summary() if lookup.inputs and lookup.fingerprint else None,
        base=bases.final,
        build_args=bases.build_args,
        built_at=now,
        reproducible=False,  # already in kwargs["extra_args"], and so in the fingerprint
        bases=bases.digests,
        executor_image=state["executor_image"] if split(state["executor_image"])[3] else None,
        # What the fingerprint covers: the build task checks that it packs exactly this context.
        context_digest=state["context_digest"] if lookup.fingerprint else None,
        # The bases the fingerprint covers are the ones the build pulls: pinned in the Dockerfile it packs.
        base_pins=bases.pins,
    )
    log(f"{state['name']}: {reason.text()}")


def _last_build(registry: RegistryHost, repository: str, destinations: Sequence[str]) -> tuple[str | None, dict[str, Any] | None]:
    """The digest of the newest existing destination tag and the inputs its label recorded."""
    import json

    from airflow_kaniko.maintenance.fingerprint import INPUTS_LABEL

    for destination in destinations:
        tag = split(destination)[2]
        manifest = registry.manifest(repository, tag) if tag else None
        if manifest is None:
            continue
        digest = manifest.digest
        try:
            if "manifests" in manifest.json():  # an image index: its platforms share the inputs label
                manifest = registry.manifest(repository, manifest.json()["manifests"][0]["digest"]) or manifest
            labels = (registry.config(repository, manifest).get("config") or {}).get("Labels") or {}
            summary = json.loads(labels[INPUTS_LABEL]) if INPUTS_LABEL in labels else None
        except (RegistryError, ValueError, KeyError, IndexError):
            summary = None
        return digest, summary
    return None, None
