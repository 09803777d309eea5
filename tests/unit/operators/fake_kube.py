"""A recording stand-in for CoreV1Api, for the operator's object lifecycle tests.

It answers as the API server does where the operator relies on it: 409 on creating an object that
exists, 404 on deleting one that does not. The end-to-end tier runs the same paths against a real
API server, with a worker bound to the documented Role.
"""

from __future__ import annotations

from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

POD_UID = "uid-1234"


class FakeCoreV1:
    """:param fail_on: verb -> HTTP status that verb answers with; :param fail_times: how many times (default always)."""

    def __init__(
        self,
        fail_on: dict[str, int] | str | None = None,
        fail_times: int | None = None,
        waiting: k8s.V1ContainerStateWaiting | None = None,
    ):
        self.calls: list[tuple[str, str]] = []
        self.patches: list[tuple[str, object]] = []
        self.objects: dict[tuple[str, str], object] = {}
        self.fail_on = {fail_on: 403} if isinstance(fail_on, str) else dict(fail_on or {})
        self.fail_times = fail_times
        self.waiting = waiting
        self.api_client = __import__("kubernetes").client.ApiClient()

    def _record(self, verb: str, name: str):
        self.calls.append((verb, name))
        if verb in self.fail_on and (self.fail_times is None or self.fail_times > 0):
            if self.fail_times is not None:
                self.fail_times -= 1
            status = self.fail_on[verb]
            err = ApiException(status=status, reason={403: "Forbidden", 429: "Too Many Requests"}.get(status, "Error"))
            err.headers = {"Retry-After": "0"}  # KPO's retry policy honours it: no waiting in unit tests
            raise err

    def _create(self, kind: str, verb: str, body):
        self._record(verb, body.metadata.name)
        if (kind, body.metadata.name) in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        self.objects[(kind, body.metadata.name)] = body

    def _delete(self, kind: str, verb: str, name: str):
        self._record(verb, name)
        if self.objects.pop((kind, name), None) is None:
            raise ApiException(status=404, reason="NotFound")

    def create_namespaced_secret(self, namespace, body):
        self._create("Secret", "create_secret", body)

    def create_namespaced_config_map(self, namespace, body):
        self._create("ConfigMap", "create_config_map", body)

    def create_namespaced_pod(self, body, namespace, **kwargs):
        name = body["metadata"]["name"] if isinstance(body, dict) else body.metadata.name
        self._record("create_pod", name)
        self.objects[("Pod", name)] = body
        return body

    def read_namespaced_pod(self, name, namespace, **kwargs):
        self._record("read_pod", name)
        status = None
        if self.waiting:
            state = k8s.V1ContainerState(waiting=self.waiting)
            container = k8s.V1ContainerStatus(
                name="kaniko",
                state=state,
                image="ghcr.io/osscontainertools/kaniko:v1.28.3",
                image_id="",
                ready=False,
                restart_count=0,
            )
            status = k8s.V1PodStatus(phase="Pending", container_statuses=[container])
        return k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name=name, namespace=namespace, uid=POD_UID),
            spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="kaniko")]),
            status=status,
        )

    def delete_namespaced_secret(self, name, namespace):
        self._delete("Secret", "delete_secret", name)

    def delete_namespaced_config_map(self, name, namespace):
        self._delete("ConfigMap", "delete_config_map", name)

    def patch_namespaced_pod(self, name, namespace, body):
        self._record("patch_pod", name)
        self.patches.append((name, body))

    def delete_namespaced_pod(self, name, namespace, **kwargs):
        self._delete("Pod", "delete_pod", name)

    def list_namespaced_pod(self, namespace, **kwargs):
        self._record("list_pods", kwargs.get("label_selector", ""))
        return k8s.V1PodList(items=[])


class FakeTI:
    """Records what the operator pushes as XCom."""

    def __init__(self):
        self.xcoms: dict[str, object] = {}

    def xcom_push(self, key, value):
        self.xcoms[key] = value


def finish(op, request, finished_pod):
    """KPO's success path as the operator sees it: cleanup, then the result from the pod as it finished."""
    ti = FakeTI()
    op.cleanup(request, finished_pod, context={"ti": ti})
    value = op._finish({"ti": ti}, finished_pod)
    assert ti.xcoms == {"return_value": value}  # the XCom is the return value
    return value
