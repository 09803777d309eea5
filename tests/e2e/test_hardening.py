"""Credentials in logs, cleanup whatever the pod's fate, actionable failures, least privilege."""

import base64
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from airflow_runs import AirflowRunner

from tests.conftest import ROOT
from tests.e2e.kube import MANAGED, assert_pods_deleted, leftovers
from tests.e2e.test_scenarios import scenario

WORKER_RBAC = ROOT / "deploy" / "worker-rbac.yaml"


def secret_forms(cluster):
    user, password = cluster.credentials()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"password": password, "auth": auth}


def test_credentials_printed_by_a_build_reach_no_log(runner, cluster, core, tmp_path):
    """A RUN step prints the mounted config.json: sync, after a deferral, and in both tries of a retried task."""
    result, run = scenario(runner, "e2e_leak", tmp_path)
    tasks = run["tasks"]
    assert tasks[("sync", -1)]["state"] == "success" and tasks[("deferred", -1)]["state"] == "success", result.text()[-3000:]
    assert tasks[("retried", -1)]["state"] == "failed" and tasks[("retried", -1)]["try_number"] == 2
    text = result.text()
    task_logs = "".join(p.read_text(errors="replace") for p in Path(runner.home, "logs").rglob("*") if p.is_file())
    for where, output in {
        "dags test output": text,
        "task logs": task_logs,
        "xcom": json.dumps(list(run["xcom"].values())),
    }.items():
        for form, secret in secret_forms(cluster).items():
            assert secret not in output, f"{form} in {where}"
    # Not vacuous: the file really was printed, and redacted, by each of the four runs.
    assert text.count("[kaniko] ***") >= 4, text[-3000:]
    assert "Pausing task as DEFERRED" in text
    assert leftovers(core, cluster.namespace) == []


def test_a_kept_pod_keeps_no_credentials(runner, cluster, core, tmp_path):
    result, run = scenario(runner, "e2e_keep_pod", tmp_path)
    assert run["state"] == "success", result.text()[-3000:]
    kept = core.list_namespaced_pod(cluster.namespace, label_selector=f"{MANAGED},dag_id=e2e_keep_pod").items
    try:
        assert len(kept) == 1 and kept[0].status.phase == "Succeeded"
        assert leftovers(core, cluster.namespace) == []  # its Secret went when the build container finished
    finally:
        for pod in kept:
            core.delete_namespaced_pod(pod.metadata.name, cluster.namespace, grace_period_seconds=0)


def test_missing_executor_image_names_the_pull_error(runner, cluster, core, tmp_path):
    result, run = scenario(runner, "e2e_missing_executor", tmp_path)
    assert run["state"] == "failed"
    text = result.text()
    assert "before the executor finished: container kaniko is waiting: ErrImagePull" in text or "ImagePullBackOff" in text, text[
        -3000:
    ]
    assert f"(image {cluster.registry}/e2e/no-such-executor:1)" in text
    assert leftovers(core, cluster.namespace) == []
    assert_pods_deleted(core, cluster.namespace, f"{MANAGED},dag_id=e2e_missing_executor")


def test_the_worker_runs_with_the_documented_role_only(runner, cluster):
    worker = runner.env()["KUBECONFIG"]
    assert worker == cluster.worker_kubeconfig and worker != cluster.kubeconfig
    can_i = subprocess.run(
        ["kubectl", "--kubeconfig", worker, "-n", cluster.namespace, "auth", "can-i", "get", "secrets"],
        capture_output=True,
        text=True,
    )
    assert can_i.stdout.strip() == "no"  # the worker never reads a Secret back


