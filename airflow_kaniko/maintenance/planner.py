"""Run the pure modules against the disk and a registry: the plan of a maintenance run, level by level.

``prepare_plan`` reads every image's context and Dockerfile, orders the images by the
graph, resolves base digests, looks each fingerprint up (one request per image) and
retags what is unchanged; it starts no pod. Images with a parent that is being rebuilt
wait: ``plan_next_level`` decides them once their parents' new digests are known. A multi-arch
image is one build per platform (staging tags), then ``push_level_indexes`` pushes its image index
under the final and fingerprint tags. The plan is plain data (it travels as XCom between the DAG's tasks); no Airflow import here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow_kaniko.errors import KanikoError
from airflow_kaniko.maintenance import graph
from airflow_kaniko.maintenance.decisions import REPRODUCIBLE_ARGS, decide, last_built, pinned, rebuild_kwargs
from airflow_kaniko.maintenance.fingerprint import BuildInputs, context_digest, fingerprint_tag, unknowable_context
from airflow_kaniko.maintenance.reasons import Reason, explain_change
from airflow_kaniko.oci.reference import normalize, split
from airflow_kaniko.oci.registry_protocol import RegistryError, RegistryHost, RegistryHosts

_WHOLE_ARG_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
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
) -> dict[str, Any]:
    """The plan: every image's decision where it can be made now, and the kwargs of level 0's builds.

    :param builds: the manifest's operator kwargs, one per image.
    :param executor_image: the executor every build uses (part of the fingerprint).
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
            images[name].update(level=depth, parents=list(parents[name]))
    plan = {
        "now": now.isoformat(),
        "force": force,
        "dry_run": dry_run,
        "reproducible": reproducible,
        "levels": levels,
        "max_age": {n: (a.total_seconds() if a else None) for n, a in (max_age or {}).items()},
        "images": images,
    }
    _resolve_external_bases(plan, registries, on_registry_error, log)
    for name in (n for level in levels for n in level):
        state = images[name]
        if any(images[p]["status"] in ("build", "pending") for p in state["parents"]):
            state["status"] = "pending"
            log(f"{name}: waits for {', '.join(p for p in state['parents'] if images[p]['status'] in ('build', 'pending'))}")
            continue
        _decide(plan, name, registries, {p: images[p]["digest"] for p in state["parents"]}, [], log)
    return {"plan": plan, "builds": level_builds(plan, 0)}


def plan_next_level(
    plan: dict[str, Any], level: int, results: Iterable[Mapping[str, Any] | None], *, registries: RegistryHosts, log: Log = print
) -> dict[str, Any]:
    """Record the previous levels' build results, then decide the images of ``level`` that waited."""
    absorb(plan, results, through_level=level - 1)
    images = plan["images"]
    for name in plan["levels"][level] if level < len(plan["levels"]) else []:
        state = images[name]
        if state["status"] != "pending":
            continue
        failed = [p for p in state["parents"] if images[p]["status"] in ("failed", "parent_failed")]
        if failed:
            state.update(status="parent_failed", reason=Reason("parent_failed", parents=tuple(failed)).to_dict())
            log(f"{name}: not built, parent {', '.join(failed)} failed")
            continue
        rebuilt = [
            p
            for p in state["parents"]
            if images[p]["status"] == "rebuilt" and images[p]["digest"] != images[p]["previous_digest"]
        ]
        if plan["dry_run"]:
            state.update(
                status="build", reason=Reason("parent", parents=tuple(state["parents"])).to_dict(), build=dict(state["kwargs"])
            )
            continue
        _decide(plan, name, registries, {p: images[p]["digest"] for p in state["parents"]}, rebuilt, log)
    return {"plan": plan, "builds": level_builds(plan, level)}


def level_builds(plan: Mapping[str, Any], level: int) -> list[dict[str, Any]]:
    """The operator kwargs of the builds at ``level``, in manifest order; a multi-arch image gives one per platform."""
    if level >= len(plan["levels"]):
        return []
    builds = []
    for name in plan["levels"][level]:
        state = plan["images"][name]
        if state["status"] != "build":
            continue
        build = {k: v for k, v in state["build"].items() if k != "platforms"}
        if "platforms" in state["build"]:
            builds += [{**build, "platform": platform} for platform in state["build"]["platforms"]]
        else:
            build.pop("platform_node_selector", None)  # a per-platform setting; no platform, no selector
            builds.append(build)
    return builds


