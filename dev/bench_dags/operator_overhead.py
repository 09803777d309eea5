"""DAGs timed by dev/bench.py: the same Kaniko build through KanikoBuildOperator (default and
isolate_push_credentials) and a plain KubernetesPodOperator."""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

REG = os.environ.get("LOCALKUBE_REGISTRY", "registry.invalid:5000")
NS = os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds")
# The local cluster's executor (dev/localkube/push-executor.sh); the Kaniko operators read it from [kaniko].
EXECUTOR = os.environ.get("LOCALKUBE_KANIKO_IMAGE", "ghcr.io/osscontainertools/kaniko:v1.28.3")
HELLO = Path(__file__).resolve().parents[2] / "dags" / "images" / "hello"
ARGS = [
    "--context=tar:///workspace/context.tar.gz",
    "--dockerfile=Dockerfile",
    f"--destination={REG}/bench/hello:1",
    "--digest-file=/dev/termination-log",
    f"--build-arg=BASE={REG}/library/busybox:latest",
    f"--registry-certificate={REG}=/kaniko/registry-ca/ca.crt",
]
# The plain pod reads the Secret and ConfigMap that dev/bench.py creates beforehand.
VOLUMES = [
    k8s.V1Volume(
        name="docker-config",
        secret=k8s.V1SecretVolumeSource(
            secret_name="bench-credentials", items=[k8s.V1KeyToPath(key="config.json", path="config.json")]
        ),
    ),
    k8s.V1Volume(name="ctx", config_map=k8s.V1ConfigMapVolumeSource(name="bench-context")),
    k8s.V1Volume(name="ca", config_map=k8s.V1ConfigMapVolumeSource(name="registry-ca")),
]
MOUNTS = [
    k8s.V1VolumeMount(name="docker-config", mount_path="/kaniko/.docker", read_only=True),
    k8s.V1VolumeMount(name="ctx", mount_path="/workspace", read_only=True),
    k8s.V1VolumeMount(name="ca", mount_path="/kaniko/registry-ca", read_only=True),
]

for deferrable in (False, True):
    mode = "deferrable" if deferrable else "sync"
    with DAG(f"bench_kaniko_{mode}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        KanikoBuildOperator(
            task_id="build",
            namespace=NS,
            context=str(HELLO),
            destinations=[f"{REG}/bench/hello:1"],
            build_args={"BASE": f"{REG}/library/busybox:latest"},
            registry_conn_id="kaniko_registry",
            registry_ca={"registry": REG, "config_map": "registry-ca"},
            deferrable=deferrable,
            context_roots=[HELLO],
        )
    with DAG(f"bench_kaniko_isolated_{mode}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        # The same build; the executor pulls the base with the same account (the local registry has one).
        KanikoBuildOperator(
            task_id="build",
            namespace=NS,
            context=str(HELLO),
            destinations=[f"{REG}/bench/hello:1"],
            build_args={"BASE": f"{REG}/library/busybox:latest"},
            registry_conn_id="kaniko_registry",
            registry_ca={"registry": REG, "config_map": "registry-ca"},
            deferrable=deferrable,
            isolate_push_credentials=True,
            pull_conn_id="kaniko_registry",
            context_roots=[HELLO],
        )
    with DAG(f"bench_kpo_{mode}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        KubernetesPodOperator(
            task_id="build",
            namespace=NS,
            image=EXECUTOR,
            arguments=ARGS,
            volumes=VOLUMES,
            volume_mounts=MOUNTS,
            deferrable=deferrable,
        )
