"""A DAG whose context comes from a param, as a DAG author might write it, for tests/e2e/test_hostile_paths.py."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.sdk import DAG, Param
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

IMAGES = Path(__file__).resolve().parents[1] / "images"
REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")

with DAG(
    "e2e_hostile_paths",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"ctx": Param(str(IMAGES / "first"), type="string")},
):
    KanikoBuildOperator(
        task_id="build",
        namespace=os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds"),
        context="{{ params.ctx }}",
        context_roots=[IMAGES],  # the DAG author's choice; a param cannot widen it
        destinations=[f"{REG}/e2e/hostile-paths:1"],
        build_args={"BASE": f"{REG}/library/busybox:latest"},
        registry_conn_id="kaniko_registry",
        registry_ca={"registry": REG, "config_map": "registry-ca"},
    )
