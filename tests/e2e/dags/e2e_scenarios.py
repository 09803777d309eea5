"""DAGs for the end-to-end scenarios the example DAG does not cover. Registry settings come from env."""

from __future__ import annotations

import os
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
}
BASE = {"BASE": f"{REG}/library/busybox:latest"}


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)


with dag("e2e_deferrable"):
    KanikoBuildOperator(task_id="build", context=str(HELLO), destinations=[f"{REG}/e2e/deferrable:1"], build_args=BASE, deferrable=True, **COMMON)

with dag("e2e_wrong_password"):
    KanikoBuildOperator(
        task_id="build", context=str(HELLO), destinations=[f"{REG}/e2e/denied:1"], build_args=BASE, **{**COMMON, "registry_conn_id": "kaniko_registry_wrong"}
    )

with dag("e2e_multi_build"):
    KanikoMultiBuildOperator(
        task_id="builds",
        builds=[
            {"name": "first", "context": str(IMAGES / "first"), "destinations": [f"{REG}/e2e/first:1"], "build_args": BASE},
            {"name": "second", "context": str(IMAGES / "second"), "destinations": [f"{REG}/e2e/second:1", f"{REG}/e2e/second:2"], "build_args": BASE},
        ],
        **COMMON,
    )

with dag("e2e_slow"):
    KanikoBuildOperator(task_id="build", context=str(IMAGES / "slow"), destinations=[f"{REG}/e2e/slow:1"], build_args=BASE, **COMMON)

# isolate_push_credentials: the probe context (FROM scratch, a static binary) is built by the test.
with dag("e2e_isolated_push"):
    KanikoBuildOperator(
        task_id="build",
        context=os.environ.get("KANIKO_E2E_PROBE_CONTEXT", str(IMAGES / "probe")),
        destinations=[f"{REG}/e2e/isolated:1", f"{REG}/e2e/isolated:2", f"{REG}/e2e/isolated-copy:1"],
        isolate_push_credentials=True,
        **COMMON,
    )

with dag("e2e_isolated_push_pull_credentials"):
    KanikoBuildOperator(
        task_id="build", context=str(HELLO), destinations=[f"{REG}/e2e/isolated-pull:1"], build_args=BASE,
        isolate_push_credentials=True, pull_conn_id="kaniko_registry", deferrable=True, **COMMON,
    )

with dag("e2e_isolated_push_broken"):
    KanikoBuildOperator(
        task_id="build", context=str(IMAGES / "broken"), destinations=[f"{REG}/e2e/isolated-broken:1"], build_args=BASE,
        isolate_push_credentials=True, pull_conn_id="kaniko_registry", retries=0, **COMMON,
    )
