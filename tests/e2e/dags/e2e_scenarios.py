"""DAGs for the end-to-end scenarios the example DAG does not cover. Registry settings come from env."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum

from airflow.sdk import DAG
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator

IMAGES = Path(__file__).resolve().parents[1] / "images"
HELLO = Path(__file__).resolve().parents[3] / "dags" / "images" / "hello"
REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")
COMMON = {
    "namespace": os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds"),
    "registry_conn_id": "kaniko_registry",
    "registry_ca": {"registry": REG, "config_map": "registry-ca"},
    "context_roots": [IMAGES, HELLO],  # the contexts live outside this DAG's folder
}
BASE = {"BASE": f"{REG}/library/busybox:latest"}


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)


with dag("e2e_deferrable"):
    KanikoBuildOperator(
        task_id="build", context=str(HELLO), destinations=[f"{REG}/e2e/deferrable:1"], build_args=BASE, deferrable=True, **COMMON
    )

with dag("e2e_wrong_password"):
    KanikoBuildOperator(
        task_id="build",
        context=str(HELLO),
        destinations=[f"{REG}/e2e/denied:1"],
        build_args=BASE,
        **{**COMMON, "registry_conn_id": "kaniko_registry_wrong"},
    )

with dag("e2e_multi_build"):
    KanikoMultiBuildOperator(
        task_id="builds",
        builds=[
            {"name": "first", "context": str(IMAGES / "first"), "destinations": [f"{REG}/e2e/first:1"], "build_args": BASE},
            {
                "name": "second",
                "context": str(IMAGES / "second"),
                "destinations": [f"{REG}/e2e/second:1", f"{REG}/e2e/second:2"],
                "build_args": BASE,
            },
        ],
        **COMMON,
    )

with dag("e2e_slow"):
    KanikoBuildOperator(
        task_id="build", context=str(IMAGES / "slow"), destinations=[f"{REG}/e2e/slow:1"], build_args=BASE, **COMMON
    )

with dag("e2e_leak"):
    # The same credential-printing build, in each process that can log it: sync, resumed after deferral, retried.
    LEAK = {"context": str(IMAGES / "leak"), "build_args": BASE, **COMMON}
    KanikoBuildOperator(task_id="sync", destinations=[f"{REG}/e2e/leak:sync"], **LEAK)
    KanikoBuildOperator(task_id="deferred", destinations=[f"{REG}/e2e/leak:deferred"], deferrable=True, **LEAK)
    KanikoBuildOperator(
        task_id="retried",
        context=str(IMAGES / "leak-retry"),
        destinations=[f"{REG}/e2e/leak:retried"],
        build_args=BASE,
        retries=1,
        retry_delay=timedelta(seconds=1),
        **COMMON,
    )

with dag("e2e_keep_pod"):
    KanikoBuildOperator(
        task_id="build",
        context=str(HELLO),
        destinations=[f"{REG}/e2e/kept:1"],
        build_args=BASE,
        on_finish_action="keep_pod",
        **COMMON,
    )

with dag("e2e_missing_executor"):
    KanikoBuildOperator(
        task_id="build",
        context=str(HELLO),
        destinations=[f"{REG}/e2e/never:1"],
        build_args=BASE,
        executor_image=f"{REG}/e2e/no-such-executor:1",
        startup_timeout_seconds=60,
        **COMMON,
    )

with dag("e2e_rbac_denied"):
    KanikoBuildOperator(task_id="build", context=str(HELLO), destinations=[f"{REG}/e2e/denied-rbac:1"], build_args=BASE, **COMMON)

# isolate_push_credentials: the probe context (FROM scratch, a static binary) is built by the test.
PROBE_CONTEXT = os.environ.get("KANIKO_E2E_PROBE_CONTEXT", str(IMAGES / "probe"))
with dag("e2e_isolated_push"):
    KanikoBuildOperator(
        task_id="build",
        context=PROBE_CONTEXT,
        destinations=[f"{REG}/e2e/isolated:1", f"{REG}/e2e/isolated:2", f"{REG}/e2e/isolated-copy:1"],
        isolate_push_credentials=True,
        **{**COMMON, "context_roots": [PROBE_CONTEXT]},
    )

with dag("e2e_isolated_push_pull_credentials"):
    KanikoBuildOperator(
        task_id="build",
        context=str(HELLO),
        destinations=[f"{REG}/e2e/isolated-pull:1"],
        build_args=BASE,
        isolate_push_credentials=True,
        pull_conn_id="kaniko_registry",
        deferrable=True,
        **COMMON,
    )

with dag("e2e_isolated_push_broken"):
    KanikoBuildOperator(
        task_id="build",
        context=str(IMAGES / "broken"),
        destinations=[f"{REG}/e2e/isolated-broken:1"],
        build_args=BASE,
        isolate_push_credentials=True,
        pull_conn_id="kaniko_registry",
        retries=0,
        **COMMON,
    )
