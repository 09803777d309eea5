"""The example DAG, end to end: three images pushed, one broken Dockerfile failing only its own task."""

import base64
import json
import shutil
from pathlib import Path

import pytest
from airflow_runs import latest_run
from registry import manifest_digest

from tests.e2e.kube import leftovers, run_image

DAG_ID = "kaniko_image_maintenance"
MANIFEST = Path(__file__).parent / "manifest-with-broken.yaml"


@pytest.fixture(scope="module")
def example_run(runner, cluster, core, tmp_path_factory):
    from tests.e2e.conftest import PodRecorder

    log = tmp_path_factory.mktemp("example") / "dags-test.log"
    # The DAG reads a manifest param only inside its own folder: run a copy with the broken image added.
    # force: the e2e/* images may be unchanged since an earlier run; every build must run here.
    dags = tmp_path_factory.mktemp("example") / "dags"
    shutil.copytree(Path(runner.dags_folder), dags, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(Path(__file__).parent / "images" / "broken", dags / "images" / "broken")
    shutil.copy(MANIFEST, dags / "images" / MANIFEST.name)
    original, runner.dags_folder = runner.dags_folder, dags
    try:
        with PodRecorder(core, cluster.namespace) as pods:
            result = runner.dags_test(
                DAG_ID,
                {"manifest": str(dags / "images" / MANIFEST.name), "force": True},
                log=log,
                progress=False,
            )
    finally:
        runner.dags_folder = original
    return result, latest_run(DAG_ID), pods.pods


def test_only_the_broken_build_fails_and_report_lists_it(example_run):
    result, run, _ = example_run
    tasks = run["tasks"]
    builds = {v["label"]: v["state"] for (task, _), v in tasks.items() if task == "build_level_0"}
    assert builds == {"hello": "success", "app": "success", "web": "success", "broken": "failed"}, result.text()[-3000:]
    assert tasks[("report", -1)]["state"] == "failed"  # fails the run, so alerting fires
    assert run["state"] == "failed"
    # A failing Dockerfile step fails the same way every time: no retry, though the task allows 2.
    broken = next(v for (task, _), v in tasks.items() if task == "build_level_0" and v["label"] == "broken")
    assert broken["try_number"] == 1
    report = run["xcom"][("report", -1)]
    assert report["failed"] == ["broken"]
    assert report["images"][3]["failure"]["kind"] == "dockerfile"
    assert [(r["name"], r["status"], r["reason"]) for r in report["images"]] == [
        (
            "hello",
            "rebuilt",
            "rebuilt (forced)" if not report["images"][0]["detail"]["identical"] else "rebuilt, identical (forced)",
        ),
        (
            "app",
            "rebuilt",
            "rebuilt (forced)" if not report["images"][1]["detail"]["identical"] else "rebuilt, identical (forced)",
        ),
        (
            "web",
            "rebuilt",
            "rebuilt (forced)" if not report["images"][2]["detail"]["identical"] else "rebuilt, identical (forced)",
        ),
        ("broken", "failed", "failed"),
    ]


def test_failure_carries_kanikos_error(example_run):
    result, _, _ = example_run
    text = result.text()
    assert "Kaniko build of broken failed in pod" in text
    assert "dockerfile failure, not retried: the same inputs fail the same way" in text
    assert "exit status 3" in text
    assert "remote_pod:" not in text  # no pod dump


def test_xcom_digests_are_what_the_registry_serves(example_run, cluster):
    _, run, _ = example_run
    auth = cluster.credentials()
    checked = 0
    for (task, _index), value in run["xcom"].items():
        if task != "build_level_0" or value.get("failed"):
            continue
        assert len(value["images"]) == 4  # date tag, latest, fingerprint tag, build-time tag
        for image in value["images"]:
            reference, digest = image.split("@")
            assert digest == value["digest"]
            assert manifest_digest(cluster.registry, reference, auth, cluster.registry_ca) == digest
            checked += 1
    assert checked == 12


def test_pushed_image_runs(example_run, core, cluster):
    _, run, _ = example_run
    # XComs come back in no particular row order, and the broken image's failure record has no "images".
    app = next(
        v for (t, _), v in run["xcom"].items() if t == "build_level_0" and not v.get("failed") and "/e2e/app:" in v["images"][0]
    )
    # COPY --chown, USER app and the build arg all took effect, under the hardened security context.
    assert run_image(core, cluster.namespace, app["images"][0]).strip() == "version=1.4 uid=1000"


def test_namespace_enforces_baseline_and_admitted_every_build_pod(example_run, core, cluster):
    from kubernetes.client import models as k8s
    from kubernetes.client.exceptions import ApiException

    _, _, pods = example_run
    labels = core.read_namespace(cluster.namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    build_pods = [p for p in pods.values() if p["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "airflow-kaniko"]
    assert len({p["metadata"]["labels"]["airflow-kaniko/image"] for p in build_pods}) == 4
    # Control: the same namespace refuses a privileged pod.
    privileged = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="e2e-privileged"),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="c",
                    image="ghcr.io/osscontainertools/kaniko:v1.28.3",
                    security_context=k8s.V1SecurityContext(privileged=True),
                )
            ]
        ),
    )
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod(cluster.namespace, privileged)
    assert info.value.status == 403 and "violates PodSecurity" in info.value.body


def test_no_per_build_objects_left(example_run, core, cluster):
    assert leftovers(core, cluster.namespace) == []


def test_password_appears_nowhere(example_run, cluster, runner):
    result, run, pods = example_run
    user, password = cluster.credentials()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    task_logs = "".join(p.read_text(errors="replace") for p in Path(runner.home, "logs").rglob("*") if p.is_file())
    places = {
        "dags test output": result.text(),
        "task logs": task_logs,
        "xcom": json.dumps(list(run["xcom"].values())),
        "pod specs": json.dumps(pods),
    }
    for where, text in places.items():
        assert password not in text, where
        assert auth not in text, where
    assert len(pods) >= 4
