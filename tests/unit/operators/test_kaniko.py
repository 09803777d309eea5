import base64
import json
from pathlib import Path

import kubernetes_validate
import pytest
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.operators.kaniko import KanikoBuildFailed, KanikoBuildOperator
from airflow_kaniko.results import BuildFailure
from airflow_kaniko.utils.build_objects import GATE
from tests.conftest import PASSWORD
from tests.unit.operators.fake_kube import POD_UID, FakeCoreV1, FakeTI, finish

ROOT = Path(__file__).resolve().parents[3]
CONTEXT = ROOT / "dags" / "images" / "hello"
REG = "10.244.77.1:5000"
DIGEST = "sha256:" + "d" * 64
# What Pod Security "baseline" allows to be added (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}


def operator(**overrides):
    kwargs = {
        "task_id": "build",
        "namespace": "kaniko-builds",
        "context": str(CONTEXT),
        "destinations": [f"{REG}/demo/hello:1", f"{REG}/demo/hello:latest"],
        "registry_conn_id": "kaniko_registry",
        "image_name": "hello",
        "durable": False,
        "context_roots": [str(ROOT / "dags")],  # no DAG file here to default to
    }
    return KanikoBuildOperator(**{**kwargs, **overrides})


def api_dict(pod):
    return ApiClient().sanitize_for_serialization(pod)


def rendered(op):
    return op.build_pod_request_obj(dry_run=True)


def test_is_a_kubernetes_pod_operator():
    assert issubclass(KanikoBuildOperator, KubernetesPodOperator)
    assert set(KubernetesPodOperator.template_fields) <= set(KanikoBuildOperator.template_fields)


