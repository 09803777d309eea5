"""KanikoPodTrigger: KPO's trigger, whose success event also carries the succeeded containers' termination messages."""

import asyncio
import datetime

import pytest
from kubernetes_asyncio.client import models as k8s

import airflow_kaniko
from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger
from airflow.triggers.base import TriggerEvent
from airflow_kaniko.compat import kpo
from airflow_kaniko.triggers.pod import MESSAGES_KEY, KanikoPodTrigger, status_line

DIGEST = "sha256:" + "a" * 64
LEAKED = "hunter2-printed-by-a-RUN-step"
START = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)


def trigger(**overrides):
    kwargs = {"pod_name": "kaniko-hello-x", "pod_namespace": "kaniko-builds", "trigger_start_time": START}
    return KanikoPodTrigger(**{**kwargs, "base_container_name": "push", **overrides})


def terminated(name, exit_code, message):
    state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=exit_code, message=message))
    return k8s.V1ContainerStatus(name=name, state=state, image="", image_id="", ready=False, restart_count=0)


def running(name):
    state = k8s.V1ContainerState(running=k8s.V1ContainerStateRunning())
    return k8s.V1ContainerStatus(name=name, state=state, image="", image_id="", ready=True, restart_count=0)


def pod(init, main):
    return k8s.V1Pod(status=k8s.V1PodStatus(phase="Succeeded", init_container_statuses=init, container_statuses=main))


FINISHED = pod(
    [terminated("kaniko", 0, DIGEST), terminated("push-1", 0, f"r/demo@{DIGEST}"), terminated("sidecar", 1, LEAKED)],
    [terminated("push", 0, f"r/demo@{DIGEST}"), terminated("empty", 0, None), running("other")],
)


@pytest.fixture
def upstream(monkeypatch):
    """KPO's run() yielding the given event; our pod read answering with the given pod (or raising)."""
    reads = []

    def setup(payload, answer=FINISHED):
        async def run(self):
            yield TriggerEvent(payload)

        async def read(trig):
            reads.append(trig.pod_name)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        monkeypatch.setattr(KubernetesPodTrigger, "run", run)
        monkeypatch.setattr("airflow_kaniko.triggers.pod.read_trigger_pod", read)
        return reads

    return setup


def events(trig):
    async def collect():
        return [event async for event in trig.run()]

    return asyncio.run(collect())


SUCCESS = {"status": "success", "namespace": "kaniko-builds", "name": "kaniko-hello-x", "last_log_time": None}


def test_a_success_event_carries_the_succeeded_containers_messages_and_nothing_else(upstream):
    upstream(SUCCESS)
    assert events(trigger()) == [
        TriggerEvent(
            {
                **SUCCESS,
                MESSAGES_KEY: {
                    "containers": {"push": f"r/demo@{DIGEST}"},
                    "init_containers": {"kaniko": DIGEST, "push-1": f"r/demo@{DIGEST}"},
                },
            }
        )
    ]


@pytest.mark.parametrize("status", ["failed", "timeout", "error"])
def test_other_events_are_left_alone_and_read_no_pod(upstream, status):
    payload = {**SUCCESS, "status": status, "message": "pod failed"}
    reads = upstream(payload)
    assert events(trigger()) == [TriggerEvent(payload)]
    assert reads == []


def test_a_pod_it_cannot_read_leaves_the_success_event_as_upstream_sent_it(upstream, capsys):
    upstream(SUCCESS, answer=RuntimeError(LEAKED))
    assert events(trigger()) == [TriggerEvent(SUCCESS)]
    out = capsys.readouterr().out
    assert "Could not read pod kaniko-builds/kaniko-hello-x for its termination messages: RuntimeError" in out
    assert LEAKED not in out


@pytest.mark.parametrize(
    "main",
    [
        [terminated("push", 0, "x" * 4097)],  # over the 4096 bytes Kubernetes allows a container
        [terminated(f"push-{i}", 0, "x" * 4096) for i in range(4)],  # over the 12 KiB it allows a pod
    ],
    ids=["container", "pod"],
)
def test_messages_over_kubernetes_caps_are_not_carried(upstream, main):
    upstream(SUCCESS, answer=pod([], main))
    assert events(trigger()) == [TriggerEvent(SUCCESS)]


def test_serializes_to_its_own_class_with_the_parents_arguments_and_its_status_interval():
    ours = trigger(poll_interval=1, trigger_kwargs={"_execution_deadline": 5}, status_interval=30)
    classpath, kwargs = ours.serialize()
    assert classpath == "airflow_kaniko.triggers.pod.KanikoPodTrigger"
    parents = {k: v for k, v in kwargs.items() if k != "status_interval"}
    assert parents == KubernetesPodTrigger(**parents).serialize()[1]
    assert (kwargs["poll_interval"], kwargs["trigger_kwargs"], kwargs["status_interval"]) == (1, {"_execution_deadline": 5}, 30)
    assert KanikoPodTrigger(**kwargs).serialize()[1] == kwargs  # what the triggerer rebuilds it from