def push_level_indexes(
    plan: Mapping[str, Any],
    level: int,
    results: Iterable[Mapping[str, Any] | None],
    *,
    registries: RegistryHosts,
    log: Log = print,
) -> list[dict[str, Any]]:
    """Push the image index of every multi-arch image built at ``level``; one result per image, as a build's.

    An image with a failed platform gets ``{"failed": true, "failure": ..., "destinations": ...}`` and no index:
    nothing is pushed under its final or fingerprint tags, so the next run builds it again.
    """
    from airflow_kaniko.oci.index_push import MergeError, merge

    results = list(results)
    merged: list[dict[str, Any]] = []
    for name in multi_arch_builds(plan, level):
        state = plan["images"][name]
        destinations = state["build"]["destinations"]
        try:
            merged.append(merge(registries, destinations, state["build"]["platforms"], results, log=log))
        except MergeError as err:
            log(f"{name}: {err}")
            merged.append({"failed": True, "failure": err.failure, "destinations": list(destinations)})
    return merged


def multi_arch_builds(plan: Mapping[str, Any], level: int) -> list[str]:
    """The images of ``level`` built per platform in this run, whose index the merge step pushes."""
    if plan["dry_run"] or level >= len(plan["levels"]):
        return []
    images = plan["images"]
    return [n for n in plan["levels"][level] if images[n]["status"] == "build" and "platforms" in images[n]["build"]]


def absorb(plan: dict[str, Any], results: Iterable[Mapping[str, Any] | None], *, through_level: int) -> None:
    """Mark each image up to ``through_level`` that was to be built ``rebuilt`` (with its digest) or ``failed``.

    :param results: the build operators' results (``{"digest", "images"}``); a failed build has none, or
        ``{"failed": true, "failure": {...}, "destinations": [...]}`` when it could say why.
    """
    if plan["dry_run"]:
        return
    by_destination: dict[str, Mapping[str, Any]] = {}
    for result in results:
        # A platform's build is not its image: the merge step's result stands for a multi-arch image.
        if result and not result.get("dry_run") and not result.get("platform"):
            for ref in result.get("destinations") or [i.split("@", 1)[0] for i in result.get("images", [])]:
                by_destination[ref] = result
    for state in plan["images"].values():
        if state["status"] != "build" or state["level"] > through_level:
            continue
        result = next((by_destination[d] for d in state["build"]["destinations"] if d in by_destination), None)
        if result is None or result.get("failed"):
            state.update(status="failed", failure=(result or {}).get("failure"))
        else:
            state.update(status="rebuilt", digest=result["digest"], images=list(result["images"]))
            if "platforms" in result:
                state["platform_digests"] = dict(result["platforms"])


