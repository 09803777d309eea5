"""Small helpers the end-to-end tests use to look at the cluster."""

from __future__ import annotations

import time
import uuid

from kubernetes.client import models as k8s

MANAGED = "app.kubernetes.io/managed-by=airflow-kaniko"


def run_image(core, namespace: str, image: str, command: list[str] | None = None, timeout: float = 120) -> str:
    """Run ``image`` to completion in a plain pod and return its log."""
    name = f"e2e-run-{uuid.uuid4().hex[:8]}"
    container = k8s.V1Container(name="main", image=image, command=command, image_pull_policy="Always")
    core.create_namespaced_pod(
        namespace,
        k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name), spec=k8s.V1PodSpec(containers=[container], restart_policy="Never")),
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            phase = core.read_namespaced_pod(name, namespace).status.phase
            if phase in ("Succeeded", "Failed"):
                break
            time.sleep(0.5)
        log = core.read_namespaced_pod_log(name, namespace, _preload_content=False).data.decode()
        assert phase == "Succeeded", f"pod running {image} ended {phase}: {log}"
        return log
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)


def leftovers(core, namespace: str) -> list[str]:
    """Per-build Secrets and ConfigMaps still in the namespace."""
    secrets = core.list_namespaced_secret(namespace, label_selector=MANAGED).items
    config_maps = core.list_namespaced_config_map(namespace, label_selector=MANAGED).items
    return [f"Secret/{s.metadata.name}" for s in secrets] + [f"ConfigMap/{c.metadata.name}" for c in config_maps]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def assert_pods_deleted(core, namespace: str, selector: str, timeout: float = 90) -> None:
    """Every matching pod has been deleted: already gone, or terminating and then gone.

    A pod the operator deleted keeps its grace period on the kubelet, so it can
    still be listed for a few seconds with a deletion timestamp.
    """
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    undeleted = [p.metadata.name for p in pods if p.metadata.deletion_timestamp is None]
    assert undeleted == [], f"pods never deleted: {undeleted}"
    wait_for(
        lambda: not core.list_namespaced_pod(namespace, label_selector=selector).items,
        timeout,
        f"terminating pods matching {selector} to go",
    )
