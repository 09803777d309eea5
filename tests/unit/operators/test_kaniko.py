import base64
import json
from pathlib import Path

import kubernetes_validate
import pytest
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow_kaniko.kaniko.errors import KanikoSpecError
from airflow_kaniko.operators.kaniko import KanikoBuildFailed, KanikoBuildOperator
from tests.unit.conftest import PASSWORD
from tests.unit.operators.fake_kube import FakeCoreV1

ROOT = Path(__file__).resolve().parents[3]
CONTEXT = ROOT / "dags" / "images" / "hello"
REG = "10.244.77.1:5000"
DIGEST = "sha256:" + "d" * 64
# What Pod Security "baseline" allows to be added (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
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
    op = operator(registry_ca={"registry": REG, "config_map": "registry-ca"}, build_args={"BASE": f"{REG}/library/busybox:latest"})
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
    ]
    assert container["command"] == []  # the image's entrypoint is the executor: no shell
    assert container["volumeMounts"] == [
        {"name": "docker-config", "mountPath": "/kaniko/.docker", "readOnly": True},
        {"name": "build-context", "mountPath": "/workspace", "readOnly": True},
        {"name": "registry-ca-0", "mountPath": "/kaniko/registry-ca/0", "readOnly": True},
    ]
    assert pod["spec"]["volumes"] == [
        {"name": "docker-config", "secret": {"secretName": f"{name}-credentials", "items": [{"key": "config.json", "path": "config.json"}]}},
        {"name": "build-context", "configMap": {"name": f"{name}-context", "items": [{"key": "context.tar.gz", "path": "context.tar.gz"}]}},
        {"name": "registry-ca-0", "configMap": {"name": "registry-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    ]


def test_existing_registry_secret_and_git_secret():
    op = operator(registry_conn_id=None, registry_secret="team-pusher", git_secret="git-creds", context="git://git.example.com/acme/app.git#refs/heads/main")
    pod = api_dict(rendered(op))
    assert pod["spec"]["volumes"] == [
        {"name": "docker-config", "secret": {"secretName": "team-pusher", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}}
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
    op.__dict__["client"] = fake
    op.__dict__["pod_manager"] = PodManager(kube_client=fake)
    return op


def test_objects_created_before_the_pod_then_owned_by_it(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    name = request.metadata.name
    assert op.get_or_create_pod(request, context={}) is request
    assert fake.calls == [
        ("create_secret", f"{name}-credentials"),
        ("create_config_map", f"{name}-context"),
        ("create_pod", name),
        ("read_pod", name),
        ("patch_secret", f"{name}-credentials"),
        ("patch_config_map", f"{name}-context"),
    ]
    secret = fake.objects[("Secret", f"{name}-credentials")]
    owner = {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": "uid-1234"}
    assert secret.metadata.owner_references == [owner]
    assert fake.objects[("ConfigMap", f"{name}-context")].metadata.owner_references == [owner]
    config = json.loads(base64.b64decode(secret.data["config.json"]))
    assert config == {"auths": {REG: {"auth": base64.b64encode(f"builder:{PASSWORD}".encode()).decode()}}}
    assert secret.immutable is True


def test_pod_creation_failure_removes_the_objects(registry_conn):
    fake = FakeCoreV1(fail_on="create_pod")
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    with pytest.raises(Exception, match="create_pod forbidden"):
        op.get_or_create_pod(request, context={})
    assert [verb for verb, _ in fake.calls] == ["create_secret", "create_config_map", "create_pod", "delete_config_map", "delete_secret"]
    assert fake.objects == {}


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        (None, "isn't defined"),
        ('{"conn_type": "http", "host": "r", "login": "u", "password": "p"}', "conn type 'http'; it must be 'docker'"),
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
    terminated = k8s.V1ContainerStateTerminated(exit_code=exit_code, message=message, reason="Completed" if exit_code == 0 else "Error")
    status = k8s.V1ContainerStatus(name="kaniko", state=k8s.V1ContainerState(terminated=terminated), image="", image_id="", ready=False, restart_count=0)
    return k8s.V1Pod(metadata=request.metadata, spec=request.spec, status=k8s.V1PodStatus(phase=phase, container_statuses=[status]))


def test_success_maps_the_digest_onto_every_destination(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    op.cleanup(request, finished_pod(request, exit_code=0, message=DIGEST, phase="Succeeded"))
    assert op._result == {"digest": DIGEST, "images": [f"{REG}/demo/hello:1@{DIGEST}", f"{REG}/demo/hello:latest@{DIGEST}"]}
    assert fake.objects == {}  # deleted explicitly, not only by garbage collection


def test_failure_is_short_and_carries_kaniko_error(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    tail = 'time="t" level=info msg="Retrieving image"\ntime="t" level=error msg="error building image: exit status 3"\n'
    with pytest.raises(KanikoBuildFailed) as info:
        op.cleanup(request, finished_pod(request, exit_code=1, message=tail, phase="Failed"))
    assert str(info.value) == (
        f"Kaniko build of hello failed in pod kaniko-builds/{request.metadata.name} (exit code 1, Error):\n"
        'time="t" level=error msg="error building image: exit status 3"'
    )
    assert fake.objects == {}


def test_success_with_an_unreadable_message_fails_clearly(registry_conn):
    op = with_fake_cluster(operator(), FakeCoreV1())
    request = rendered(op)
    with pytest.raises(KanikoBuildFailed, match="finished, but its result is unreadable"):
        op.cleanup(request, finished_pod(request, exit_code=0, message="", phase="Succeeded"))


def test_on_kill_deletes_the_objects(registry_conn):
    fake = FakeCoreV1()
    op = with_fake_cluster(operator(), fake)
    request = rendered(op)
    op.pod = op.get_or_create_pod(request, context={})
    op.on_kill()
    assert fake.objects == {}
    assert ("delete_pod", request.metadata.name) in fake.calls


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
    from airflow.sdk import DAG  # noqa: F401  (templates render with a plain Jinja env here)
    import jinja2

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
    assert op.build_specs()[0].context == str(Path(__file__).parent / "../../../dags/images/hello")
    assert op.build_pod_request_obj(dry_run=True).spec.containers[0].args[0] == "--context=tar:///workspace/context.tar.gz"


def test_password_and_its_base64_form_are_masked_in_logs(registry_conn, monkeypatch):
    masked = []
    monkeypatch.setattr("airflow_kaniko.operators.base.mask_secret", masked.append)
    op = with_fake_cluster(operator(), FakeCoreV1())
    op.get_or_create_pod(rendered(op), context={})
    auth = base64.b64encode(f"builder:{PASSWORD}".encode()).decode()
    assert PASSWORD in masked and auth in masked
