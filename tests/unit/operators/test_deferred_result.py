"""After a deferral: the operators wait with KanikoPodTrigger, and a pod gone after its success event still gives its result."""

import pytest
from kubernetes.client.exceptions import ApiException

from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow_kaniko.operators.kaniko import KanikoBuildFailed
from airflow_kaniko.triggers.pod import MESSAGES_KEY, KanikoPodTrigger, succeeded_messages
from tests.unit.operators import test_isolated_push as isolated_push
from tests.unit.operators import test_kaniko as direct
from tests.unit.operators import test_multi_build as multi_build
from tests.unit.operators.fake_kube import FakeCoreV1, FakeTI, finish

REG = direct.REG


class GoneHook:
    """KPO's hook once the pod was garbage-collected after the trigger fired."""

    def get_pod(self, name, namespace):
        raise ApiException(status=404, reason="NotFound")


def direct_pod(request):
    return direct.finished_pod(request, exit_code=0, message=direct.DIGEST, phase="Succeeded")


def isolated_pod(request):
    digest = isolated_push.DIGEST
    init = [isolated_push.status("kaniko", 0, digest), isolated_push.status("push-1", 0, f"{REG}/demo/hello@{digest}")]
    return isolated_push.finished(request, "Succeeded", init, [isolated_push.status("push", 0, f"{REG}/demo/hello@{digest}")])


def multi_build_pod(request):
    return multi_build.finished(request, f"0 ok {multi_build.D0}\n1 ok {multi_build.D1}\n", 0, "Succeeded")


KINDS = {
    "direct push": (lambda: direct.with_fake_cluster(direct.operator(deferrable=True), FakeCoreV1()), direct_pod),
    "isolated push": (
        lambda: direct.with_fake_cluster(isolated_push.isolated(deferrable=True), FakeCoreV1()),
        isolated_pod,
    ),
    "multi-build": (lambda: multi_build.with_fake_cluster(multi_build.operator(deferrable=True)), multi_build_pod),
}


def gone_after(request, **extra):
    return {"status": "success", "name": request.metadata.name, "namespace": request.metadata.namespace, **extra}


@pytest.mark.parametrize("kind", KINDS)
def test_a_pod_gone_after_its_success_event_returns_the_result_the_live_pod_gives(registry_conn, kind, monkeypatch):
    monkeypatch.setattr(
        "airflow.providers.cncf.kubernetes.utils.pod_manager.PodManager.fetch_container_logs", lambda *a, **kw: None
    )
    make, finished_pod = KINDS[kind]
    live_op = make()
    request = live_op.build_pod_request_obj(dry_run=True)
    pod = finished_pod(request)
    live = finish(live_op, request, pod)

    op = make()
    op.__dict__["hook"] = GoneHook()
    ti = FakeTI()
    event = gone_after(request, **{MESSAGES_KEY: succeeded_messages(pod)})
    assert op.trigger_reentry({"ti": ti}, event) == live
    assert ti.xcoms == {"return_value": live}


@pytest.mark.parametrize(
    "extra",
    [
        {},  # upstream's trigger, or ours when it could not read the pod
        {MESSAGES_KEY: None},
        {MESSAGES_KEY: {"containers": {"kaniko": "x" * 4097}, "init_containers": {}}},  # over Kubernetes' cap
        {MESSAGES_KEY: {"containers": {"kaniko": 7}, "init_containers": {}}},
    ],
    ids=["absent", "none", "oversized", "not-text"],
)
def test_without_the_messages_a_gone_pod_still_fails_closed(registry_conn, extra):
    op = direct.with_fake_cluster(direct.operator(deferrable=True), FakeCoreV1())
    op.__dict__["hook"] = GoneHook()
    request = direct.rendered(op)
    ti = FakeTI()
    with pytest.raises(KanikoBuildFailed, match="the build pod was deleted before its result"):
        op.trigger_reentry({"ti": ti}, gone_after(request, **extra))
    assert ti.xcoms["return_value"]["failed"] is True


