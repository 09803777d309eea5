"""Private names of KubernetesPodOperator and its PodManager (apache-airflow-providers-cncf-kubernetes).

Airflow and Kubernetes are imported inside the functions that need them: this module is imported with
the operators, and the cost of ``PodManager``'s import belongs to the first pod.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import tenacity
from urllib3.exceptions import HTTPError

if TYPE_CHECKING:
    from kubernetes.client import models as k8s

    from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager

T = TypeVar("T")

# --- KubernetesPodOperator (cncf-kubernetes) ---
# Checked on apache-airflow-providers-cncf-kubernetes 10.21.0 (constraints-lowest.txt) and 10.25.0
# (constraints.txt); the code of each symbol below is the same in both.


def redacting_pod_manager(*, redact: Callable[[str], str], **kwargs: Any) -> PodManager:
    """KPO's PodManager (``kwargs`` are its own) whose streamed container output is redacted before it is logged or printed."""
    manager: Any = _redacting_pod_manager_class()  # defined on first use: PodManager is Airflow's
    return manager(redact=redact, **kwargs)


@functools.cache
def _redacting_pod_manager_class() -> type[PodManager]:
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager

    class RedactingPodManager(PodManager):
        """Upstream: ``utils.pod_manager.PodManager._log_message(message, container_name,
        container_name_log_prefix_enabled, log_formatter)``, the one method every streamed log line
        passes through, the ``::group::`` markers it prints included."""

        def __init__(self, *args: Any, redact: Callable[[str], str], **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._redact = redact

        def _log_message(self, message: str, *args: Any, **kwargs: Any) -> None:
            super()._log_message(self._redact(message), *args, **kwargs)

    return RedactingPodManager


def _log_read_error(err: BaseException) -> bool:
    from kubernetes.client.exceptions import ApiException

    return isinstance(err, (HTTPError, ApiException))


class RedactedDeferredLogs:
    """Mixin for a KubernetesPodOperator: after a deferral, the build log goes through ``self.pod_manager``.

    Upstream: ``operators.pod.KubernetesPodOperator._write_logs(pod, follow, since_time)``, which
    ``trigger_reentry`` calls and which logs the lines itself, past the PodManager. The override keeps
    its retry policy, copied from the decorator upstream puts on it (3 attempts, exponential wait up
    to 15 s, on ``HTTPError`` and ``ApiException``), which an override would otherwise drop.
    """

    @tenacity.retry(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_exponential(max=15),
        retry=tenacity.retry_if_exception(_log_read_error),
        reraise=True,
    )
    def _write_logs(self, pod: k8s.V1Pod, follow: bool = False, since_time: Any = None) -> None:
        import pendulum

        operator: Any = self  # a KubernetesPodOperator: its pod_manager and base_container_name
        if isinstance(since_time, str):
            since_time = pendulum.parse(since_time.replace("Z", "+00:00"))
        operator.pod_manager.fetch_container_logs(pod, operator.base_container_name, follow=follow, since_time=since_time)


#: The retry policy of the mixin's ``_write_logs``, for tests that run it without waiting.
write_logs_with_retry = RedactedDeferredLogs._write_logs


def was_killed(operator: object) -> bool:
    """Whether ``on_kill`` ran. Upstream: ``KubernetesPodOperator._killed``, set by ``on_kill``, read by ``cleanup``."""
    return bool(getattr(operator, "_killed", False))


def kube_api_call(call: Callable[..., T], **kwargs: Any) -> T:
    """One Kubernetes API call under KPO's own retry policy: its attempts, Retry-After on 429, backoff.

    Upstream: ``kubernetes_helper_functions.API_RETRIES`` (``[workers] api_retries``, default 5),
    ``TRANSIENT_STATUS_CODES`` (``{409, 429, 500, 502, 503, 504}``), ``TRANSIENT_CONNECTION_ERRORS``
    and ``WaitRetryAfterOrExponential``, the policy KPO's ``generic_api_retry`` applies to its own calls,
    but 409: for a create it means "already there", which is final.
    """
    from kubernetes.client.exceptions import ApiException

    from airflow.providers.cncf.kubernetes import kubernetes_helper_functions as kpo

    def transient(err: BaseException) -> bool:
        if isinstance(err, ApiException):
            return err.status in kpo.TRANSIENT_STATUS_CODES - {409}
        return isinstance(err, kpo.TRANSIENT_CONNECTION_ERRORS)

    retry = tenacity.retry(
        stop=tenacity.stop_after_attempt(kpo.API_RETRIES),
        wait=kpo.WaitRetryAfterOrExponential(),
        retry=tenacity.retry_if_exception(transient),
        reraise=True,
    )
    return retry(call)(**kwargs)


async def read_trigger_pod(trigger: KubernetesPodTrigger) -> Any:
    """The pod ``trigger`` watches (a ``kubernetes_asyncio`` V1Pod), read with the trigger's own hook and retries.

    Upstream: ``triggers.pod.KubernetesPodTrigger._get_pod()``, 3 attempts with exponential wait, the
    same in 10.21.0 and 10.25.0.
    """
    return await trigger._get_pod()
