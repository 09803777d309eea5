"""DAGs timed by dev/bench_maintenance.py: the app image built with and without Kaniko's --reproducible."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.sdk import DAG
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")
NS = os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds")
APP = Path(__file__).resolve().parents[2] / "dags" / "images" / "app"

for name, extra_args in (("on", ["--reproducible"]), ("off", [])):
    with DAG(f"bench_reproducible_{name}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        KanikoBuildOperator(
            task_id="build",
            namespace=NS,
            context=str(APP),
            destinations=[f"{REG}/bench/app-reproducible-{name}:1"],
            build_args={"BASE": f"{REG}/library/busybox:latest"},
            registry_conn_id="kaniko_registry",
            registry_ca={"registry": REG, "config_map": "registry-ca"},
            extra_args=extra_args,
            image_name=f"reproducible-{name}",
            context_roots=[APP],  # a local context must be under its context_roots (default: the DAG's folder)
            on_finish_action="keep_pod",  # dev/bench_maintenance.py reads the ended pod's run time, then deletes it
        )
