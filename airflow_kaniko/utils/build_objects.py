"""The build pod's own Secret and ConfigMap: created owned by the pod, proven to be its own, deleted by name.

``BuildObjects`` owns every Kubernetes call about them, as KPO's ``PodManager`` owns the pod's.
The pod is created first, with a scheduling gate, so the objects are never unowned (if the worker
dies at any point, the garbage collector removes them with the pod) and the pod cannot start until
they are proven to be this build's: the gate comes off only after both creates returned 201.

A create answered 409 means someone else's object holds the name: one planted by whoever can create
ConfigMaps or Secrets in the namespace and watch pods. It is refused, and left untouched. Proving
ownership this way needs no ``get`` on Secrets: the worker never reads one back. A re-attached pod
(a later try of the same task) whose gate is already off was equipped, and proven, by the try
that removed it; one still gated is equipped now, under the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from kubernetes.client import CoreV1Api
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from airflow.providers.common.compat.sdk import AirflowException
from airflow_kaniko.compat.kpo import kube_api_call
from airflow_kaniko.utils import pod_spec

#: The scheduling gate that holds the pod until its objects are proven its own.
GATE = "airflow-kaniko/build-objects"


class BuildObjectsError(AirflowException):
    """The pod's objects could not be provided; the message says which object and why."""


def secret_name(pod: k8s.V1Pod) -> str:
    return f"{pod.metadata.name}-credentials"


def config_map_name(pod: k8s.V1Pod) -> str:
    return f"{pod.metadata.name}-context"


def gate(pod: k8s.V1Pod) -> None:
    """Hold ``pod`` unscheduled until :meth:`BuildObjects.equip` has proven its objects."""
    gates = [g for g in pod.spec.scheduling_gates or [] if g.name != GATE]
    pod.spec.scheduling_gates = [*gates, k8s.V1PodSchedulingGate(name=GATE)]


def is_gated(pod: k8s.V1Pod) -> bool:
    return any(g.name == GATE for g in (pod.spec.scheduling_gates if pod.spec else None) or [])


def api_error(action: str, err: ApiException) -> str:
    hint = " (the worker's Role needs this verb: see deploy/worker-rbac.yaml)" if err.status == 403 else ""
    return f"Could not {action}: {err.status} {err.reason}{hint}"


class Log(Protocol):
    def info(self, msg: Any, /, *args: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any) -> Any: ...
    def error(self, msg: Any, /, *args: Any) -> Any: ...


class BuildObjects:
    """The Secret and ConfigMap of build pods, through one CoreV1Api client, under KPO's retry policy.

    It remembers, for this process, which objects it created (the only ones it deletes when a pod
    cannot start) and which names it found taken (never deleted, not even by name).
    """

    def __init__(self, client: CoreV1Api, log: Log) -> None:
        self.client = client
        self.log = log
        self._created: set[tuple[str, str, str]] = set()  # (kind, namespace, name)
        self._refused: set[tuple[str, str, str]] = set()

    def equip(self, pod: k8s.V1Pod, secret_data: Mapping[str, bytes], archives: Mapping[str, bytes]) -> None:
        """Create the pod's Secret and ConfigMap, owned by it, then let it schedule; raises BuildObjectsError."""
        if not is_gated(pod):
            if secret_data or archives:
                self.log.info("Pod %s/%s was equipped by the try that let it schedule", pod.metadata.namespace, pod.metadata.name)
            return
        name, namespace = pod.metadata.name, pod.metadata.namespace
        uid = pod.metadata.uid or kube_api_call(self.client.read_namespaced_pod, name=name, namespace=namespace).metadata.uid
        owner = pod_spec.owner_reference(name, uid)
        labels = {"airflow-kaniko/pod": name}
        if secret_data:
            body = pod_spec.build_secret(secret_name(pod), namespace, dict(secret_data), labels, owner)
            self._create("Secret", body, self.client.create_namespaced_secret)
        if archives:
            body = pod_spec.build_config_map(config_map_name(pod), namespace, dict(archives), labels, owner)
            self._create("ConfigMap", body, self.client.create_namespaced_config_map)
        self._ungate(pod)

    def _create(self, kind: str, body: Any, create: Callable[..., Any]) -> None:
        namespace, name = body.metadata.namespace, body.metadata.name
        try:
            kube_api_call(create, namespace=namespace, body=body)
        except ApiException as err:
            if err.status == 409:
                # Nothing of this build can hold the name yet: the pod is still gated. Not ours, so not touched.
                self._refused.add((kind, namespace, name))
                raise BuildObjectsError(
                    f"{kind} {namespace}/{name} already exists and is not this build's: the build pod's own "
                    "objects are created after the pod; refusing to run the build with an object someone else made"
                ) from None
            raise BuildObjectsError(api_error(f"create {kind} {namespace}/{name}", err)) from None
        self._created.add((kind, namespace, name))
        self.log.info("Created %s %s/%s, owned by the build pod", kind, namespace, name)

    def _ungate(self, pod: k8s.V1Pod) -> None:
        remaining = [{"name": g.name} for g in pod.spec.scheduling_gates or [] if g.name != GATE]
        patch = [{"op": "replace", "path": "/spec/schedulingGates", "value": remaining}]
        name, namespace = pod.metadata.name, pod.metadata.namespace
        try:
            kube_api_call(self.client.patch_namespaced_pod, name=name, namespace=namespace, body=patch)
        except ApiException as err:
            raise BuildObjectsError(api_error(f"let pod {namespace}/{name} schedule", err)) from None
        pod.spec.scheduling_gates = [g for g in pod.spec.scheduling_gates or [] if g.name != GATE]

    def abandon(self, pod: k8s.V1Pod, err: BaseException) -> None:
        """The pod cannot run without its objects: delete it and what this process created, leaving nothing else."""
        namespace, name = pod.metadata.namespace, pod.metadata.name
        self.log.error("Deleting build pod %s/%s, which cannot start: %s", namespace, name, err)
        try:
            kube_api_call(self.client.delete_namespaced_pod, name=name, namespace=namespace, grace_period_seconds=0)
        except ApiException as delete_err:
            if delete_err.status != 404:
                self.log.error("Could not delete pod %s/%s: %s", namespace, name, delete_err.reason)
        for kind, obj_namespace, obj_name in sorted(self._created):
            if obj_namespace == namespace and obj_name in (secret_name(pod), config_map_name(pod)):
                self._delete(kind, obj_namespace, obj_name)

    def delete(self, pod: k8s.V1Pod | None) -> None:
        """Delete the pod's Secret and ConfigMap by name; stateless, so any process can run it."""
        if pod is None or pod.metadata is None:
            return
        namespace = pod.metadata.namespace
        for kind, name in (("Secret", secret_name(pod)), ("ConfigMap", config_map_name(pod))):
            if (kind, namespace, name) not in self._refused:
                self._delete(kind, namespace, name)

    def _delete(self, kind: str, namespace: str, name: str) -> None:
        delete = self.client.delete_namespaced_secret if kind == "Secret" else self.client.delete_namespaced_config_map
        try:
            kube_api_call(delete, name=name, namespace=namespace)
            self._created.discard((kind, namespace, name))
            self.log.info("Deleted %s %s/%s", kind, namespace, name)
        except ApiException as err:
            if err.status != 404:
                # The ownerReference still lets the garbage collector remove it with the pod.
                self.log.warning("Could not delete %s %s/%s: %s", kind, namespace, name, err.reason)
