"""KanikoBuildOperator(isolate_push_credentials=True): the executor never mounts the push credentials."""

import base64
import json

import kubernetes_validate
import pytest
from kubernetes.client import models as k8s

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.operators.kaniko import KanikoBuildFailed
from tests.conftest import PASSWORD
from tests.unit.operators.fake_kube import FakeCoreV1, finish
from tests.unit.operators.test_kaniko import BASELINE_CAPABILITIES, REG, api_dict, operator, rendered, with_fake_cluster

DIGEST = "sha256:" + "c" * 64
PULL_CONN = '{"conn_type": "docker", "host": "10.244.77.1:5000", "login": "reader", "password": "R3ad-0nly-pw"}'
CA = {"registry": REG, "config_map": "registry-ca"}


def isolated(**overrides):
    return operator(isolate_push_credentials=True, **overrides)


def containers(pod):
    spec = api_dict(pod)["spec"]
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}, spec


def test_executor_runs_first_as_an_init_container_then_one_pusher_per_destination():
    pod = api_dict(rendered(isolated(registry_ca=CA)))
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["kaniko", "push-1"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["push"]
    executor, pusher_latest = pod["spec"]["initContainers"]
    (pusher_first,) = pod["spec"]["containers"]
    assert executor["image"] == "ghcr.io/osscontainertools/kaniko:v1.28.3"
    assert executor["args"] == [
        "--context=tar:///workspace/context.tar.gz",
        "--dockerfile=Dockerfile",
        f"--destination={REG}/demo/hello:1",
        f"--destination={REG}/demo/hello:latest",
        "--digest-file=/dev/termination-log",
        "--log-format=text",
        f"--registry-certificate={REG}=/kaniko/registry-ca/0/ca.crt",
        "--image-download-retry=3",
        "--no-push",
        "--oci-layout-path=/kaniko/output/image",
    ]
    assert pusher_latest["image"] == pusher_first["image"] == "gcr.io/go-containerregistry/crane:v0.22.1"
    assert pusher_latest["args"] == [
        "push",
        "/kaniko/output/image",
        f"{REG}/demo/hello:latest",
        "--image-refs=/dev/termination-log",
    ]
    assert pusher_first["args"] == ["push", "/kaniko/output/image", f"{REG}/demo/hello:1", "--image-refs=/dev/termination-log"]
    for pusher in (pusher_latest, pusher_first):
        assert "command" not in pusher  # crane is the image's entrypoint: no shell
        assert pusher["env"] == [
            {"name": "DOCKER_CONFIG", "value": "/home/nonroot/.docker"},
            {"name": "SSL_CERT_DIR", "value": "/registry-ca/0"},
        ]
        assert pusher["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_only_the_pushers_mount_the_push_credentials():
    pods = {
        "conn": rendered(isolated(registry_ca=CA)),
        "secret": rendered(isolated(registry_conn_id=None, registry_secret="team-pusher", registry_ca=CA)),
    }
    for pod in pods.values():
        by_name, spec = containers(pod)
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert by_name["kaniko"]["volumeMounts"] == [
            {"name": "build-context", "mountPath": "/workspace", "readOnly": True},
            {"name": "registry-ca-0", "mountPath": "/kaniko/registry-ca/0", "readOnly": True},
            {"name": "image-output", "mountPath": "/kaniko/output"},
        ]
        for name in ("push-1", "push"):
            assert by_name[name]["volumeMounts"] == [
                {"name": "image-output", "mountPath": "/kaniko/output", "readOnly": True},
                {"name": "docker-config", "mountPath": "/home/nonroot/.docker", "readOnly": True},
                {"name": "registry-ca-0", "mountPath": "/registry-ca/0", "readOnly": True},
            ]
        assert volumes["image-output"] == {"name": "image-output", "emptyDir": {}}
    name = pods["conn"].metadata.name
    assert containers(pods["conn"])[1]["volumes"][-2] == {
        "name": "docker-config",
        "secret": {"secretName": f"{name}-credentials", "items": [{"key": "config.json", "path": "config.json"}]},
    }
    assert containers(pods["secret"])[1]["volumes"][-2] == {
        "name": "docker-config",
        "secret": {"secretName": "team-pusher", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
    }


def test_executor_mounts_only_the_pull_credentials():
    for op, source in (
        (isolated(pull_conn_id="kaniko_pull"), None),
        (
            isolated(pull_secret="team-reader"),
            {"secretName": "team-reader", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
        ),
    ):
        pod = rendered(op)
        by_name, spec = containers(pod)
        source = source or {
            "secretName": f"{pod.metadata.name}-credentials",
            "items": [{"key": "pull-config.json", "path": "config.json"}],
        }
        assert by_name["kaniko"]["volumeMounts"][0] == {
            "name": "pull-docker-config",
            "mountPath": "/kaniko/.docker",
            "readOnly": True,
        }
        assert {"name": "pull-docker-config", "secret": source} in spec["volumes"]
        assert all(m["name"] != "docker-config" for m in by_name["kaniko"]["volumeMounts"])
        assert all(m["name"] != "pull-docker-config" for m in by_name["push"]["volumeMounts"] + by_name["push-1"]["volumeMounts"])


def test_security_contexts_of_both_kinds_of_container():
    by_name, spec = containers(rendered(isolated()))
    assert by_name["kaniko"]["securityContext"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
    }
    for name in ("push-1", "push"):
        assert by_name[name]["securityContext"] == {
            "privileged": False,
            "runAsUser": 0,
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert by_name[name]["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}}
    assert spec["automountServiceAccountToken"] is False


def test_pod_meets_pod_security_baseline_and_the_kubernetes_schema():
    pod = api_dict(rendered(isolated(registry_ca=CA, pull_conn_id="kaniko_pull", git_conn_id="git")))
    kubernetes_validate.validate(pod, "1.34", strict=True)
    spec = pod["spec"]
    assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert not any("hostPath" in v for v in spec["volumes"])
    for container in [*spec["initContainers"], *spec["containers"]]:
        ctx = container["securityContext"]
        assert ctx["privileged"] is False and ctx["allowPrivilegeEscalation"] is False
        assert set(ctx["capabilities"].get("add", [])) <= BASELINE_CAPABILITIES
        assert ctx["seccompProfile"]["type"] == "RuntimeDefault"


def test_kubernetes_pod_operator_watches_the_last_pusher_and_waits_for_the_whole_build():
    op = isolated()
    assert op.base_container_name == "push" and op.container_logs == "push"
    assert op.startup_timeout_seconds == 3600  # the pod stays Pending while the executor builds
    assert op.schedule_timeout_seconds == 120  # but an unschedulable pod is still given up on as soon as usual
    assert isolated(active_deadline_seconds=600).startup_timeout_seconds == 600
    custom = isolated(startup_timeout_seconds=900)
    assert (custom.startup_timeout_seconds, custom.schedule_timeout_seconds) == (900, 900)
    assert isolated(schedule_timeout_seconds=30).schedule_timeout_seconds == 30
    assert operator().base_container_name == "kaniko" and operator().startup_timeout_seconds == 120


def test_a_single_destination_has_no_extra_pusher():
    by_name, spec = containers(rendered(isolated(destinations=[f"{REG}/demo/hello:1"])))
    assert [c["name"] for c in spec["initContainers"]] == ["kaniko"]
    assert by_name["push"]["args"][2] == f"{REG}/demo/hello:1"


def test_user_init_containers_run_before_the_executor():
    op = isolated(init_containers=[k8s.V1Container(name="fetch", image="busybox")])
    assert [c.name for c in rendered(op).spec.init_containers] == ["fetch", "kaniko", "push-1"]


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"isolate_push_credentials": "true"}, "isolate_push_credentials", "must be True or False (it is not templated)"),
        ({"pull_conn_id": "kaniko_pull"}, "pull_conn_id", "needs isolate_push_credentials=True"),
        ({"pull_secret": "team-reader"}, "pull_secret", "needs isolate_push_credentials=True"),
        (
            {"isolate_push_credentials": True, "base_container_name": "kaniko"},
            "base_container_name",
            "names the executor's init container",
        ),
        ({"isolate_push_credentials": True, "cache": True}, "cache", "Kaniko pushes cache layers itself"),
        (
            {"isolate_push_credentials": True, "pull_conn_id": "a", "pull_secret": "b"},
            "pull_secret",
            "cannot be combined with pull_conn_id",
        ),
        ({"isolate_push_credentials": True, "pull_secret": "Bad_Name"}, "pull_secret", "is not a valid Kubernetes object name"),
        (
            {"isolate_push_credentials": True, "extra_args": ["--oci-layout-path=/tmp/x"]},
            "extra_args",
            "is set by isolate_push_credentials",
        ),
    ],
)
def test_bad_combinations_fail_before_any_object_exists(overrides, field, reason):
    fake = FakeCoreV1()
    with pytest.raises(KanikoSpecError) as info:
        op = operator(**overrides)
        op.__dict__["client"] = fake
        op.build_pod_request_obj(dry_run=True)
    assert info.value.field == field and reason in info.value.reason
    assert fake.calls == []


def test_secret_holds_push_and_pull_configs_and_masks_both(registry_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KANIKO_PULL", PULL_CONN)
    masked = []
    monkeypatch.setattr("airflow_kaniko.operators.base.mask_secret", masked.append)
    fake = FakeCoreV1()
    op = with_fake_cluster(isolated(pull_conn_id="kaniko_pull"), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    secret = fake.objects[("Secret", f"{request.metadata.name}-credentials")]
    configs = {k: json.loads(base64.b64decode(v)) for k, v in secret.data.items()}
    auth = lambda user, pw: base64.b64encode(f"{user}:{pw}".encode()).decode()  # noqa: E731
    assert configs == {
        "config.json": {"auths": {REG: {"auth": auth("builder", PASSWORD)}}},
        "pull-config.json": {"auths": {REG: {"auth": auth("reader", "R3ad-0nly-pw")}}},
    }
    assert {PASSWORD, auth("builder", PASSWORD), "R3ad-0nly-pw", auth("reader", "R3ad-0nly-pw")} <= set(masked)


def status(name, exit_code, message):
    terminated = k8s.V1ContainerStateTerminated(
        exit_code=exit_code, message=message, reason="Completed" if exit_code == 0 else "Error"
    )
    return k8s.V1ContainerStatus(
        name=name, state=k8s.V1ContainerState(terminated=terminated), image="", image_id="", ready=False, restart_count=0
    )


def waiting(name):
    return k8s.V1ContainerStatus(
        name=name,
        state=k8s.V1ContainerState(waiting=k8s.V1ContainerStateWaiting(reason="PodInitializing")),
        image="",
        image_id="",
        ready=False,
        restart_count=0,
    )


def finished(request, phase, init, main):
    return k8s.V1Pod(
        metadata=request.metadata,
        spec=request.spec,
        status=k8s.V1PodStatus(phase=phase, init_container_statuses=init, container_statuses=main),
    )


@pytest.fixture
def executor_logs(monkeypatch):
    read = []
    monkeypatch.setattr(
        "airflow.providers.cncf.kubernetes.utils.pod_manager.PodManager.fetch_container_logs",
        lambda self, pod, container_name, **kw: read.append((container_name, kw.get("follow"))),
    )
    return read


def test_success_reads_the_digest_from_the_first_destinations_pusher(registry_conn, executor_logs):
    fake = FakeCoreV1()
    op = with_fake_cluster(isolated(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    init = [status("kaniko", 0, DIGEST), status("push-1", 0, f"{REG}/demo/hello@{DIGEST}")]
    assert finish(op, request, finished(request, "Succeeded", init, [status("push", 0, f"{REG}/demo/hello@{DIGEST}")])) == {
        "digest": DIGEST,
        "images": [f"{REG}/demo/hello:1@{DIGEST}", f"{REG}/demo/hello:latest@{DIGEST}"],
    }
    assert executor_logs == [("kaniko", False)]  # the build's own log reaches the task log
    assert fake.objects == {}


def test_a_pusher_reporting_another_digest_than_the_executor_built_fails(registry_conn, executor_logs):
    op = with_fake_cluster(isolated(), FakeCoreV1())
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    other = "sha256:" + "e" * 64
    init = [status("kaniko", 0, DIGEST), status("push-1", 0, f"{REG}/demo/hello@{other}")]
    with pytest.raises(
        KanikoBuildFailed,
        match=f"result is unreadable: .* says {REG}/demo/hello:latest got {other}, but the executor built {DIGEST}",
    ):
        finish(op, request, finished(request, "Succeeded", init, [status("push", 0, f"{REG}/demo/hello@{DIGEST}")]))


class FinishedPodCluster(FakeCoreV1):
    """Serves the finished pod on read, as the API server does after the executor failed."""

    finished = None

    def read_namespaced_pod(self, name, namespace, **kwargs):
        return self.finished or super().read_namespaced_pod(name, namespace, **kwargs)


def test_a_stale_pod_from_kpo_is_re_read_so_the_failure_names_the_executor(registry_conn, executor_logs):
    fake = FinishedPodCluster()
    op = with_fake_cluster(isolated(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    fake.finished = finished(
        request, "Failed", [status("kaniko", 3, "error building image: exit status 3\n"), waiting("push-1")], [waiting("push")]
    )
    stale = finished(request, "Pending", [waiting("kaniko"), waiting("push-1")], [waiting("push")])
    with pytest.raises(
        KanikoBuildFailed,
        match=(
            "container kaniko \\(exit code 3, Error; dockerfile failure, not retried: the same inputs fail the same "
            "way\\):\nerror building image: exit status 3"
        ),
    ):
        op.cleanup(request, stale)
    assert executor_logs == [("kaniko", False)]


def test_a_failed_build_names_the_executor_and_carries_kanikos_error(registry_conn, executor_logs):
    op = with_fake_cluster(isolated(), FakeCoreV1())
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    tail = 'time="t" level=info msg="RUN false"\ntime="t" level=error msg="error building image: exit status 1"\n'
    with pytest.raises(KanikoBuildFailed) as info:
        op.cleanup(request, finished(request, "Failed", [status("kaniko", 1, tail), waiting("push-1")], [waiting("push")]))
    assert str(info.value) == (
        f"Kaniko build of hello failed in pod kaniko-builds/{request.metadata.name}, container kaniko (exit code 1, "
        f"Error; dockerfile failure, not retried: the same inputs fail the same way):\n"
        'time="t" level=error msg="error building image: exit status 1"'
    )


def test_a_failed_push_names_the_pusher(registry_conn, executor_logs):
    op = with_fake_cluster(isolated(), FakeCoreV1())
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    error = "Error: PUT https://10.244.77.1:5000/v2/demo/hello/manifests/latest: UNAUTHORIZED: authentication required\n"
    with pytest.raises(
        KanikoBuildFailed,
        match="container push-1 \\(exit code 1, Error; push failure, a retry can help\\):\nError: PUT .* UNAUTHORIZED",
    ):
        op.cleanup(
            request, finished(request, "Failed", [status("kaniko", 0, DIGEST), status("push-1", 1, error)], [waiting("push")])
        )


def test_credentials_never_in_any_containers_args(registry_conn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KANIKO_PULL", PULL_CONN)
    op = with_fake_cluster(isolated(pull_conn_id="kaniko_pull"), FakeCoreV1())
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    text = json.dumps(api_dict(request)) + repr({f: getattr(op, f) for f in op.template_fields})
    for secret in (PASSWORD, "R3ad-0nly-pw", base64.b64encode(f"builder:{PASSWORD}".encode()).decode()):
        assert secret not in text


@pytest.mark.parametrize("isolate", [False, True])
def test_the_build_specs_are_computed_once_per_run(registry_conn, executor_logs, monkeypatch, isolate):
    """Validating the build (and resolving its context) happens once, not in every seam that needs a spec."""
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

    computed = []
    build_specs = KanikoBuildOperator.build_specs
    monkeypatch.setattr(KanikoBuildOperator, "build_specs", lambda self: computed.append(1) or build_specs(self))
    op = with_fake_cluster(isolated() if isolate else operator(), FakeCoreV1())
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    init = [status("kaniko", 0, DIGEST), status("push-1", 0, f"{REG}/demo/hello@{DIGEST}")]
    pod = finished(request, "Succeeded", init, [status("push", 0, f"{REG}/demo/hello@{DIGEST}")])
    if not isolate:
        pod.status.init_container_statuses = None
        pod.status.container_statuses[0].name = "kaniko"
        pod.status.container_statuses[0].state.terminated.message = DIGEST
    assert finish(op, request, pod)["digest"] == DIGEST
    assert computed == [1]
