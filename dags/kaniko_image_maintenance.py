"""
Change-aware image maintenance: rebuild exactly the images of images/images.yaml whose inputs changed.

prepare reads the manifest and fingerprints every image (base digests, context, settings)
without starting a pod: an image whose fingerprint is already in the registry is only
retagged there. The rest is built parents first, one mapped stage per level of images
built on each other (at most LEVELS), one isolated Kaniko pod per image and platform; a
multi-arch image's index is pushed by the level's merge task, from the worker. report says,
per image, why it was rebuilt or skipped, after deleting the stale tags of the images rebuilt
(the manifest's registry_cleanup). Params: images, force, max_age, dry_run (the plan
only), on_registry_error. Which connections push and pull, and where the pods run, are this file's
(constants below), never a triggering user's: docs/security.md, "Hostile input".
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum

from airflow.sdk import DAG, AssetAlias, Param, TriggerRule, task
from airflow_kaniko.manifest import read_max_parallel
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

MANIFEST = Path(__file__).parent / "images" / "images.yaml"
LEVELS = 4  # an image FROM an image FROM an image...: at most 4 levels, deeper fails prepare
# Airflow fixes task concurrency when it parses the DAG, so max_parallel is the one manifest
# value read here; a missing or broken manifest falls back to the default.
MAX_PARALLEL = read_max_parallel(MANIFEST)
# The DAG author's choices, not params: whoever may trigger a run must not pick a Connection or a namespace.
REGISTRY_CONN_ID = "kaniko_registry"  # for registries the manifest's registry_connections does not name
BASE_REGISTRY_CONNECTIONS: dict[str, str] = {}  # registry host -> Connection id, for private base images elsewhere
NAMESPACE = None  # the build pods' namespace; None: [kaniko] namespace, else the kubernetes_default connection's

with DAG(
    dag_id="kaniko_image_maintenance",
    description="Rebuild the images in images.yaml with Kaniko to pick up base-image fixes",
    schedule="0 * * * *",  # hourly: an unchanged image costs a registry request, not a pod
    start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["kaniko", "maintenance"],
    params={
        "manifest": Param(str(MANIFEST), type="string", description="Path of the image manifest"),
        "images": Param([], type="array", items={"type": "string"}, description="Build only these image names; empty: all"),
        "dry_run": Param(False, type="boolean", description="Show the plan and render the pods; build and retag nothing"),
        "force": Param(False, type="boolean", description="Rebuild every image, whatever changed"),
        "max_age": Param(
            "", type="string", description="Rebuild images last built longer ago (7d, 12h), cache off; empty: the manifest's"
        ),
        "on_registry_error": Param(
            "fail", enum=["fail", "build"], description="A base image that cannot be resolved: fail prepare, or build anyway"
        ),
    },
) as dag:
    # Each planning task returns its level's builds and pushes the whole plan as XCom "plan".
    @task
    def prepare(params: dict, ti=None, dag_run=None) -> list[dict]:
        """The plan (which images to rebuild, and why) and level 0's builds; unchanged images are retagged."""
        from airflow_kaniko.tasks import maintenance

        return maintenance.prepare_task(
            params,
            dag_run.logical_date or dag_run.run_after,
            registry_conn_id=REGISTRY_CONN_ID,
            base_registry_connections=BASE_REGISTRY_CONNECTIONS,
            max_depth=LEVELS,
            ti=ti,
            allowed_roots=[MANIFEST.parent.parent],  # a triggering user's manifest path stays in the DAG folder
            max_parallel_in_force=MAX_PARALLEL,
        )

    # The build and merge tasks' results are read by task id (maintenance.finished_results), not passed as
    # arguments: a skipped merge has no XCom, and an argument that finds none logs an error in a good run.
    @task(trigger_rule=TriggerRule.ALL_DONE)
    def next_level(plan: dict, level: int, finished: list[str], ti=None) -> list[dict]:
        """The builds of one level, decided once the parents' new digests are known."""
        from airflow_kaniko.tasks import maintenance

        results = maintenance.finished_results(ti, finished)
        return maintenance.plan_level_task(plan, level, results, registry_conn_id=REGISTRY_CONN_ID, ti=ti)

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[AssetAlias("kaniko-images")])
    def merge_level(plan: dict, level: int, build: str, ti=None) -> list[dict]:
        """Push the image index of each multi-arch image of one level, once all its platforms are built."""
        from airflow_kaniko.tasks import maintenance

        builds = maintenance.finished_results(ti, [build])
        return maintenance.merge_level_task(plan, level, builds, registry_conn_id=REGISTRY_CONN_ID)

    stage = prepare()
    finished = []  # the build and merge tasks so far
    for level in range(LEVELS):
        if level:
            stage = next_level.override(task_id=f"plan_level_{level}")(stage["plan"], level, [t.task_id for t in finished])
            finished >> stage.operator
        build = KanikoBuildOperator.partial(
            task_id=f"build_level_{level}",
            namespace=NAMESPACE,
            render_only="{{ params.dry_run }}",
            map_index_template="{{ [task.image_name, task.platform] | select | join(' ') }}",
            max_active_tis_per_dagrun=MAX_PARALLEL,
            retries=2,
            retry_delay=timedelta(seconds=20),
            retry_exponential_backoff=2.0,
            outlets=[AssetAlias("kaniko-images")],  # an Asset event per pushed image: docs/assets-lineage.md
        ).expand_kwargs(stage)  # an empty level is skipped
        merged = merge_level.override(task_id=f"merge_level_{level}")(stage["plan"], level, build.task_id)
        build >> merged.operator
        finished += [build, merged.operator]

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(plan: dict, finished: list[str]) -> dict:
        """Log why each image was rebuilt or skipped; fail the run if any build failed, after reporting all."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowFailException
        from airflow_kaniko.hooks.airflow_api import set_dag_run_note
        from airflow_kaniko.maintenance.planner import finish
        from airflow_kaniko.maintenance.report import summarize_plan
        from airflow_kaniko.tasks import maintenance

        context = get_current_context()
        plan = finish(plan, maintenance.finished_results(context["ti"], finished))
        # Stale fp-<hex>-<time> and staging tags of the images rebuilt (the manifest's registry_cleanup); never fails the run.
        maintenance.clean_registry_task(plan, registry_conn_id=REGISTRY_CONN_ID)
        summary = summarize_plan(plan)
        print(summary.table())
        # Recorded before failing, so the successful images are still listed: as XCom, and as the run's note.
        context["ti"].xcom_push(key="return_value", value=summary.to_dict())
        set_dag_run_note(context["dag"].dag_id, context["run_id"], summary.markdown(context["dag"].dag_id))
        if summary.failed:
            raise AirflowFailException(f"{len(summary.failed)} build(s) failed: {', '.join(summary.failed)}")
        return summary.to_dict()

    finished >> report(stage["plan"], [t.task_id for t in finished]).operator
