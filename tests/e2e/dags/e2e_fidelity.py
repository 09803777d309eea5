"""The operator's half of the context-fidelity test: one KanikoBuildOperator per corpus case.

tests/e2e/test_context_fidelity.py writes the corpus and names it in KANIKO_FIDELITY_CORPUS.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.sdk import DAG
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

CORPUS = os.environ.get("KANIKO_FIDELITY_CORPUS")
REPOSITORY = os.environ.get("KANIKO_FIDELITY_REPOSITORY", "fidelity")
REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")

with DAG("e2e_fidelity", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    for case in sorted(os.listdir(CORPUS)) if CORPUS else []:
        KanikoBuildOperator(
            task_id=case,
            namespace=os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds"),
            context=str(Path(CORPUS, case)),
            context_roots=[CORPUS],
            destinations=[f"{REG}/{REPOSITORY}/{case}:operator"],
            build_args={"BASE": os.environ.get("LOCALKUBE_BASE_IMAGE", f"{REG}/library/busybox:latest")},
            registry_conn_id="kaniko_registry",
            registry_ca={"registry": REG, "config_map": "registry-ca"},
        )
