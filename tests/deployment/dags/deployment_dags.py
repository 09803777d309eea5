"""DAGs for the deployment tier (tests/deployment): each proves one behaviour under a real scheduler.

Registry and namespace come from the deployment's environment (dev/deploy/up), read at parse time.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum

from airflow.sdk import DAG, task
from airflow_kaniko.manifest.loader import read_max_parallel
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

# Build contexts and the manifest lie next to this file: a DAG's local contexts stay in its folder.
HERE = Path(__file__).parent
SLOW = HERE / "images" / "slow"
THROTTLE = HERE / "throttle.yaml"
REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")
TARGET = {"namespace": os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds"), "registry_conn_id": "kaniko_registry"}
CA = {"registry_ca": {"registry": REG, "config_map": "registry-ca"}}
BASE = {"BASE": f"{REG}/library/busybox:latest"}


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["deployment-tier"])


with dag("deploy_throttle"):

    @task
    def prepare(dag_run=None) -> list[dict]:
        from airflow.sdk import Connection
        from airflow_kaniko.manifest.loader import load_manifest

        builds = load_manifest(THROTTLE, build_date=dag_run.run_after, registry=Connection.get("kaniko_registry").host).builds
        return [{**build, "registry_conn_id": build.get("registry_conn_id") or "kaniko_registry"} for build in builds]

    KanikoBuildOperator.partial(
        task_id="build",
        map_index_template="{{ task.image_name }}",
        max_active_tis_per_dagrun=read_max_parallel(THROTTLE),
        namespace=TARGET["namespace"],
    ).expand_kwargs(prepare())

with dag("deploy_killed_worker"):
    # One mapped build, so the retry must find "its" pod by map index as well as by task.
    KanikoBuildOperator.partial(
        task_id="build", map_index_template="{{ task.image_name }}", retries=1, retry_delay=timedelta(seconds=2), **TARGET, **CA
    ).expand_kwargs(
        [
            {
                "image_name": "slow",
                "context": str(SLOW),
                "destinations": [f"{REG}/deploy/killed:1"],
                "build_args": {**BASE, "SLEEP": "45"},
            }
        ]
    )

with dag("deploy_deferrable"):
    KanikoBuildOperator(
        task_id="build",
        context=str(SLOW),
        destinations=[f"{REG}/deploy/deferrable:1"],
        build_args={**BASE, "SLEEP": "8"},
        deferrable=True,
        progress_interval=2,  # a status line every 2 s while it builds (the worker holds the registry password)
        **TARGET,
        **CA,
    )

with dag("deploy_triggerer_restart"):
    KanikoBuildOperator(
        task_id="build",
        context=str(SLOW),
        destinations=[f"{REG}/deploy/triggerer-restart:1"],
        build_args={**BASE, "SLEEP": "20"},
        deferrable=True,
        **TARGET,
        **CA,
    )

with dag("deploy_leak"):
    # A RUN step prints the mounted config.json: in the worker, after a deferral, and in both tries of a retry.
    LEAK = {"context": str(HERE / "images" / "leak"), "build_args": BASE, **TARGET, **CA}
    KanikoBuildOperator(task_id="sync", destinations=[f"{REG}/deploy/leak:sync"], **LEAK)
    KanikoBuildOperator(task_id="deferred", destinations=[f"{REG}/deploy/leak:deferred"], deferrable=True, **LEAK)
    KanikoBuildOperator(
        task_id="retried",
        context=str(HERE / "images" / "leak-retry"),
        destinations=[f"{REG}/deploy/leak:retried"],
        build_args=BASE,
        retries=1,
        retry_delay=timedelta(seconds=2),
        **TARGET,
        **CA,
    )
