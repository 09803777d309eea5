"""A tiny DAG for the link and lineage tests: builds whose pod run is replaced by what a finished Kaniko
pod leaves (its termination message); the rest is the operators' own code under dag.test(): the
result XCom, the Image link resolved by the task runner, the OpenLineage provider's listener.

Run as a script, it runs the DAG and prints each task's link XCom as JSON.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import datetime
from unittest import mock

from kubernetes.client import models as k8s

import airflow_kaniko.hooks.registry
from airflow.sdk import DAG, task
from airflow_kaniko.assets import image_asset
from airflow_kaniko.operators.image_index import KanikoImageIndexOperator
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator
from tests.unit.operators.test_platforms import FINAL, MemoryRegistry, platform_result

DIGEST = "sha256:" + "4d" * 32
BASE = "docker.io/library/python:3.12-slim@sha256:" + "ba" * 32


def finished_pod(op, message):
    """The pod as KPO hands it over once it finished: the watched container's termination message."""
    terminated = k8s.V1ContainerStateTerminated(exit_code=0, message=message, reason="Completed")
    state = k8s.V1ContainerState(terminated=terminated)
    status = k8s.V1ContainerStatus(name=op.base_container_name, state=state, image="", image_id="", ready=False, restart_count=0)
    metadata = k8s.V1ObjectMeta(name="finished", namespace="kaniko-builds")
    return k8s.V1Pod(metadata=metadata, status=k8s.V1PodStatus(phase="Succeeded", container_statuses=[status]))


class FinishedBuild(KanikoBuildOperator):
    """KubernetesPodOperator's pod run (execute_sync) is replaced by the finished pod it hands over:
    the termination message, the digest as Kaniko's --digest-file writes it."""

    def execute_sync(self, context):
        return self._finish(context, finished_pod(self, DIGEST))


class FinishedMultiBuild(KanikoMultiBuildOperator):
    """The same for several builds: the message is one ``<index> ok <digest>`` line per build."""

    def execute_sync(self, context):
        return self._finish(context, finished_pod(self, "".join(f"{i} ok {DIGEST}\n" for i in range(len(self.builds)))))


# The two platform images of a multi-arch image, as their builds pushed them to its registry (10.244.77.1:5000).
REGISTRY = MemoryRegistry()
PLATFORMS = {"linux/amd64": REGISTRY.add_image("demo/hello", "linux", "amd64")}
PLATFORMS["linux/arm64"] = REGISTRY.add_image("demo/hello", "linux", "arm64")


class FinishedIndex(KanikoImageIndexOperator):
    """The registry is that one, in memory; the rest is the operator's execute: the merge, the index push."""

    def execute(self, context):
        with mock.patch.object(airflow_kaniko.hooks.registry, "registries", lambda conn_id: nullcontext(REGISTRY)):
            return super().execute(context)


with DAG("finished_builds", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    common = {"namespace": "kaniko-builds", "context": "git://github.com/acme/app.git#refs/heads/main"}
    FinishedBuild(
        task_id="ghcr",
        destinations=["ghcr.io/acme/app:1.0", "ghcr.io/acme/app:latest"],
        base_images=[BASE],
        registry_conn_id="ghcr",
        **common,
    )
    FinishedBuild(task_id="harbor", destinations=["harbor.example.com/team/app:1.0"], registry_conn_id="harbor", **common)
    FinishedBuild(task_id="local", destinations=["10.244.77.1:5000/demo/app:1.0"], registry_conn_id="local", **common)
    FinishedBuild(
        task_id="bad_template", destinations=["harbor.example.com/team/app:1.0"], registry_conn_id="bad_template", **common
    )
    app = {"name": "app", "context": common["context"], "destinations": ["quay.io/acme/app:1.0"]}
    cli = {"name": "cli", "context": common["context"], "destinations": ["quay.io/acme/cli:1.0"]}
    FinishedMultiBuild(task_id="multi_one", builds=[app], registry_conn_id="ghcr", namespace="kaniko-builds")
    FinishedMultiBuild(task_id="multi_two", builds=[app, cli], registry_conn_id="ghcr", namespace="kaniko-builds")
    KanikoBuildOperator(task_id="dry_run", destinations=["ghcr.io/acme/app:1.0"], render_only=True, **common)
    FinishedIndex(
        task_id="index",
        destinations=FINAL,
        platforms=list(PLATFORMS),
        builds=[platform_result(platform, digest) for platform, digest in PLATFORMS.items()],
        base_images=[BASE],
        registry_conn_id="local_ui",
    )

    @task(inlets=[image_asset("ghcr.io/acme/app")])
    def deploy():
        """A consumer of the image: no lineage methods, so the OpenLineage provider converts its oci:// inlet."""

    @task
    def scan():
        """Reports what it read through hook lineage: the oci factory makes the Asset, the converter its dataset."""
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
        from airflow_kaniko.hooks import RegistryHook

        collector = get_hook_lineage_collector()
        collector.add_input_asset(RegistryHook("ghcr"), scheme="oci", asset_kwargs={"reference": "ghcr.io/acme/app:1.0"})

    deploy()
    # Last: in dag.test()'s one process, Airflow 3.2.0 keeps hook lineage across tasks, and a task that
    # reports no lineage of its own after this one would report this one's.
    others = list(dag.tasks)
    others >> scan()


if __name__ == "__main__":
    run = dag.test()
    links = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id, key="_link_KanikoImageLink") for ti in run.get_task_instances()}
    index = REGISTRY.manifests["demo/hello", "1"].digest if ("demo/hello", "1") in REGISTRY.manifests else None
    print("LINKS " + json.dumps({"state": str(run.state), "links": links, "index": index}))
