"""The Image link and OpenLineage on real builds: one connection with a UI template, one without; a second
image of the first repository (another label, so another digest): one dataset, two versions."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.sdk import DAG
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

HELLO = Path(__file__).resolve().parents[3] / "dags" / "images" / "hello"
REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")
# The test resolves the base image's digest and pins it, as a maintenance DAG would.
BASE_IMAGE = os.environ.get("E2E_BASE_IMAGE", f"{REG}/library/busybox:latest")
COMMON = {
    "namespace": os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds"),
    "registry_ca": {"registry": REG, "config_map": "registry-ca"},
    "context": str(HELLO),
    "context_roots": [HELLO],
    "build_args": {"BASE": BASE_IMAGE},
    "base_images": [BASE_IMAGE],
}

with DAG("e2e_lineage", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    KanikoBuildOperator(
        task_id="templated",
        destinations=[f"{REG}/e2e/lineage:1", f"{REG}/e2e/lineage:2"],
        registry_conn_id="kaniko_registry_ui",
        **COMMON,
    )
    KanikoBuildOperator(
        task_id="again",
        destinations=[f"{REG}/e2e/lineage:3"],
        image_labels={"e2e.lineage": "again"},
        registry_conn_id="kaniko_registry",
        **COMMON,
    )
    KanikoBuildOperator(
        task_id="plain", destinations=[f"{REG}/e2e/lineage-plain:1"], registry_conn_id="kaniko_registry", **COMMON
    )
