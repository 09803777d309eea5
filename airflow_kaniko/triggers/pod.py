"""The trigger a deferred Kaniko pod waits with: KubernetesPodOperator's, whose success event also carries the result.

The result of a build is in its containers' termination messages (the executor's digest, the pushers'
digests, the multi-build's result lines). KubernetesPodOperator reads them from the pod after the event;
when the pod is gone by then (garbage-collected, its node preempted), the event is all that is left, and
upstream's says only "success". So the trigger reads the finished pod while it still exists and adds the
messages of the containers that exited 0, and nothing else of the pod: a failed container's message is
its log tail (``FallbackToLogsOnError``), which may carry whatever a ``RUN`` step printed.

While the pod runs, the trigger shows progress in the task log: KPO's own ``logging_interval`` streams
the watched container's new log lines, which the operator asks for only when the worker holds no secret
it would redact from them; otherwise ``status_interval`` logs one line now and then (the pod's phase,
the containers running, the seconds since the deferral) and nothing the pod printed.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypedDict, TypeGuard

from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger
from airflow.triggers.base import TriggerEvent
from airflow_kaniko.compat.kpo import read_trigger_pod

#: The event's key for the :class:`TerminationMessages`.
MESSAGES_KEY = "kaniko_termination_messages"
#: Kubernetes' own caps on termination messages: 4096 bytes a container, 12 KiB for the whole pod
#: (https://kubernetes.io/docs/tasks/debug/debug-application/determine-reason-pod-failure/). A pod that
#: reports more is not believed, and the event goes without messages.
MAX_MESSAGE_BYTES = 4096
MAX_POD_MESSAGE_BYTES = 12 * 1024


class TerminationMessages(TypedDict):
    """The termination messages of a finished pod's containers that exited 0, by container name."""

    containers: dict[str, str]
    init_containers: dict[str, str]


def succeeded_messages(pod: Any) -> TerminationMessages | None:
    """The messages of ``pod``'s containers and init containers that exited 0; None when over Kubernetes' caps.

    ``pod`` is a V1Pod of either Kubernetes client (the trigger's is ``kubernetes_asyncio``'s).
    """
    status = getattr(pod, "status", None)
    messages = TerminationMessages(
        containers=_succeeded(getattr(status, "container_statuses", None)),
        init_containers=_succeeded(getattr(status, "init_container_statuses", None)),
    )
    return messages if _within_caps(messages) else None


def _succeeded(statuses: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for status in statuses or []:
        terminated = status.state.terminated if status.state else None
        if terminated is not None and terminated.exit_code == 0 and terminated.message:
            found[status.name] = terminated.message
    return found


def _within_caps(messages: object) -> TypeGuard[TerminationMessages]:
    """Whether ``messages`` has the shape of :class:`TerminationMessages` and Kubernetes' sizes."""
    if not isinstance(messages, Mapping) or set(messages) != set(TerminationMessages.__annotations__):
        return False
    groups = [messages["containers"], messages["init_containers"]]
    if not all(isinstance(g, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in g.items()) for g in groups):
        return False
    sizes = [len(v.encode()) for g in groups for v in g.values()]
    return all(size <= MAX_MESSAGE_BYTES for size in sizes) and sum(sizes) <= MAX_POD_MESSAGE_BYTES


def finished_pod(event: Mapping[str, Any]) -> k8s.V1Pod | None:
    """A stand-in for the pod of a success ``event`` that is gone: its name and its succeeded containers' messages.

    None when the event carries no messages (an event of upstream's trigger, or a pod the trigger could
    not read), or messages that are not what :class:`KanikoPodTrigger` sends.
    """
    messages = event.get(MESSAGES_KEY)
    if event.get("status") != "success" or not _within_caps(messages):
        return None

    def statuses(found: Mapping[str, str]) -> list[k8s.V1ContainerStatus]:
        # image, image_id, ready and restart_count are required by the client model; nothing reads them.
        return [
            k8s.V1ContainerStatus(
                name=name,
                state=k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=0, message=message)),
                image="",
                image_id="",
                ready=False,
                restart_count=0,
            )
            for name, message in found.items()
        ]

    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=event.get("name"), namespace=event.get("namespace")),
        status=k8s.V1PodStatus(
            phase="Succeeded",
            container_statuses=statuses(messages["containers"]),
            init_container_statuses=statuses(messages["init_containers"]),
        ),
    )


