import kubernetes_validate
import pytest
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko import multi_build_script
from airflow_kaniko.operators.kaniko import KanikoBuildFailed
from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator
from tests.conftest import ROOT
from tests.unit.operators.fake_kube import FakeCoreV1, finish

REG = "10.244.77.1:5000"
HOSTILE = "a'b\"c ; $(reboot) `id`\n--insecure"
D0, D1 = "sha256:" + "0" * 64, "sha256:" + "1" * 64


def operator(**overrides):
    builds = [
        {
            "name": "hello",
            "context": str(ROOT / "dags/images/hello"),
            "destinations": [f"{REG}/demo/hello:1"],
            "build_args": {"X": HOSTILE},
        },
        {
            "name": "app",
            "context": str(ROOT / "dags/images/app"),
            "destinations": [f"{REG}/demo/app:1", f"{REG}/demo/app:2"],
            "labels": {"l": HOSTILE},
        },
    ]
    kwargs = {
        "task_id": "builds",
        "namespace": "kaniko-builds",
        "builds": builds,
        "registry_conn_id": "kaniko_registry",
        "durable": False,
    }
    kwargs["context_roots"] = [str(ROOT / "dags"), "/x"]  # no DAG file here to default to; /x for the bad-input cases
    return KanikoMultiBuildOperator(**{**kwargs, **overrides})


def test_rendered_command_args_and_volumes():
    op = operator()
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))
    container = pod["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/osscontainertools/kaniko:v1.28.3-debug"
    assert container["command"] == ["/busybox/sh", "-c", multi_build_script.SCRIPT]
    specs = op.build_specs()
    assert container["args"] == multi_build_script.command(specs)[3:]
    assert f"--build-arg=X={HOSTILE}" in container["args"] and f"--label=l={HOSTILE}" in container["args"]
    assert "--context=tar:///workspace/context-1.tar.gz" in container["args"]
    name = pod["metadata"]["name"]
    assert pod["spec"]["volumes"][1] == {
        "name": "build-context",
        "configMap": {
            "name": f"{name}-context",
            "items": [{"key": f"context-{i}.tar.gz", "path": f"context-{i}.tar.gz"} for i in (0, 1)],
        },
    }
    assert pod["spec"]["volumes"][-1] == {"name": "results", "emptyDir": {"sizeLimit": "1Mi"}}
    assert container["securityContext"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
    }
    kubernetes_validate.validate(pod, "1.37", strict=True)


def test_keep_going_flag_is_first_script_argument():
    assert operator().build_pod_request_obj(dry_run=True).spec.containers[0].args[1] == "0"
    assert operator(keep_going="true").build_pod_request_obj(dry_run=True).spec.containers[0].args[1] == "1"


@pytest.mark.parametrize(
    ("builds", "field"),
    [
        ("not a list", "builds"),
        ([{"name": "a", "context": "/x", "destinations": ["r/a:1"], "colour": "red"}], "builds[0]"),
        ([{"name": "a", "context": "/x"}], "builds[0]"),
        (
            [
                {"name": "a", "context": "/x", "destinations": ["r/a:1"]},
                {"name": "b", "context": "/x", "destinations": ["bad ref"]},
            ],
            "builds[1].destinations",
        ),
        ([{"name": "a", "context": "/x", "destinations": ["r/a:1"], "cache": "maybe"}], "builds[0].cache"),
        (
            [
                {"name": "a", "context": "/x", "destinations": ["r/a:1"]},
                {"name": "a", "context": "/x", "destinations": ["r/b:1"]},
            ],
            "builds[1].name",
        ),
    ],
)
def test_invalid_builds(builds, field):
    with pytest.raises(KanikoSpecError) as info:
        operator(builds=builds).build_specs()
    assert info.value.field == field


def finished(request, message, exit_code, phase):
    terminated = k8s.V1ContainerStateTerminated(
        exit_code=exit_code, message=message, reason="Error" if exit_code else "Completed"
    )
    status = k8s.V1ContainerStatus(
        name="kaniko", state=k8s.V1ContainerState(terminated=terminated), image="", image_id="", ready=False, restart_count=0
    )
    return k8s.V1Pod(
        metadata=request.metadata, spec=request.spec, status=k8s.V1PodStatus(phase=phase, container_statuses=[status])
    )


class FakeTI:
    def __init__(self):
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def with_fake_cluster(op):
    fake = FakeCoreV1()
    op.__dict__["client"] = fake
    op.__dict__["pod_manager"] = PodManager(kube_client=fake)
    return op


def test_result_list_in_order():
    op = with_fake_cluster(operator())
    request = op.build_pod_request_obj(dry_run=True)
    assert finish(op, request, finished(request, f"0 ok {D0}\n1 ok {D1}\n", 0, "Succeeded")) == [
        {"name": "hello", "status": "succeeded", "digest": D0, "images": [f"{REG}/demo/hello:1@{D0}"]},
        {"name": "app", "status": "succeeded", "digest": D1, "images": [f"{REG}/demo/app:1@{D1}", f"{REG}/demo/app:2@{D1}"]},
    ]


def test_failure_says_exactly_which_builds_succeeded_and_pushes_them():
    op = with_fake_cluster(operator())
    request = op.build_pod_request_obj(dry_run=True)
    ti = FakeTI()
    with pytest.raises(KanikoBuildFailed) as info:
        op.cleanup(request, finished(request, f"0 ok {D0}\n1 failed 3\n", 1, "Failed"), context={"ti": ti})
    assert str(info.value).splitlines()[1:3] == [f"  hello: succeeded ({D0})", "  app: failed (exit code 3)"]
    assert [(r["name"], r["status"]) for r in ti.pushed["return_value"]] == [("hello", "succeeded"), ("app", "failed")]


def test_container_died_before_any_result():
    op = with_fake_cluster(operator())
    request = op.build_pod_request_obj(dry_run=True)
    with pytest.raises(KanikoBuildFailed, match=r"exit code 137, Error; unknown failure, a retry can help\):\nKilled"):
        op.cleanup(request, finished(request, "Killed", 137, "Failed"), context={"ti": FakeTI()})
