"""The maintenance DAG's task bodies: Airflow Connections and params in, the planner's plain data out.

Kept out of the DAG file so it stays short, and imported only inside tasks (parse-time budget).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from airflow_kaniko.hooks.registry import RegistryHook, registries
from airflow_kaniko.kaniko.redaction import Redactor
from airflow_kaniko.maintenance import planner
from airflow_kaniko.maintenance.plan_state import Plan
from airflow_kaniko.results import IndexResult, match_results, parse_results


def prepare_task(
    params: Mapping[str, Any],
    build_date: datetime,
    *,
    registry_conn_id: str,
    base_registry_connections: Mapping[str, str] | None = None,
    max_depth: int,
    ti: Any,
    allowed_roots: Iterable[Any] | None = None,
    max_parallel_in_force: int | None = None,
) -> list[dict[str, Any]]:
    """Load the manifest and make the plan: decisions, retags of unchanged images; returns level 0's builds.

    The plan is pushed as the XCom ``plan`` (a mapped task can only expand ``return_value``).

    :param params: the run's params (``manifest``, ``images``, ``force``, ``max_age``, ``dry_run``,
        ``on_registry_error``): a triggering user's, so no connection is read from them.
    :param registry_conn_id: the connection for registries the manifest's ``registry_connections``
        does not name; the DAG author's.
    :param base_registry_connections: registry host -> connection, for private base images; the DAG author's.
    :param allowed_roots: where the manifest (a param: hostile) and its contexts may be; the DAG author's.
    :param max_parallel_in_force: the build stages' concurrency, fixed when the DAG was parsed.
    """
    import logging

    from airflow.sdk import conf
    from airflow_kaniko import config
    from airflow_kaniko.maintenance.decisions import parse_max_age
    from airflow_kaniko.manifest.loader import load_manifest, throttle_warning

    manifest = load_manifest(
        params["manifest"],
        build_date=build_date,
        registry=lambda: RegistryHook(registry_conn_id).connection.host,  # read only if the manifest names none
        registry_conn_id=registry_conn_id,
        only=params["images"],
        max_images=conf.getint("core", "max_map_length"),
        allowed_roots=allowed_roots,
    )
    if warning := throttle_warning(manifest, max_parallel_in_force):
        logging.getLogger(__name__).warning(warning)
    override = parse_max_age(params.get("max_age") or None, field="params.max_age")
    max_age = {b["image_name"]: override or parse_max_age(manifest.max_age.get(b["image_name"])) for b in manifest.builds}
    print(f"Planning {len(manifest.builds)} image(s): {', '.join(manifest.names)}")
    # The destinations' registries need the connections the manifest maps them to, as the builds do.
    connections = {**dict(base_registry_connections or {}), **_destination_connections(manifest.builds, registry_conn_id)}
    with registries(registry_conn_id, connections) as clients:
        result = planner.prepare_plan(
            manifest.builds,
            registries=clients,
            executor_image=config.executor_image(),  # what the builds' operators default to
            now=datetime.now(UTC).replace(microsecond=0),
            force=bool(params.get("force")),
            max_age=max_age,
            dry_run=bool(params.get("dry_run")),
            reproducible=True,
            on_registry_error=params.get("on_registry_error", "fail"),
            max_depth=max_depth,
        )
    result["plan"]["registry_connections"] = connections
    result["plan"]["registry_cleanup"] = manifest.registry_cleanup
    print(plan_table(result["plan"]))
    ti.xcom_push(key="plan", value=result["plan"])
    return result["builds"]


def _destination_connections(builds: Iterable[Mapping[str, Any]], default_conn_id: str) -> dict[str, str]:
    """Registry host -> connection, for the destinations whose connection is not the default one."""
    return {
        b["destinations"][0].split("/", 1)[0]: b["registry_conn_id"]
        for b in builds
        if b.get("registry_conn_id") and b["registry_conn_id"] != default_conn_id
    }


def finished_results(ti: Any, task_ids: Iterable[str]) -> list[Mapping[str, Any]]:
    """The results the build and merge tasks ``task_ids`` of this run pushed, task by task, map index by map index.

    A build task pushes one result per map index, a merge task a list of them; a task that pushed nothing
    (a skipped merge, an empty level, a failed build) adds none. Read with ``ti.xcom_pull(task_ids=[...])``
    and no ``map_indexes``: one request a task for all its map indexes, answered with what there is, where
    passing the tasks' outputs as arguments asks for each XCom by map index or offset, and the task SDK
    logs ``XCom not found`` at error level for each one a successful run legitimately lacks. (Public
    ``RuntimeTaskInstance.xcom_pull``; that it reads a slice and answers ``[None]`` for none was checked on
    apache-airflow-task-sdk 1.2.0 and 1.3.2.)
    """
    found: list[Mapping[str, Any]] = []
    for task_id in task_ids:
        for value in ti.xcom_pull(task_ids=[task_id]) or []:
            if isinstance(value, list):
                found.extend(value)
            elif value is not None:
                found.append(value)
    return found


def plan_level_task(
    plan: Plan, level: int, results: Iterable[Mapping[str, Any] | None], *, registry_conn_id: str, ti: Any
) -> list[dict[str, Any]]:
    """Decide the images of ``level`` whose parents were just built; return its builds.

    :param results: the previous levels' build and merge results (:func:`finished_results`).
    :param registry_conn_id: the DAG author's default connection; the others are those ``prepare_task`` recorded in the plan.
    """
    with registries(registry_conn_id, plan.get("registry_connections")) as clients:
        result = planner.plan_next_level(plan, level, list(results), registries=clients)
    builds = result["builds"]
    print(
        f"Level {level}: {len(builds)} build(s)"
        + (f": {', '.join(b['image_name'] for b in builds)}" if builds else ", stage skipped")
    )
    ti.xcom_push(key="plan", value=result["plan"])
    return builds


def merge_level_task(
    plan: Plan, level: int, results: Iterable[Mapping[str, Any] | None] | None, *, registry_conn_id: str
) -> list[dict[str, Any]]:
    """Push the image index of each multi-arch image of ``level`` (from the worker, no pod); their results.

    Skipped (``AirflowSkipException``) when the level builds no multi-arch image, so the run shows that
    nothing was merged, without reading a connection.
    """
    if not planner.multi_arch_builds(plan, level):
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(f"level {level} builds no multi-arch image: nothing to merge")
    with registries(registry_conn_id, plan.get("registry_connections")) as clients:
        merged = planner.push_level_indexes(plan, level, results or [], registries=clients)
        redactor = Redactor()
        redactor.add(*clients.passwords())  # as the build operators redact the reason they emit
    _emit_image_events(plan, merged, redactor.redact)
    if merged:
        pushed = sum(isinstance(r, IndexResult) for r in parse_results(merged))
        print(f"Level {level}: {pushed} of {len(merged)} multi-arch image(s) merged")
    return merged


def clean_registry_task(plan: Plan, *, registry_conn_id: str) -> None:
    """After ``finish``: delete the stale tags of the images this run rebuilt (``maintenance.retention``).

    Never raises: what fails is a warning in the log and on the image's report row, never the run's failure.
    """
    from airflow_kaniko.maintenance.plan_state import REBUILT
    from airflow_kaniko.maintenance.retention import clean_registry

    redactor = Redactor()
    try:
        with registries(registry_conn_id, plan.get("registry_connections")) as clients:
            redactor.add(*clients.passwords())
            records = clean_registry(plan, clients, log=lambda message: print(redactor.redact(message)))
    except Exception as err:  # noqa: BLE001 - a cleanup that cannot start (a connection, a client) is not the run's failure
        message = redactor.redact(f"registry cleanup skipped: {type(err).__name__}: {err}")
        print(f"WARNING {message}")
        for state in plan["images"].values():
            if state["status"] == REBUILT:
                state.setdefault("cleanup", {"deleted": [], "warnings": []})["warnings"].append(message)
        return
    for record in records.values():
        record["warnings"] = [redactor.redact(w) for w in record["warnings"]]


def _emit_image_events(plan: Plan, merged: Iterable[Mapping[str, Any]], redact: Callable[[str], str]) -> None:
    """One Asset event per multi-arch image merged, through the merge task's outlets (the platform builds emit none)."""
    from airflow.sdk import get_current_context
    from airflow_kaniko.assets.events import emit_image_events

    context = get_current_context()
    results = parse_results(merged)
    for state in plan["images"].values():
        build = state["build"]
        result = match_results(build["destinations"], results).result if build else None
        if build is None or not isinstance(result, IndexResult):
            continue
        emit_image_events(
            context,
            context["task"].outlets,
            list(result.images),
            fingerprint=build.get("fingerprint"),
            reason=build.get("build_reason"),
            redact=redact,
        )


def plan_table(plan: Plan) -> str:
    """One line per image: level, decision, reason."""
    from airflow_kaniko.maintenance.reasons import Reason

    lines = [f"{'IMAGE':<20} LEVEL  DECISION"]
    for level, names in enumerate(plan["levels"]):
        for name in names:
            state = plan["images"][name]
            if state["reason"]:
                text = Reason.from_dict(state["reason"]).text()
            else:
                text = f"decided after {', '.join(state['parents'])} (rebuilt first)"
            platforms = (state.get("kwargs") or {}).get("platforms")
            lines.append(f"{name:<20} {level:<6} {text}" + (f" [{', '.join(platforms)}]" if platforms else ""))
    return "\n".join(lines)
