"""A recording stand-in for CoreV1Api, for the operator's object lifecycle tests.

The end-to-end tier runs the same paths against a real API server.
"""

from __future__ import annotations

from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException


class FakeCoreV1:
    def __init__(self, fail_on: str | None = None):
        self.calls: list[tuple[str, str]] = []
        self.objects: dict[tuple[str, str], object] = {}
        self.fail_on = fail_on
        self.api_client = __import__("kubernetes").client.ApiClient()

    def _record(self, verb: str, name: str, body=None):
        self.calls.append((verb, name))
        if self.fail_on == verb:
            raise ApiException(status=403, reason=f"{verb} forbidden")

    def create_namespaced_secret(self, namespace, body):
        self._record("create_secret", body.metadata.name)
        self.objects[("Secret", body.metadata.name)] = body

    def create_namespaced_config_map(self, namespace, body):
        self._record("create_config_map", body.metadata.name)
        self.objects[("ConfigMap", body.metadata.name)] = body

    def create_namespaced_pod(self, body, namespace, **kwargs):
        name = body["metadata"]["name"] if isinstance(body, dict) else body.metadata.name
        self._record("create_pod", name)
        return body

    def read_namespaced_pod(self, name, namespace, **kwargs):
        self._record("read_pod", name)
        return k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, uid="uid-1234"),
            spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="kaniko")]),
        )

    def patch_namespaced_secret(self, name, namespace, body):
        self._record("patch_secret", name)
        self.objects[("Secret", name)].metadata.owner_references = body["metadata"]["ownerReferences"]

    def patch_namespaced_config_map(self, name, namespace, body):
        self._record("patch_config_map", name)
        self.objects[("ConfigMap", name)].metadata.owner_references = body["metadata"]["ownerReferences"]

    def delete_namespaced_secret(self, name, namespace):
        self._record("delete_secret", name)
        self.objects.pop(("Secret", name), None)

    def delete_namespaced_config_map(self, name, namespace):
        self._record("delete_config_map", name)
        self.objects.pop(("ConfigMap", name), None)

    def patch_namespaced_pod(self, name, namespace, body):
        self._record("patch_pod", name)

    def delete_namespaced_pod(self, name, namespace, **kwargs):
        self._record("delete_pod", name)
