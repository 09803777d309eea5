"""How a Kaniko pod's run ends: its result from the finished pod, or its failure, as XCom and Asset events.

Every way KubernetesPodOperator ends a run comes through here: ``execute_sync``, ``trigger_reentry``
(after a deferral, or when KPO finds the pod already finished) and ``cleanup``. The result is read
from the pod KPO hands over and travels in the return value. A deferral waits with
``airflow_kaniko.triggers.pod.KanikoPodTrigger``, whose success event carries the containers' termination
messages: when the pod is gone after it (KPO's "pod already gone", success with no pod), the result is
read from those. Without them the task fails instead, since nothing can say what was pushed.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

import yaml
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger
from airflow.providers.cncf.kubernetes.utils.container import get_container_termination_message
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY, AirflowException, AirflowFailException, AirflowSkipException
from airflow.utils.helpers import prune_dict
from airflow_kaniko.compat.kpo import redacting_pod_manager, was_killed
from airflow_kaniko.errors import KanikoError
from airflow_kaniko.kaniko.redaction import Redactor
from airflow_kaniko.kaniko.spec import KanikoBuild
from airflow_kaniko.results import BuildFailure, BuildResult, FailedBuild, RenderedBuild
from airflow_kaniko.triggers.pod import KanikoPodTrigger, finished_pod
from airflow_kaniko.utils import pod_status
from airflow_kaniko.utils.build_objects import BuildObjects

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

#: What a build task returns: one typed result, or a multi-build's per-build outcomes (already XCom JSON).
Returned = BuildResult | FailedBuild | RenderedBuild | list[dict[str, Any]]


class KanikoBuildFailed(AirflowException):
    """The build failed; the message carries Kaniko's own error lines, or why the executor never ran.

    :param failure: the classified failure (kind, whether a retry can help, detail).
    """

    def __init__(self, message: str, failure: BuildFailure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


class KanikoDockerfileFailed(KanikoBuildFailed, AirflowFailException):
    """A Dockerfile step failed: the same inputs fail the same way, so the task fails without retry."""


class KanikoPodOutcome(KubernetesPodOperator):
    """The end of a Kaniko pod's run; :class:`~airflow_kaniko.operators.base.KanikoPodOperatorBase` builds on it."""

    # Set by KanikoPodOperatorBase.
    progress_interval: int | None
    fingerprint: str | None
    build_reason: Any
    _result: Any

    # --- what subclasses define ---------------------------------------------------------------

    def specs(self) -> list[KanikoBuild]:
        """The build specs of this run."""
        raise NotImplementedError

    def _load_credentials(self) -> dict[str, bytes]:
        """The per-build Secret's data; every secret form becomes known to :attr:`redactor`."""
        raise NotImplementedError

    def read_result(self, pod: k8s.V1Pod, message: str | None) -> Returned:
        """The result, from the finished pod and its watched container's termination message."""
        raise NotImplementedError

    def failed_result(self, failed: KanikoBuildFailed, remote_pod: k8s.V1Pod | None) -> Returned | None:
        """What the report reads for a failed build (None: push nothing)."""
        return FailedBuild(failed.failure, tuple(self.destinations_of_specs()))

    def rendered_result(self, pod: k8s.V1Pod) -> Returned:
        """The result of ``render_only``: the pod's name and what it would push."""
        return RenderedBuild(pod.metadata.name, tuple(self.destinations_of_specs()))

    def describe_builds(self) -> str:
        return ", ".join(s.name or s.destinations[0] for s in self.specs())

    def destinations_of_specs(self) -> list[str]:
        return [d for s in self.specs() for d in s.destinations]

    @cached_property
    def redactor(self) -> Redactor:
        return Redactor()

    @cached_property
    def pod_manager(self) -> PodManager:
        # KPO's PodManager streams the build's output; ours redacts the credentials from it first.
        return redacting_pod_manager(kube_client=self.client, callbacks=self.callbacks, redact=self.redactor.redact)

    @cached_property
    def build_objects(self) -> BuildObjects:
        return BuildObjects(self.client, self.log)

    def execute_sync(self, context: Context) -> Any:
        super().execute_sync(context)
        return self._finish(context, self.remote_pod)  # KPO's pod as it finished

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        # A new process: it logs the build's output too, so it learns the secrets first.
        try:
            self._load_credentials()
        except (KanikoError, AirflowException) as err:
            self.log.warning("Cannot read the connections to redact the build log: %s", err)
        super().trigger_reentry(context, event)
        # KPO leaves no pod when it was gone after a success event: what the trigger read of it is in the event.
        return self._finish(context, self.pod if self.pod is not None else finished_pod(event))

    def defer(
        self,
        *,
        trigger: BaseTrigger,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | int | float | None = None,
    ) -> NoReturn:
        # KPO's invoke_defer_method builds its own trigger; ours, from the same arguments, also brings back the result.
        if type(trigger) is KubernetesPodTrigger:
            trigger = KanikoPodTrigger.from_trigger(trigger, **self.deferred_progress())
        super().defer(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def deferred_progress(self) -> dict[str, Any]:
        """What the trigger shows while the pod runs, every ``progress_interval`` seconds.

        The new lines of the build log (KPO's ``logging_interval``, the triggerer reading the watched
        container) when that container is the executor and this worker holds no secret to redact from
        them: the triggerer redacts nothing, but then neither would the worker. Otherwise a status line
        (:func:`~airflow_kaniko.triggers.pod.status_line`); the log follows when the pod ends, redacted.
        """
        interval = self.progress_interval
        if not interval:
            return {"logging_interval": None, "status_interval": None}
        if self.get_logs and self.base_container_name == self.BASE_CONTAINER_NAME and not self.redactor.secrets:
            return {"logging_interval": interval, "status_interval": None}
        return {"logging_interval": None, "status_interval": interval}

    def _finish(self, context: Context, pod: k8s.V1Pod | None) -> Any:
        """Every success path ends here: the result from the finished pod, as XCom, then the Asset events."""
        if was_killed(self):
            return None
        if pod is None:
            # KPO reports success for a pod deleted before it was read, and the event had no messages: no digest.
            detail = "the build pod was deleted before its result (the digest) could be read"
            failed = KanikoBuildFailed(
                f"The build of {self.describe_builds()} may have pushed, but {detail}; a retry builds it again",
                BuildFailure("unknown", True, detail),
            )
            self._push(context, self.failed_result(failed, None))
            raise failed
        try:
            result = self.read_result(pod, get_container_termination_message(pod, self.base_container_name))
        except KanikoError as err:
            raise KanikoBuildFailed(
                f"The build of {self.describe_builds()} finished, but its result is unreadable: {err}"
            ) from None
        value = self._push(context, result)
        self._result = value  # for the OpenLineage listener, which runs after execute (openlineage/lineage.py)
        self.log.info("Result: %s", value)
        self.emit_asset_events(context, value)
        return value

    def emit_asset_events(self, context: Context, result: Any) -> None:
        """Asset events for what ``result`` pushed, through the task's outlets (``airflow_kaniko.assets.events``).

        A result with a ``"platform"`` key is a per-platform staging push: the step that pushes the
        merged image emits its event instead.
        """
        if not self.outlets:
            return
        from airflow_kaniko.assets.events import emit_image_events
        from airflow_kaniko.openlineage.naming import pushed_images

        for build in result if isinstance(result, list) else [result]:
            if not isinstance(build, dict) or "platform" in build or not pushed_images(build):
                continue
            emit_image_events(
                context,
                self.outlets,
                pushed_images(build),
                fingerprint=self.fingerprint,
                reason=self.build_reason,
                redact=self.redactor.redact,
                log=self.log,
            )

    def _push(self, context: Context, result: Returned | None) -> Any:
        """The result as XCom JSON, pushed; the parent ties do_xcom_push to its sidecar container."""
        if result is None:
            return None
        value = result if isinstance(result, list) else result.to_xcom()
        context["ti"].xcom_push(key=XCOM_RETURN_KEY, value=value)
        return value

    def _render_pod(self, context: Context) -> Returned:
        pod = self.build_pod_request_obj(context, dry_run=True)
        rendered = yaml.safe_dump(prune_dict(pod.to_dict(), mode="strict"))
        self.log.info("render_only: this pod would run (nothing was created):\n%s", rendered)
        return self.rendered_result(pod)

    def cleanup(
        self, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, xcom_result: dict | None = None, context: Context | None = None
    ) -> None:
        try:
            super().cleanup(pod, remote_pod, xcom_result, context)
        except AirflowSkipException:
            raise
        except AirflowException:
            failed = self.build_failed(pod, remote_pod)
            if context is not None:
                self._push(context, self.failed_result(failed, remote_pod))
            raise failed from None
        finally:
            # The build container has finished: its credentials go now, whatever happens to the pod.
            self.build_objects.delete(pod)

    def build_failed(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> KanikoBuildFailed:
        """The exception for a failed pod: classified, redacted, and final when a retry cannot help."""
        message, failure = self.failure_message(pod, remote_pod)
        message = self.redactor.redact(message)
        failure = BuildFailure(failure.kind, failure.retryable, self.redactor.redact(failure.detail))
        cls = KanikoBuildFailed if failure.retryable else KanikoDockerfileFailed
        return cls(message, failure)

    def failure_message(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> tuple[str, BuildFailure]:
        """A short failure: which build, where, what kind, and Kaniko's own error lines, never the whole pod."""
        if pod_status.terminated_state(remote_pod, self.base_container_name) is None and pod is not None:
            # KPO's remote_pod can predate the failure (a start timeout): read what the pod says now.
            remote_pod = self.read_pod_quietly(pod) or remote_pod
        return pod_status.failure_text(self.describe_builds(), pod, remote_pod, self.base_container_name)

    def read_pod_quietly(self, pod: k8s.V1Pod) -> k8s.V1Pod | None:
        try:
            return self.pod_manager.read_pod(pod)
        except ApiException as err:
            self.log.warning("Could not re-read pod %s: %s", pod.metadata.name, err.reason)
            return None

    def on_kill(self) -> None:
        super().on_kill()
        self.build_objects.delete(self.pod)
