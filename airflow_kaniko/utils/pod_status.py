"""What a finished (or never started) build pod says: container states, and the failure text built from them."""

from __future__ import annotations

from kubernetes.client import models as k8s

from airflow_kaniko.kaniko.termination import classify_failure
from airflow_kaniko.results import BuildFailure


def terminated_state(pod: k8s.V1Pod | None, container: str, *, init: bool = False) -> k8s.V1ContainerStateTerminated | None:
    """The container's terminated state, or None while it has not finished (or the pod has no such container)."""
    status = pod.status if pod is not None else None
    statuses = (getattr(status, "init_container_statuses" if init else "container_statuses", None) if status else None) or []
    found = next((s for s in statuses if s.name == container), None)
    return found.state.terminated if found and found.state else None


def pod_location(pod: k8s.V1Pod | None) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}" if pod is not None and pod.metadata else "its pod"


def not_started_detail(remote_pod: k8s.V1Pod | None, container: str) -> str:
    """Why ``container`` never ran: its waiting reason (a bad image, say), else the pod's reason and message."""
    status = getattr(remote_pod, "status", None)
    for found in getattr(status, "container_statuses", None) or []:
        waiting = found.state.waiting if found.state else None
        if found.name == container and waiting and waiting.reason:
            return f"container {found.name} is waiting: {waiting.reason}: {waiting.message or '-'} (image {found.image})"
    return " ".join(filter(None, [getattr(status, "reason", None), getattr(status, "message", None)])) or "it never ran"


def retry_note(failure: BuildFailure) -> str:
    return "a retry can help" if failure.retryable else "not retried: the same inputs fail the same way"


def failure_text(builds: str, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None, container: str) -> tuple[str, BuildFailure]:
    """A short failure: which builds, where, what kind, and Kaniko's own error lines, never the whole pod."""
    where = pod_location(pod)
    state = terminated_state(remote_pod, container)
    pod_reason = getattr(getattr(remote_pod, "status", None), "reason", None)
    if state is None:
        detail = not_started_detail(remote_pod, container)
        kind = "executor-image" if "image" in detail.lower() else ("deadline" if pod_reason == "DeadlineExceeded" else "unknown")
        return (
            f"Kaniko build of {builds} failed in pod {where} before the executor finished: {detail}",
            BuildFailure(kind, True, detail),
        )
    failure = classify_failure(state.message, reason=state.reason, pod_reason=pod_reason)
    return (
        f"Kaniko build of {builds} failed in pod {where} (exit code {state.exit_code}, {state.reason}; "
        f"{failure.kind} failure, {retry_note(failure)}):\n{failure.detail}"
    ), failure