@pytest.fixture
def worker_without_configmap_create(core, cluster, tmp_path):
    """The documented Role minus one verb, bound to a ServiceAccount of its own; a kubeconfig with its token."""
    from kubernetes import client

    name = "e2e-worker-missing-verb"
    sa, role, binding = yaml.safe_load_all(WORKER_RBAC.read_text())
    for rule in role["rules"]:
        if "configmaps" in rule["resources"]:
            rule["resources"] = ["secrets"]
    for doc in (sa, role, binding):
        doc["metadata"] = {"name": name, "namespace": cluster.namespace}
    binding["roleRef"]["name"] = name
    binding["subjects"][0]["name"] = name
    rbac = client.RbacAuthorizationV1Api()
    core.create_namespaced_service_account(cluster.namespace, sa)
    rbac.create_namespaced_role(cluster.namespace, role)
    rbac.create_namespaced_role_binding(cluster.namespace, binding)
    try:
        token = core.create_namespaced_service_account_token(
            name, cluster.namespace, {"spec": {"expirationSeconds": 3600}}
        ).status.token
        admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
        admin["users"] = [{"name": name, "user": {"token": token}}]
        admin["contexts"][0]["context"]["user"] = name
        path = tmp_path / "worker-missing-verb.kubeconfig"
        path.write_text(yaml.safe_dump(admin))
        yield str(path)
    finally:
        rbac.delete_namespaced_role_binding(name, cluster.namespace)
        rbac.delete_namespaced_role(name, cluster.namespace)
        core.delete_namespaced_service_account(name, cluster.namespace)


def test_a_missing_verb_fails_clearly_and_leaves_nothing(runner, cluster, core, tmp_path, worker_without_configmap_create):
    denied = AirflowRunner(
        home=runner.home,
        cluster=cluster,
        dags_folder=runner.dags_folder,
        extra_env={"KUBECONFIG": worker_without_configmap_create},
    )
    result, run = scenario(denied, "e2e_rbac_denied", tmp_path)
    assert run["state"] == "failed"
    text = result.text()
    assert (
        "Could not create ConfigMap" in text
        and "403 Forbidden (the worker's Role needs this verb: see deploy/worker-rbac.yaml)" in text
    ), text[-3000:]
    assert_pods_deleted(core, cluster.namespace, "dag_id=e2e_rbac_denied")
    assert leftovers(core, cluster.namespace) == []


@pytest.fixture(params=["ConfigMap", "Secret"])
def planted(request, core, cluster):
    """A ConfigMap or Secret created under the build's object name before the build, as someone else would."""
    from kubernetes.client import models as k8s

    kind = request.param
    pod = {"ConfigMap": "e2e-planted-context", "Secret": "e2e-planted-credentials"}[kind]  # dags/e2e_planted.py
    name = f"{pod}-context" if kind == "ConfigMap" else f"{pod}-credentials"
    metadata = k8s.V1ObjectMeta(name=name, labels={"e2e": "planted"})
    if kind == "ConfigMap":
        created = core.create_namespaced_config_map(cluster.namespace, k8s.V1ConfigMap(metadata=metadata, data={"x": "planted"}))
        read = core.read_namespaced_config_map
        delete = core.delete_namespaced_config_map
    else:
        body = k8s.V1Secret(metadata=metadata, string_data={"config.json": '{"auths": {}}'})
        created = core.create_namespaced_secret(cluster.namespace, body)
        read = core.read_namespaced_secret
        delete = core.delete_namespaced_secret
    try:
        yield kind, pod, name, created, read
    finally:
        delete(name, cluster.namespace)


def test_a_planted_object_fails_the_build_before_its_container_runs_and_is_left_untouched(
    runner, cluster, core, tmp_path, planted
):
    """The build pod stays gated (unscheduled) until its own objects are created; a 409 means someone else's."""
    kind, pod, name, created, read = planted
    dag_id = f"e2e_planted_{kind.lower()}"
    result, run = scenario(runner, dag_id, tmp_path)
    assert run["state"] == "failed"
    text = result.text()
    assert f"{kind} {cluster.namespace}/{name} already exists and is not this build's" in text, text[-3000:]
    assert "[kaniko]" not in text  # the executor never ran: not a line of its output
    kept = read(name, cluster.namespace)
    assert kept.metadata.uid == created.metadata.uid and kept.metadata.resource_version == created.metadata.resource_version
    assert not kept.metadata.owner_references
    assert_pods_deleted(core, cluster.namespace, f"dag_id={dag_id}")
    assert leftovers(core, cluster.namespace) == []  # the build's own objects: gone; the planted one carries no MANAGED label
