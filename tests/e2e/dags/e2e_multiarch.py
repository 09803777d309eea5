"""Multi-arch builds on the local cluster: one pod per platform, then the index, pushed from the worker.

The only node is amd64, so the arm64 pod is sent there too (node_selector wins over the platform's
own): COPY/ENV/LABEL build for arm64 without running an arm64 binary; a RUN step cannot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.sdk import DAG, AssetAlias, Param
from airflow_kaniko.operators.image_index import KanikoImageIndexOperator
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

IMAGES = Path(__file__).resolve().parents[1] / "images"
REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")
PLATFORMS = ["linux/amd64", "linux/arm64"]
IMAGES_ALIAS = AssetAlias("kaniko-images")

for dag_id, context in (("e2e_multiarch", "multiarch"), ("e2e_multiarch_run", "multiarch-run")):
    with DAG(
        dag_id,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        params={"repository": Param(f"{REG}/e2e/multiarch", type="string"), "base": Param("", type="string")},
    ):
        destinations = ["{{ params.repository }}:1", "{{ params.repository }}:latest"]
        build = KanikoBuildOperator.partial(
            task_id="build",
            context=str(IMAGES / context),
            destinations=destinations,
            build_args={"BASE": "{{ params.base }}"},
            image_name=context,
            node_selector={"kubernetes.io/arch": "amd64"},  # the one node; see the module docstring
            namespace=os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds"),
            registry_conn_id="kaniko_registry",
            registry_ca={"registry": REG, "config_map": "registry-ca"},
            context_roots=[IMAGES],
            base_images=["{{ params.base }}"],  # OpenLineage inputs (the index reports the same)
            map_index_template="{{ task.platform }}",
            outlets=[IMAGES_ALIAS],  # a platform's staging push emits nothing: the index step does
        ).expand(platform=PLATFORMS)
        KanikoImageIndexOperator(
            task_id="index",
            destinations=destinations,
            platforms=PLATFORMS,
            builds=build.output,
            registry_conn_id="kaniko_registry",
            base_images=["{{ params.base }}"],
            outlets=[IMAGES_ALIAS],
        )