def test_from_trigger_keeps_every_argument_of_kpos_trigger_but_the_overrides():
    kpos = KubernetesPodTrigger(
        pod_name="p", pod_namespace="n", trigger_start_time=START, base_container_name="kaniko", on_finish_action="keep_pod"
    )
    ours = KanikoPodTrigger.from_trigger(kpos)
    assert type(ours) is KanikoPodTrigger
    assert ours.serialize()[1] == {**kpos.serialize()[1], "status_interval": None}
    streaming = KanikoPodTrigger.from_trigger(kpos, logging_interval=30, status_interval=None)
    assert streaming.serialize()[1] == {**kpos.serialize()[1], "logging_interval": 30, "status_interval": None}


def test_the_status_line_names_phase_running_containers_and_elapsed_seconds_and_nothing_the_pod_printed():
    building = pod([running("kaniko"), terminated("push-1", 0, LEAKED)], [])
    building.status.phase = "Pending"  # a pod stays Pending while its init containers run
    assert status_line("kaniko-builds", "kaniko-hello-x", building, 42.9) == (
        "Pod kaniko-builds/kaniko-hello-x: Pending, running kaniko (init), 42 s elapsed; the build log is shown when it ends"
    )
    direct = k8s.V1Pod(status=k8s.V1PodStatus(phase="Running", container_statuses=[running("kaniko")]))
    assert status_line("n", "p", direct, 0) == (
        "Pod n/p: Running, running kaniko, 0 s elapsed; the build log is shown when it ends"
    )
    assert status_line("n", "p", None, 5) == "Pod n/p: unknown phase, 5 s elapsed; the build log is shown when it ends"


@pytest.fixture
def waiting_upstream(monkeypatch):
    """KPO's run() yielding its event once our status loop has read the pod ``reads_before_event`` times."""

    def setup(payload, answers, reads_before_event):
        reads = []
        enough = asyncio.Event()

        async def run(self):
            await enough.wait()
            yield TriggerEvent(payload)

        async def read(trig):
            answer = answers[min(len(reads), len(answers) - 1)]
            reads.append(trig.pod_name)
            if len(reads) >= reads_before_event:
                enough.set()
            if isinstance(answer, BaseException):
                raise answer
            return answer

        monkeypatch.setattr(KubernetesPodTrigger, "run", run)
        monkeypatch.setattr("airflow_kaniko.triggers.pod.read_trigger_pod", read)
        return reads

    return setup


def test_a_status_interval_logs_one_status_line_per_read_until_the_event(waiting_upstream, capsys):
    running_pod = k8s.V1Pod(status=k8s.V1PodStatus(phase="Running", container_statuses=[running("kaniko")]))
    payload = {**SUCCESS, "status": "failed", "message": "pod failed"}  # reads no pod for messages
    reads = waiting_upstream(payload, [running_pod, RuntimeError(LEAKED), running_pod], reads_before_event=3)
    assert events(trigger(status_interval=0.001)) == [TriggerEvent(payload)]
    assert len(reads) == 3
    lines = [line for line in capsys.readouterr().out.splitlines() if "kaniko-builds/kaniko-hello-x" in line]
    assert len(lines) == 3
    assert "Pod kaniko-builds/kaniko-hello-x: Running, running kaniko, " in lines[0]
    assert "Pod kaniko-builds/kaniko-hello-x: could not read its status: RuntimeError" in lines[1]
    assert "Pod kaniko-builds/kaniko-hello-x: Running, running kaniko, " in lines[2]
    assert LEAKED not in "\n".join(lines)


def test_without_a_status_interval_the_trigger_reads_no_pod_while_it_waits(upstream):
    reads = upstream({**SUCCESS, "status": "failed", "message": "pod failed"})
    events(trigger())
    assert reads == []


def test_compat_reads_the_pod_with_the_triggers_own_hook():
    """Upstream's private KubernetesPodTrigger._get_pod, on the installed cncf-kubernetes."""
    asked = []

    class Hook:
        async def get_pod(self, name, namespace):
            asked.append((name, namespace))
            return FINISHED

    trig = trigger()
    trig.__dict__["hook"] = Hook()
    assert asyncio.run(kpo.read_trigger_pod(trig)) is FINISHED
    assert asked == [("kaniko-hello-x", "kaniko-builds")]


def test_the_provider_lists_its_trigger_module():
    (entry,) = airflow_kaniko.get_provider_info()["triggers"]
    assert entry == {"integration-name": "Kaniko", "python-modules": ["airflow_kaniko.triggers.pod"]}
    assert KanikoPodTrigger.__module__ in entry["python-modules"]