def finish(plan: dict[str, Any], results: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """After the last level: record every result; a build without one failed."""
    absorb(plan, results, through_level=len(plan["levels"]))
    return plan


# -- one image ---------------------------------------------------------------------------------


def _analyse(kwargs: Mapping[str, Any], executor_image: str, reproducible: bool) -> dict[str, Any]:
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
    state: dict[str, Any] = {
        "name": name,
        "kwargs": {**kwargs, "extra_args": extra_args},
        "executor_image": executor_image,
        "unknowable": unknowable_context(context),
        "bases": [],
        "context_digest": None,
        "status": "new",
        "reason": None,
        "fingerprint": None,
        "digest": None,
        "previous_digest": None,
        "build": None,
        "images": [],
        "level": 0,
        "parents": [],
    }
    if "://" in context:
        if not state["unknowable"]:  # a git:// URL pinned to a commit: its Dockerfile is not on this worker
            state["unknowable"] = "git:// context: its Dockerfile is read only by the build"
        return state
    try:
        archive = pack_context(context, dockerfile)
        text = (Path(context) / dockerfile).read_text()
        bases = build_bases(text, kwargs.get("build_args", {}), target=kwargs.get("target"), path=dockerfile)
    except (KanikoSpecError, DockerfileError, OSError, UnicodeDecodeError) as err:
        raise PlanError(f"image {name}: {err}") from None
    state["context_digest"] = context_digest(archive.data)
    state["bases"] = [
        {"reference": b.reference, "written": b.written, "line": b.line, "args": list(b.args)} for b in bases.images
    ]
    state["final_base"] = bases.final_base.reference if bases.final_base else None
    return state


def _resolve_external_bases(plan: dict[str, Any], registries: RegistryHosts, on_error: str, log: Log) -> None:
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


def _producer(plan: Mapping[str, Any], reference: str) -> str | None:
    key = normalize(reference)
    for name, state in plan["images"].items():
        if key in map(normalize, state["kwargs"]["destinations"]):
            return name
    return None


def _decide(
    plan: dict[str, Any],
    name: str,
    registries: RegistryHosts,
    parent_digests: Mapping[str, str],
    rebuilt_parents: Sequence[str],
    log: Log,
) -> None:
    """Fingerprint, look up, decide, and retag or prepare the build of one image."""
    state = plan["images"][name]
    kwargs = state["kwargs"]
    now = datetime.fromisoformat(plan["now"])
    max_age_seconds = plan["max_age"].get(name)
    max_age = timedelta(seconds=max_age_seconds) if max_age_seconds else None
    host, repository, _, _ = split(kwargs["destinations"][0])
    registry = registries.for_host(host)

    build_args = dict(kwargs.get("build_args", {}))
    bases: dict[str, str] = {}
    final_base = None
    for base in state["bases"]:
        parent = _producer(plan, base["reference"])
        if parent is not None and parent in parent_digests:
            digest = parent_digests[parent]
            whole = _WHOLE_ARG_RE.fullmatch(base["written"])
            reference = pinned(base["reference"], digest)
            if whole:  # FROM ${BASE}: build exactly the parent digest this run decided on
                build_args[whole[1] or whole[2]] = reference
            else:
                reference = base["reference"]
        else:
            digest, reference = base.get("digest"), base["reference"]
        if digest:
            bases[reference] = digest
        if base["reference"] == state.get("final_base"):
            final_base = (reference, digest) if digest else None

    fingerprint = None
    found = built_at = None
    if not state["unknowable"] and not state.get("unverified"):
        inputs = BuildInputs(
            bases=bases,
            context=state["context_digest"],
            dockerfile=kwargs.get("dockerfile", "Dockerfile"),
            build_args=build_args,
            target=kwargs.get("target"),
            labels=kwargs.get("image_labels", {}),
            extra_args=tuple(kwargs.get("extra_args", [])),
            executor_image=state["executor_image"],
            platforms=tuple(kwargs.get("platforms", ())),
        )
        fingerprint = inputs.fingerprint()
        found = registry.digest(repository, fingerprint_tag(fingerprint))
        if found and max_age is not None and not plan["force"]:
            built_at = last_built(fingerprint, registry.tags(repository))
    reason = decide(
        unknowable=state["unknowable"],
        force=plan["force"],
        fingerprint=fingerprint,
        found=found,
        built_at=built_at,
        max_age=max_age,
        now=now,
        rebuilt_parents=rebuilt_parents,
    )
    if state.get("unverified"):
        reason = Reason("unverified", detail=state["unverified"].split(": ", 1)[1])
    previous = found
    if reason is None or (found is None and reason.rebuild and reason.kind != "unverified"):
        previous, summary = _last_build(registry, repository, kwargs["destinations"])
        if reason is None:
            reason = explain_change(summary, inputs.summary(), last_digest=previous)
    state.update(fingerprint=fingerprint, reason=reason.to_dict(), previous_digest=previous)
    if reason.kind == "unchanged":
        assert fingerprint is not None, "unchanged is only decided from a fingerprint tag found in the registry"
        tags = [tag for _, _, tag, _ in map(split, kwargs["destinations"]) if tag]
        if plan["dry_run"]:
            log(f"{name}: {reason.text()}; would retag {', '.join(tags)}")
        else:
            registry.retag(repository, fingerprint_tag(fingerprint), tags)
            log(f"{name}: {reason.text()}; retagged {', '.join(tags)} in the registry")
        state.update(status="unchanged", digest=found, images=[f"{d}@{found}" for d in kwargs["destinations"]])
        return
    state["status"] = "build"
    state["build"] = rebuild_kwargs(
        kwargs,
        reason=reason,
        fingerprint=fingerprint,
        summary=inputs.summary() if fingerprint else None,
        base=final_base,
        build_args=build_args,
        built_at=now,
        reproducible=False,  # already in kwargs["extra_args"], and so in the fingerprint
        bases=bases,
    )
    log(f"{name}: {reason.text()}")


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
