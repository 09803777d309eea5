"""Builds whose per-build object name someone else took first (tests/e2e/test_hardening.py plants it).

The pod's name is fixed (``name``, KubernetesPodOperator's random suffix off), so the test knows the
names ``<pod>-context`` and ``<pod>-credentials`` before the run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.sdk import DAG
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

HELLO = Path(__file__).resolve().parents[3] / "dags" / "images" / "hello"
REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")
#: The fixed pod names, one per planted kind.
PODS = {"ConfigMap": "e2e-planted-context", "Secret": "e2e-planted-credentials"}

for kind, pod_name in PODS.items():
    with DAG(f"e2e_planted_{kind.lower()}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
        KanikoBuildOperator(
            task_id="build",
            name=pod_name,
            random_name_suffix=False,
            context=str(HELLO),
            destinations=[f"{REG}/e2e/planted-{kind.lower()}:1"],
            build_args={"BASE": f"{REG}/library/busybox:latest"},
            namespace=os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds"),
            registry_conn_id="kaniko_registry",
            registry_ca={"registry": REG, "config_map": "registry-ca"},
            context_roots=[HELLO],
            retries=0,
        )