def test_messages_without_the_digest_are_an_unreadable_result_not_a_success(registry_conn):
    op = direct.with_fake_cluster(direct.operator(deferrable=True), FakeCoreV1())
    op.__dict__["hook"] = GoneHook()
    request = direct.rendered(op)
    event = gone_after(request, **{MESSAGES_KEY: {"containers": {}, "init_containers": {}}})
    with pytest.raises(KanikoBuildFailed, match="finished, but its result is unreadable"):
        op.trigger_reentry({"ti": FakeTI()}, event)


def test_the_deferral_waits_with_kanikos_trigger_built_from_kpos_arguments(registry_conn):
    op = direct.with_fake_cluster(direct.operator(deferrable=True), FakeCoreV1())
    op.pod = direct.rendered(op)  # not started: KPO defers
    with pytest.raises(TaskDeferred) as info:
        op.invoke_defer_method()
    trigger = info.value.trigger
    assert type(trigger) is KanikoPodTrigger
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_kaniko.triggers.pod.KanikoPodTrigger"
    parents = {k: v for k, v in kwargs.items() if k != "status_interval"}
    assert parents == KubernetesPodTrigger(**parents).serialize()[1]
    assert (kwargs["pod_name"], kwargs["base_container_name"]) == (op.pod.metadata.name, "kaniko")
    assert info.value.method_name == "trigger_reentry"


def deferred_with(op, *, credentials_read=True):
    """The trigger ``op`` defers with, after reading its connections as get_or_create_pod does first."""
    if credentials_read:
        op._load_credentials()
    op.pod = direct.rendered(op)
    with pytest.raises(TaskDeferred) as info:
        op.invoke_defer_method()
    kwargs = info.value.trigger.serialize()[1]
    return kwargs["logging_interval"], kwargs["status_interval"]


def test_a_worker_holding_credentials_defers_with_a_status_line_not_the_build_log(registry_conn):
    """The triggerer cannot redact the connection's password from what a RUN step prints: it streams nothing."""
    op = direct.with_fake_cluster(direct.operator(deferrable=True), FakeCoreV1())
    assert deferred_with(op) == (None, 30)
    assert op.redactor.secrets  # what it holds


def test_a_worker_holding_nothing_to_redact_defers_with_kpos_log_streaming(registry_conn):
    """An existing Secret is mounted, never read: the worker could redact nothing from the log either."""
    op = direct.operator(deferrable=True, registry_conn_id=None, registry_secret="team-pusher", progress_interval=10)
    assert deferred_with(direct.with_fake_cluster(op, FakeCoreV1())) == (10, None)
    assert op.redactor.secrets == frozenset()


def test_isolated_push_defers_with_a_status_line_the_build_runs_in_an_init_container(registry_conn):
    """KPO streams the watched container, here the last pusher: the build's own log is the executor's, an init container."""
    op = isolated_push.isolated(deferrable=True, registry_conn_id=None, registry_secret="team-pusher")
    assert deferred_with(direct.with_fake_cluster(op, FakeCoreV1())) == (None, 30)


def test_get_logs_off_or_progress_off_streams_nothing(registry_conn):
    op = direct.operator(deferrable=True, registry_conn_id=None, registry_secret="team-pusher", get_logs=False)
    assert deferred_with(direct.with_fake_cluster(op, FakeCoreV1())) == (None, 30)
    op = direct.operator(deferrable=True, progress_interval=None)
    assert deferred_with(direct.with_fake_cluster(op, FakeCoreV1())) == (None, None)


@pytest.mark.parametrize("value", [0, -5, True])
def test_progress_interval_must_be_seconds(value):
    with pytest.raises(ValueError, match=f"progress_interval={value!r}: must be a number of seconds, at least 1, or None"):
        direct.operator(progress_interval=value)


def test_a_trigger_that_is_not_kpos_own_is_deferred_with_as_it_is(registry_conn):
    op = direct.operator(deferrable=True)
    trigger = KanikoPodTrigger(pod_name="p", pod_namespace="n", trigger_start_time=None, base_container_name="kaniko")
    with pytest.raises(TaskDeferred) as info:
        op.defer(trigger=trigger, method_name="trigger_reentry")
    assert info.value.trigger is trigger