def test_hardened_pod_defaults():
    pod = api_dict(rendered(operator()))
    container = pod["spec"]["containers"][0]
    assert container["name"] == "kaniko"
    assert container["image"] == "ghcr.io/osscontainertools/kaniko:v1.28.3"
    assert container["securityContext"] == {
        "privileged": False,
        "runAsUser": 0,
        "runAsNonRoot": False,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["spec"]["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["activeDeadlineSeconds"] == 3600
    assert pod["spec"]["restartPolicy"] == "Never"
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert pod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "airflow-kaniko"
    assert pod["metadata"]["labels"]["airflow-kaniko/image"] == "hello"
    assert pod["metadata"]["name"].startswith("kaniko-hello-")


def test_pod_meets_pod_security_baseline():
    spec = api_dict(rendered(operator()))["spec"]
    assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert not any("hostPath" in v for v in spec["volumes"])
    for container in spec["containers"]:
        ctx = container["securityContext"]
        assert ctx["privileged"] is False
        assert set(ctx["capabilities"]["add"]) <= BASELINE_CAPABILITIES
        assert ctx["seccompProfile"]["type"] != "Unconfined"
        assert not container.get("ports")


def test_pod_is_valid_against_the_kubernetes_schema():
    pod = api_dict(rendered(operator(registry_ca={"registry": REG, "config_map": "registry-ca"}, git_conn_id="git")))
    kubernetes_validate.validate(pod, "1.37", strict=True)


def test_args_volumes_and_secret_names():
    op = operator(
        registry_ca={"registry": REG, "config_map": "registry-ca"}, build_args={"BASE": f"{REG}/library/busybox:latest"}
    )
    pod = api_dict(rendered(op))
    name = pod["metadata"]["name"]
    container = pod["spec"]["containers"][0]
    assert container["args"] == [
        "--context=tar:///workspace/context.tar.gz",
        "--dockerfile=Dockerfile",
        f"--destination={REG}/demo/hello:1",
        f"--destination={REG}/demo/hello:latest",
        "--digest-file=/dev/termination-log",
        "--log-format=text",
        f"--build-arg=BASE={REG}/library/busybox:latest",
        f"--registry-certificate={REG}=/kaniko/registry-ca/0/ca.crt",
        "--push-retry=3",
        "--image-download-retry=3",
    ]
    assert container["command"] == []  # the image's entrypoint is the executor: no shell
    assert container["volumeMounts"] == [
        {"name": "docker-config", "mountPath": "/kaniko/.docker", "readOnly": True},
        {"name": "build-context", "mountPath": "/workspace", "readOnly": True},
        {"name": "registry-ca-0", "mountPath": "/kaniko/registry-ca/0", "readOnly": True},
    ]
    assert pod["spec"]["volumes"] == [
        {
            "name": "docker-config",
            "secret": {"secretName": f"{name}-credentials", "items": [{"key": "config.json", "path": "config.json"}]},
        },
        {
            "name": "build-context",
            "configMap": {"name": f"{name}-context", "items": [{"key": "context.tar.gz", "path": "context.tar.gz"}]},
        },
        {"name": "registry-ca-0", "configMap": {"name": "registry-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    ]


def test_existing_registry_secret_and_git_secret():
    op = operator(
        registry_conn_id=None,
        registry_secret="team-pusher",
        git_secret="git-creds",
        context="git://git.example.com/acme/app.git#refs/heads/main",
    )
    pod = api_dict(rendered(op))
    assert pod["spec"]["volumes"] == [
        {
            "name": "docker-config",
            "secret": {"secretName": "team-pusher", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
        }
    ]
    assert pod["spec"]["containers"][0]["env"] == [
        {"name": "GIT_USERNAME", "valueFrom": {"secretKeyRef": {"name": "git-creds", "key": "username"}}},
        {"name": "GIT_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "git-creds", "key": "password"}}},
    ]


def test_every_default_can_be_overridden():
    op = operator(
        container_security_context={"runAsUser": 0, "capabilities": {"drop": ["ALL"]}},
        automount_service_account_token=True,
        active_deadline_seconds=60,
        container_resources={"limits": {"memory": "8Gi"}},
        executor_image="registry.example.com/kaniko@sha256:" + "e" * 64,
        node_selector={"dedicated": "kaniko"},
        tolerations=[k8s.V1Toleration(key="dedicated", value="kaniko", effect="NoSchedule")],
    )
    pod = api_dict(rendered(op))
    assert pod["spec"]["containers"][0]["securityContext"] == {"runAsUser": 0, "capabilities": {"drop": ["ALL"]}}
    assert pod["spec"]["automountServiceAccountToken"] is True
    assert pod["spec"]["activeDeadlineSeconds"] == 60
    assert pod["spec"]["containers"][0]["resources"] == {"limits": {"memory": "8Gi"}}
    assert pod["spec"]["containers"][0]["image"].endswith("@sha256:" + "e" * 64)
    assert pod["spec"]["nodeSelector"] == {"dedicated": "kaniko"}
    assert pod["spec"]["tolerations"] == [{"key": "dedicated", "value": "kaniko", "effect": "NoSchedule"}]


@pytest.mark.parametrize("owned", ["image", "cmds", "arguments", "do_xcom_push"])
def test_parameters_the_operator_owns(owned):
    with pytest.raises(ValueError, match=f"sets '{owned}' itself"):
        operator(**{owned: ["x"]})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"destinations": ["repo/app:1 --insecure"]}, "destinations"),
        ({"context": "ftp://nope"}, "context"),
        ({"context": str(ROOT / "no-such-dir")}, "context"),
        ({"extra_args": ["--destination=evil/x:1"]}, "extra_args"),
        ({"registry_secret": "team-pusher"}, "registry_secret"),
        ({"registry_ca": {"registry": REG}}, "registry_ca"),
        ({"registry_ca": {"registry": REG, "config_map": "Bad_Name"}}, "registry_ca"),
        ({"cache": "maybe"}, "cache"),
        ({"render_only": "perhaps"}, "render_only"),
        ({"container_resources": {"cpu": "1"}}, "container_resources"),
    ],
)
def test_invalid_input_fails_before_any_object_exists(overrides, field):
    fake = FakeCoreV1()
    with pytest.raises(KanikoSpecError) as info:
        op = operator(**overrides)
        op.__dict__["client"] = fake
        op.build_pod_request_obj(dry_run=True)
        op.execute({"ti": None}) if field == "render_only" else None
    assert info.value.field.startswith(field)
    assert fake.calls == []


def test_dry_run_needs_no_cluster(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    operator().dry_run()
    out = capsys.readouterr().out
    assert "kaniko-hello-" in out and "-credentials" in out and "-context" in out


def with_fake_cluster(op, fake):
    op.__dict__["client"] = fake  # the operator's own pod_manager is built on it
    return op


def test_pod_first_then_its_objects_owned_from_birth(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    name = request.metadata.name
    assert [g.name for g in request.spec.scheduling_gates] == [GATE]  # it cannot start before its objects are proven
    assert op.get_or_create_pod(request, context={}) is request
    # No moment exists in which a Secret is unowned: it is created with its ownerReference.
    assert fake.calls == [
        ("create_pod", name),
        ("read_pod", name),
        ("create_secret", f"{name}-credentials"),
        ("create_config_map", f"{name}-context"),
        ("patch_pod", name),
    ]
    assert fake.patches == [(name, [{"op": "replace", "path": "/spec/schedulingGates", "value": []}])]
    assert request.spec.scheduling_gates == []
    secret = fake.objects[("Secret", f"{name}-credentials")]
    owner = k8s.V1OwnerReference(api_version="v1", kind="Pod", name=name, uid=POD_UID)
    assert secret.metadata.owner_references == [owner]
    assert fake.objects[("ConfigMap", f"{name}-context")].metadata.owner_references == [owner]
    config = json.loads(base64.b64decode(secret.data["config.json"]))
    assert config == {"auths": {REG: {"auth": base64.b64encode(f"builder:{PASSWORD}".encode()).decode()}}}
    assert secret.immutable is True


def test_a_pod_without_objects_of_its_own_is_not_gated():
    op = operator(context="git://github.com/acme/app.git#refs/heads/main", registry_conn_id=None, registry_secret="team-pusher")
    assert not op.build_pod_request_obj(dry_run=True).spec.scheduling_gates


@pytest.mark.parametrize(("kind", "suffix"), [("ConfigMap", "context"), ("Secret", "credentials")])
def test_a_planted_object_fails_the_build_before_it_runs_and_is_left_alone(registry_conn, kind, suffix):
    """Whoever can create objects in the namespace and watch pods may take the build's object name first."""
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    name = request.metadata.name
    planted = f"planted by someone else as {name}-{suffix}"
    fake.objects[(kind, f"{name}-{suffix}")] = planted
    with pytest.raises(KanikoBuildFailed, match=f"{kind} kaniko-builds/{name}-{suffix} already exists and is not this build's"):
        op.get_or_create_pod(request, context={})
    assert ("patch_pod", name) not in fake.calls  # never let schedule: its container never ran
    assert fake.objects == {(kind, f"{name}-{suffix}"): planted}  # the pod and our own object gone, the planted one kept
    op.cleanup(request, None)  # KPO cleans up after the failed start: by name, but not what it refused
    assert fake.objects == {(kind, f"{name}-{suffix}"): planted}


def reattached(op, fake, monkeypatch, *, gated):
    """KPO found the pod of an earlier try still running (reattach_on_restart) and hands it over."""
    request = rendered(op)
    running = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=request.metadata.name, namespace="kaniko-builds", uid="uid-earlier"),
        spec=k8s.V1PodSpec(containers=[], scheduling_gates=[k8s.V1PodSchedulingGate(name=GATE)] if gated else None),
        status=k8s.V1PodStatus(phase="Pending"),
    )
    monkeypatch.setattr(KubernetesPodOperator, "get_or_create_pod", lambda self, req, ctx: running)
    return request, running


def test_a_reattached_pod_let_schedule_was_equipped_by_an_earlier_try(registry_conn, monkeypatch):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request, running = reattached(op, fake, monkeypatch, gated=False)
    assert op.get_or_create_pod(request, context={}) is running
    assert fake.calls == []  # the try that removed the gate had created, and proven, its objects


def test_a_reattached_pod_still_gated_gets_its_objects(registry_conn, monkeypatch):
    """A worker that died between creating the pod and its objects: the retry equips the waiting pod."""
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request, running = reattached(op, fake, monkeypatch, gated=True)
    name = request.metadata.name
    assert op.get_or_create_pod(request, context={}) is running
    assert fake.calls == [
        ("create_secret", f"{name}-credentials"),
        ("create_config_map", f"{name}-context"),
        ("patch_pod", name),
    ]
    assert fake.objects[("Secret", f"{name}-credentials")].metadata.owner_references[0].uid == "uid-earlier"


def test_a_reattached_gated_pod_with_an_existing_object_is_not_run(registry_conn, monkeypatch):
    """Its earlier try may have created the object, or someone else did: unproven, so refused, and kept."""
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request, _ = reattached(op, fake, monkeypatch, gated=True)
    name = request.metadata.name
    fake.objects[("ConfigMap", f"{name}-context")] = "created before this try"
    with pytest.raises(KanikoBuildFailed, match="already exists and is not this build's"):
        op.get_or_create_pod(request, context={})
    assert fake.objects == {("ConfigMap", f"{name}-context"): "created before this try"}
    assert ("delete_pod", name) in fake.calls


def test_pod_creation_failure_creates_nothing_else(registry_conn):
    fake = FakeCoreV1(fail_on="create_pod")
    op = with_fake_cluster(operator(), fake)
    with pytest.raises(Exception, match="Forbidden"):
        op.get_or_create_pod(rendered(op), context={})
    assert [verb for verb, _ in fake.calls] == ["create_pod"]
    assert fake.objects == {}


@pytest.mark.parametrize("verb", ["read_pod", "create_secret", "create_config_map"])
def test_failing_to_equip_the_pod_deletes_it_and_everything_created(registry_conn, verb):
    fake = FakeCoreV1(fail_on=verb)
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    with pytest.raises(Exception, match="Forbidden"):
        op.get_or_create_pod(request, context={})
    assert ("delete_pod", request.metadata.name) in fake.calls
    assert fake.objects == {}  # no pod left to re-attach to without its credentials


def test_forbidden_names_the_verb_and_the_role(registry_conn):
    op = with_fake_cluster(operator(), FakeCoreV1(fail_on="create_secret"))
    request = rendered(op)
    with pytest.raises(KanikoBuildFailed) as info:
        op.get_or_create_pod(request, context={})
    assert str(info.value) == (
        f"Could not create Secret kaniko-builds/{request.metadata.name}-credentials: 403 Forbidden "
        "(the worker's Role needs this verb: see deploy/worker-rbac.yaml)"
    )


@pytest.mark.parametrize("status", [429, 503])
def test_transient_api_errors_are_retried_with_kpos_policy(registry_conn, status, naps):
    fake = FakeCoreV1(fail_on={"create_secret": status}, fail_times=2)
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    assert [verb for verb, _ in fake.calls].count("create_secret") == 3
    # KPO's waits, recorded (tests/unit/conftest.py): the 429's Retry-After (0), else its exponential backoff.
    assert naps == ([0.0, 0.0] if status == 429 else [1.0, 2.0])
    assert ("Secret", f"{request.metadata.name}-credentials") in fake.objects


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        (None, "isn't defined"),
        (
            '{"conn_type": "http", "host": "r", "login": "u", "password": "p"}',
            "conn type 'http'; it must be 'oci_registry' or 'docker'",
        ),
        ('{"conn_type": "docker", "host": "r", "login": "u"}', "has no password"),
    ],
)
def test_bad_connection_creates_nothing(monkeypatch, conn, message):
    if conn:
        monkeypatch.setenv("AIRFLOW_CONN_KANIKO_REGISTRY", conn)
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    with pytest.raises(Exception, match=message):
        op.get_or_create_pod(rendered(op), context={})
    assert fake.calls == []


def finished_pod(request, *, exit_code, message, phase):
    terminated = k8s.V1ContainerStateTerminated(
        exit_code=exit_code, message=message, reason="Completed" if exit_code == 0 else "Error"
    )
    status = k8s.V1ContainerStatus(
        name="kaniko", state=k8s.V1ContainerState(terminated=terminated), image="", image_id="", ready=False, restart_count=0
    )
    return k8s.V1Pod(
        metadata=request.metadata, spec=request.spec, status=k8s.V1PodStatus(phase=phase, container_statuses=[status])
    )


def test_success_maps_the_digest_onto_every_destination(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    assert finish(op, request, finished_pod(request, exit_code=0, message=DIGEST, phase="Succeeded")) == {
        "digest": DIGEST,
        "images": [f"{REG}/demo/hello:1@{DIGEST}", f"{REG}/demo/hello:latest@{DIGEST}"],
    }
    assert fake.objects == {}  # Secret and ConfigMap deleted explicitly; the pod too (on_finish_action)


def test_a_pod_gone_before_its_result_was_read_is_no_success_without_a_digest(registry_conn):
    """After a deferral KPO returns success, skipping cleanup, when the pod was deleted before the task resumed.

    Nothing can read the digest any more: the task fails (a retry builds again) instead of succeeding with no XCom.
    """

    class GoneHook:
        def get_pod(self, name, namespace):
            raise ApiException(status=404, reason="NotFound")

    op = with_fake_cluster(operator(deferrable=True), FakeCoreV1())
    op.__dict__["hook"] = GoneHook()
    ti = FakeTI()
    event = {"status": "success", "name": "kaniko-hello-x", "namespace": "kaniko-builds", "message": "Container succeeded"}
    with pytest.raises(KanikoBuildFailed, match="the build pod was deleted before its result") as info:
        op.trigger_reentry({"ti": ti}, event)
    detail = "the build pod was deleted before its result (the digest) could be read"
    assert info.value.failure == BuildFailure("unknown", True, detail)
    assert ti.xcoms == {
        "return_value": {
            "failed": True,
            "failure": {"kind": "unknown", "retryable": True, "detail": detail},
            "destinations": [f"{REG}/demo/hello:1", f"{REG}/demo/hello:latest"],
        }
    }


def test_cleanup_is_stateless_and_keeps_no_secret_with_a_kept_pod(registry_conn):
    """After a deferral a new process cleans up: it finds the objects by name, with nothing in memory."""
    fake = FakeCoreV1()
    creator = with_fake_cluster(operator(), fake)
    request = rendered(creator)
    creator.get_or_create_pod(request, context={})
    resumed = with_fake_cluster(operator(on_finish_action="keep_pod"), fake)
    resumed.cleanup(request, finished_pod(request, exit_code=0, message=DIGEST, phase="Succeeded"))
    assert set(fake.objects) == {("Pod", request.metadata.name)}  # the kept pod, without its credentials


def ti_recorder():
    pushed = {}

    class TI:
        def xcom_push(self, key, value):
            pushed[key] = value

    return {"ti": TI()}, pushed


def test_dockerfile_failure_is_final_and_says_why(registry_conn):
    from airflow.providers.common.compat.sdk import AirflowFailException

    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    tail = (
        'time="t" level=info msg="Retrieving image"\nerror building image: error building stage: failed to execute '
        "command: waiting for process to exit: exit status 3\n"
    )
    context, pushed = ti_recorder()
    with pytest.raises(KanikoBuildFailed) as info:
        op.cleanup(request, finished_pod(request, exit_code=1, message=tail, phase="Failed"), context=context)
    assert isinstance(info.value, AirflowFailException)  # the task fails without retry
    assert str(info.value) == (
        f"Kaniko build of hello failed in pod kaniko-builds/{request.metadata.name} "
        "(exit code 1, Error; dockerfile failure, not retried: the same inputs fail the same way):\n"
        "error building image: error building stage: failed to execute command: waiting for process to exit: exit status 3"
    )
    assert pushed["return_value"]["failure"]["kind"] == "dockerfile" and pushed["return_value"]["failure"]["retryable"] is False
    assert pushed["return_value"]["destinations"] == [f"{REG}/demo/hello:1", f"{REG}/demo/hello:latest"]
    assert fake.objects == {}


def test_push_failure_stays_retryable(registry_conn):
    from airflow.providers.common.compat.sdk import AirflowFailException

    op = with_fake_cluster(operator(), FakeCoreV1())
    request = rendered(op)
    tail = (
        "error pushing image: failed to push to destination: PUT https://r/v2/x: unexpected status code 503 Service Unavailable"
    )
    with pytest.raises(KanikoBuildFailed) as info:
        op.cleanup(request, finished_pod(request, exit_code=1, message=tail, phase="Failed"))
    assert not isinstance(info.value, AirflowFailException)
    assert info.value.failure.kind == "registry"


def test_executor_image_pull_failure_names_the_reason_and_image(registry_conn):
    waiting = k8s.V1ContainerStateWaiting(
        reason="ErrImagePull", message='failed to pull "ghcr.io/osscontainertools/kaniko:v1.28.3": not found'
    )
    op = with_fake_cluster(operator(), FakeCoreV1(waiting=waiting))
    request = rendered(op)
    stale = k8s.V1Pod(metadata=request.metadata, spec=request.spec, status=k8s.V1PodStatus(phase="Pending"))
    with pytest.raises(KanikoBuildFailed) as info:
        op.cleanup(request, stale)
    assert str(info.value) == (
        f"Kaniko build of hello failed in pod kaniko-builds/{request.metadata.name} before the executor finished: "
        'container kaniko is waiting: ErrImagePull: failed to pull "ghcr.io/osscontainertools/kaniko:v1.28.3": not found '
        "(image ghcr.io/osscontainertools/kaniko:v1.28.3)"
    )
    assert info.value.failure.kind == "executor-image" and info.value.failure.retryable


def test_failure_message_and_its_xcom_are_redacted(registry_conn):
    op = with_fake_cluster(operator(), FakeCoreV1())
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    auth = base64.b64encode(f"builder:{PASSWORD}".encode()).decode()
    tail = (
        f'error building image: error building stage: failed to execute command: {{"auths": {{"{REG}": {{"auth": '
        f'"{auth}"}}}}}}: exit status 1'
    )
    context, pushed = ti_recorder()
    with pytest.raises(KanikoBuildFailed) as info:
        op.cleanup(request, finished_pod(request, exit_code=1, message=tail, phase="Failed"), context=context)
    for text in (str(info.value), json.dumps(pushed)):
        assert auth not in text and PASSWORD not in text
    assert "failed to execute command: ***: exit status 1" in str(info.value)
    assert pushed["return_value"]["failure"]["detail"].endswith("failed to execute command: ***: exit status 1")


def test_success_with_an_unreadable_message_fails_clearly(registry_conn):
    op = with_fake_cluster(operator(), FakeCoreV1())
    request = rendered(op)
    with pytest.raises(KanikoBuildFailed, match="finished, but its result is unreadable"):
        finish(op, request, finished_pod(request, exit_code=0, message="", phase="Succeeded"))


def test_on_kill_deletes_the_pod_and_its_objects(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.pod = op.get_or_create_pod(request, context={})
    op.on_kill()
    assert fake.objects == {}
    assert ("delete_pod", request.metadata.name) in fake.calls


def test_logging_interval_is_refused_pointing_at_progress_interval():
    with pytest.raises(ValueError, match="does not support logging_interval; progress_interval sets how often"):
        operator(logging_interval=30)


def test_credentials_never_in_pod_args_or_template_fields(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    auth = base64.b64encode(f"builder:{PASSWORD}".encode()).decode()
    pod_text = json.dumps(api_dict(request))
    fields_text = repr({f: getattr(op, f) for f in op.template_fields})
    for text in (pod_text, fields_text):
        assert PASSWORD not in text and auth not in text


def test_templated_fields_render():
    import jinja2

    from airflow.sdk import DAG  # noqa: F401  (templates render with a plain Jinja env here)

    op = operator(
        context="{{ params.ctx }}",
        destinations=["{{ params.reg }}/demo/hello:{{ ds_nodash }}"],
        build_args={"V": "{{ params.v }}"},
        image_labels={"built": "{{ ds }}"},
        render_only="{{ params.dry }}",
    )
    context = {"params": {"ctx": str(CONTEXT), "reg": REG, "v": "7", "dry": True}, "ds_nodash": "20261130", "ds": "2026-11-30"}
    op.render_template_fields(context, jinja_env=jinja2.Environment())
    assert op.destinations == [f"{REG}/demo/hello:20261130"]
    assert op.build_args == {"V": "7"} and op.image_labels == {"built": "2026-11-30"}
    assert op.render_only == "True"
    assert f"--destination={REG}/demo/hello:20261130" in rendered(op).spec.containers[0].args


def test_relative_local_context_is_relative_to_the_dag_file():
    from airflow.sdk import DAG

    with DAG("relative_context", schedule=None):
        op = operator(context="../../../dags/images/hello")
    assert op.build_specs()[0].context == str(CONTEXT)
    assert op.build_pod_request_obj(dry_run=True).spec.containers[0].args[0] == "--context=tar:///workspace/context.tar.gz"


def test_password_and_its_base64_form_are_masked_in_logs(registry_conn, monkeypatch):
    masked = []
    monkeypatch.setattr("airflow_kaniko.operators.base.mask_secret", masked.append)
    op = with_fake_cluster(operator(), FakeCoreV1())
    op.get_or_create_pod(rendered(op), context={})
    auth = base64.b64encode(f"builder:{PASSWORD}".encode()).decode()
    assert PASSWORD in masked and auth in masked


def config_json_line():
    auth = base64.b64encode(f"builder:{PASSWORD}".encode()).decode()
    return auth, f'{{"auths": {{"{REG}": {{"auth": "{auth}"}}}}}}'


@pytest.mark.parametrize("marker", ["", "::group::"])
def test_streamed_build_output_is_redacted_at_its_source(registry_conn, capsys, marker):
    """`airflow dags test` configures no masking at all, so the operator's PodManager redacts itself."""
    auth, line = config_json_line()
    op = with_fake_cluster(operator(), FakeCoreV1())
    op._load_credentials()
    op.pod_manager._log_message(marker + line, "kaniko", True, None)
    out = capsys.readouterr().out
    assert auth not in out and PASSWORD not in out
    assert f"{marker or '[kaniko] '}***" in out


def test_a_resumed_deferred_task_redacts_before_it_logs(registry_conn, capsys, monkeypatch):
    """trigger_reentry runs in a new process; it learns the secrets before KPO logs the build."""
    auth, line = config_json_line()

    def parent_reentry(self, context, event):
        self.pod_manager._log_message(line, "kaniko", True, None)
        self.pod = finished_pod(rendered(self), exit_code=0, message=DIGEST, phase="Succeeded")

    monkeypatch.setattr(KubernetesPodOperator, "trigger_reentry", parent_reentry)
    with_fake_cluster(operator(), FakeCoreV1()).trigger_reentry(context={"ti": FakeTI()}, event={"status": "success"})
    out = capsys.readouterr().out
    assert auth not in out
    assert "[kaniko] ***" in out


def test_log_fetch_after_a_deferral_keeps_kpos_retry_on_transient_api_errors(monkeypatch):
    """The _write_logs override (redaction) keeps the parent's retry: a 500 from the apiserver is tried again."""
    import tenacity
    from kubernetes.client.exceptions import ApiException

    calls = []
    failures = [1]  # how many calls fail before one succeeds

    def fetch(self, pod, container, **kwargs):
        calls.append(container)
        if len(calls) <= failures[0]:
            raise ApiException(status=500, reason="etcd leader changed")

    monkeypatch.setattr(PodManager, "fetch_container_logs", fetch)
    op = with_fake_cluster(operator(), FakeCoreV1())
    pod = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="kaniko-hello-x", namespace="kaniko-builds"))
    write_logs = KanikoBuildOperator._write_logs.retry_with(wait=tenacity.wait_none())
    write_logs(op, pod)
    assert calls == ["kaniko", "kaniko"]
    calls.clear()
    failures[0] = 10
    with pytest.raises(ApiException):
        write_logs(op, pod)
    assert len(calls) == 3  # KPO's three attempts, then the error