def status_line(namespace: str, name: str, pod: Any, elapsed: float) -> str:
    """One line on a running pod: its phase, the containers running (init ones marked), the seconds elapsed.

    ``pod`` is a V1Pod of either Kubernetes client, or None when it could not be read.
    """
    status = getattr(pod, "status", None)
    phase = getattr(status, "phase", None) or "unknown phase"

    def running(statuses: Any, suffix: str) -> list[str]:
        return [f"{s.name}{suffix}" for s in statuses or [] if s.state is not None and s.state.running is not None]

    names = running(getattr(status, "init_container_statuses", None), " (init)") + running(
        getattr(status, "container_statuses", None), ""
    )
    doing = f", running {', '.join(names)}" if names else ""
    return f"Pod {namespace}/{name}: {phase}{doing}, {int(elapsed)} s elapsed; the build log is shown when it ends"


class KanikoPodTrigger(KubernetesPodTrigger):
    """KubernetesPodTrigger whose success event also carries the pod's :class:`TerminationMessages`.

    :param status_interval: seconds between :func:`~airflow_kaniko.triggers.pod.status_line` lines while the pod runs; None: none.
    """

    def __init__(self, *args: Any, status_interval: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status_interval = status_interval

    @classmethod
    def from_trigger(cls, trigger: KubernetesPodTrigger, **overrides: Any) -> KanikoPodTrigger:
        """The same trigger, built from the arguments ``trigger`` serializes, and ``overrides``."""
        _, kwargs = trigger.serialize()
        return cls(**{**kwargs, **overrides})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return f"{type(self).__module__}.{type(self).__qualname__}", {**kwargs, "status_interval": self.status_interval}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        status = asyncio.create_task(self._log_status()) if self.status_interval else None
        try:
            async for event in super().run():
                if event.payload.get("status") == "success":
                    messages = await self._messages()
                    if messages is not None:
                        event = TriggerEvent({**event.payload, MESSAGES_KEY: messages})
                yield event
        finally:
            if status is not None:
                status.cancel()

    async def _log_status(self) -> None:
        """Every ``status_interval`` seconds, :func:`~airflow_kaniko.triggers.pod.status_line`, until :meth:`run` ends."""
        assert self.status_interval
        while True:
            await asyncio.sleep(self.status_interval)
            try:
                pod = await read_trigger_pod(self)
            except Exception as err:  # progress only: the watch itself is upstream's loop
                self.log.info("Pod %s/%s: could not read its status: %s", self.pod_namespace, self.pod_name, type(err).__name__)
                continue
            start = self.trigger_start_time
            start = start if start.tzinfo else start.replace(tzinfo=datetime.UTC)  # KPO's is UTC
            elapsed = (datetime.datetime.now(datetime.UTC) - start).total_seconds()
            self.log.info("%s", status_line(self.pod_namespace, self.pod_name, pod, elapsed))

    async def _messages(self) -> TerminationMessages | None:
        try:
            pod = await read_trigger_pod(self)
        except Exception as err:  # the event still says success: the operator reads the pod if it is still there
            self.log.warning(
                "Could not read pod %s/%s for its termination messages: %s", self.pod_namespace, self.pod_name, type(err).__name__
            )
            return None
        messages = succeeded_messages(pod)
        if messages is None:
            self.log.warning("Pod %s/%s reports termination messages over Kubernetes' caps", self.pod_namespace, self.pod_name)
        return messages
