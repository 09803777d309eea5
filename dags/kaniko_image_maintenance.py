"""
Weekly base-image maintenance: rebuild every image listed in images/images.yaml.

prepare reads and validates the manifest, build runs one isolated Kaniko pod per
image (dynamic task mapping), and report lists what was pushed and what failed.
Trigger it by hand with params to pick another manifest, a subset of images, or a
dry run that only renders the pods.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum

from airflow.sdk import DAG, Param, TriggerRule, task
from airflow_kaniko.manifest import read_max_parallel
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

MANIFEST = Path(__file__).parent / "images" / "images.yaml"

with DAG(
    dag_id="kaniko_image_maintenance",
    description="Rebuild the images in images.yaml with Kaniko to pick up base-image fixes",
    schedule="0 3 * * 1",  # Mondays, 03:00 UTC
    start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["kaniko", "maintenance"],
    params={
        "manifest": Param(str(MANIFEST), type="string", description="Path of the image manifest"),
        "registry_conn_id": Param(
            "kaniko_registry", type="string", description="Docker connection for registries the manifest's registry_connections does not name"
        ),
        "namespace": Param("kaniko-builds", type="string", description="Namespace of the build pods"),
        "images": Param([], type="array", items={"type": "string"}, description="Build only these image names; empty: all"),
        "dry_run": Param(False, type="boolean", description="Render the pods without running them"),
    },
) as dag:

    @task
    def prepare(params: dict, dag_run=None, dag=None) -> list[dict]:
        """One KanikoBuildOperator kwargs dict per image; invalid input fails here, before any pod."""
        import logging

        from airflow.sdk import Connection, conf

        from airflow_kaniko.manifest import load_manifest, throttle_warning

        manifest = load_manifest(
            params["manifest"],
            build_date=dag_run.logical_date or dag_run.run_after,
            registry=lambda: Connection.get(params["registry_conn_id"]).host,  # read only if the manifest names none
            registry_conn_id=params["registry_conn_id"],
            only=params["images"],
            max_images=conf.getint("core", "max_map_length"),
            allowed_roots=[MANIFEST.parent.parent],  # a triggering user's manifest path stays in the DAG folder
        )
        if warning := throttle_warning(manifest, dag.get_task("build").max_active_tis_per_dagrun):
            logging.getLogger(__name__).warning(warning)
        print(f"{len(manifest.builds)} image(s) to build: {', '.join(manifest.names)}")
        return manifest.builds

    images = prepare()

    # Airflow fixes task concurrency when it parses the DAG, so max_parallel is the one
    # manifest value read here; a missing or broken manifest falls back to the default.
    build = KanikoBuildOperator.partial(
        task_id="build",
        namespace="{{ params.namespace }}",
        render_only="{{ params.dry_run }}",
        map_index_template="{{ task.image_name }}",
        max_active_tis_per_dagrun=read_max_parallel(MANIFEST),
        retries=2,
        retry_delay=timedelta(seconds=20),
        retry_exponential_backoff=2.0,
    ).expand_kwargs(images)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: list[dict], results: list[dict]) -> dict:
        """Log a table of every image; fail the run if any build failed, after reporting all of them."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_kaniko.report import summarize

        summary = summarize(planned, results)
        print(summary.table())
        if summary.failed:
            # Push the report before failing, so the successful images are still recorded.
            get_current_context()["ti"].xcom_push(key="return_value", value=summary.to_dict())
            raise AirflowFailException(f"{len(summary.failed)} build(s) failed: {', '.join(summary.failed)}")
        return summary.to_dict()

    report(images, build.output)
